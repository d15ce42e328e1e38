"""Malformed input is a 400 with a reason, never a 500 (issue 13, finding 3).

The outside probe's requests, reproduced exactly:

* 100,000-deep JSON (``[`` x 100,000 + ``]`` x 100,000, 200 KB) made a ``RecursionError``,
  also on the anonymous token endpoint: now a 400 ``{"detail": "JSON parse error - nested
  more than 64 levels deep"}`` from the API's parser (``annotations.api.parsers``), on
  every route, before any view runs;
* a tampered cursor (``?cursor=cD1hYmM=``, i.e. ``p=abc``; also ``p=`` and ``p=1e5``)
  reached the query (``ValueError``): now a 400 on ``cursor``
  (``annotations.api.pagination``);
* a NUL in the document search (``/projects/demo/documents/?q=%00``) reached PostgreSQL
  (``DataError``): now a 400 naming the parameter for every page and API list
  (``workbench.middleware.NulQueryMiddleware``), on SQLite alike.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import TestCase
from django.urls import reverse

from annotations.models import Claim, Comment, Document, Event, Project, Verdict
from tests.factories import api_token
from tests.security.world import API, World

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
DEEP_IN_A_FIELD = '{"username": "admin", "password": ' + DEEP + "}"


class DeepJsonTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def counts(self) -> tuple[int, ...]:
        return tuple(
            model.objects.count()
            for model in (Project, Document, Claim, Verdict, Event, AccessAttempt)
        )

    def assertDeepRefused(self, response: Any) -> None:
        self.assertEqual(response.status_code, 400, response.content[:300])
        detail = response.json()["detail"]
        self.assertIn("JSON parse error", detail)
        self.assertIn("nested more than 64 levels deep", detail)

    def test_the_probe_deep_json_on_the_anonymous_token_endpoint_is_a_400(self) -> None:
        before = self.counts()
        for body in (DEEP, DEEP_OBJECT, DEEP_IN_A_FIELD):
            with self.subTest(body=body[:20]):
                response = self.api(None).generic(
                    "POST", f"{API}/auth/token/", body, content_type="application/json"
                )
                self.assertDeepRefused(response)
        self.assertEqual(self.counts(), before)

    def test_deep_json_on_authenticated_writes_is_a_400_and_writes_nothing(self) -> None:
        p, c = self.project.pk, self.blind.pk
        writes = [
            ("POST", "/projects/", self.admin),
            ("PATCH", f"/projects/{p}/", self.admin),
            ("POST", f"/projects/{p}/members/", self.admin),
            ("POST", "/documents/", self.editor),
            ("POST", "/documents/preview/", self.editor),
            ("POST", "/documents/import/", self.editor),
            ("POST", f"/documents/{self.document.pk}/revisions/", self.editor),
            ("POST", "/claims/", self.reviewer_a),
            ("PATCH", f"/claims/{c}/", self.creator),
            ("POST", f"/claims/{c}/verdicts/", self.reviewer_a),
            ("POST", f"/claims/{c}/skip/", self.reviewer_a),
            ("POST", f"/claims/{c}/adjudicate/", self.editor),
            ("POST", f"/claims/{c}/reopen/", self.editor),
            ("POST", f"/claims/{c}/withdraw/", self.editor),
            ("POST", f"/claims/{c}/reanchor/", self.creator),
            ("POST", "/queue/next/", self.reviewer_a),
        ]
        # Clients first: making a token is a write of its own (an audit event).
        clients = {user.pk: self.api(user) for _, _, user in writes}
        before = self.counts()
        for method, path, user in writes:
            with self.subTest(method=method, path=path):
                response = clients[user.pk].generic(
                    method,
                    f"{API}{path}",
                    DEEP,
                    content_type="application/json",
                    HTTP_IF_MATCH='"1"',
                )
                self.assertDeepRefused(response)
        self.assertEqual(self.counts(), before)

    def test_json_nested_within_the_bound_reaches_the_view(self) -> None:
        """Sixty-four levels parse; the serializer then says what is wrong with the value."""
        body = '{"project": ' + "[" * 63 + "]" * 63 + "}"
        response = self.api(self.reviewer_a).post(
            f"{API}/queue/next/", body, content_type="application/json"
        )
        self.assertEqual(response.status_code, 400, response.content)
        self.assertIn("project", response.json())


class LoneSurrogateAnswerTests(World, TestCase):
    """Found by tests/fuzz/test_malformed_bodies.py: a refusal quoting a lone surrogate
    (``"\\ud800" is not a valid choice``) could not be encoded and became a 500."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def test_a_refusal_quoting_a_lone_surrogate_is_a_400_in_valid_utf8(self) -> None:
        cases = [
            ("PATCH", f"/projects/{self.project.pk}/", self.admin, "consensus_rule", ""),
            ("POST", f"/projects/{self.project.pk}/members/", self.admin, "role", "username"),
            ("POST", f"/claims/{self.blind.pk}/verdicts/", self.reviewer_a, "confidence", "rating"),
        ]
        for method, path, user, field, other in cases:
            with self.subTest(path=path):
                extra = f', "{other}": "x"' if other else ""
                body = '{"' + field + '": "\\ud800"' + extra + "}"
                response = self.api(user).generic(
                    method, f"{API}{path}", body, content_type="application/json"
                )
                self.assertEqual(response.status_code, 400, response.content)
                response.content.decode("utf-8")  # valid UTF-8
                self.assertIn("\ud800", response.json()[field][0])
                self.assertIn(b"\\ud800", response.content)  # escaped in the JSON text


class TamperedCursorTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def test_the_probe_cursors_are_a_400_naming_the_cursor(self) -> None:
        # cD1hYmM= is base64 of "p=abc"; cD0= of "p="; cD0xZTU= of "p=1e5".
        for cursor in ("cD1hYmM=", "cD0=", "cD0xZTU="):
            for path in ("/claims/", "/documents/", "/projects/"):
                with self.subTest(cursor=cursor, path=path):
                    response = self.api(self.reviewer_a).get(f"{API}{path}?cursor={cursor}")
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertIn("Invalid cursor", response.json()["cursor"][0])

    def test_a_cursor_that_does_not_decode_is_a_400_too(self) -> None:
        response = self.api(self.reviewer_a).get(f"{API}/claims/?cursor=bogus")
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(list(response.json()), ["cursor"])


class NulQueryTests(World, TestCase):
    """A NUL in any query parameter is a 400 naming it, on pages, fragments and the API."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def document_list(self) -> str:
        return reverse("workbench:document-list", kwargs={"slug": self.project.slug})

    def assertNulRefusedOnPage(self, response: Any, name: str) -> None:
        self.assertEqual(response.status_code, 400, response.content[:300])
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
        self.assertIn(f"{name}: Null characters are not allowed.", response.content.decode())

    def probe_the_document_search(self) -> None:
        """The probe's request, as a page and as the htmx live search."""
        browser = self.browser(self.reviewer_a)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            with self.subTest(headers=headers):
                response = browser.get(f"{self.document_list()}?q=%00", **headers)
                self.assertNulRefusedOnPage(response, "q")
                response = browser.get(f"{self.document_list()}?q=crime%00fell", **headers)
                self.assertNulRefusedOnPage(response, "q")

    def test_the_document_search_refuses_nul(self) -> None:
        self.probe_the_document_search()

    @pytest.mark.postgres("a NUL reaching a PostgreSQL text filter is a DataError")
    def test_the_probe_request_on_postgresql(self) -> None:
        self.probe_the_document_search()
        # Without the NUL the same search still runs on PostgreSQL's full-text search.
        response = self.browser(self.reviewer_a).get(f"{self.document_list()}?q=crime")
        self.assertEqual(response.status_code, 200)

    def test_other_pages_and_the_admin_search_refuse_nul(self) -> None:
        browser = self.browser(self.reviewer_a)
        for path, name in (
            (f"/claims/{self.blind.pk}/sources/?q=%00", "q"),
            (f"{self.document.get_absolute_url()}?start=%00", "start"),
            (f"{self.document_list()}?page=%00", "page"),
            (f"{self.document_list()}?%00=1", "\\0"),
        ):
            with self.subTest(path=path):
                self.assertNulRefusedOnPage(browser.get(path), name)
        self.admin.is_staff = self.admin.is_superuser = True
        self.admin.save()
        response = self.browser(self.admin).get("/admin/annotations/document/?q=%00")
        self.assertNulRefusedOnPage(response, "q")

    def test_every_api_list_filter_refuses_nul_naming_the_parameter(self) -> None:
        p, d = self.project.pk, self.document.pk
        cases = [
            ("/claims/", "status"),
            ("/claims/", "project"),
            ("/claims/", "document"),
            ("/claims/", "cursor"),
            ("/claims/", "page_size"),
            ("/documents/", "project"),
            ("/projects/", "cursor"),
            (f"/projects/{p}/agreement/", "document"),
            (f"/documents/{d}/", "include"),
            (f"/documents/{d}/export/", "format"),
            (f"/claims/{self.blind.pk}/verdicts/", "history"),
        ]
        client = self.api(self.reviewer_a)
        for path, name in cases:
            with self.subTest(path=path, param=name):
                response = client.get(f"{API}{path}?{name}=1%00")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json(), {name: ["Null characters are not allowed."]})

    def test_an_anonymous_api_call_with_nul_is_still_a_401(self) -> None:
        """The API's check runs after authentication (``NoNulInQuery``): an anonymous
        caller learns nothing but 401, as on every other API route (found by the contract
        fuzz: the check used to answer 400 before authentication). A token's caller gets
        the 400 too, not only a session's."""
        response = self.client.get(f"{API}/claims/?cursor=%00")
        self.assertEqual(response.status_code, 401, response.content)
        response = self.client.get(
            f"{API}/claims/?cursor=%00", HTTP_AUTHORIZATION=f"Token {api_token(self.reviewer_a)}"
        )
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json(), {"cursor": ["Null characters are not allowed."]})

    def test_queries_without_nul_still_work(self) -> None:
        self.assertEqual(
            self.browser(self.reviewer_a).get(f"{self.document_list()}?q=crime").status_code, 200
        )
        response = self.api(self.reviewer_a).get(f"{API}/claims/?status=in_review")
        self.assertEqual(response.status_code, 200)


class UndecodableFormBodyTests(World, TestCase):
    """A form body whose bytes are not UTF-8 text is a 400 naming the field, on every page
    and htmx fragment, and nothing is written
    (``workbench.middleware.UndecodableFormMiddleware``); Django alone read the bytes as
    U+FFFD and the form stored that."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def counts(self) -> tuple[int, ...]:
        return tuple(model.objects.count() for model in (Comment, Event, AccessAttempt))

    def test_a_comment_with_a_lone_surrogate_is_a_400_naming_the_field(self) -> None:
        self.client.force_login(self.reviewer_a)
        url = reverse("workbench:comment-create", args=[self.blind.pk])
        before = self.counts()
        for body, reason in (
            (
                "body=Crime%ED%A0%80fell",
                "Is not valid Unicode text: lone surrogate U+D800 at position 5.",
            ),
            # The bytes sent are named (position counts bytes), not the U+DCxx a decoder
            # makes of them.
            ("body=%C3", "Byte 0xC3 at position 0 is not UTF-8."),
            ("body=Caf%C3%A9%FFx", "Byte 0xFF at position 5 is not UTF-8."),
            ("body=%ED%A0%80%FF", "Byte 0xFF at position 3 is not UTF-8."),
        ):
            with self.subTest(body=body):
                response = self.client.post(
                    url, body, content_type="application/x-www-form-urlencoded"
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.content.decode(), f"body: {reason}")
        self.assertEqual(self.counts(), before)
        # The same comment as text is written (the check lets text through).
        response = self.client.post(
            url, "body=Crime%E2%80%94fell", content_type="application/x-www-form-urlencoded"
        )
        self.assertIn(response.status_code, (200, 302))
        self.assertEqual(Comment.objects.get().body, "Crime\u2014fell")

    @staticmethod
    def multipart(*parts: tuple[bytes, bytes]) -> bytes:
        body = b""
        for disposition, value in parts:
            body += b"--XX\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n"
            body += value + b"\r\n"
        return body + b"--XX--\r\n"

    def test_a_multipart_field_that_is_not_text_is_a_400_too(self) -> None:
        # Outside probe: the same bytes as multipart were read as U+FFFD and stored.
        self.client.force_login(self.reviewer_a)
        url = reverse("workbench:comment-create", args=[self.blind.pk])
        before = self.counts()
        response = self.client.post(
            url,
            self.multipart((b'name="body"', b"Kept\xed\xa0\x80text")),
            content_type="multipart/form-data; boundary=XX",
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.content.decode(),
            "body: Is not valid Unicode text: lone surrogate U+D800 at position 4.",
        )
        response = self.client.post(
            url,
            self.multipart((b'name="body"', b"Kept\xfftext")),
            content_type="multipart/form-data; boundary=XX",
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content.decode(), "body: Byte 0xFF at position 4 is not UTF-8.")
        self.assertEqual(self.counts(), before)
        # A file's bytes are its importer's to judge: the text fields beside it pass.
        response = self.client.post(
            url,
            self.multipart(
                (b'name="body"', "Caf\u00e9".encode()),
                (b'name="file"; filename="a.txt"', b"\xff\xfe latin-1 caf\xe9"),
            ),
            content_type="multipart/form-data; boundary=XX",
        )
        self.assertIn(response.status_code, (200, 302))
        self.assertEqual(Comment.objects.get().body, "Caf\u00e9")

    def test_a_form_body_in_another_charset_is_a_400_even_anonymous(self) -> None:
        # Outside probe: with DEBUG on, Django's error page failed on such a body (500).
        for charset in ("latin-1", "iso-8859-1", "utf-16", "cp1252"):
            with self.subTest(charset=charset):
                response = self.client.post(
                    reverse("login"),
                    "username=reviewer_a&password=x",
                    content_type=f"application/x-www-form-urlencoded; charset={charset}",
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(
                    response.content.decode(),
                    f"A form body is UTF-8 text; this one says charset={charset}.",
                )
        self.assertFalse(AccessAttempt.objects.exists())

    def test_a_field_name_that_is_not_text_is_named_name(self) -> None:
        self.client.force_login(self.reviewer_a)
        response = self.client.post(
            reverse("workbench:comment-create", args=[self.blind.pk]),
            "b%FFdy=x",
            content_type="application/x-www-form-urlencoded",
        )
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.content.decode().startswith("name: "), response.content)
