"""Rules as code (政策规则): dated, area-inherited policy parameters and one module per programme,
vectorised over Polars frames. Pure Python: nothing here imports Django."""
