"""Logging filters named by ``settings.LOGGING``.

``OneLineWarning`` turns a record into one line at WARNING: no traceback. Django logs a
request whose ``Host`` header is not in ``ALLOWED_HOSTS`` on
``django.security.DisallowedHost`` at ERROR with the exception attached, so every
scanner that sends a wrong Host wrote a full traceback (twenty-odd lines) into the log
although nothing failed: the request gets its 400 and the message already names the host
(``Invalid HTTP_HOST header: 'evil.example'. …``, the host as ``repr``, so a header
cannot add lines of its own). The record keeps its message and its ``request`` and
``status_code`` extras; only the exception and its stack are dropped.

``OneLineForbidden`` does the same for a 403 on ``django.request``. Since Django 6.1 the
record of a ``PermissionDenied`` (``Forbidden (Permission denied): /path``, a WARNING)
carries the exception, so every page a member's role does not open (a reviewer on an
editor's page) wrote its traceback although nothing failed: the 403 is the answer. A 500
keeps its traceback, as does every other record.
"""

from __future__ import annotations

import logging


class OneLineWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        if record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


class OneLineForbidden(OneLineWarning):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            return super().filter(record)
        return True
