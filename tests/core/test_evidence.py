"""The pure half of evidence (``annotations/core/evidence.py``): WARC records that warcio
reads back, outcome codes, and the link-rot flags."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from annotations.core import evidence

pytestmark = pytest.mark.db_independent

AT = dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=dt.UTC)


@given(st.binary(max_size=4000))
def test_a_warc_record_holds_the_served_body_byte_for_byte(body: bytes) -> None:
    data = evidence.warc_bytes(
        url="https://news.example.org/a?b=1",
        status=200,
        reason="OK",
        headers=(("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")),
        body=body,
        fetched_at=AT,
    )
    records = ArchiveIterator(io.BytesIO(data))
    record = next(records)
    payload = record.content_stream().read()  # read before the iterator moves on
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == "https://news.example.org/a?b=1"
    assert record.rec_headers.get_header("WARC-Date") == "2026-01-02T03:04:05.600000Z"
    assert record.http_headers.get_header("Content-Length") == str(len(body))
    assert record.http_headers.get_header("Transfer-Encoding") is None
    assert next(records, None) is None
    assert payload == body
    assert hashlib.sha256(payload).hexdigest() == evidence.sha256_hex(body)


def test_fetch_codes_map_to_outcomes() -> None:
    table = {
        "blocked-address": "refused_address",
        "dns": "unreachable",
        "connection": "unreachable",
        "timeout": "timeout",
        "too-large": "too_large",
        "content-type": "unsupported_type",
        "status": "http_error",
        "redirects": "too_many_redirects",
        "something new": "unreachable",
    }
    for code, outcome in table.items():
        assert evidence.outcome_of(code) == outcome, code


def test_check_flags() -> None:
    base = {"baseline_sha256": "a" * 64, "baseline_url": "https://x.example/p"}
    same = {"outcome": "ok", "sha256": "a" * 64}
    assert evidence.check_flag(**base, **same, final_url="https://X.example/p#top") == "ok"
    assert evidence.check_flag(**base, **same, final_url="https://x.example/q") == "moved"
    assert (
        evidence.check_flag(**base, outcome="ok", sha256="b" * 64, final_url="https://x.example/p")
        == "changed"
    )
    for status in (404, 410):
        assert evidence.check_flag(**base, outcome="http_error", http_status=status) == "gone"
    assert evidence.check_flag(**base, outcome="unreachable", fetch_code="dns") == "gone"
    # A page now too large, or no longer a page the archive takes, is not the one archived.
    assert evidence.check_flag(**base, outcome="too_large", fetch_code="too_large") == "changed"
    assert (
        evidence.check_flag(**base, outcome="unsupported_type", fetch_code="content_type")
        == "changed"
    )
    # Nothing either way: the flag stands.
    assert evidence.check_flag(**base, outcome="http_error", http_status=503) is None
    assert evidence.check_flag(**base, outcome="timeout", fetch_code="timeout") is None
    assert evidence.check_flag(**base, outcome="unreachable", fetch_code="connection") is None
