"""Benchmark scripts for dedup. Each takes a path to its data and prints one JSON object."""
