"""Evidence that lasts, the pure half: an archived copy of a fetched page as a WARC
record, why a fetch failed in words a fact-checker reads, and what a later check of a
cited page means (``changed``, ``gone``, ``moved``).

* ``warc_bytes`` writes one WARC/1.1 ``response`` record (gzip), the answer as it was
  received: status line, headers (``Transfer-Encoding`` dropped and ``Content-Length``
  set to the body, since the fetcher has already de-chunked it) and the body's bytes.
  ``warcio.ArchiveIterator`` reads it back.
* ``outcome_of`` maps a ``fetching.FetchError`` code to a snapshot's outcome code.
* ``check_flag`` compares a check with the baseline snapshot.

Pure Python: no Django (warcio writes to a buffer; nothing here fetches).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from enum import StrEnum

from annotations.core.urlnorm import UrlError, normalize_url

__all__ = [
    "GONE_STATUSES",
    "Flag",
    "Outcome",
    "check_flag",
    "outcome_of",
    "sha256_hex",
    "warc_bytes",
]

# Headers that describe the transfer, not the body as archived.
_TRANSFER_HEADERS = frozenset({"transfer-encoding", "content-length"})
GONE_STATUSES = frozenset({404, 410})


class Outcome(StrEnum):
    """What fetching a source gave: ``ok`` (stored) or why not."""

    OK = "ok"
    UNREACHABLE = "unreachable"  # DNS, connection refused or reset, TLS
    TOO_LARGE = "too_large"
    REFUSED_ADDRESS = "refused_address"  # the SSRF rules refused the address or URL
    TIMEOUT = "timeout"
    UNSUPPORTED_TYPE = "unsupported_type"
    HTTP_ERROR = "http_error"  # a non-2xx answer
    TOO_MANY_REDIRECTS = "too_many_redirects"


OUTCOME_LABELS = {
    Outcome.OK: "archived",
    Outcome.UNREACHABLE: "unreachable",
    Outcome.TOO_LARGE: "too large",
    Outcome.REFUSED_ADDRESS: "refused address",
    Outcome.TIMEOUT: "timed out",
    Outcome.UNSUPPORTED_TYPE: "unsupported content type",
    Outcome.HTTP_ERROR: "HTTP error",
    Outcome.TOO_MANY_REDIRECTS: "too many redirects",
}

_OUTCOME_BY_FETCH_CODE = {
    "scheme": Outcome.REFUSED_ADDRESS,
    "host": Outcome.REFUSED_ADDRESS,
    "blocked-address": Outcome.REFUSED_ADDRESS,
    "dns": Outcome.UNREACHABLE,
    "connection": Outcome.UNREACHABLE,
    "timeout": Outcome.TIMEOUT,
    "too-large": Outcome.TOO_LARGE,
    "content-type": Outcome.UNSUPPORTED_TYPE,
    "status": Outcome.HTTP_ERROR,
    "redirects": Outcome.TOO_MANY_REDIRECTS,
}


class Flag(StrEnum):
    """A cited page compared with its baseline snapshot by the link-rot watch."""

    OK = "ok"
    CHANGED = "changed"  # the body's SHA-256 differs
    GONE = "gone"  # 404, 410, or its host no longer resolves
    MOVED = "moved"  # it redirects to another address


def outcome_of(fetch_code: str) -> Outcome:
    """The snapshot outcome of a ``fetching.FetchError`` code (unknown codes: unreachable)."""
    return _OUTCOME_BY_FETCH_CODE.get(fetch_code, Outcome.UNREACHABLE)


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def warc_bytes(
    *,
    url: str,
    status: int,
    reason: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    fetched_at: dt.datetime,
) -> bytes:
    """One gzipped WARC/1.1 ``response`` record of the answer to ``url`` (the final URL,
    after redirects), dated ``fetched_at`` (an aware datetime)."""
    # warcio (and fsspec, which it imports) load here, in the task that archives a page,
    # not in every web worker (tests/test_lazy_imports.py).
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    kept = [(name, value) for name, value in headers if name.lower() not in _TRANSFER_HEADERS]
    kept.append(("Content-Length", str(len(body))))
    http_headers = StatusAndHeaders(
        f"{status} {reason}".strip(), kept, protocol="HTTP/1.1", is_http_request=False
    )
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="WARC/1.1")
    date = fetched_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(record)
    return buffer.getvalue()


def _same_address(a: str, b: str) -> bool:
    try:
        return normalize_url(a) == normalize_url(b)
    except UrlError:
        return a == b


def check_flag(
    *,
    baseline_sha256: str,
    baseline_url: str,
    outcome: str,
    fetch_code: str = "",
    http_status: int | None = None,
    sha256: str = "",
    final_url: str = "",
) -> Flag | None:
    """What a check of a page means against its baseline snapshot (``baseline_sha256`` of
    its body, ``baseline_url`` the address it was served from): ``moved`` when it is now
    served from another address (normalized URLs differ), ``changed`` when its body's hash
    differs, ``ok`` when neither; ``gone`` for a 404 or 410 answer or a host that no longer
    resolves; ``changed`` too when the page is now too large or of a type the archive does
    not take (the baseline was neither, so what is served there now is another page: a
    page grown past the limit must not hide behind "no answer"). None when the check says
    nothing either way (a timeout, a 5xx, a refused address): the previous flag stands."""
    if outcome == Outcome.OK:
        if baseline_url and final_url and not _same_address(final_url, baseline_url):
            return Flag.MOVED
        if baseline_sha256 and sha256 != baseline_sha256:
            return Flag.CHANGED
        return Flag.OK
    if http_status in GONE_STATUSES or fetch_code == "dns":
        return Flag.GONE
    if outcome in (Outcome.TOO_LARGE, Outcome.UNSUPPORTED_TYPE):
        return Flag.CHANGED
    return None
