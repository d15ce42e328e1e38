"""Selectors: one module per module of ``annotations/selectors/``."""
