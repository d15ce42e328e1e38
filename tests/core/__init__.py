"""The pure core: one module per module of ``annotations/core/``."""
