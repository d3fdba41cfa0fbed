"""Fan-out benchmark: `python -m loadtest.bench --help` (see fanout.py)."""
