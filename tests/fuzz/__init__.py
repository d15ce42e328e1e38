"""Fuzzers, one module per target: arbitrary input into what reads user and file input."""
