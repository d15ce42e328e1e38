"""Services: validation before any write, canonical text, span selectors, audit events."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.test import TestCase, override_settings

from annotations import services
from annotations.core import spans
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import SAMPLE_TEXT, Personas, make_claim, make_document, make_user

# Astral emoji, a ZWJ sequence, a combining mark NFC composes (e + U+0301) and one it
# cannot (q + U+0307), CJK and right-to-left Arabic.
UNICODE_TEXT = (
    "🌉🎉 Breaking: the mayor said crime fell 20%.\n"
    "Cafe\u0301 owners and the q\u0307 symbol stay as typed.\n"
    "東京の人口は1400万人を超えた。\n"
    "قال الوزير إن التضخم انخفض.\n"
    "A family 👩\u200d👩\u200d👧 ends the text."
)


def counts(*models: type[Model]) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


class ServiceTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def assertFieldError(self, exc: ValidationError, field: str, fragment: str = "") -> str:
        self.assertIn(field, exc.message_dict, exc.message_dict)
        message = " ".join(exc.message_dict[field])
        self.assertIn(fragment, message)
        return message


# --- projects and members ------------------------------------------------------------------


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


# --- documents -------------------------------------------------------------------------------


class DocumentCreateTests(ServiceTestCase):
    def _create(self, text: str, **meta) -> Document:
        meta.setdefault("title", "Doc")
        return services.document_create(
            project=self.project, data=services.DocumentInput(text=text, **meta), actor=self.editor
        )

    def test_it_canonicalises_line_endings_and_normal_form(self) -> None:
        raw = "Cafe\u0301 line one\r\nline two\rline three\n"
        document = self._create(raw)
        self.assertEqual(document.text, "Caf\u00e9 line one\nline two\nline three\n")
        self.assertTrue(unicodedata.is_normalized("NFC", document.text))
        self.assertEqual(document.raw_text, raw)
        stored = Document.objects.get(pk=document.pk)
        self.assertEqual((stored.text, stored.raw_text), (document.text, raw))

    def test_it_keeps_an_explicit_raw_text_as_provenance(self) -> None:
        document = self._create("Body.", raw_text="<p>Body.</p>")
        self.assertEqual((document.text, document.raw_text), ("Body.", "<p>Body.</p>"))

    def test_it_stores_the_sha256_of_the_utf8_canonical_text(self) -> None:
        document = self._create("Cafe\u0301 \U0001f309\r\n")
        expected = hashlib.sha256("Caf\u00e9 \U0001f309\n".encode()).hexdigest()
        self.assertEqual(document.text_sha256, expected)
        self.assertEqual(Document.objects.get(pk=document.pk).text_sha256, expected)

    def test_it_counts_the_length_in_code_points(self) -> None:
        cases = [
            ("a\U0001f309b", 3),  # an astral emoji is one code point (two UTF-16 units)
            ("Cafe\u0301", 4),  # composed by NFC first
            ("q\u0307", 2),  # no precomposed form: two code points
            ("東京", 2),
            ("line\r\nline", 9),  # CRLF becomes one "\n"
        ]
        for text, length in cases:
            with self.subTest(text=text):
                document = self._create(text)
                self.assertEqual(document.length, length)
                self.assertEqual(document.length, len(document.text))

    def test_it_records_a_document_create_event(self) -> None:
        document = self._create("Evented text.", title="  Evented  ")
        self.assertEqual(document.title, "Evented")
        event = Event.objects.get(verb="document.create", object_id=document.pk)
        self.assertEqual((event.actor, event.project), (self.editor, self.project))
        self.assertEqual(
            event.after,
            {"title": "Evented", "text_sha256": document.text_sha256, "length": 13},
        )

    def test_it_rejects_a_duplicate_text_and_writes_nothing(self) -> None:
        self._create("Cafe\u0301 society\r\n")
        # The personas' document holds SAMPLE_TEXT; other spellings canonicalise to it.
        cases = [
            (SAMPLE_TEXT, self.document.text_sha256),
            (SAMPLE_TEXT.replace("\n", "\r\n"), self.document.text_sha256),
            ("Caf\u00e9 society\n", spans.text_sha256("Caf\u00e9 society\n")),
        ]
        for text, sha in cases:
            with self.subTest(text=text[:20]):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create(text, title="Copy")
                message = self.assertFieldError(caught.exception, "text", sha[:12])
                self.assertIn("already has a document with the same text", message)
                self.assertEqual(counts(Document, Event), before)

    def test_it_marks_the_duplicate_error_with_code_duplicate(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self._create(SAMPLE_TEXT, title="Copy")
        self.assertEqual(caught.exception.error_dict["text"][0].code, "duplicate")

    def test_it_allows_the_same_text_in_another_project(self) -> None:
        document = services.document_create(
            project=self.other_project,
            data=services.DocumentInput(title="Same", text=SAMPLE_TEXT),
            actor=self.outsider,
        )
        self.assertEqual(document.text_sha256, self.document.text_sha256)

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=10)
    def test_it_rejects_bad_input_naming_the_field_and_writes_nothing(self) -> None:
        cases = [
            ({"text": ""}, "text", "empty"),
            ({"text": " \n\t "}, "text", "empty"),
            ({"text": "x" * 11}, "text", "limit is 10"),
            ({"text": "ok", "title": "   "}, "title", "title"),
            ({"text": "ok", "source_url": "javascript:alert(1)"}, "source_url", "http"),
            ({"text": "ok", "source_url": "ftp://example.org/a"}, "source_url", "http"),
            ({"text": "ok", "source_url": "example.org/a"}, "source_url", "http"),
            ({"text": "ok", "source_url": "data:text/html,hi"}, "source_url", "http"),
        ]
        for data, field, fragment in cases:
            with self.subTest(data=data):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create(**data)
                self.assertFieldError(caught.exception, field, fragment)
                self.assertEqual(counts(Document, Event), before)

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=10)
    def test_it_accepts_a_text_at_the_limit(self) -> None:
        self.assertEqual(self._create("x" * 10).length, 10)

    def test_it_keeps_a_valid_source_url_without_surrounding_spaces(self) -> None:
        document = self._create("Sourced.", source_url="  https://example.org/story  ")
        self.assertEqual(document.source_url, "https://example.org/story")

    def test_it_accepts_a_document_without_an_actor(self) -> None:
        document = services.document_create(
            project=self.project,
            data=services.DocumentInput(title="Anonymous", text="Imported by a script."),
            actor=None,
        )
        self.assertIsNone(document.created_by)


class DocumentCreateManyTests(ServiceTestCase):
    def test_it_creates_every_document_in_order_with_events(self) -> None:
        items = [
            services.DocumentInput(title=f"Doc {n}", text=f"Text number {n}.\r\n") for n in range(3)
        ]
        created = services.document_create_many(
            project=self.project, items=items, actor=self.editor
        )
        self.assertEqual([d.title for d in created], ["Doc 0", "Doc 1", "Doc 2"])
        self.assertTrue(all(d.pk for d in created))
        self.assertEqual(created[1].text, "Text number 1.\n")
        logged = Event.objects.filter(verb="document.create", object_id__in=[d.pk for d in created])
        self.assertEqual(
            sorted(logged.values_list("object_id", flat=True)), [d.pk for d in created]
        )
        self.assertTrue(all(event.actor == self.editor for event in logged))

    def test_it_writes_nothing_and_keys_errors_by_index(self) -> None:
        items = [
            services.DocumentInput(title="Good", text="A perfectly good text."),
            services.DocumentInput(title="Empty", text="  "),
            services.DocumentInput(title="Existing", text=SAMPLE_TEXT),
            services.DocumentInput(title="No title", text="Another good text.", source_url="x"),
            services.DocumentInput(title="Repeat", text="A perfectly good text."),
        ]
        before = counts(Document, Event)
        with self.assertRaises(ValidationError) as caught:
            services.document_create_many(project=self.project, items=items, actor=self.editor)
        errors = caught.exception.message_dict
        self.assertEqual(set(errors), {"1.text", "2.text", "3.source_url", "4.text"})
        self.assertIn("empty", errors["1.text"][0])
        self.assertIn("already has a document", errors["2.text"][0])
        self.assertIn("earlier item", errors["4.text"][0])
        self.assertEqual(counts(Document, Event), before)

    def test_it_rejects_a_batch_with_one_bad_item_entirely(self) -> None:
        items = [
            services.DocumentInput(title="Good", text="Good one."),
            services.DocumentInput(title="", text="Untitled."),
        ]
        with self.assertRaises(ValidationError) as caught:
            services.document_create_many(project=self.project, items=items, actor=self.editor)
        self.assertEqual(set(caught.exception.message_dict), {"1.title"})
        self.assertFalse(Document.objects.filter(title="Good").exists())


# --- claims ----------------------------------------------------------------------------------


class ClaimCreateTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.unicode_document = make_document(
            project=cls.project, actor=cls.creator, text=UNICODE_TEXT, title="Unicode"
        )

    def _targets(self, text: str) -> list[tuple[str, int, int]]:
        quotes = [
            "🌉🎉",  # at offset 0: empty prefix
            "crime fell 20%",
            "Caf\u00e9 owners",
            "q\u0307 symbol",
            "東京の人口は1400万人を超えた。",
            "قال الوزير إن التضخم انخفض.",
            "👩\u200d👩\u200d👧",
            "ends the text.",  # at the very end: empty suffix
        ]
        return [(q, text.index(q), text.index(q) + len(q)) for q in quotes]

    def test_it_stores_exact_prefix_and_suffix_in_code_points(self) -> None:
        text = self.unicode_document.text
        self.assertEqual(text, unicodedata.normalize("NFC", UNICODE_TEXT))
        loaded = self.unicode_document
        deferred = Document.objects.defer("text", "raw_text").get(pk=loaded.pk)
        for label, document in [("text loaded", loaded), ("text deferred", deferred)]:
            for quote, start, end in self._targets(text):
                with self.subTest(document=label, quote=quote):
                    claim = services.claim_create(
                        document=document, start=start, end=end, exact=quote, actor=self.creator
                    )
                    self.assertEqual(claim.exact, quote)
                    self.assertEqual(claim.exact, text[start:end])
                    self.assertEqual(claim.prefix, text[max(0, start - 32) : start])
                    self.assertEqual(claim.suffix, text[end : end + 32])
                    stored = Claim.objects.get(pk=claim.pk)
                    self.assertEqual(
                        (stored.start, stored.end, stored.exact, stored.prefix, stored.suffix),
                        (start, end, quote, claim.prefix, claim.suffix),
                    )

    def test_it_cuts_context_at_32_code_points(self) -> None:
        text = self.unicode_document.text
        start = text.index("東京")
        claim = services.claim_create(
            document=self.unicode_document, start=start, end=start + 2, actor=self.creator
        )
        self.assertEqual(len(claim.prefix), 32)
        self.assertEqual(len(claim.suffix), 32)
        self.assertTrue(claim.prefix.endswith("typed.\n"))
        self.assertEqual(claim.exact, "東京")

    def test_it_computes_the_quote_when_exact_is_not_sent(self) -> None:
        text = self.unicode_document.text
        claim = services.claim_create(
            document=self.unicode_document, start=0, end=2, actor=self.creator
        )
        self.assertEqual((claim.exact, claim.prefix), ("🌉🎉", ""))
        self.assertEqual(claim.suffix, text[2:34])

    def test_it_accepts_an_nfd_exact_for_nfc_text(self) -> None:
        text = self.unicode_document.text
        start = text.index("Caf\u00e9")
        claim = services.claim_create(
            document=self.unicode_document,
            start=start,
            end=start + 4,
            exact="Cafe\u0301",
            actor=self.creator,
        )
        self.assertEqual(claim.exact, "Caf\u00e9")

    def test_it_rejects_invalid_spans_naming_the_field_and_writes_nothing(self) -> None:
        text = self.document.text
        length = len(text)
        cases = [
            ({"start": -1, "end": 3}, "start", "must not be negative"),
            ({"start": 0, "end": length + 1}, "end", f"past the end of the text (length {length})"),
            ({"start": length, "end": length + 2}, "end", "past the end"),
            ({"start": 4, "end": 4}, "end", "greater than start"),
            ({"start": 9, "end": 4}, "end", "greater than start"),
            ({"start": "0", "end": 3}, "start", "must be an integer, got str"),
            ({"start": 0, "end": 3.0}, "end", "must be an integer, got float"),
            ({"start": True, "end": 3}, "start", "must be an integer, got bool"),
            ({"start": None, "end": 3}, "start", "must be an integer"),
            ({"start": 4, "end": 9, "exact": "major"}, "exact", f'"{text[4:9]}"'),
            ({"start": 4, "end": 9, "exact": 5}, "exact", "must be a string"),
        ]
        for span, field, fragment in cases:
            with self.subTest(span=span):
                before = counts(Claim, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.claim_create(document=self.document, actor=self.creator, **span)
                self.assertFieldError(caught.exception, field, fragment)
                self.assertEqual(counts(Claim, Event), before)

    def test_it_quotes_the_actual_text_when_exact_does_not_match(self) -> None:
        text = self.document.text
        start = text.index("crime")
        with self.assertRaises(ValidationError) as caught:
            services.claim_create(
                document=self.document,
                start=start,
                end=start + 10,
                exact="crime rose",
                actor=self.creator,
            )
        message = self.assertFieldError(caught.exception, "exact")
        self.assertIn('the text there is "crime fell"', message)
        self.assertIn('got "crime rose"', message)

    def test_it_defaults_the_statement_to_the_exact_text(self) -> None:
        for statement, expected in [
            ("", "crime fell 20%"),
            ("   ", "crime fell 20%"),
            ("  Crime fell by a fifth.  ", "Crime fell by a fifth."),
        ]:
            with self.subTest(statement=statement):
                claim = make_claim(
                    document=self.document,
                    actor=self.creator,
                    exact="crime fell 20%",
                    statement=statement,
                    claimant="  The mayor ",
                )
                self.assertEqual(claim.statement, expected)
                self.assertEqual(claim.claimant, "The mayor")

    def test_it_puts_the_claim_in_the_documents_project_in_review(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="record low")
        self.assertEqual(claim.project, self.document.project)
        self.assertEqual(Claim.objects.get(pk=claim.pk).project_id, self.project.pk)
        self.assertEqual((claim.status, claim.version), (ClaimStatus.IN_REVIEW, 1))
        self.assertEqual(claim.created_by, self.creator)

    def test_it_records_a_claim_create_event(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="record low")
        event = Event.objects.get(verb="claim.create", object_id=claim.pk)
        self.assertEqual(
            (event.actor, event.project, event.object_type), (self.creator, self.project, "claim")
        )
        self.assertEqual(event.after["exact"], "record low")
        self.assertEqual((event.after["start"], event.after["end"]), (claim.start, claim.end))
        self.assertEqual(event.after["version"], 1)


class ClaimUpdateTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def test_it_updates_at_the_expected_version_and_bumps_it(self) -> None:
        claim = services.claim_update(
            claim=self.claim,
            actor=self.editor,
            expected_version=1,
            statement="  Crime fell by 20% last year.  ",
            claimant="Mayor",
        )
        self.assertEqual(claim.version, 2)
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual(
            (stored.statement, stored.claimant, stored.version),
            ("Crime fell by 20% last year.", "Mayor", 2),
        )

    def test_it_records_before_and_after(self) -> None:
        services.claim_update(
            claim=self.claim, actor=self.editor, expected_version=1, statement="New wording"
        )
        event = Event.objects.get(verb="claim.update", object_id=self.claim.pk)
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(
            (event.before["statement"], event.before["version"]), ("crime fell 20%", 1)
        )
        self.assertEqual((event.after["statement"], event.after["version"]), ("New wording", 2))

    def test_it_raises_stale_version_and_changes_nothing(self) -> None:
        services.claim_update(
            claim=self.claim, actor=self.editor, expected_version=1, statement="First edit"
        )
        before = counts(Event)
        with self.assertRaises(services.StaleVersion) as caught:
            services.claim_update(
                claim=self.claim, actor=self.editor, expected_version=1, statement="Second edit"
            )
        self.assertEqual(caught.exception.current, 2)
        self.assertIn("version 2", str(caught.exception))
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((stored.statement, stored.version), ("First edit", 2))
        self.assertEqual(counts(Event), before)

    def test_it_rejects_an_empty_statement(self) -> None:
        before = counts(Event)
        with self.assertRaises(ValidationError) as caught:
            services.claim_update(
                claim=self.claim, actor=self.editor, expected_version=1, statement="  "
            )
        self.assertFieldError(caught.exception, "statement", "empty")
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((stored.statement, stored.version), ("crime fell 20%", 1))
        self.assertEqual(counts(Event), before)


# --- sources ---------------------------------------------------------------------------------


class SourceGetOrCreateTests(ServiceTestCase):
    def test_it_rejects_every_non_http_url_on_the_url_field(self) -> None:
        cases = [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "\n\tjavascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://example.com/file",
            "//example.com/no-scheme",
            "example.com/no-scheme",
            "http:///no-host",
            "https://user:pw@example.com/",
            "\x00javascript:alert(1)",
            "",
        ]
        for url in cases:
            with self.subTest(url=url):
                before = counts(Source, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.source_get_or_create(url=url, actor=self.reviewer_a)
                self.assertEqual(set(caught.exception.message_dict), {"url"})
                self.assertEqual(counts(Source, Event), before)

    def test_it_names_the_refused_scheme(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(url=" JaVaScRiPt:alert(1)", actor=self.reviewer_a)
        self.assertFieldError(caught.exception, "url", "scheme: javascript")

    def test_it_stores_one_row_for_two_spellings_of_an_address(self) -> None:
        first = services.source_get_or_create(
            url="HTTP://Example.COM:80/a?utm_source=x#frag", actor=self.reviewer_a, title="A"
        )
        second = services.source_get_or_create(url="http://example.com/a", actor=self.reviewer_b)
        self.assertEqual(first.pk, second.pk)
        self.assertEqual(first.normalized_url, "http://example.com/a")
        self.assertEqual(Source.objects.count(), 1)
        self.assertEqual(Event.objects.filter(verb="source.create").count(), 1)
        self.assertEqual(Source.objects.get().url, "HTTP://Example.COM:80/a?utm_source=x#frag")

    def test_it_creates_with_an_event_and_strips_the_url(self) -> None:
        source = services.source_get_or_create(
            url="  https://example.org/report?b=2&a=1  ", actor=self.reviewer_a, title=" Report "
        )
        self.assertEqual(source.url, "https://example.org/report?b=2&a=1")
        self.assertEqual(source.normalized_url, "https://example.org/report?a=1&b=2")
        self.assertEqual(source.title, "Report")
        event = Event.objects.get(verb="source.create", object_id=source.pk)
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.after["normalized_url"], source.normalized_url)

    def test_it_keeps_different_addresses_apart(self) -> None:
        a = services.source_get_or_create(url="https://example.org/a", actor=self.reviewer_a)
        b = services.source_get_or_create(url="https://example.org/a?page=2", actor=self.reviewer_a)
        self.assertNotEqual(a.pk, b.pk)

    def test_it_rejects_a_non_http_archive_url(self) -> None:
        before = counts(Source, Event)
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(
                url="https://example.org/a", actor=self.reviewer_a, archive_url="javascript:x"
            )
        self.assertEqual(set(caught.exception.message_dict), {"archive_url"})
        self.assertEqual(counts(Source, Event), before)

    def test_it_accepts_a_source_without_an_actor(self) -> None:
        source = services.source_get_or_create(url="https://example.org/anon", actor=None)
        self.assertIsNone(source.created_by)


# --- text no database can store ----------------------------------------------------------------

NUL_MESSAGE = "Contains a NUL character (U+0000) at position"
SURROGATE_MESSAGE = "Is not valid Unicode text: lone surrogate U+D800"


class StorableTextTests(ServiceTestCase):
    """NUL (PostgreSQL text columns refuse it: DataError, a 500) and lone surrogates (not
    Unicode, UTF-8 cannot encode them) in anything a user types are refused by the service
    with a ValidationError on the field, before any query, on every backend, and nothing
    is written. The API's serializers refuse them first; commands, the admin, the UI and
    imports reach the services directly."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def assertRefused(self, call: Any, field: str, message: str = NUL_MESSAGE) -> None:
        models = (Project, Membership, Rating, Document, Claim, Source, Verdict, Citation, Event)
        before = counts(*models)
        with self.assertRaises(ValidationError) as caught:
            call()
        self.assertFieldError(caught.exception, field, message)
        self.assertEqual(counts(*models), before)

    def test_document_create_refuses_every_field_it_stores(self) -> None:
        def create(**fields: Any) -> Any:
            data = {"title": "Budget", "text": "Taxes fell.", **fields}
            return lambda: services.document_create(
                project=self.project, data=services.DocumentInput(**data), actor=self.editor
            )

        cases = [
            ("title", {"title": "Bud\x00get"}, NUL_MESSAGE + " 3"),
            ("text", {"text": "Taxes\x00fell."}, NUL_MESSAGE + " 5"),
            ("text", {"text": "Taxes \ud800 fell."}, SURROGATE_MESSAGE + " at position 6"),
            ("raw_text", {"raw_text": "Taxes\x00fell."}, NUL_MESSAGE),
            ("publisher", {"publisher": "\x00"}, NUL_MESSAGE),
            ("author", {"author": "A.\ud800"}, SURROGATE_MESSAGE),
            ("language", {"language": "e\x00n"}, NUL_MESSAGE),
        ]
        for field, fields, message in cases:
            with self.subTest(field=field, fields=repr(fields)):
                self.assertRefused(create(**fields), field, message)

    def test_bulk_creation_keys_the_refusal_by_index(self) -> None:
        items = [
            services.DocumentInput(title="Fine", text="A fine text."),
            services.DocumentInput(title="Bad", text="A bad\x00text."),
        ]
        self.assertRefused(
            lambda: services.document_create_many(
                project=self.project, items=items, actor=self.editor
            ),
            "1.text",
        )

    def test_claims_refuse_it_in_statement_claimant_and_exact(self) -> None:
        start = SAMPLE_TEXT.index("crime fell 20%")

        def create(**fields: Any) -> Any:
            return lambda: services.claim_create(
                document=self.document, start=start, end=start + 14, actor=self.creator, **fields
            )

        self.assertRefused(create(statement="Crime\x00fell"), "statement")
        self.assertRefused(create(claimant="the \ud800mayor"), "claimant", SURROGATE_MESSAGE)
        self.assertRefused(create(exact="crime\x00fell 20%"), "exact")
        self.assertRefused(
            lambda: services.claim_update(
                claim=self.claim, actor=self.creator, expected_version=1, statement="a\x00b"
            ),
            "statement",
        )

    def test_verdicts_refuse_it_in_rationale_rating_and_citations(self) -> None:
        def submit(**fields: Any) -> Any:
            data = {"rating": "false", "confidence": "high", **fields}
            return lambda: services.verdict_submit(
                claim=self.claim, reviewer=self.reviewer_a, **data
            )

        self.assertRefused(submit(rationale="Police\x00data."), "rationale")
        self.assertRefused(submit(rating="fal\x00se"), "rating")
        cite = services.CitationInput(
            stance="refutes", url="https://stats.example.gov/", quote="3\x00%"
        )
        self.assertRefused(
            submit(citations=[cite]), "citations", "Citation 1, quote: " + NUL_MESSAGE
        )
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_editors_and_reviewers_notes_refuse_it(self) -> None:
        self.assertRefused(
            lambda: services.claim_skip(
                claim=self.claim, reviewer=self.reviewer_a, reason="a\x00b"
            ),
            "reason",
        )
        self.assertRefused(
            lambda: services.claim_withdraw(claim=self.claim, actor=self.editor, reason="\x00"),
            "reason",
        )
        self.assertRefused(
            lambda: services.claim_reopen(claim=self.claim, editor=self.editor, note="\ud800"),
            "note",
            SURROGATE_MESSAGE,
        )
        self.assertRefused(
            lambda: services.document_revise(
                document=self.document, text=SAMPLE_TEXT + " More.", actor=self.editor, note="\x00"
            ),
            "note",
        )

    def test_sources_and_projects_refuse_it(self) -> None:
        self.assertRefused(
            lambda: services.source_get_or_create(
                url="https://example.org/a", actor=self.reviewer_a, title="Re\x00port"
            ),
            "title",
        )
        self.assertRefused(
            lambda: services.project_create(creator=self.editor, name="Desk\x00two"), "name"
        )
        self.assertRefused(
            lambda: services.project_create(
                creator=self.editor, name="Desk two", organization="Fact \ud800Desk"
            ),
            "organization",
            SURROGATE_MESSAGE,
        )
        self.assertRefused(
            lambda: services.project_update(project=self.project, actor=self.admin, name="\x00"),
            "name",
        )
