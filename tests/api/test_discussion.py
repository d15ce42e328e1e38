"""Discussion and notifications through the API (issue 18): blind comments, mentions that
notify once, notices of a claim's status, the lease warning sweep, mark read, e-mail
settings and e-mail after commit."""

from __future__ import annotations

import datetime as dt
import json

from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from annotations import access, services
from annotations.models import (
    Assignment,
    Comment,
    Event,
    Membership,
    Notification,
    NotificationKind,
    Role,
)
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim, make_member, make_user, take

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


class DiscussionApiTestCase(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # reviewer_a has judged the claim; reviewer_b holds its second slot, still blind.
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact=cls.document.text[:12]
        )
        judge(cls.claim, cls.reviewer_a, "true")
        take(cls.claim, cls.reviewer_b)

    def comments_path(self, claim_id: int | None = None) -> str:
        return f"/claims/{claim_id or self.claim.pk}/comments/"

    def bodies(self, user: object) -> list[str]:
        response = self.get(user, self.comments_path())  # type: ignore[arg-type]
        self.assertEqual(response.status_code, 200, response.content)
        return [row["body"] for row in response.json()]


class CommentBlindReviewTests(DiscussionApiTestCase):
    def test_a_reviewer_sees_another_reviewers_comment_only_after_their_own_verdict(self) -> None:
        posted = self.post(
            self.reviewer_a, self.comments_path(), {"body": "Figures are from 2019."}
        )
        self.assertEqual(posted.status_code, 201, posted.content)
        self.assertNotIn("Figures are from 2019.", self.bodies(self.reviewer_b))
        self.assertNotIn("Figures are from 2019.", self.bodies(self.reviewer_c))
        # Editors see all; the author sees their own.
        self.assertIn("Figures are from 2019.", self.bodies(self.editor))
        self.assertIn("Figures are from 2019.", self.bodies(self.reviewer_a))
        # Nor can the blind reviewer name it by id.
        comment_id = posted.json()["id"]
        withdraw = self.post(
            self.reviewer_b, f"/claims/{self.claim.pk}/comments/{comment_id}/withdraw/"
        )
        self.assertEqual(withdraw.status_code, 404)
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="true", confidence="high",
            rationale="", citations=[],
        )  # fmt: skip
        self.assertIn("Figures are from 2019.", self.bodies(self.reviewer_b))

    def test_an_editors_note_is_visible_to_everyone_at_once(self) -> None:
        response = self.post(
            self.editor,
            self.comments_path(),
            {"body": "Use the 2023 report.", "visibility": "everyone"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["visibility"], "everyone")
        for user in (self.reviewer_b, self.reviewer_c, self.creator):
            self.assertIn("Use the 2023 report.", self.bodies(user))

    def test_an_editors_plain_comment_is_blind_like_a_reviewers(self) -> None:
        self.post(self.editor, self.comments_path(), {"body": "Between us."})
        self.assertNotIn("Between us.", self.bodies(self.reviewer_b))
        self.assertIn("Between us.", self.bodies(self.reviewer_a))

    def test_a_reviewer_cannot_post_a_note_to_everyone(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.reviewer_a, self.comments_path(), {"body": "Hi all", "visibility": "everyone"}
            )
        self.assertFieldError(response, "visibility", "Only editors")

    def test_non_members_get_404_and_nothing_is_written(self) -> None:
        with self.assertNothingWritten():
            self.assertEqual(self.get(self.outsider, self.comments_path()).status_code, 404)
            response = self.post(self.outsider, self.comments_path(), {"body": "hello"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.get(None, self.comments_path()).status_code, 401)


class CommentInputTests(DiscussionApiTestCase):
    def test_bad_bodies_are_400_on_the_field_and_write_nothing(self) -> None:
        cases = [
            ({"body": ""}, "body", "blank"),
            ({"body": "   "}, "body", "blank"),
            ({}, "body", "required"),
            ({"body": "x" * 5001}, "body", "at most 5000 characters"),
            ({"body": "a\x00b"}, "body", "Null characters are not allowed"),
            ({"body": "ok", "visibility": "public"}, "visibility", "not a valid choice"),
            ({"body": "ok", "author": "editor"}, "author", ""),
        ]
        for body, field, fragment in cases:
            with self.subTest(body=str(body)[:40]), self.assertNothingWritten():
                response = self.post(self.reviewer_a, self.comments_path(), body)
                self.assertFieldError(response, field, fragment)

    def test_text_is_plain_and_links_are_safe(self) -> None:
        body = "<script>x</script> **bold** see https://a.example/r?a=1&b=2 and javascript:alert(1)"
        response = self.post(self.reviewer_a, self.comments_path(), {"body": body})
        self.assertEqual(response.status_code, 201, response.content)
        row = response.json()
        self.assertEqual(row["body"], body)
        self.assertIn("&lt;script&gt;", row["body_html"])
        self.assertIn("**bold**", row["body_html"])
        self.assertIn(
            '<a href="https://a.example/r?a=1&amp;b=2" rel="nofollow noopener noreferrer">',
            row["body_html"],
        )
        self.assertNotIn('href="javascript', row["body_html"])

    def test_links_to_internal_addresses_stay_text(self) -> None:
        body = (
            "see http://127.0.0.1/x, http://localhost/ and http://10.0.0.1/ or https://a.example/"
        )
        response = self.post(self.reviewer_a, self.comments_path(), {"body": body})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            response.json()["body_html"],
            "see http://127.0.0.1/x, http://localhost/ and http://10.0.0.1/ or "
            '<a href="https://a.example/" rel="nofollow noopener noreferrer">'
            "https://a.example/</a>",
        )
        # A host the fetcher may reach (WORKBENCH_FETCH_ALLOWED_HOSTS) counts as public
        # here too, as for every URL a user gives (services.public_url).
        with self.settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["10.0.0.1"]):
            response = self.get(self.reviewer_a, self.comments_path())
        [link] = [r for r in response.json() if r["body"] == body]
        self.assertIn('<a href="http://10.0.0.1/" rel=', link["body_html"])
        self.assertNotIn('href="http://127.0.0.1', link["body_html"])

    def test_a_comment_is_audited_with_its_text(self) -> None:
        response = self.post(self.reviewer_a, self.comments_path(), {"body": "Audited @editor"})
        event = Event.objects.get(verb="comment.create", object_id=response.json()["id"])
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.project_id, self.project.pk)
        self.assertEqual(event.after["body"], "Audited @editor")
        self.assertEqual(event.after["mentions"], [self.editor.pk])


class CommentWithdrawTests(DiscussionApiTestCase):
    def withdraw_path(self, comment_id: int) -> str:
        return f"/claims/{self.claim.pk}/comments/{comment_id}/withdraw/"

    def test_the_author_withdraws_the_text_stays_in_the_record(self) -> None:
        comment_id = self.post(self.reviewer_a, self.comments_path(), {"body": "Oops"}).json()["id"]
        response = self.post(self.reviewer_a, self.withdraw_path(comment_id))
        self.assertEqual(response.status_code, 200, response.content)
        self.assertTrue(response.json()["withdrawn"])
        self.assertEqual(response.json()["body"], "")
        self.assertNotIn("Oops", self.bodies(self.editor))
        comment = Comment.objects.get(pk=comment_id)
        self.assertEqual((comment.body, comment.withdrawn_by), ("Oops", self.reviewer_a))
        event = Event.objects.get(verb="comment.withdraw", object_id=comment_id)
        self.assertEqual(event.actor, self.reviewer_a)
        # Twice is a conflict, and writes nothing.
        with self.assertNothingWritten():
            again = self.post(self.reviewer_a, self.withdraw_path(comment_id))
        self.assertEqual(again.status_code, 409)

    def test_only_the_author_or_an_editor_withdraws(self) -> None:
        note = self.post(
            self.editor, self.comments_path(), {"body": "Note", "visibility": "everyone"}
        ).json()["id"]
        with self.assertNothingWritten():
            refused = self.post(self.reviewer_b, self.withdraw_path(note))
        self.assertEqual(refused.status_code, 403)
        mine = self.post(self.reviewer_a, self.comments_path(), {"body": "Mine"}).json()["id"]
        self.assertEqual(self.post(self.admin, self.withdraw_path(mine)).status_code, 200)


class MentionTests(DiscussionApiTestCase):
    def notices(self, user: object, **filters: object) -> list[Notification]:
        return list(Notification.objects.filter(recipient=user, kind="mentioned", **filters))

    def test_a_mention_notifies_each_member_once_never_the_author(self) -> None:
        body = "@editor @Editor @editor. and @reviewer_a myself, @outsider @nobody"
        response = self.post(self.reviewer_a, self.comments_path(), {"body": body})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(len(self.notices(self.editor)), 1)
        self.assertEqual(self.notices(self.reviewer_a), [])  # no self-notification
        self.assertEqual(self.notices(self.outsider), [])  # not a member
        self.assertEqual(Notification.objects.count(), 1)

    def test_a_retried_request_notifies_once(self) -> None:
        headers = {"HTTP_IDEMPOTENCY_KEY": "4d6f7e1a-comment-retry"}
        first = self.post(
            self.reviewer_a, self.comments_path(), {"body": "@editor look"}, **headers
        )
        second = self.post(
            self.reviewer_a, self.comments_path(), {"body": "@editor look"}, **headers
        )
        self.assertEqual(first.status_code, 201)
        self.assertEqual(second.json(), first.json())
        self.assertEqual(Comment.objects.count(), 1)
        self.assertEqual(len(self.notices(self.editor)), 1)

    def test_notifying_the_same_event_again_writes_nothing(self) -> None:
        comment = services.comment_create(claim=self.claim, author=self.editor, body="@creator hi")
        services.notifications.notify(
            kind=NotificationKind.MENTIONED,
            key=f"comment:{comment.pk}",
            project_id=self.project.pk,
            recipient_ids=[self.creator.pk],
            actor=self.editor,
            claim=self.claim,
            comment=comment,
        )
        self.assertEqual(len(self.notices(self.creator)), 1)

    def test_a_blind_reviewers_mention_shows_once_they_may_read_the_comment(self) -> None:
        self.post(self.reviewer_a, self.comments_path(), {"body": "@reviewer_b check the date"})
        self.assertEqual(len(self.notices(self.reviewer_b)), 1)  # written, not yet shown
        listing = self.get(self.reviewer_b, "/notifications/").json()["results"]
        self.assertEqual(listing, [])
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="true", confidence="high",
            rationale="", citations=[],
        )  # fmt: skip
        listing = self.get(self.reviewer_b, "/notifications/").json()["results"]
        self.assertEqual([n["kind"] for n in listing], ["mentioned"])
        self.assertEqual(listing[0]["text"], f"reviewer_a mentioned you on claim {self.claim.pk}")

    def test_a_withdrawn_comments_mention_disappears(self) -> None:
        comment = services.comment_create(
            claim=self.claim, author=self.editor, body="@creator x", visibility="everyone"
        )
        self.assertEqual(len(self.get(self.creator, "/notifications/").json()["results"]), 1)
        services.comment_withdraw(comment=comment, actor=self.editor)
        self.assertEqual(self.get(self.creator, "/notifications/").json()["results"], [])


class StatusNotificationTests(DiscussionApiTestCase):
    def kinds_of(self, user: object) -> list[str]:
        return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))

    def test_a_dispute_notifies_the_editors_and_a_decision_the_creator(self) -> None:
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="false", confidence="high",
            rationale="", citations=[],
        )  # fmt: skip
        self.assertEqual(self.kinds_of(self.editor), ["disputed"])
        self.assertEqual(self.kinds_of(self.admin), ["disputed"])
        self.assertEqual(self.kinds_of(self.reviewer_a), [])
        self.assertEqual(self.kinds_of(self.creator), [])
        services.claim_adjudicate(
            claim=self.claim, editor=self.editor, rating="false", note="Data."
        )
        self.assertEqual(self.kinds_of(self.creator), ["decided"])
        services.claim_publish(claim=self.claim, editor=self.editor, summary="Checked.")
        self.assertEqual(sorted(self.kinds_of(self.creator)), ["decided", "published"])
        text = self.get(self.creator, "/notifications/").json()["results"][0]["text"]
        self.assertEqual(text, f"Your claim {self.claim.pk} was published")
        # No rating in any notice's text (blind review holds in notifications).
        for notice in self.get(self.creator, "/notifications/").json()["results"]:
            self.assertNotIn("false", notice["text"].lower())

    def test_a_decided_notice_does_not_name_the_reviewer_who_decided(self) -> None:
        """Blind review: the creator of a claim decided by the rule is told it was decided,
        not by whom (the deciding verdict's reviewer is the notice's actor in the table);
        an editor's assignment still names the editor."""
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="true", confidence="high",
            rationale="", citations=[],
        )  # fmt: skip  # resolved by reviewer_b's verdict
        stored = Notification.objects.get(recipient=self.creator, kind="decided")
        self.assertEqual(stored.actor, self.reviewer_b)
        (shown,) = self.get(self.creator, "/notifications/").json()["results"]
        self.assertEqual(
            (shown["kind"], shown["claim"], shown["actor"]), ("decided", self.claim.pk, None)
        )
        self.assertNotIn(self.reviewer_b.username, json.dumps(shown))
        services.notify_assigned(
            claim=self.claim, reviewer_ids=[self.reviewer_c.pk], actor=self.editor
        )
        (assigned,) = self.get(self.reviewer_c, "/notifications/").json()["results"]
        self.assertEqual((assigned["kind"], assigned["actor"]), ("assigned", self.editor.username))

    def test_nobody_is_notified_of_their_own_action(self) -> None:
        own = make_claim(document=self.document, actor=self.editor, exact=self.document.text[13:20])
        judge(own, self.reviewer_c, "true")
        judge(own, self.reviewer_a, "true")  # resolved: the creator (the editor) is told
        self.assertEqual(self.kinds_of(self.editor), ["decided"])
        services.claim_publish(claim=own, editor=self.editor, summary="Checked.")
        self.assertEqual(self.kinds_of(self.editor), ["decided"])  # published it themselves

    def test_assignment_notifies_members_once(self) -> None:
        count = services.notify_assigned(
            claim=self.claim, reviewer_ids=[self.reviewer_c.pk, self.outsider.pk], actor=self.editor
        )
        services.notify_assigned(
            claim=self.claim, reviewer_ids=[self.reviewer_c.pk], actor=self.editor
        )
        self.assertEqual(count, 1)
        self.assertEqual(self.kinds_of(self.reviewer_c), ["assigned"])
        self.assertEqual(self.kinds_of(self.outsider), [])

    def test_a_rolled_back_write_leaves_no_notice(self) -> None:
        with transaction.atomic():
            services.comment_create(claim=self.claim, author=self.editor, body="@creator hi")
            transaction.set_rollback(True)
        self.assertEqual(Notification.objects.count(), 0)


class LeaseWarningTests(DiscussionApiTestCase):
    @override_settings(LEASE_WARNING_MINUTES=10)
    def test_the_sweep_warns_each_lease_once(self) -> None:
        lease = Assignment.objects.get(claim=self.claim, reviewer=self.reviewer_b, state="leased")
        early = lease.expires_at - dt.timedelta(minutes=30)
        self.assertEqual(services.leases_expiring_notify(now=early), 0)
        soon = lease.expires_at - dt.timedelta(minutes=5)
        self.assertEqual(services.leases_expiring_notify(now=soon), 1)
        services.leases_expiring_notify(now=soon + dt.timedelta(minutes=1))
        notices = Notification.objects.filter(recipient=self.reviewer_b, kind="lease_expiring")
        self.assertEqual(notices.count(), 1)
        self.assertEqual(notices.get().claim, self.claim)

    @override_settings(LEASE_WARNING_MINUTES=0)
    def test_zero_turns_the_warning_off(self) -> None:
        self.assertEqual(
            services.leases_expiring_notify(now=timezone.now() + dt.timedelta(days=1)), 0
        )


class NotificationApiTests(DiscussionApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.first = services.comment_create(
            claim=cls.claim, author=cls.editor, body="@creator one", visibility="everyone"
        )
        cls.second = services.comment_create(
            claim=cls.claim, author=cls.admin, body="@creator two", visibility="everyone"
        )

    def test_the_list_is_newest_first_and_filters_unread(self) -> None:
        rows = self.get(self.creator, "/notifications/").json()["results"]
        self.assertEqual([r["comment"] for r in rows], [self.second.pk, self.first.pk])
        self.assertEqual(
            set(rows[0]),
            {
                "id",
                "kind",
                "text",
                "project",
                "claim",
                "comment",
                "actor",
                "created_at",
                "read",
                "read_at",
            },
        )
        response = self.post(self.creator, f"/notifications/{rows[1]['id']}/read/")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["read"])
        unread = self.get(self.creator, "/notifications/", {"unread": "1"}).json()["results"]
        self.assertEqual([r["id"] for r in unread], [rows[0]["id"]])
        # A boolean by the API's one rule, as history= and all= are.
        for value in ("true", "True"):
            unread = self.get(self.creator, "/notifications/", {"unread": value}).json()
            self.assertEqual([r["id"] for r in unread["results"]], [rows[0]["id"]], value)
        for value in ("0", "false", "FALSE", ""):
            every = self.get(self.creator, "/notifications/", {"unread": value}).json()
            self.assertEqual([r["id"] for r in every["results"]], [r["id"] for r in rows], value)
        for value in ("yes", "on", "2"):
            self.assertFieldError(
                self.get(self.creator, "/notifications/", {"unread": value}),
                "unread",
                "Enter true or false (or 1 or 0).",
            )

    def test_someone_elses_notification_is_404(self) -> None:
        notice = Notification.objects.filter(recipient=self.creator).first()
        assert notice is not None
        with self.assertNothingWritten():
            self.assertEqual(
                self.post(self.editor, f"/notifications/{notice.pk}/read/").status_code, 404
            )
            self.assertEqual(
                self.post(self.outsider, f"/notifications/{notice.pk}/read/").status_code, 404
            )

    def test_the_bodyless_operations_refuse_a_body_naming_the_key(self) -> None:
        notice = Notification.objects.filter(recipient=self.creator).first()
        assert notice is not None
        comment = services.comment_create(claim=self.claim, author=self.creator, body="Mine.")
        with self.assertNothingWritten():
            for path in (
                f"/notifications/{notice.pk}/read/",
                "/notifications/read-all/",
                f"/claims/{self.claim.pk}/comments/{comment.pk}/withdraw/",
            ):
                response = self.post(self.creator, path, {"bogus": 1})
                self.assertEqual(response.status_code, 400, path)
                self.assertIn("bogus", response.json(), path)

    def test_read_all_marks_and_audits(self) -> None:
        response = self.post(self.creator, "/notifications/read-all/")
        self.assertEqual(response.json(), {"marked": 2})
        self.assertEqual(
            Notification.objects.filter(recipient=self.creator, read_at=None).count(), 0
        )
        event = Event.objects.filter(verb="notification.read").latest("id")
        self.assertEqual(event.actor, self.creator)
        self.assertEqual(self.post(self.creator, "/notifications/read-all/").json(), {"marked": 0})

    def test_a_member_who_left_sees_no_notices_of_that_project(self) -> None:
        membership = Membership.objects.get(project=self.project, user=self.creator)
        services.member_remove(membership=membership, actor=self.admin)
        self.assertEqual(self.get(self.creator, "/notifications/").json()["results"], [])


class NotificationEmailTests(DiscussionApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for user in (cls.creator, cls.reviewer_b, cls.editor):
            user.email = f"{user.get_username()}@desk.example"
            user.save()

    def test_settings_round_trip_and_refuse_bad_input(self) -> None:
        self.assertEqual(
            self.get(self.creator, "/notifications/settings/").json(),
            {"email_enabled": False, "email_kinds": []},
        )
        body = {"email_enabled": True, "email_kinds": ["published", "mentioned"]}
        response = self.client_for(self.creator).put(
            "/api/v1/notifications/settings/", body, format="json"
        )
        self.assertEqual(
            response.json(), {"email_enabled": True, "email_kinds": ["mentioned", "published"]}
        )
        self.assertTrue(
            Event.objects.filter(verb="notification_settings.update", actor=self.creator).exists()
        )
        with self.assertNothingWritten():
            bad = self.client_for(self.creator).put(
                "/api/v1/notifications/settings/",
                {"email_enabled": True, "email_kinds": ["x"]},
                format="json",
            )
            self.assertFieldError(bad, "email_kinds", "not a valid choice")
            no_address = self.client_for(self.reviewer_a).put(
                "/api/v1/notifications/settings/",
                {"email_enabled": True, "email_kinds": []},
                format="json",
            )
            self.assertFieldError(no_address, "email_enabled", "no e-mail address")

    @override_settings(MAILERS=LOCMEM)
    def test_mail_goes_after_commit_once_to_those_who_asked(self) -> None:
        services.notification_settings_update(
            user=self.creator, email_enabled=True, email_kinds=["mentioned"]
        )
        services.notification_settings_update(
            user=self.editor, email_enabled=True, email_kinds=["disputed"]
        )
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            services.comment_create(
                claim=self.claim, author=self.admin, body="@creator @editor", visibility="everyone"
            )
            self.assertEqual(mail.outbox, [])  # not inside the transaction
        self.assertEqual(len(callbacks), 1)
        self.assertEqual([m.to for m in mail.outbox], [["creator@desk.example"]])
        self.assertIn(f"admin mentioned you on claim {self.claim.pk}", mail.outbox[0].subject)
        # Sending the same event again sends nothing (emailed_at claims each row once).
        services.notifications.notifications_email(
            kind="mentioned", key=f"comment:{Comment.objects.latest('id').pk}"
        )
        self.assertEqual(len(mail.outbox), 1)

    @override_settings(MAILERS=LOCMEM)
    def test_a_mention_still_blind_to_its_recipient_is_not_mailed(self) -> None:
        services.notification_settings_update(
            user=self.reviewer_b, email_enabled=True, email_kinds=["mentioned"]
        )
        with self.captureOnCommitCallbacks(execute=True):
            services.comment_create(
                claim=self.claim, author=self.reviewer_a, body="@reviewer_b see"
            )
        self.assertEqual(mail.outbox, [])

    @override_settings(MAILERS=LOCMEM)
    def test_mail_off_sends_nothing(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            services.comment_create(
                claim=self.claim, author=self.editor, body="@creator hi", visibility="everyone"
            )
        self.assertEqual(mail.outbox, [])


class RolesTests(DiscussionApiTestCase):
    def test_a_new_member_of_the_project_is_mentionable(self) -> None:
        late = make_member(self.project, "latecomer", Role.REVIEWER)
        self.post(
            self.editor,
            self.comments_path(),
            {"body": "@LateComer welcome", "visibility": "everyone"},
        )
        self.assertEqual(Notification.objects.filter(recipient=late).count(), 1)


class SweepAndScopeTests(DiscussionApiTestCase):
    @override_settings(LEASE_WARNING_MINUTES=60)
    def test_the_workers_sweep_sends_the_lease_warning(self) -> None:
        from annotations.management.commands import worker

        worker._sweep_once()
        worker._sweep_once()
        self.assertEqual(
            Notification.objects.filter(recipient=self.reviewer_b, kind="lease_expiring").count(), 1
        )

    def test_the_admin_panels_comment_scope_is_blind_too(self) -> None:
        comment = services.comment_create(claim=self.claim, author=self.reviewer_a, body="mine")
        root = make_user("root", is_staff=True, is_superuser=True)
        for user, sees in (
            (self.reviewer_b, False),
            (self.reviewer_a, True),
            (self.editor, True),
            (root, True),
            (self.outsider, False),
        ):
            with self.subTest(user=user.get_username()):
                scope = access.comment_scope_for_user(user=user, queryset=Comment.objects.all())
                self.assertEqual(scope.filter(pk=comment.pk).exists(), sees)
