"""The last-admin rule under real concurrency (PostgreSQL only: row locks).

Two requests demote (or remove) a project's last two admins at the same instant. Each
alone is fine, since another admin remains; together they would leave the project without
one. The services lock the project's admin memberships first, so the second waits for the
first to commit, then sees one admin left and refuses. The threads start together
(``run_together`` from the queue's concurrency tests), each on its own connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import TransactionTestCase

from annotations import services
from annotations.models import Event, Membership, Role
from annotations.services import projects
from tests.factories import make_member, make_project, make_user
from tests.test_queue_concurrency import run_together

ROUNDS = 5
# Held between reading the admins and writing: without the row lock both requests would
# read two admins during this pause and both would demote.
PAUSE = 0.2


def _slow(check: Callable[..., None]) -> Callable[..., None]:
    def wrapper(*args: Any, **kwargs: Any) -> None:
        time.sleep(PAUSE)
        check(*args, **kwargs)

    return wrapper


@pytest.mark.postgres("row locks on the project's admin memberships")
class LastAdminConcurrencyTests(TransactionTestCase):
    def setUp(self) -> None:
        self.actor = make_user("actor")

    def _desk(self, round_: int) -> tuple[Membership, Membership]:
        first = make_user(f"first_{round_}")
        project = make_project(creator=first, name=f"Desk {round_}")
        second = make_member(project, f"second_{round_}", Role.ADMIN)
        make_member(project, f"reviewer_{round_}", Role.REVIEWER)
        return (
            Membership.objects.get(project=project, user=first),
            Membership.objects.get(project=project, user=second),
        )

    def _demote(self, membership: Membership) -> Callable[[], Membership]:
        return lambda: services.member_add(
            project=membership.project, user=membership.user, role=Role.EDITOR, actor=self.actor
        )

    def _remove(self, membership: Membership) -> Callable[[], None]:
        return lambda: services.member_remove(membership=membership, actor=self.actor)

    def _assert_one_refused(self, first: Membership, errors: list[BaseException | None]) -> None:
        refused = [error for error in errors if error is not None]
        self.assertEqual(len(refused), 1, errors)
        self.assertIsInstance(refused[0], ValidationError)  # not a deadlock or other failure
        self.assertEqual(refused[0].message_dict, {"role": ["A project needs at least one admin."]})
        self.assertEqual(
            Membership.objects.filter(project_id=first.project_id, role=Role.ADMIN).count(), 1
        )

    def test_two_simultaneous_demotions_of_the_last_two_admins_leave_one(self) -> None:
        with mock.patch.object(projects, "_require_an_admin", _slow(projects._require_an_admin)):
            for round_ in range(ROUNDS):
                with self.subTest(round=round_):
                    first, second = self._desk(round_)
                    events = Event.objects.count()
                    _, errors = run_together([self._demote(first), self._demote(second)])
                    self._assert_one_refused(first, errors)
                    # Only the demotion that went through is on record.
                    self.assertEqual(Event.objects.count(), events + 1)

    def test_a_demotion_and_a_removal_at_once_leave_one_admin(self) -> None:
        with mock.patch.object(projects, "_require_an_admin", _slow(projects._require_an_admin)):
            for round_ in range(ROUNDS):
                with self.subTest(round=round_):
                    first, second = self._desk(round_)
                    _, errors = run_together([self._demote(first), self._remove(second)])
                    self._assert_one_refused(first, errors)
                    demoted, removed = errors[0] is None, errors[1] is None
                    self.assertEqual(
                        (
                            Membership.objects.get(pk=first.pk).role == Role.EDITOR,
                            not Membership.objects.filter(pk=second.pk).exists(),
                        ),
                        (demoted, removed),
                    )
