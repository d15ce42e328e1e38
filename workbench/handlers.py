"""The ASGI handler ``bin/serve`` runs: Django's, with the middleware chain and the view
run together on the request's thread in one hop.

Every Workbench view is synchronous (the live-update stream is a sync view returning an
async iterator, which the ASGI server then drives in its event loop). Django's own ASGI
handler builds its middleware chain for async: each middleware that can only run sync
(WhiteNoise, Workbench's own) and each ``MiddlewareMixin`` hook is adapted with its own
hop between the event loop and a thread, and the view is one more. Measured on the peer
workload, that cost ~4 ms a request over gunicorn's threaded WSGI worker (bench/README.md,
"Request path under ASGI"). Here the chain is built for sync, as under WSGI, and called
once through ``sync_to_async`` on the request's thread (``thread_sensitive``: the one
Django's ``ThreadSensitiveContext`` gives each request, so the view, the streamed
response's generator and ``request_finished`` share its database connection). Reading the
body, sending the response and streaming stay in the event loop, as before.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
