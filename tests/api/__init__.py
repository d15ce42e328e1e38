"""REST API v1 end to end, one module per resource of ``annotations/api/views/``: every
endpoint's happy path and JSON shape, blind review, the queue, If-Match/ETag, bulk
import, cursor pagination, query-count ceilings, and bad input to every write endpoint
(400 naming the field and the reason, nothing written).

Who may call what is in ``tests/api/test_permissions.py``; the OpenAPI contract in
``tests/api/test_contract.py``. Most build on ``tests/api/base.py``; the import and
revision endpoints on ``tests/services/import_base.py`` and ``revision_base.py``.
"""
