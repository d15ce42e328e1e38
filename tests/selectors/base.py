"""What the selector and access tests share: ``SelectorTestCase`` (the personas with a
review policy, the first ``claim_count`` claims, and the verdicts a user may see) and a
fixed clock. Used by ``tests/selectors/test_review.py``, ``tests/selectors/test_projects.py``
and ``tests/test_access.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.test import TestCase

from annotations import selectors
from annotations.models import Claim, Membership
from tests.factories import Personas, make_claim

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)

CLAIM_TEXTS = (
    "crime fell 20% last year",
    "Unemployment is at a record low of 3.1%",
    "the new bridge cost $2 billion",
    "Others disagree",
)


class SelectorTestCase(Personas, TestCase):
    policy: ClassVar[dict[str, Any]] = {}
    claim_count: ClassVar[int] = 1

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(**cls.policy)
        cls.claims = [
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in CLAIM_TEXTS[: cls.claim_count]
        ]

    @staticmethod
    def membership(user: Any, claim: Claim) -> Membership | None:
        return Membership.objects.filter(user=user, project_id=claim.project_id).first()

    def visible(self, user: Any, claim: Claim, **kwargs: Any) -> list[tuple[str, int]]:
        """(reviewer username, revision) of the verdicts on ``claim`` that ``user`` may see."""
        verdicts = selectors.verdicts_visible_to(
            user=user, claim=claim, membership=self.membership(user, claim), **kwargs
        )
        return [(v.reviewer.get_username(), v.revision) for v in verdicts]
