"""Object access (IDOR) across every UI and API route, every verb (B.6 #2, #3, #4).

The matrix is built from the URL resolver, so a route added later is covered without
editing this file. For each route that names an object, a member of *another* project
gets exactly the answer an id that does not exist gets (same status, same body: no
oracle), that answer is 404 or 405, and nothing is written. Members below the role an
action needs get 403 before any validation message. Lists and counters hold only the
caller's projects. Objects of another project named in a request *body* are a 400 on
that field, indistinguishable from an unknown id, and write nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Model
from django.test import TestCase
from django.urls import URLPattern, URLResolver, get_resolver

from annotations import services
from annotations.models import (
    Assignment,
    Citation,
    Claim,
    Consensus,
    Document,
    Event,
    Membership,
    Project,
    Reservation,
    Source,
    Verdict,
)
from tests.security.world import API, World

MISSING_ID = 987654321
MISSING_SLUG = "no-such-project"
WRITE_MODELS: tuple[type[Model], ...] = (
    Project,
    Membership,
    Document,
    Claim,
    Verdict,
    Citation,
    Source,
    Assignment,
    Consensus,
    Event,
    Reservation,
)
UNSAFE = ("post", "put", "patch", "delete")


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


def object_routes(prefix: str) -> list[str]:
    """Routes under ``prefix`` with at least one path parameter (an object)."""
    return sorted(
        route
        for route in _routes(get_resolver())
        if route.startswith(prefix) and "<" in route and not route.startswith("^")
    )


class ObjectAccessTestCase(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def fill(self, route: str, *, missing: bool = False) -> str:
        """The route with the ids of the Desk project's objects (or ids that do not exist)."""
        kind = re.sub(r"^(api/v1/)?", "", route).split("/")[0]
        ids = {
            "claims": self.blind.pk,
            "documents": self.document.pk,
            "projects": self.project.pk,
            "sources": self.b_source.pk,
        }

        def value(match: re.Match[str]) -> str:
            converter, name = match.group(1), match.group(2)
            if converter == "slug" or name == "slug":
                return MISSING_SLUG if missing else self.project.slug
            if name == "number":
                return "1"
            return str(MISSING_ID if missing else ids.get(kind, self.blind.pk))

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)

    @staticmethod
    def counts() -> dict[str, int]:
        return {model.__name__: model._default_manager.count() for model in WRITE_MODELS}

    @contextmanager
    def assertNothingWritten(self) -> Iterator[None]:
        before = self.counts()
        yield
        self.assertEqual(self.counts(), before, "the request wrote rows")


class RouteMatrixTests(ObjectAccessTestCase):
    def test_the_matrix_covers_the_ui_and_the_api(self) -> None:
        ui, api = object_routes(""), object_routes("api/v1/")
        self.assertGreaterEqual(len([r for r in ui if not r.startswith(("api/", "admin"))]), 12)
        self.assertGreaterEqual(len(api), 15)

    def test_a_non_member_gets_the_answer_of_a_missing_id_on_every_ui_route(self) -> None:
        client = self.browser(self.outsider)
        routes = [r for r in object_routes("") if not r.startswith(("api/", "admin/", "static"))]
        for route in routes:
            for method in ("get", "post"):
                with self.subTest(route=route, method=method), self.assertNothingWritten():
                    real = getattr(client, method)(self.fill(route), {"note": "x", "reason": "x"})
                    missing = getattr(client, method)(self.fill(route, missing=True), {})
                    self.assertIn(real.status_code, (404, 405), real.content[:200])
                    self.assertEqual(real.status_code, missing.status_code)
                    self.assertEqual(real.content, missing.content)

    def test_a_non_member_gets_the_answer_of_a_missing_id_on_every_api_route_and_verb(
        self,
    ) -> None:
        client = self.api(self.outsider)
        invalid_body = {"rating": 42, "note": "", "statement": "", "reason": ""}
        for route in object_routes("api/v1/"):
            for method in ("get", *UNSAFE):
                with self.subTest(route=route, method=method), self.assertNothingWritten():
                    call = getattr(client, method)
                    headers = {"HTTP_IF_MATCH": '"1"'}
                    real = call(self.fill(route), invalid_body, format="json", **headers)
                    missing = call(
                        self.fill(route, missing=True), invalid_body, format="json", **headers
                    )
                    # A GET's data is its query: names no route takes, refused before any
                    # lookup (tests/api/test_query_params.py), the same 400 either way.
                    expected = (400, 405) if method == "get" else (404, 405)
                    self.assertIn(real.status_code, expected, real.content[:200])
                    self.assertEqual(
                        (real.status_code, real.content), (missing.status_code, missing.content)
                    )

    def test_anonymous_callers_are_sent_to_sign_in_or_refused(self) -> None:
        for route in object_routes(""):
            if route.startswith(("admin/", "static")):
                continue
            with self.subTest(route=route):
                response = self.browser().get(self.fill(route))
                if route.startswith("fact-checks/"):
                    # Public pages need no sign-in; this project does not publish: 404.
                    self.assertEqual(response.status_code, 404, response.content[:200])
                elif route.startswith("api/") or "/live/" in route:
                    # The API, and the live-update stream and poll (an EventSource or a
                    # fetch cannot follow a redirect to the sign-in page): 401.
                    self.assertEqual(response.status_code, 401, response.content[:200])
                else:
                    self.assertEqual(response.status_code, 302)
                    self.assertTrue(response["Location"].startswith("/accounts/login/"))


class RoleTests(ObjectAccessTestCase):
    """A member below the needed role: 403 before validation, so no field message leaks."""

    def test_api_actions_above_the_callers_role_are_403_whatever_the_body(self) -> None:
        p, c = self.project.pk, self.blind.pk
        cases = [
            (self.reviewer_a, "patch", f"/projects/{p}/", {"required_reviews": "many"}),
            (self.editor, "patch", f"/projects/{p}/", {"lease_minutes": -1}),
            (self.editor, "post", f"/projects/{p}/members/", {"username": 7, "role": "god"}),
            (self.reviewer_a, "post", f"/claims/{c}/adjudicate/", {"rating": None}),
            (self.reviewer_a, "post", f"/claims/{c}/reopen/", {}),
            (self.reviewer_a, "post", f"/claims/{c}/publish/", {}),
            (self.reviewer_b, "patch", f"/claims/{c}/", {"statement": ""}),
        ]
        for user, method, path, body in cases:
            client = self.api(user)  # its token is a write of its own (an event)
            with self.subTest(user=user.get_username(), path=path), self.assertNothingWritten():
                response = getattr(client, method)(f"{API}{path}", body, format="json")
                self.assertEqual(response.status_code, 403, response.content)
                self.assertEqual(set(response.json()), {"detail"})

    def test_ui_editor_actions_are_403_for_reviewers(self) -> None:
        client = self.browser(self.reviewer_a)
        for name in ("adjudicate", "reopen", "publish"):
            with self.subTest(action=name), self.assertNothingWritten():
                response = client.post(f"/claims/{self.blind.pk}/{name}/", {"note": ""})
                self.assertEqual(response.status_code, 403)
        self.assertEqual(client.get(f"/projects/{self.project.slug}/disputes/").status_code, 403)


class ListScopeTests(ObjectAccessTestCase):
    def test_api_lists_hold_only_the_callers_projects(self) -> None:
        client = self.api(self.outsider)
        expected = {
            "/projects/": {self.other_project.pk},
            "/documents/": {self.other_document.pk},
            "/claims/": {self.other_claim.pk, self.other_open.pk},
        }
        for path, ids in expected.items():
            with self.subTest(path=path):
                body = client.get(f"{API}{path}").json()
                self.assertEqual({row["id"] for row in body["results"]}, ids)

    def test_filtering_on_another_project_answers_as_for_a_missing_one(self) -> None:
        client = self.api(self.outsider)
        cases = [
            ("/documents/", "project", self.project.pk),
            ("/claims/", "project", self.project.pk),
            ("/claims/", "document", self.document.pk),
        ]
        for path, name, value in cases:
            with self.subTest(path=path, filter=name):
                real = client.get(f"{API}{path}", {name: value})
                missing = client.get(f"{API}{path}", {name: MISSING_ID})
                self.assertEqual(real.status_code, 200)
                self.assertEqual(real.json()["results"], [])
                self.assertEqual(real.content, missing.content)

    def test_the_project_list_counts_only_the_callers_projects(self) -> None:
        html = self.browser(self.outsider).get("/").content.decode()
        self.assertNotIn(f"/projects/{self.project.slug}/", html)
        self.assertIn(f"/projects/{self.other_project.slug}/", html)
        rows = selectors_summaries(self.outsider)
        self.assertEqual(rows, {self.other_project.pk: (1, 1)})

    def test_members_and_agreement_of_another_project_are_404(self) -> None:
        client = self.api(self.outsider)
        for path in ("members/", "agreement/", "export/", ""):
            with self.subTest(path=path):
                response = client.get(f"{API}/projects/{self.project.pk}/{path}")
                self.assertEqual(response.status_code, 404)

    def test_document_exports_of_another_project_are_404_in_every_format(self) -> None:
        client = self.api(self.outsider)
        for fmt in ("json", "claimreview", "webannotation"):
            with self.subTest(format=fmt):
                response = client.get(
                    f"{API}/documents/{self.document.pk}/export/", {"format": fmt}
                )
                self.assertEqual(response.status_code, 404)
                self.assertNotIn(b"crime fell", response.content)


def selectors_summaries(user: Any) -> dict[int, tuple[int, int]]:
    from annotations import selectors

    return {
        project.pk: (project.document_count, project.open_claim_count)
        for project in selectors.project_summaries_for_user(user=user)
    }


class CrossTenantBodyTests(ObjectAccessTestCase):
    """Ids of another project's objects in a body: 400 on that field, as for an unknown id."""

    def assertSameRefusal(self, user: Any, path: str, real: dict, missing: dict, field: str):
        client = self.api(user)
        with self.assertNothingWritten():
            answer = client.post(f"{API}{path}", real, format="json")
            unknown = client.post(f"{API}{path}", missing, format="json")
        self.assertEqual(answer.status_code, 400, answer.content)
        self.assertIn(field, answer.json())
        self.assertEqual(
            re.sub(rf"\b{real[field]}\b", "ID", answer.content.decode()),
            re.sub(rf"\b{missing[field]}\b", "ID", unknown.content.decode()),
        )

    def test_a_claim_on_another_projects_document_is_refused(self) -> None:
        body = {"start": 0, "end": 3}
        self.assertSameRefusal(
            self.outsider,
            "/claims/",
            {**body, "document": self.document.pk},
            {**body, "document": MISSING_ID},
            "document",
        )

    def test_a_document_into_another_project_is_refused(self) -> None:
        body = {"title": "Injected", "text": "A document that must not land."}
        self.assertSameRefusal(
            self.outsider,
            "/documents/",
            {**body, "project": self.project.pk},
            {**body, "project": MISSING_ID},
            "project",
        )

    def test_the_queue_of_another_project_is_refused(self) -> None:
        self.assertSameRefusal(
            self.outsider,
            "/queue/next/",
            {"project": self.project.pk},
            {"project": MISSING_ID},
            "project",
        )

    def test_a_citation_of_another_projects_source_reads_as_an_unknown_source(self) -> None:
        services.lease_next(reviewer=self.q_reviewer, project=self.other_project)
        path = f"/claims/{self.other_open.pk}/verdicts/"

        def body(source: int) -> dict[str, Any]:
            citation = {"source": source, "stance": "supports"}
            return {"rating": "true", "confidence": "low", "citations": [citation]}

        client = self.api(self.q_reviewer)
        with self.assertNothingWritten():
            real = client.post(f"{API}{path}", body(self.b_source.pk), format="json")
            missing = client.post(f"{API}{path}", body(MISSING_ID), format="json")
        self.assertEqual(real.status_code, 400, real.content)
        self.assertEqual(
            re.sub(r"id \d+", "id ID", real.json()["citations"]["0"]["source"][0]),
            re.sub(r"id \d+", "id ID", missing.json()["citations"]["0"]["source"][0]),
        )
        self.assertNotIn(b"secret-b", real.content)

    def test_agreement_for_another_projects_document_is_refused(self) -> None:
        client = self.api(self.outsider)
        path = f"{API}/projects/{self.other_project.pk}/agreement/"
        real = client.get(path, {"document": self.document.pk})
        missing = client.get(path, {"document": MISSING_ID})
        self.assertEqual(real.status_code, 400)
        self.assertEqual(real.content, missing.content)
