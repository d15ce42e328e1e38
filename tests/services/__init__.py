"""Services, one module per module of ``annotations/services/``: validation before any
write, canonical text, span selectors, audit events. The queue and review services
(leases, verdicts, consensus) are in ``tests/test_queue.py``.
"""
