"""Tests for annotations.core.webhooks (pure: no database) and the fetcher's ``post`` and
``check_target`` (local servers on 127.0.0.1 only, behind the network guard).

* the retry schedule is a pure function: hypothesis checks it doubles from the base, never
  exceeds the cap, never shrinks, and stops after ``max_attempts``;
* what an answer means (2xx delivered; 408, 429, 5xx, timeouts and lost connections
  retried; any other 4xx, a redirect or a refused address final);
* the signed request verifies with ``standardwebhooks.Webhook(secret).verify``, and a
  changed body or another secret does not;
* ``post`` refuses private addresses after DNS and does not follow redirects.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from annotations.core import webhooks
from annotations.core.fetching import FetchError, FetchPolicy, check_target, post
from tests.core import fetching_guard
from tests.core.fetching_guard import answers, no_lookup

pytestmark = pytest.mark.db_independent

network = fetching_guard.network  # the autouse network guard, for this module too
LOCAL = FetchPolicy(allowed_hosts=frozenset({"127.0.0.1"}), timeout=2.0)

policies = st.builds(
    webhooks.RetryPolicy,
    base_seconds=st.floats(min_value=0.001, max_value=3600, allow_nan=False),
    cap_seconds=st.floats(min_value=0.001, max_value=7 * 86400, allow_nan=False),
    max_attempts=st.integers(min_value=1, max_value=200),
)


# --- the retry schedule -------------------------------------------------------------------


@given(policy=policies, failed=st.integers(min_value=1, max_value=300))
def test_the_delay_doubles_from_the_base_up_to_the_cap(
    policy: webhooks.RetryPolicy, failed: int
) -> None:
    delay = webhooks.retry_delay(failed, policy)
    if failed >= policy.max_attempts:
        assert delay is None
        return
    assert delay is not None
    assert delay <= policy.cap_seconds
    assert delay == min(policy.base_seconds * 2 ** (failed - 1), policy.cap_seconds)
    if failed == 1:
        assert delay == min(policy.base_seconds, policy.cap_seconds)


@given(policy=policies, failed=st.integers(min_value=1, max_value=300))
def test_the_delay_never_shrinks(policy: webhooks.RetryPolicy, failed: int) -> None:
    now, later = webhooks.retry_delay(failed, policy), webhooks.retry_delay(failed + 1, policy)
    if later is not None:
        assert now is not None and later >= now


@given(policy=policies)
def test_there_are_exactly_max_attempts_attempts(policy: webhooks.RetryPolicy) -> None:
    attempts = 1
    while webhooks.retry_delay(attempts, policy) is not None:
        attempts += 1
    assert attempts == policy.max_attempts


def test_the_default_schedule_retries_at_least_three_times() -> None:
    policy = webhooks.RetryPolicy()
    delays = [webhooks.retry_delay(n, policy) for n in range(1, policy.max_attempts + 1)]
    assert delays[:4] == [60.0, 120.0, 240.0, 480.0]
    assert delays[-1] is None and all(d is not None for d in delays[:-1])
    assert sum(d for d in delays if d is not None) == 60 * (2**9 - 1)  # 8.5 hours in all


def test_attempts_are_counted_from_one() -> None:
    with pytest.raises(ValueError):
        webhooks.retry_delay(0, webhooks.RetryPolicy())


# --- what an answer means -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, None, "delivered"),
        (204, None, "delivered"),
        (299, None, "delivered"),
        (500, None, "retry"),
        (502, None, "retry"),
        (503, None, "retry"),
        (408, None, "retry"),
        (429, None, "retry"),
        (400, None, "failed"),
        (401, None, "failed"),
        (404, None, "failed"),
        (410, None, "failed"),
        (301, None, "failed"),
        (302, None, "failed"),
        (None, "timeout", "retry"),
        (None, "connection", "retry"),
        (None, "dns", "retry"),
        (None, "blocked-address", "failed"),
        (None, "host", "failed"),
        (None, "scheme", "failed"),
        (None, "inactive", "failed"),
    ],
)
def test_what_an_answer_means(status: int | None, error: str | None, outcome: str) -> None:
    assert webhooks.attempt_outcome(status=status, error_code=error) == outcome


# --- secrets, messages, signatures --------------------------------------------------------


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = webhooks.secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != webhooks.secret_generate()


def test_the_payload_has_type_timestamp_and_data() -> None:
    at = dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    message = webhooks.payload(event_type="consensus.reached", at=at, data={"claim_id": 3})
    assert message == {
        "type": "consensus.reached",
        "timestamp": "2026-03-01T10:00:00.123456Z",
        "data": {"claim_id": 3},
    }
    assert json.loads(webhooks.body_bytes(message)) == message
    with pytest.raises(ValueError):
        webhooks.payload(event_type="claim.deleted", at=at, data={})


@given(data=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=5))
def test_a_signed_message_verifies_with_standardwebhooks(data: dict[str, str]) -> None:
    secret = webhooks.secret_generate()
    at = dt.datetime.now(dt.UTC)
    body = webhooks.body_bytes(webhooks.payload(event_type="claim.published", at=at, data=data))
    headers = webhooks.signed_headers(secret=secret, msg_id="msg_1", at=at, body=body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"] == data
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


# --- post and check_target ----------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, str]]]
    seen: list[tuple[str, dict[str, str], bytes]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, dict(self.headers.items()), body))
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_post_sends_the_body_and_headers_and_returns_the_status(
    receiver: tuple[str, type[Receiver]],
) -> None:
    base, handler = receiver
    handler.answers.append((503, {}))
    posted = post(f"{base}/hook?x=1", b'{"a":1}', headers={"webhook-id": "msg_1"}, policy=LOCAL)
    assert posted.status == 503
    path, headers, body = handler.seen[0]
    assert (path, body) == ("/hook?x=1", b'{"a":1}')
    assert headers["webhook-id"] == "msg_1"
    assert headers["Content-Type"] == "application/json"


def test_post_does_not_follow_a_redirect(receiver: tuple[str, type[Receiver]]) -> None:
    base, handler = receiver
    handler.answers.append((307, {"Location": f"{base}/elsewhere"}))
    assert post(f"{base}/hook", b"{}", headers={}, policy=LOCAL).status == 307
    assert [path for path, _, _ in handler.seen] == ["/hook"]


@pytest.mark.parametrize(
    "answer", [["10.0.0.5"], ["127.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "192.168.1.1"]]
)
def test_post_refuses_a_host_that_resolves_to_a_private_address(
    answer: list[str], network: fetching_guard.Network
) -> None:
    with pytest.raises(FetchError) as caught:
        post(
            "https://hooks.example.org/in",
            b"{}",
            headers={},
            resolve=answers({"hooks.example.org": answer}),
        )
    assert caught.value.code == "blocked-address"
    assert network.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/hook",
        "http://2130706433/hook",
        "ftp://hooks.example.org/",
        "file:///etc/passwd",
    ],
)
def test_check_target_refuses_what_the_fetcher_refuses(url: str) -> None:
    with pytest.raises(FetchError):
        check_target(url, resolve=no_lookup)
    with pytest.raises(FetchError):
        check_target(url)


def test_check_target_looks_a_name_up_only_when_asked() -> None:
    assert check_target("https://hooks.example.org/in") == "https://hooks.example.org/in"
    with pytest.raises(FetchError):
        check_target(
            "https://hooks.example.org/in", resolve=answers({"hooks.example.org": ["10.0.0.1"]})
        )
    allowed = FetchPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    assert check_target("http://127.0.0.1:9/hook", policy=allowed) == "http://127.0.0.1:9/hook"
