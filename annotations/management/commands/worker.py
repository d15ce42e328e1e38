"""Run the background worker: django-tasks-db's ``db_worker`` (Django's tasks framework,
queue in the database) plus the webhook outbox sweep.

    manage.py worker                  # what bin/worker and ./wb demo run
    manage.py worker --batch          # run what is due, then exit

Every option of ``db_worker`` applies (``--interval``, ``--max-tasks``, ``--worker-id``…;
``--reload`` is off unless asked for). Any number of workers may run, on any number of
machines: each task row is claimed under a row lock (``SKIP LOCKED`` on PostgreSQL).

The sweep (``services.webhooks_sweep``) runs when the worker starts and then every
``WEBHOOK_SWEEP_SECONDS`` in a thread of its own: it queues again the webhook deliveries
whose task was lost (a worker killed while sending one), so no event is lost. It also
queues the link-rot checks of cited sources that are due (``services.sources_check_sweep``,
every ``SOURCE_CHECK_INTERVAL_HOURS``), and tells reviewers whose lease expires within
``LEASE_WARNING_MINUTES`` (``services.leases_expiring_notify``, once per lease).
"""

from __future__ import annotations

import logging
import os
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from annotations import services

logger = logging.getLogger("annotations.worker")


def _sweep_once() -> None:
    try:
        queued = services.webhooks_sweep()
        if queued:
            logger.warning("Webhook sweep: queued %d delivery task(s) again.", queued)
    except Exception:
        # The database may be away for a moment; the next sweep tries again.
        logger.exception("Webhook sweep failed")
    try:
        # The link-rot watch: queue the checks of cited sources that are due.
        services.sources_check_sweep()
    except Exception:
        logger.exception("Source check sweep failed")
    try:
        # Leases about to expire: tell their reviewers (once per lease; issue 18).
        services.leases_expiring_notify()
    except Exception:
        logger.exception("Lease warning sweep failed")


def _sweeper(stop: threading.Event, interval: float) -> None:
    try:
        while not stop.wait(interval):
            _sweep_once()
            # This thread's connection: dropped when broken or past CONN_MAX_AGE.
            close_old_connections()
    finally:
        connection.close()


class Command(db_worker.Command):
    help = "Run the background worker (django-tasks-db's db_worker) and the webhook outbox sweep."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Off unless asked for, even with DEBUG on: a reload stops a task mid-delivery.
        parser.set_defaults(reload=False)
        parser.add_argument(
            "--no-sweep",
            action="store_false",
            dest="sweep",
            help="Do not run the webhook outbox sweep in this worker.",
        )

    def handle(self, *args: Any, sweep: bool = True, **options: Any) -> None:
        reloading_parent = options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if sweep and not reloading_parent:
            _sweep_once()
            if not options.get("batch"):
                interval = float(settings.WEBHOOK_SWEEP_SECONDS)
                stop = threading.Event()
                threading.Thread(
                    target=_sweeper, args=(stop, interval), name="webhook-sweep", daemon=True
                ).start()
        super().handle(*args, **options)
