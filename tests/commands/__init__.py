"""Management commands, one module per command of ``annotations/management/commands/``."""
