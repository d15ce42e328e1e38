"""Services: projects and members (``annotations/services/projects.py``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from annotations import services
from annotations.models import Event, Membership, Project, Rating, Role
from tests.factories import make_user
from tests.services.base import ServiceTestCase, counts


class ProjectCreateTests(ServiceTestCase):
    def test_it_creates_the_default_rating_scale_in_order(self) -> None:
        project = services.project_create(creator=self.editor, name="Election desk")
        scale = list(
            Rating.objects.filter(project=project)
            .order_by("position")
            .values_list("key", "ordinal", "position")
        )
        self.assertEqual(
            scale,
            [
                ("true", 5, 0),
                ("mostly_true", 4, 1),
                ("half_true", 3, 2),
                ("mostly_false", 2, 3),
                ("false", 1, 4),
                ("misleading", None, 5),
                ("unverifiable", None, 6),
                ("not_checkable", None, 7),
            ],
        )
        self.assertEqual(
            Rating.objects.get(project=project, key="mostly_true").label, "Mostly true"
        )

    def test_it_makes_the_creator_the_only_member_as_admin(self) -> None:
        project = services.project_create(creator=self.editor, name="Election desk")
        self.assertEqual(
            list(Membership.objects.filter(project=project).values_list("user", "role")),
            [(self.editor.pk, Role.ADMIN)],
        )
        self.assertEqual(project.created_by, self.editor)

    def test_it_derives_the_slug_from_the_name(self) -> None:
        project = services.project_create(creator=self.editor, name="Élection Desk 2026!")
        self.assertEqual(project.slug, "election-desk-2026")

    def test_it_records_a_project_create_event_with_the_policy(self) -> None:
        project = services.project_create(
            creator=self.editor,
            name="Majority desk",
            required_reviews=3,
            consensus_rule="majority",
            majority_threshold=0.6,
            lease_minutes=15,
        )
        event = Event.objects.get(verb="project.create", object_id=project.pk)
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(event.project, project)
        self.assertEqual(event.object_type, "project")
        self.assertEqual(
            event.after,
            {
                "name": "Majority desk",
                "required_reviews": 3,
                "consensus_rule": "majority",
                "majority_threshold": 0.6,
                "lease_minutes": 15,
                "publishing_enabled": False,
                "min_citations": 0,
                "quote_required": False,
                "allowed_stances": ["supports", "refutes", "context"],
                "gold_rate": 0.0,
                "scale": [
                    {"key": key, "label": label, "ordinal": ordinal, "position": position}
                    for position, (key, label, ordinal) in enumerate(services.DEFAULT_SCALE)
                ],
            },
        )

    def test_it_creates_the_scale_it_is_given_instead_of_the_default(self) -> None:
        # As the native export writes a project's scale: a default relabelled and moved,
        # one renumbered, defaults removed, a rating of the project's own.
        scale = [
            {"key": "false", "label": "Pants on fire", "ordinal": 0, "position": 0},
            {"key": "mostly_true", "label": "Mostly true", "ordinal": 7, "position": 1},
            {"key": "true", "label": "True", "ordinal": 9, "position": 2},
            {"key": "satire", "label": "Satire", "ordinal": None, "position": 5},
        ]
        project = services.project_create(creator=self.editor, name="Restored", scale=scale)
        self.assertEqual(
            list(
                Rating.objects.filter(project=project)
                .order_by("position")
                .values("key", "label", "ordinal", "position")
            ),
            scale,
        )
        event = Event.objects.get(verb="project.create", object_id=project.pk)
        self.assertEqual(event.after["scale"], scale)

    def test_it_rejects_a_bad_scale_and_writes_nothing(self) -> None:
        good = {"key": "true", "label": "True", "ordinal": 1, "position": 0}
        cases = [
            ([], "at least one rating"),
            ("true", "a list of ratings"),
            ({"true": good}, "a list of ratings"),
            ([good, {**good, "label": "Again"}], "'true' appears twice"),
            ([{**good, "key": ""}], "1 to 40 letters"),
            ([{**good, "key": "no spaces"}], "1 to 40 letters"),
            ([{**good, "key": "k" * 41}], "1 to 40 letters"),
            ([{**good, "label": ""}], "1 to 80 characters"),
            ([{**good, "label": "x" * 81}], "1 to 80 characters"),
            ([{**good, "label": "Tr\x00ue"}], "NUL"),
            ([{**good, "ordinal": 32768}], "the ordinal must be"),
            ([{**good, "ordinal": 2.5}], "the ordinal must be"),
            ([{**good, "ordinal": True}], "the ordinal must be"),
            ([{**good, "ordinal": "3"}], "the ordinal must be"),
            ([{**good, "position": -1}], "the position must be"),
            ([{**good, "position": None}], "the position must be"),
            ([{"key": "true", "label": "True", "ordinal": 1}], "exactly key, label"),
            ([{**good, "extra": 1}], "exactly key, label"),
            (["true"], "exactly key, label"),
        ]
        for scale, fragment in cases:
            with self.subTest(scale=scale):
                before = counts(Project, Rating, Membership, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.project_create(creator=self.editor, name="Scaled", scale=scale)
                self.assertFieldError(caught.exception, "scale", fragment)
                self.assertEqual(counts(Project, Rating, Membership, Event), before)

    def test_it_names_every_bad_scale_entry_at_once(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.project_create(
                creator=self.editor,
                name="Scaled",
                scale=[
                    {"key": "ok", "label": "Fine", "ordinal": None, "position": 0},
                    {"key": "ok", "label": "", "ordinal": None, "position": 1},
                    {"key": "b@d", "label": "Bad", "ordinal": None, "position": -2},
                ],
            )
        self.assertEqual(
            caught.exception.message_dict["scale"],
            [
                "Rating 1: the key 'ok' appears twice.",
                "Rating 1: the label must be text of 1 to 80 characters.",
                "Rating 2: the key must be 1 to 40 letters, digits, '-' or '_' (e.g. 'mostly_true').",
                "Rating 2: the position must be a whole number from 0 to 32767.",
            ],
        )

    def test_it_rejects_a_bad_policy_and_writes_nothing(self) -> None:
        cases = [
            ({"required_reviews": 0}, "required_reviews"),
            ({"required_reviews": 21}, "required_reviews"),
            ({"required_reviews": "2"}, "required_reviews"),
            ({"majority_threshold": 0.49}, "majority_threshold"),
            ({"majority_threshold": 1}, "majority_threshold"),
            ({"majority_threshold": "0.6"}, "majority_threshold"),
            ({"lease_minutes": 0}, "lease_minutes"),
            ({"lease_minutes": 1441}, "lease_minutes"),
            ({"lease_minutes": 2.5}, "lease_minutes"),
            ({"consensus_rule": "plurality"}, "consensus_rule"),
            ({"slug": "desk"}, "slug"),  # taken by the personas' project
            ({"name": ""}, "name"),
        ]
        for policy, field in cases:
            with self.subTest(policy=policy):
                before = counts(Project, Rating, Membership, Event)
                kwargs = {"creator": self.editor, "name": "Policy desk", **policy}
                with self.assertRaises(ValidationError) as caught:
                    services.project_create(**kwargs)
                self.assertFieldError(caught.exception, field)
                self.assertEqual(counts(Project, Rating, Membership, Event), before)

    def test_it_reports_every_bad_policy_field_at_once(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.project_create(
                creator=self.editor,
                name="Bad",
                required_reviews=0,
                majority_threshold=2.0,
                lease_minutes=0,
            )
        self.assertEqual(
            set(caught.exception.message_dict),
            {"required_reviews", "majority_threshold", "lease_minutes"},
        )


class ProjectUpdateTests(ServiceTestCase):
    def test_it_changes_the_policy_and_records_before_and_after(self) -> None:
        project = services.project_update(
            project=self.project, actor=self.admin, required_reviews=3, name="Desk B"
        )
        fresh = Project.objects.get(pk=self.project.pk)
        self.assertEqual((fresh.required_reviews, fresh.name), (3, "Desk B"))
        self.assertEqual(project.required_reviews, 3)
        event = Event.objects.get(verb="project.update", object_id=self.project.pk)
        self.assertEqual(event.before["required_reviews"], 2)
        self.assertEqual(event.after["required_reviews"], 3)
        self.assertEqual(event.after["name"], "Desk B")

    def test_it_rejects_unknown_fields_and_bad_values_without_writing(self) -> None:
        for changes, field in [
            ({"slug": "other"}, "slug"),
            ({"created_by": None}, "created_by"),
            ({"lease_minutes": 0}, "lease_minutes"),
            ({"majority_threshold": 0.2}, "majority_threshold"),
        ]:
            with self.subTest(changes=changes):
                before = counts(Event)
                with self.assertRaises(ValidationError) as caught:
                    services.project_update(project=self.project, actor=self.admin, **changes)
                self.assertFieldError(caught.exception, field)
                fresh = Project.objects.get(pk=self.project.pk)
                self.assertEqual(
                    (fresh.slug, fresh.lease_minutes, fresh.majority_threshold),
                    (self.project.slug, 30, 0.5),
                )
                self.assertEqual(counts(Event), before)


class MemberAddTests(ServiceTestCase):
    def test_it_adds_a_member_with_an_event(self) -> None:
        newcomer = make_user("newcomer")
        membership = services.member_add(
            project=self.project, user=newcomer, role=Role.EDITOR, actor=self.admin
        )
        self.assertEqual((membership.user, membership.role), (newcomer, Role.EDITOR))
        event = Event.objects.get(verb="member.add", object_id=membership.pk)
        self.assertIsNone(event.before)
        self.assertEqual(event.after, {"user": "newcomer", "role": "editor"})

    def test_it_changes_the_role_of_an_existing_member(self) -> None:
        membership = services.member_add(
            project=self.project, user=self.reviewer_a, role=Role.EDITOR, actor=self.admin
        )
        self.assertEqual(
            Membership.objects.filter(project=self.project, user=self.reviewer_a).count(), 1
        )
        self.assertEqual(Membership.objects.get(pk=membership.pk).role, Role.EDITOR)
        event = Event.objects.filter(verb="member.add", object_id=membership.pk).latest("id")
        self.assertEqual(event.before, {"role": "reviewer"})

    def test_it_rejects_an_unknown_role(self) -> None:
        before = counts(Membership, Event)
        with self.assertRaises(ValidationError) as caught:
            services.member_add(
                project=self.project, user=self.outsider, role="owner", actor=self.admin
            )
        self.assertFieldError(caught.exception, "role", "'owner'")
        self.assertEqual(counts(Membership, Event), before)

    def test_it_refuses_to_demote_the_last_admin_and_writes_nothing(self) -> None:
        before = counts(Membership, Event)
        for role in (Role.EDITOR, Role.REVIEWER):
            with self.subTest(role=role), self.assertRaises(ValidationError) as caught:
                services.member_add(
                    project=self.project, user=self.admin, role=role, actor=self.admin
                )
            self.assertFieldError(caught.exception, "role", "A project needs at least one admin.")
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.admin).role, Role.ADMIN
        )
        self.assertEqual(counts(Membership, Event), before)

    def test_it_demotes_an_admin_while_another_remains(self) -> None:
        services.member_add(
            project=self.project, user=self.editor, role=Role.ADMIN, actor=self.admin
        )
        membership = services.member_add(
            project=self.project, user=self.admin, role=Role.REVIEWER, actor=self.editor
        )
        self.assertEqual(membership.role, Role.REVIEWER)
        self.assertEqual(
            list(
                Membership.objects.filter(project=self.project, role=Role.ADMIN).values_list(
                    "user", flat=True
                )
            ),
            [self.editor.pk],
        )
        event = Event.objects.filter(verb="member.add", object_id=membership.pk).latest("id")
        self.assertEqual(event.before, {"role": "admin"})

    def test_the_last_admin_may_keep_their_role(self) -> None:
        membership = services.member_add(
            project=self.project, user=self.admin, role=Role.ADMIN, actor=self.admin
        )
        self.assertEqual(membership.role, Role.ADMIN)

    def test_it_records_nothing_when_the_role_does_not_change(self) -> None:
        for user, role in ((self.admin, Role.ADMIN), (self.reviewer_a, Role.REVIEWER)):
            with self.subTest(role=role):
                before = counts(Membership, Event)
                membership = services.member_add(
                    project=self.project, user=user, role=role, actor=self.admin
                )
                self.assertEqual((membership.user, membership.role), (user, role))
                self.assertEqual(counts(Membership, Event), before)


class MemberRemoveTests(ServiceTestCase):
    def _membership(self, user) -> Membership:
        return Membership.objects.get(project=self.project, user=user)

    def test_it_removes_a_member_with_an_event(self) -> None:
        membership = self._membership(self.reviewer_a)
        services.member_remove(membership=membership, actor=self.admin)
        self.assertFalse(Membership.objects.filter(pk=membership.pk).exists())
        event = Event.objects.get(verb="member.remove", object_id=membership.pk)
        self.assertEqual(
            (event.actor, event.project_id, event.before, event.after),
            (self.admin, self.project.pk, {"user": "reviewer_a", "role": "reviewer"}, None),
        )

    def test_it_refuses_to_remove_the_last_admin_and_writes_nothing(self) -> None:
        before = counts(Membership, Event)
        with self.assertRaises(ValidationError) as caught:
            services.member_remove(membership=self._membership(self.admin), actor=self.admin)
        self.assertFieldError(caught.exception, "role", "A project needs at least one admin.")
        self.assertEqual(counts(Membership, Event), before)

    def test_it_removes_an_admin_while_another_remains(self) -> None:
        services.member_add(
            project=self.project, user=self.editor, role=Role.ADMIN, actor=self.admin
        )
        services.member_remove(membership=self._membership(self.admin), actor=self.editor)
        self.assertFalse(Membership.objects.filter(project=self.project, user=self.admin).exists())

    def test_removing_a_member_twice_does_nothing_the_second_time(self) -> None:
        membership = self._membership(self.reviewer_a)
        services.member_remove(membership=membership, actor=self.admin)
        before = counts(Membership, Event)
        services.member_remove(membership=membership, actor=self.admin)
        self.assertEqual(counts(Membership, Event), before)


class MemberChangesCheckTests(ServiceTestCase):
    """Several membership changes at once (the admin's project page)."""

    def test_it_refuses_only_changes_that_leave_no_admin(self) -> None:
        admin = Membership.objects.get(project=self.project, user=self.admin).pk
        editor = Membership.objects.get(project=self.project, user=self.editor).pk
        cases = [
            ({admin: Role.EDITOR}, 0, True),
            ({admin: None}, 0, True),
            ({admin: None, editor: Role.REVIEWER}, 0, True),
            ({admin: Role.EDITOR, editor: Role.ADMIN}, 0, False),  # a hand-over
            ({admin: None}, 1, False),  # a new member joins as admin
            ({admin: Role.ADMIN, editor: None}, 0, False),
            ({editor: Role.REVIEWER}, 0, False),
            ({}, 0, False),
        ]
        for roles, new_admins, refused in cases:
            with self.subTest(roles=roles, new_admins=new_admins):
                if refused:
                    with self.assertRaises(ValidationError) as caught:
                        services.member_changes_check(
                            project_id=self.project.pk, roles=roles, new_admins=new_admins
                        )
                    self.assertFieldError(caught.exception, "role", "at least one admin")
                else:
                    services.member_changes_check(
                        project_id=self.project.pk, roles=roles, new_admins=new_admins
                    )

    def test_a_change_that_takes_no_admin_away_passes_where_there_is_none(self) -> None:
        # Rows written before the rule (or by hand) may have no admin; unrelated changes
        # must not be blocked by that.
        Membership.objects.filter(project=self.project, user=self.admin).update(role=Role.EDITOR)
        editor = Membership.objects.get(project=self.project, user=self.editor).pk
        services.member_changes_check(project_id=self.project.pk, roles={editor: None})
        services.member_add(
            project=self.project, user=self.reviewer_a, role=Role.EDITOR, actor=self.editor
        )
