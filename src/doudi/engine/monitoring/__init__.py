"""Dynamic monitoring (动态监测预警), pure Polars: indicators as data (`indicators`), the facts
department feeds add to the registry's (`overlay`), the run that turns registry, enrollments
and feeds into warnings (`run`), and scoring against a synthetic district's truth
(`against_truth`)."""
