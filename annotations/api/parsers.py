"""The API's one body parser: JSON, with its nesting bounded.

DRF's ``JSONParser`` lets ``json`` recurse once per level, so a body of ``[`` x 100,000
(200 KB, far below the size cap) ended in a ``RecursionError`` and a 500, even on the
anonymous token endpoint. This parser reads through ``core.safejson``: nesting deeper
than ``safejson.MAX_DEPTH``, bytes that are not UTF-8 text (the first such byte named:
"byte 0xFF at position 12 is not UTF-8", ``spans.undecodable_problem``), ``NaN`` and
``Infinity``, a key given twice in one object (at any depth; the reason names it) are all
a 400 ``{"detail": "JSON parse error - <reason>"}`` before any view runs. It is ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``'s only entry.

JSON is UTF-8 (RFC 8259, section 8.1; ``application/json`` defines no charset): a
``charset`` parameter is ignored, so ``charset=latin-1`` cannot turn bytes that are not
text into mojibake that is stored (outside probe: ``"Kept\xed\xa0\x80text"`` became
``"Kept\u00ed\u00a0\u0080text"``, a C1 control character included)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from annotations.core import safejson, spans


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            text = stream.read().decode("utf-8")
            return safejson.loads(text, allow_constants=not self.strict)
        except UnicodeDecodeError as exc:  # worded as a form body's field is
            raise ParseError(f"JSON parse error - {spans.undecodable_problem(exc)}") from None
        except ValueError as exc:  # JSONDecodeError, JsonTooDeep, …
            raise ParseError(f"JSON parse error - {exc}") from None
