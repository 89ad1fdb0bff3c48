"""Benchmarks: `python -m bench <name> [--count N] [--json]`; figures go to BENCHMARKS.md."""
