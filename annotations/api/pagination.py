"""Keyset pagination for every API list, with cursors signed by the API and checked before
they reach a query."""

from __future__ import annotations

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from binascii import Error as Base64Error
from typing import Any
from urllib import parse

from django.core import signing
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from annotations.core.numbers import MAX_ID, whole_number

_POSITION = re.compile(r"[0-9]{1,19}")
_OFFSET = re.compile(r"[0-9]{1,19}")
_SALT = "workbench.api.cursor"


class IdCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: stable under inserts, constant cost per page.

    A cursor is ``<payload>.<signature>``: the payload is URL-safe base64 (unpadded) of
    ``o=<offset>&r=<0|1>&p=<position>``, the position the last id seen, and the signature
    an HMAC (``django.core.signing.Signer``, so ``SECRET_KEY`` and its fallbacks: any
    process of the deployment takes it) over the payload, salted with the list it came from
    (the request's path and the paginator's ordering). DRF's cursor is bare base64, so a
    client could write any position, offset or direction into one; here a cursor not
    signed for this list (forged, edited, or another list's) is a 400
    ``{"cursor": ["Invalid cursor: not one this API handed out."]}``, as is one that does
    not decode (DRF's 404); an empty one (``?cursor=``) is refused before, by name
    (``query.VALUE_REQUIRED``). The position must still be an id (ASCII digits, below 2**63),
    checked after the signature, so nothing but a number reaches the database even if the
    key leaked. A cursor does not expire and is not bound to the caller or the filters:
    visibility is applied to every page as to the first."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    page_size_query_description = (
        "Number of results per page: a whole number from 1 in ASCII digits (default 50); "
        "pages hold at most 500, a larger number reads as 500."
    )
    cursor_query_description = (
        "The pagination cursor: only one this list handed out in `next` or `previous` "
        "(any other, an empty one included, is a 400)."
    )

    def get_page_size(self, request: Request) -> int:
        """``page_size``: a whole number from 1 in ASCII digits, larger ones read as
        ``max_page_size`` (as DRF does); anything else is a 400 naming it. DRF reads it
        through ``int()``, so an Arabic-Indic five or ``1_0`` was a page size, and falls
        back to the default on ``abc``, ``0`` or ``-5`` without a word. The digits are
        ``core.numbers.whole_number``'s (no ``+``, spaces or ``.0``; any number of them)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = whole_number(value)
        if size is None or size < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        "Enter a whole number from 1; pages hold at most 500."
                    ]
                }
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF's, with the cursor's empty value ruled out in the schema as it is in the
        API (``query.VALUE_REQUIRED``), and ``page_size`` from 1 (no maximum: a larger one
        is read as ``max_page_size``, not refused)."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["schema"]["minLength"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def _signer(self, request: Request) -> signing.Signer:
        """The signer for this list: a cursor from another path or ordering is refused."""
        ordering = ",".join((self.ordering,) if isinstance(self.ordering, str) else self.ordering)
        return signing.Signer(salt=f"{_SALT}:{request.path_info}:{ordering}", sep=".")

    def encode_cursor(self, cursor: Cursor) -> str:
        tokens = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        querystring = parse.urlencode(tokens)
        payload = urlsafe_b64encode(querystring.encode("ascii")).rstrip(b"=").decode("ascii")
        encoded = self._signer(self.request).sign(payload)
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            payload = self._signer(request).unsign(encoded)
            querystring = urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
        except (signing.BadSignature, Base64Error, ValueError):
            raise _invalid("not one this API handed out.") from None
        offset = tokens.get("o", ["0"])[0]
        reverse = tokens.get("r", ["0"])[0]
        if not (_OFFSET.fullmatch(offset) and reverse in ("0", "1")):
            raise _invalid("not one this API handed out.")
        position: Any = tokens.get("p", [None])[0]
        if position is not None:
            if not _POSITION.fullmatch(position):
                raise _invalid("its position is not an id.")
            if int(position) > MAX_ID:
                raise _invalid("its position is out of range.")
        return Cursor(
            offset=min(int(offset), self.offset_cutoff), reverse=reverse == "1", position=position
        )


class NewestFirstPagination(IdCursorPagination):
    """The same cursors, newest first (the notifications); a cursor of an oldest-first
    list is refused here, its signature being salted with the ordering."""

    ordering = "-id"


def _invalid(reason: str) -> ValidationError:
    return ValidationError({"cursor": [f"Invalid cursor: {reason}"]})
