"""Yardsticks kept beside the package: python scripts/benchmark.py runs them."""
