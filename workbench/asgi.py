"""ASGI entry point: ``bin/serve`` runs it under gunicorn with uvicorn workers
(``uvicorn_worker.UvicornWorker``), so the live-update event streams (async generators,
``workbench/live.py``) wait without holding a worker; ordinary views are synchronous and
run on a thread of their own per request, several at once per worker."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
application = get_asgi_application()

# Build the claim-matching indexes in the background when MATCHING_WARM_UP is on (off by
# default: each index is built at its project's first search), as wsgi.py does.
from annotations.selectors.matching import start_warm_up  # noqa: E402

start_warm_up()
