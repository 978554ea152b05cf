"""orderbridge's benchmarks: scenarios run on demand by `python3 tasks.py bench` (see README.md)."""
