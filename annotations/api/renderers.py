"""The API's JSON renderer: DRF's, but a lone surrogate never turns an answer into a 500.

A JSON body can spell a lone surrogate (``"\\ud800"``), and a refusal may quote the value
it refuses (``"\\ud800" is not a valid choice.``). DRF renders non-ASCII text as is, and a
lone surrogate cannot be encoded as UTF-8, so that 400 became a ``UnicodeEncodeError``
and a 500. Such an answer is rendered with every non-ASCII character escaped instead:
the same JSON value, and valid UTF-8. Everything else is rendered exactly as before.
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer


class _AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True


class SurrogateSafeJSONRenderer(JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)
