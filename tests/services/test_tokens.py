"""API tokens (``annotations.services.tokens``): made hashed with their expiry, revoked one
or all, every write recorded without its secret; a password change revokes them whatever
path changed it; signing out everywhere ends sessions too."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from knox.models import AuthToken

from annotations import services
from annotations.models import Event
from annotations.services.tokens import TOKEN_ID_LENGTH
from tests.services.base import ServiceTestCase


def events(verb: str) -> list[Event]:
    return list(Event.objects.filter(verb=verb).order_by("id"))


class TokenCreateTests(ServiceTestCase):
    def test_it_stores_a_digest_never_the_secret(self) -> None:
        issued = services.token_create(user=self.reviewer_a)
        self.assertRegex(issued.secret, r"^[0-9a-f]{64}$")
        row = AuthToken.objects.get(user=self.reviewer_a)
        self.assertEqual(row.digest, issued.token.digest)
        stored = json.dumps(
            list(AuthToken.objects.values()), default=str
        )  # every column of every row
        self.assertNotIn(issued.secret, stored)
        self.assertNotIn(issued.secret[TOKEN_ID_LENGTH:], stored)
        self.assertNotIn(issued.secret, repr(issued))

    def test_every_call_makes_a_new_token(self) -> None:
        secrets = {services.token_create(user=self.reviewer_a).secret for _ in range(3)}
        self.assertEqual(len(secrets), 3)
        self.assertEqual(AuthToken.objects.filter(user=self.reviewer_a).count(), 3)

    @override_settings(API_TOKEN_TTL_DAYS=7)
    def test_it_expires_after_the_configured_days(self) -> None:
        before = timezone.now()
        token = services.token_create(user=self.reviewer_a).token
        self.assertGreaterEqual(token.expiry, before + dt.timedelta(days=7))
        self.assertLessEqual(token.expiry, timezone.now() + dt.timedelta(days=7))

    @override_settings(API_TOKEN_TTL_DAYS=0)
    def test_zero_days_means_no_expiry(self) -> None:
        self.assertIsNone(services.token_create(user=self.reviewer_a).token.expiry)

    def test_the_default_is_ninety_days(self) -> None:
        token = services.token_create(user=self.reviewer_a).token
        self.assertAlmostEqual(
            (token.expiry - timezone.now()).total_seconds(),
            dt.timedelta(days=90).total_seconds(),
            delta=60,
        )

    def test_it_records_an_event_without_the_secret(self) -> None:
        issued = services.token_create(user=self.reviewer_a, via="ui")
        [event] = events("token.create")
        self.assertEqual((event.actor, event.object_type), (self.reviewer_a, "user"))
        self.assertEqual(event.object_id, self.reviewer_a.pk)
        self.assertEqual(event.after["token"], services.token_id(issued.token))
        self.assertEqual(event.after["via"], "ui")
        self.assertNotIn(issued.secret, json.dumps([event.before, event.after]))

    def test_an_inactive_user_gets_none(self) -> None:
        self.reviewer_a.is_active = False
        self.reviewer_a.save()
        with self.assertRaises(ValidationError):
            services.token_create(user=self.reviewer_a)
        self.assertFalse(AuthToken.objects.exists())
        self.assertFalse(events("token.create"))

    def test_it_purges_the_users_expired_tokens(self) -> None:
        old = services.token_create(user=self.reviewer_a).token
        other = services.token_create(user=self.reviewer_b).token
        AuthToken.objects.filter(digest__in=[old.digest, other.digest]).update(
            expiry=timezone.now() - dt.timedelta(seconds=1)
        )
        new = services.token_create(user=self.reviewer_a).token
        self.assertEqual(
            set(AuthToken.objects.values_list("digest", flat=True)), {new.digest, other.digest}
        )


class TokenRevokeTests(ServiceTestCase):
    def test_it_revokes_one_token(self) -> None:
        kept = services.token_create(user=self.reviewer_a).token
        gone = services.token_create(user=self.reviewer_a).token
        services.token_revoke(token=gone, actor=self.reviewer_a)
        self.assertEqual(list(AuthToken.objects.values_list("digest", flat=True)), [kept.digest])
        [event] = events("token.revoke")
        self.assertEqual((event.actor, event.object_id), (self.reviewer_a, self.reviewer_a.pk))
        self.assertEqual(event.before["token"], services.token_id(gone))

    def test_revoke_all_revokes_only_that_users_tokens(self) -> None:
        mine = [services.token_create(user=self.reviewer_a).token for _ in range(2)]
        theirs = services.token_create(user=self.reviewer_b).token
        self.assertEqual(services.tokens_revoke_all(user=self.reviewer_a, actor=self.admin), 2)
        self.assertEqual(list(AuthToken.objects.values_list("digest", flat=True)), [theirs.digest])
        [event] = events("token.revoke_all")
        self.assertEqual(event.actor, self.admin)
        self.assertEqual(sorted(event.before["tokens"]), sorted(services.token_id(t) for t in mine))

    def test_tokens_for_user_lists_live_tokens_only(self) -> None:
        live = services.token_create(user=self.reviewer_a).token
        dead = services.token_create(user=self.reviewer_a).token
        AuthToken.objects.filter(digest=dead.digest).update(expiry=timezone.now())
        services.token_create(user=self.reviewer_b)
        self.assertEqual(
            [t.digest for t in services.tokens_for_user(user=self.reviewer_a)], [live.digest]
        )


class PasswordChangeTests(ServiceTestCase):
    """Every path that saves a new password hash revokes the user's tokens."""

    def setUp(self) -> None:
        self.token = services.token_create(user=self.reviewer_a).token
        self.other = services.token_create(user=self.reviewer_b).token

    def assertRevoked(self) -> None:
        self.assertEqual(
            list(AuthToken.objects.values_list("digest", flat=True)), [self.other.digest]
        )
        [event] = events("token.revoke_all")
        self.assertIsNone(event.actor)
        self.assertEqual(event.after, {"reason": "password_changed"})
        self.assertEqual(event.before["tokens"], [services.token_id(self.token)])

    def test_set_password_then_save(self) -> None:
        self.reviewer_a.set_password("a-new-long-password")
        self.reviewer_a.save()
        self.assertRevoked()

    def test_a_hash_assigned_directly(self) -> None:
        self.reviewer_a.password = "!unusable"
        self.reviewer_a.save(update_fields=["password"])
        self.assertRevoked()

    def test_the_changepassword_command(self) -> None:
        with mock.patch("getpass.getpass", return_value="a-new-long-password"):
            call_command("changepassword", "reviewer_a", stdout=StringIO())
        self.assertRevoked()

    def test_other_saves_leave_tokens_alone(self) -> None:
        self.reviewer_a.first_name = "Ann"
        self.reviewer_a.save()
        self.reviewer_a.last_login = timezone.now()
        self.reviewer_a.save(update_fields=["last_login"])
        self.assertEqual(AuthToken.objects.count(), 2)
        self.assertFalse(events("token.revoke_all"))

    def test_a_password_change_without_tokens_records_nothing(self) -> None:
        self.reviewer_c.set_password("a-new-long-password")
        self.reviewer_c.save()
        self.assertFalse(events("token.revoke_all"))


class SignOutEverywhereTests(ServiceTestCase):
    def sessions_of(self, user) -> list[str]:
        return [
            s.session_key
            for s in Session.objects.all()
            if s.get_decoded().get(SESSION_KEY) == str(user.pk)
        ]

    def test_it_revokes_every_token_and_ends_every_other_session(self) -> None:
        browsers = [Client() for _ in range(3)]
        for browser in browsers:
            browser.force_login(self.reviewer_a)
        other = Client()
        other.force_login(self.reviewer_b)
        services.token_create(user=self.reviewer_a)
        theirs = services.token_create(user=self.reviewer_b).token
        keep = browsers[0].session.session_key

        report = services.sign_out_everywhere(
            user=self.reviewer_a, actor=self.reviewer_a, keep_session_key=keep
        )
        self.assertEqual((report.tokens_revoked, report.sessions_ended), (1, 2))
        self.assertEqual(self.sessions_of(self.reviewer_a), [keep])
        self.assertEqual(len(self.sessions_of(self.reviewer_b)), 1)
        self.assertEqual(list(AuthToken.objects.values_list("digest", flat=True)), [theirs.digest])
        self.assertEqual(browsers[0].get("/").status_code, 200)
        for browser in browsers[1:]:
            self.assertEqual(browser.get("/").status_code, 302)
        [event] = events("user.sign_out_everywhere")
        self.assertEqual((event.actor, event.object_id), (self.reviewer_a, self.reviewer_a.pk))
        self.assertEqual(event.after, {"sessions_ended": 2})

    def test_without_a_session_to_keep_it_ends_them_all(self) -> None:
        browser = Client()
        browser.force_login(self.reviewer_a)
        report = services.sign_out_everywhere(user=self.reviewer_a, actor=self.admin)
        self.assertEqual((report.tokens_revoked, report.sessions_ended), (0, 1))
        self.assertEqual(self.sessions_of(self.reviewer_a), [])

    @override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    def test_a_store_that_cannot_be_searched_is_refused_and_nothing_is_revoked(self) -> None:
        from django.core.exceptions import ImproperlyConfigured

        services.token_create(user=self.reviewer_a)
        with self.assertRaises(ImproperlyConfigured):
            services.sign_out_everywhere(user=self.reviewer_a, actor=self.reviewer_a)
        self.assertEqual(AuthToken.objects.count(), 1)
