"""ASGI entry point: ``bin/serve`` runs it under gunicorn with uvicorn workers
(``workbench.server.UvicornWorker``), so the live-update event streams (async generators,
``workbench/live.py``) wait without holding a worker; ordinary views are synchronous and
run on a thread of their own per request (one that finished requests left idle), several
at once per worker, middleware and view together in one hop (``workbench.handlers``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
django.setup(set_prefix=False)

# Django's ASGI handler, with the middleware chain and the view in one hop to the
# request's thread (workbench/handlers.py).
from workbench.handlers import SyncChainASGIHandler  # noqa: E402

application = SyncChainASGIHandler()

# Build the claim-matching indexes in the background when MATCHING_WARM_UP is on (off by
# default: each index is built at its project's first search), as wsgi.py does.
from annotations.selectors.matching import start_warm_up  # noqa: E402

start_warm_up()
