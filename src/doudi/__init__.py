"""兜底 Doudi — layered social assistance and low-income population monitoring."""

__version__ = "0.1.0"
