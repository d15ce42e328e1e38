"""``manage.py purge_idempotency_keys``: expired Idempotency-Key answers go, live ones stay."""

from __future__ import annotations

import datetime as dt

from django.test import TestCase
from django.utils import timezone

from annotations import services
from annotations.models import IdempotencyKey
from tests.commands.base import run
from tests.factories import make_user


def keep(user, key: str) -> None:
    request = services.IdempotentRequest(
        user=user, key=key, method="POST", path="/api/v1/documents/", fingerprint=key * 8
    )
    services.idempotency_run(
        request=request, produce=lambda: (None, services.StoredAnswer(201, '{"id": 1}'))
    )


class PurgeIdempotencyKeysTests(TestCase):
    def test_it_deletes_only_expired_keys(self) -> None:
        user = make_user("client")
        keep(user, "old")
        keep(user, "live")
        IdempotencyKey.objects.filter(key="old").update(
            created_at=timezone.now() - dt.timedelta(hours=30),
            expires_at=timezone.now() - dt.timedelta(hours=6),
        )
        self.assertIn("Deleted 1 expired", run("purge_idempotency_keys"))
        self.assertEqual(list(IdempotencyKey.objects.values_list("key", flat=True)), ["live"])
        self.assertIn("Deleted 0 expired", run("purge_idempotency_keys"))
