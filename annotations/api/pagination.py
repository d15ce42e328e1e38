"""Keyset pagination for every API list, with cursors checked before they reach a query."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from annotations.api.serializers import spelled_as_whole_number

_POSITION = re.compile(r"[0-9]{1,19}")


class IdCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: stable under inserts, constant cost per page.

    A cursor is base64 of ``o=<offset>&r=<0|1>&p=<position>``, and the position is the last
    id seen. DRF answers an undecodable cursor with a 404 and passes any position on to the
    query (``p=abc``, ``p=``, ``p=1e5`` made a 500): here both are a 400
    ``{"cursor": ["Invalid cursor: …"]}``, and the position must be an id (ASCII digits,
    below 2**63), so nothing a client writes into a cursor reaches the database but a
    number."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        """``page_size``: a whole number from 1 in ASCII digits, larger ones read as
        ``max_page_size`` (as DRF does); anything else is a 400 naming it. DRF reads it
        through ``int()``, so an Arabic-Indic five or ``1_0`` was a page size, and falls
        back to the default on ``abc``, ``0`` or ``-5`` without a word. The digits are
        ``serializers.spelled_as_whole_number``'s (no ``+``, spaces or ``.0``)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (spelled_as_whole_number(value) and int(value) >= 1):
            raise ValidationError(
                {self.page_size_query_param: ["Enter a whole number from 1 (500 at most)."]}
            )
        return min(int(value), self.max_page_size)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid("not one this API handed out.") from None
        if cursor is None or cursor.position is None:
            return cursor
        position: Any = cursor.position
        if not (isinstance(position, str) and _POSITION.fullmatch(position)):
            raise _invalid("its position is not an id.")
        if int(position) >= 2**63:
            raise _invalid("its position is out of range.")
        return cursor


def _invalid(reason: str) -> ValidationError:
    return ValidationError({"cursor": [f"Invalid cursor: {reason}"]})
