"""Delete the expired ``Idempotency-Key`` answers.

    python manage.py purge_idempotency_keys

Keys live ``IDEMPOTENCY_KEY_TTL_HOURS`` (default 24). A user's expired keys are also
deleted whenever they next send a key; this command clears everyone's (run it daily, e.g.
from cron). Live keys are never touched, so it is safe at any time.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotations import services


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key answers (safe at any time)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = services.idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
