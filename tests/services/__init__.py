"""Services, one module per module of ``annotations/services/``: validation before any
write, canonical text, span selectors, the queue, verdicts, consensus, audit events.
"""
