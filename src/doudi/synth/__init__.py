"""Synthetic data for development, demos and benchmarks (no real person is ever used)."""
