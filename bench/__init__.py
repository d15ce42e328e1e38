"""Benchmarks and their deterministic data generators (see bench/README.md); not tests."""
