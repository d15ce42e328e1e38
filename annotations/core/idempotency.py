"""Repeated writes: what makes two requests the same request, and two claims the same claim.

A client that lost the answer to a POST (the connection died after the commit) sends it
again with the same ``Idempotency-Key``; the server must recognise the repeat and answer
it without writing twice. Two things decide that, both pure:

* ``check_key``: the key a client may send (printable ASCII, 1 to ``MAX_KEY_LENGTH``
  characters), else ``InvalidKey`` with a message naming the header.
* ``request_fingerprint``: the SHA-256 of the canonical request (method, path and body).
  A JSON body counts by its content (key order and whitespace do not matter), anything
  else by its bytes. The same key with another fingerprint is another request.

And the claim side: ``statement_key`` is a statement with its whitespace normalised, so
"The  mayor said\\n it" and "The mayor said it" are the same statement on the same span.

Pure standard-library Python: no Django, no settings.
"""

from __future__ import annotations

import hashlib
import json
import re

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
_WHITESPACE = re.compile(r"\s+")


class InvalidKey(ValueError):
    """An ``Idempotency-Key`` the server refuses; the message names the header."""


def check_key(raw: str) -> str:
    """The key as stored: ``raw`` without surrounding spaces, which must be 1 to
    ``MAX_KEY_LENGTH`` printable ASCII characters (letters, digits, punctuation, inner
    spaces). A UUID is the usual choice. Raises ``InvalidKey`` otherwise."""
    key = raw.strip(" \t")
    if not key:
        raise InvalidKey(
            f"{HEADER} is empty; send 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(
            f"{HEADER} has {len(key)} characters; the most is {MAX_KEY_LENGTH} (a UUID is enough)."
        )
    if not _PRINTABLE_ASCII.fullmatch(key):
        raise InvalidKey(
            f"{HEADER} may hold printable ASCII characters only (no control or non-ASCII characters)."
        )
    return key


def canonical_body(body: bytes) -> bytes:
    """The body as it counts for the fingerprint: a JSON document re-serialised with sorted
    keys and no insignificant whitespace, so the same content sent by another client library
    is the same request; any other body (or invalid JSON) as its bytes. The two kinds are
    prefixed so that they can never be mistaken for each other."""
    if not body:
        return b""
    try:
        document = json.loads(body)
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
        return b"raw:" + body
    return b"json:" + text.encode("utf-8", "surrogatepass")


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of the canonical request: the method, the path (with its query string)
    and ``canonical_body(body)``, separated so that no part can run into the next."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode("ascii", "replace"))
    digest.update(b"\n")
    digest.update(path.encode("utf-8", "surrogatepass"))
    digest.update(b"\n")
    digest.update(canonical_body(body))
    return digest.hexdigest()


def statement_key(statement: str) -> str:
    """The statement as two claims are compared: runs of whitespace (spaces, tabs, line
    breaks) made one space, and none at either end. Case and punctuation count."""
    return _WHITESPACE.sub(" ", statement).strip()
