"""The background worker, end to end: ``bin/worker`` (``manage.py worker``, django-tasks-db's
``db_worker`` with the webhook sweep) runs as a real process against this test run's
database and delivers webhooks to a receiver on 127.0.0.1.

* A consensus reached in this process puts a delivery in the outbox and, on commit, a task
  in the queue; the worker sends it to a receiver that answers 500 twice and then 200: it
  arrives on the third try, signed so that ``standardwebhooks`` verifies it, and the log
  holds the three attempts.
* A worker killed (SIGKILL) while the receiver holds its request open loses nothing: the
  delivery stays pending, and a new worker sends it (same ``webhook-id``) once the dead
  worker's claim has expired.

On PostgreSQL the worker reads the test database itself (the tests are transactional, so
their rows are committed). The SQLite test database lives in this process's memory, so
there it is copied to a file for the worker (SQLite's backup API) and copied back to be
read (``WorkerDatabase``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from standardwebhooks import Webhook

from annotations import services
from annotations.models import DeliveryStatus, Role, WebhookDelivery
from tests.factories import grant, judge, make_claim, make_document, make_member, make_user
from tests.webhook_receiver import HANG, Receiver

ROOT = Path(settings.BASE_DIR)
WORKER = ROOT / "bin" / "worker"
pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDatabase:
    """The database the worker process uses: this run's own on PostgreSQL; on SQLite a
    file that ``push`` fills from the in-memory test database and ``pull`` copies back."""

    def __init__(self, tmp_path: Path) -> None:
        self.sqlite = connection.vendor == "sqlite"
        if self.sqlite:
            self.path = tmp_path / "worker.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            db = connection.settings_dict
            password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
            port = f":{db['PORT']}" if db["PORT"] else ""
            user = quote(db["USER"] or "", safe="")
            self.url = f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"

    def push(self) -> None:
        if self.sqlite:
            connection.ensure_connection()
            target = sqlite3.connect(self.path)
            try:
                connection.connection.backup(target)
            finally:
                target.close()

    def pull(self) -> None:
        if self.sqlite:
            source = sqlite3.connect(self.path)
            try:
                source.backup(connection.connection)
            finally:
                source.close()


@pytest.fixture
def worker_db(tmp_path: Path) -> WorkerDatabase:
    return WorkerDatabase(tmp_path)


def start_worker(db: WorkerDatabase, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": db.url,
        "PYTHON": sys.executable,
        "WORKER_INTERVAL": "0.1",
        "WORKBENCH_FETCH_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_TIMEOUT": "1.5",
        "WEBHOOK_SWEEP_SECONDS": "0.3",
        "WEBHOOK_SWEEP_GRACE_SECONDS": "0",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 - our own script
        [str(WORKER), "--no-startup-delay", "-v", "2"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(worker: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    if worker.poll() is None:
        worker.send_signal(sig)
    output, _ = worker.communicate(timeout=30)
    return output


def wait_until(check: Callable[[], bool], worker: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before {what}:\n{stop(worker)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 60 s:\n{stop(worker)}")
        time.sleep(0.1)


@pytest.fixture
def desk() -> Iterator[dict[str, object]]:
    admin = make_user("admin")
    grant(admin, "add_project")
    project = services.project_create(creator=admin, name="Desk")
    creator = make_member(project, "creator", Role.EDITOR)
    reviewers = [make_member(project, name) for name in ("reviewer_a", "reviewer_b")]
    document = make_document(project=project, actor=creator)
    claim = make_claim(document=document, actor=creator, exact="crime fell 20% last year")
    yield {"admin": admin, "project": project, "claim": claim, "reviewers": reviewers}


def reach_consensus(desk: dict[str, object], url: str) -> tuple[str, WebhookDelivery]:
    """An endpoint at ``url``, then two agreeing verdicts: the outbox row (committed, its
    task queued on commit) and the endpoint's secret."""
    with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"]):
        issued = services.webhook_endpoint_create(
            project=desk["project"],
            actor=desk["admin"],
            url=url,
            event_types=["consensus.reached"],
        )
    for reviewer in desk["reviewers"]:  # type: ignore[attr-defined]
        judge(desk["claim"], reviewer, "false")
    return issued.secret, WebhookDelivery.objects.get()


def delivery_status(db: WorkerDatabase, pk: int) -> str:
    db.pull()
    return WebhookDelivery.objects.get(pk=pk).status


def test_the_worker_delivers_on_the_third_try_with_a_verifiable_signature(
    worker_db: WorkerDatabase, desk: dict[str, object]
) -> None:
    with Receiver(500, 500) as receiver:
        secret, delivery = reach_consensus(desk, receiver.url)
        worker_db.push()
        worker = start_worker(worker_db)
        try:
            requests = receiver.wait_for(3)
            wait_until(
                lambda: delivery_status(worker_db, delivery.pk) == DeliveryStatus.DELIVERED,
                worker,
                "delivered status",
            )
        finally:
            output = stop(worker)
    assert worker.returncode == 0, output
    third = requests[2]
    message = Webhook(secret).verify(third.body, third.headers)
    assert message["type"] == "consensus.reached"
    assert message["data"]["claim_id"] == desk["claim"].pk  # type: ignore[attr-defined]
    assert message["data"]["rating"] == "false"
    assert {r.headers["webhook-id"] for r in requests} == {delivery.message_id}
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert list(delivery.log.values_list("number", "status_code", "outcome")) == [
        (1, 500, "retry"),
        (2, 500, "retry"),
        (3, 200, "delivered"),
    ]


def test_a_worker_killed_mid_delivery_loses_no_event(
    worker_db: WorkerDatabase, desk: dict[str, object]
) -> None:
    with Receiver(HANG) as receiver:
        _, delivery = reach_consensus(desk, receiver.url)
        worker_db.push()
        first = start_worker(worker_db, WEBHOOK_SWEEP_SECONDS="3600")
        receiver.wait_for(1)  # the request is in flight, held open by the receiver
        stop(first, signal.SIGKILL)
        assert first.returncode == -signal.SIGKILL
        assert delivery_status(worker_db, delivery.pk) == DeliveryStatus.PENDING
        second = start_worker(worker_db)
        try:
            requests = receiver.wait_for(2)
            wait_until(
                lambda: delivery_status(worker_db, delivery.pk) == DeliveryStatus.DELIVERED,
                second,
                "delivered status",
            )
        finally:
            output = stop(second)
    assert second.returncode == 0, output
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    assert requests[0].body == requests[1].body
    delivery.refresh_from_db()
    # The killed attempt left no log row; the new worker's is the one.
    assert list(delivery.log.values_list("status_code", "outcome")) == [(200, "delivered")]
