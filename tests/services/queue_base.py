"""What the queue and review service tests share: ``QueueTestCase`` (personas, a project
with a policy and claims in creation order) and a fixed clock."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.test import TestCase

from annotations import services
from annotations.models import (
    Assignment,
    Citation,
    Consensus,
    Event,
    Publication,
    Source,
    Verdict,
)
from tests.factories import Personas, make_claim

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=30)  # the default Project.lease_minutes
SECOND = dt.timedelta(seconds=1)

CLAIM_TEXTS = (
    "crime fell 20% last year",
    "Unemployment is at a record low of 3.1%",
    "the new bridge cost $2 billion",
)
SCALE_KEYS = (
    "true",
    "mostly_true",
    "half_true",
    "mostly_false",
    "false",
    "misleading",
    "unverifiable",
    "not_checkable",
)


class QueueTestCase(Personas, TestCase):
    """Personas, a project with ``policy`` and ``claim_count`` claims by ``creator``
    (created in order, so ``claims[0]`` is the oldest)."""

    policy: ClassVar[dict[str, Any]] = {}
    claim_count: ClassVar[int] = 3

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(**cls.policy)
        cls.claims = [
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in CLAIM_TEXTS[: cls.claim_count]
        ]

    # --- helpers -------------------------------------------------------------------

    def lease(self, reviewer: Any, *, now: dt.datetime = T0) -> Assignment | None:
        return services.lease_next(reviewer=reviewer, project=self.project, now=now)

    @staticmethod
    def fresh(obj: Any) -> Any:
        return type(obj).objects.get(pk=obj.pk)

    @staticmethod
    def last_event_id() -> int:
        return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    @staticmethod
    def verbs_since(event_id: int) -> list[str]:
        return list(
            Event.objects.filter(id__gt=event_id).order_by("id").values_list("verb", flat=True)
        )

    @staticmethod
    def row_counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (Verdict, Citation, Source, Event, Consensus, Assignment, Publication)
        }

    def assertWritesNothing(self, before: dict[str, int]) -> None:
        self.assertEqual(self.row_counts(), before)
