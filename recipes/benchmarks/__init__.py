"""Benchmark parts of `recipes/benchmark.py`, one module each."""
