"""Blind review leaks through no channel (B.6 #5).

``reviewer_a`` holds the lease on ``blind`` and has not judged it; ``reviewer_b`` and
``reviewer_c`` have, with secrets in every field. Every surface ``reviewer_a`` can reach
(API list, detail, verdicts, consensus, agreement, exports in all formats, the claim page
and its htmx fragments, the dashboard, document pages, source suggestions, and the admin
for a staff reviewer) must carry no trace of those verdicts: no text, no verdict id, no
rating, no reviewer name. A Hypothesis property drives random queue states and also
checks that the claim's surfaces (and its ETag) do not change at all when others judge.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client, TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase
from rest_framework.test import APIClient

from annotations import services
from annotations.models import Role
from tests.factories import (
    add_member,
    judge,
    make_claim,
    make_document,
    make_project,
    make_user,
    take,
)
from tests.security.world import API, World

SECRETS = ("SECRET-B", "SECRET-C", "secret-b.example.org", "reviewer_b", "reviewer_c")


def claim_surfaces(api: APIClient, browser: Client, claim_id: int) -> dict[str, Any]:
    """What a member can fetch about one claim: (status, ETag, body) per surface."""
    paths = {
        "api-detail": f"{API}/claims/{claim_id}/",
        "api-verdicts": f"{API}/claims/{claim_id}/verdicts/",
        "api-history": f"{API}/claims/{claim_id}/verdicts/?history=true",
        "api-consensus": f"{API}/claims/{claim_id}/consensus/",
    }
    out: dict[str, Any] = {}
    for name, path in paths.items():
        response = api.get(path)
        out[name] = (response.status_code, response.get("ETag"), response.content)
    for name, headers in (("page", {}), ("htmx", {"HTTP_HX_REQUEST": "true"})):
        response = browser.get(f"/claims/{claim_id}/", **headers)
        out[name] = (response.status_code, None, _normalize_html(response.content))
    return out


def project_surfaces(
    api: APIClient, browser: Client, *, project: Any, document: Any, claim_id: int
) -> dict[str, bytes]:
    """Every other surface, project and document wide."""
    p, d = project.pk, document.pk
    api_paths = [
        "/claims/",
        f"/claims/?document={d}",
        f"/documents/{d}/?include=claims",
        f"/projects/{p}/agreement/",
        f"/projects/{p}/agreement/?document={d}",
        f"/projects/{p}/export/",
        *(f"/documents/{d}/export/?format={f}" for f in ("json", "claimreview", "webannotation")),
    ]
    out = {path: b"".join(api.get(f"{API}{path}")) for path in api_paths}
    pages = [
        "/",
        project.get_absolute_url(),
        f"/projects/{project.slug}/documents/",
        document.get_absolute_url(),
        f"/claims/{claim_id}/sources/?q=secret",
        f"/claims/{claim_id}/sources/?q=example",
        f"/claims/{claim_id}/citation-row/?index=1",
    ]
    for path in pages:
        out[path] = b"".join(browser.get(path))
        out[f"{path} (htmx)"] = b"".join(browser.get(path, HTTP_HX_REQUEST="true"))
    return out


def _normalize_html(content: bytes) -> bytes:
    """Per-request values out: CSRF tokens and CSP nonces."""
    text = re.sub(rb'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', rb'\1"T"', content)
    return re.sub(rb'nonce="[^"]+"', b'nonce="N"', text)


def verdict_ids(payload: Any) -> set[int]:
    """Ids of verdicts anywhere in an API or export payload."""
    found: set[int] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "verdicts" and isinstance(value, list):
                found |= {v["id"] if isinstance(v, dict) else v for v in value}
            found |= verdict_ids(value)
    elif isinstance(payload, list):
        for item in payload:
            found |= verdict_ids(item)
    return found


class BlindLeakageTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()
        cls.hidden_ids = {cls.b_verdict.pk, cls.c_verdict.pk}

    def setUp(self) -> None:
        self.a_api, self.a_browser = self.api(self.reviewer_a), self.browser(self.reviewer_a)

    def assertNoSecret(self, name: str, content: bytes) -> None:
        text = content.decode("utf-8", "replace")
        for secret in SECRETS:
            self.assertTrue(secret not in text, f"{name} leaks {secret!r}")
        for verdict_id in self.hidden_ids:
            self.assertNotIn(f"verdict-{verdict_id}-", text, name)
        try:
            payload = json.loads(content)
        except ValueError:
            lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
            payload = lines
        self.assertFalse(verdict_ids(payload) & self.hidden_ids, name)

    def test_the_claims_api_and_pages_show_only_the_callers_lease(self) -> None:
        for name, (status, _, body) in claim_surfaces(
            self.a_api, self.a_browser, self.blind.pk
        ).items():
            with self.subTest(surface=name):
                self.assertEqual(status, 200)
                self.assertNoSecret(name, body)
        verdicts = self.a_api.get(f"{API}/claims/{self.blind.pk}/verdicts/?history=1").json()
        self.assertEqual(verdicts, [])

    def test_every_project_surface_is_free_of_the_others_verdicts(self) -> None:
        surfaces = project_surfaces(
            self.a_api,
            self.a_browser,
            project=self.project,
            document=self.document,
            claim_id=self.blind.pk,
        )
        self.assertGreaterEqual(len(surfaces), 20)
        for name, body in surfaces.items():
            with self.subTest(surface=name):
                self.assertNoSecret(name, body)

    def test_the_agreement_figures_leave_out_claims_the_caller_has_not_judged(self) -> None:
        body = self.a_api.get(f"{API}/projects/{self.project.pk}/agreement/").json()
        self.assertEqual((body["verdicts"], body["claims"], body["reviewers"]), (0, 0, []))
        page = self.a_browser.get(self.project.get_absolute_url()).content.decode()
        self.assertRegex(page, r"<dt>Verdicts</dt><dd>0</dd>")
        # An editor sees the same figures in full.
        full = self.api(self.editor).get(f"{API}/projects/{self.project.pk}/agreement/").json()
        self.assertEqual(full["verdicts"], 2)

    def test_a_source_cited_only_by_a_blind_verdict_cannot_be_named_by_id(self) -> None:
        body = {
            "rating": "true",
            "confidence": "low",
            "citations": [{"source": self.b_source.pk, "stance": "supports"}],
        }
        response = self.a_api.post(f"{API}/claims/{self.blind.pk}/verdicts/", body, format="json")
        self.assertEqual(response.status_code, 400, response.content)
        self.assertIn("No source with id", response.json()["citations"]["0"]["source"][0])
        self.assertNoSecret("verdict refusal", response.content)

    def test_the_admin_shows_a_staff_reviewer_none_of_the_hidden_verdicts(self) -> None:
        self.reviewer_a.is_staff = True
        self.reviewer_a.save()
        self.reviewer_a.user_permissions.set(
            Permission.objects.filter(content_type__app_label="annotations")
        )
        client = self.browser(self.reviewer_a)
        pages = [
            "/admin/annotations/verdict/",
            "/admin/annotations/verdict/?q=figure",
            "/admin/annotations/citation/",
            "/admin/annotations/source/",
            "/admin/annotations/source/?q=evidence",
            "/admin/annotations/citation/?q=twelve",
            "/admin/annotations/consensus/",
            "/admin/annotations/assignment/",
            "/admin/annotations/event/",
            "/admin/annotations/claim/",
            f"/admin/annotations/claim/{self.blind.pk}/change/",
            f"/admin/annotations/document/{self.document.pk}/change/",
            "/admin/annotations/project/",
            "/admin/annotations/document/",
        ]
        for path in pages:
            with self.subTest(path=path):
                response = client.get(path, follow=True)
                self.assertEqual(response.status_code, 200)
                self.assertNoSecret(path, response.content)
        for model, pk in (
            ("verdict", self.b_verdict.pk),
            ("source", self.b_source.pk),
            ("citation", self.b_verdict.citations.get().pk),
        ):
            with self.subTest(model=model):
                response = client.get(f"/admin/annotations/{model}/{pk}/change/")
                self.assertEqual(response.status_code, 302)  # "doesn't exist" redirect
        # The filter sidebar names only the reviewer's projects.
        page = client.get("/admin/annotations/claim/").content.decode()
        self.assertNotIn(self.other_project.name, page)

    def test_once_the_caller_has_judged_the_others_become_visible(self) -> None:
        services.verdict_submit(
            claim=self.blind, reviewer=self.reviewer_a, rating="false", confidence="low"
        )
        body = self.a_api.get(f"{API}/claims/{self.blind.pk}/verdicts/").json()
        self.assertEqual({v["reviewer"] for v in body}, {"reviewer_a", "reviewer_b", "reviewer_c"})


# --- property: random queue states ---------------------------------------------------------

RATINGS = ["true", "mostly_true", "half_true", "mostly_false", "false", "misleading"]
others_strategy = st.lists(
    st.tuples(
        st.sampled_from(RATINGS),
        st.text(alphabet="abc <>&\"'\u2028é😀", max_size=12),
        st.booleans(),  # cites a source
        st.booleans(),  # revises once
    ),
    max_size=3,
)


class BlindQueuePropertyTests(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("p_admin")
        cls.creator = make_user("p_creator")
        cls.watcher = make_user("p_watcher")
        cls.others = [make_user(f"p_other_{i}") for i in range(3)]

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(others=others_strategy, required=st.integers(min_value=2, max_value=4))
    def test_what_others_do_never_changes_what_a_blind_reviewer_sees(
        self, others: list[tuple[str, str, bool, bool]], required: int
    ) -> None:
        project = make_project(creator=self.admin, name="Prop desk", required_reviews=required)
        for user in (self.creator, self.watcher, *self.others):
            add_member(project, user, Role.REVIEWER)
        document = make_document(project=project, actor=self.creator)
        claim = make_claim(document=document, actor=self.creator, exact="crime fell 20%")
        take(claim, self.watcher)
        api = World.api(World(), self.watcher)
        browser = World.browser(self.watcher)
        before = claim_surfaces(api, browser, claim.pk)
        secrets: list[str] = []
        for index, (rating, text, cites, revises) in enumerate(others[: required - 1]):
            marker = f"PROP-SECRET-{index}-{text}"
            secrets.append(f"PROP-SECRET-{index}")
            citations = (
                [services.CitationInput(stance="refutes", url=f"https://prop{index}.example/")]
                if cites
                else []
            )
            judge(claim, self.others[index], rating, rationale=marker, citations=citations)
            if revises:
                services.verdict_submit(
                    claim=claim,
                    reviewer=self.others[index],
                    rating=rating,
                    confidence="low",
                    rationale=marker + " revised",
                )
        after = claim_surfaces(api, browser, claim.pk)
        self.assertEqual(before, after)
        everything = project_surfaces(
            api, browser, project=project, document=document, claim_id=claim.pk
        )
        for name, body in [*everything.items(), *((k, v[2]) for k, v in after.items())]:
            text = body.decode("utf-8", "replace")
            for secret in [*secrets, "prop0.example", "prop1.example", "p_other_"]:
                self.assertNotIn(secret, text, name)


class AgreementScopeTests(TestCase):
    """Issue 13, finding 5d: the agreement figures counted a disputed claim the caller had
    never judged (only claims in review were left out), so a reviewer learned how the
    others had split. Now they rest on ``access.verdict_scope_for_user``, as the dashboard
    and the exports do: a reviewer's figures hold only claims they judged themselves."""

    @classmethod
    def setUpTestData(cls) -> None:
        admin = make_user("admin")
        cls.project = make_project(creator=admin, name="Desk", required_reviews=2)
        cls.editor, cls.reviewer_a, cls.reviewer_b, cls.reviewer_c = (
            make_user(name) for name in ("editor", "reviewer_a", "reviewer_b", "reviewer_c")
        )
        add_member(cls.project, cls.editor, Role.EDITOR)
        for reviewer in (cls.reviewer_a, cls.reviewer_b, cls.reviewer_c):
            add_member(cls.project, reviewer)
        document = make_document(
            project=cls.project,
            actor=cls.editor,
            text="Crime fell 20% last year. Unemployment is at a record low. Taxes rose.",
        )
        cls.disputed = make_claim(document=document, actor=cls.editor, exact="Crime fell 20%")
        cls.resolved = make_claim(document=document, actor=cls.editor, exact="record low")
        cls.mine = make_claim(document=document, actor=cls.editor, exact="Taxes rose")
        judge(cls.disputed, cls.reviewer_b, "true")
        judge(cls.disputed, cls.reviewer_c, "false")
        judge(cls.resolved, cls.reviewer_b, "true")
        judge(cls.resolved, cls.reviewer_c, "true")
        judge(cls.mine, cls.reviewer_a, "false")
        judge(cls.mine, cls.reviewer_b, "false")
        for claim, status in ((cls.disputed, "disputed"), (cls.resolved, "resolved")):
            claim.refresh_from_db()
            assert claim.status == status, (claim.status, status)

    def agreement(self, user: Any) -> dict[str, Any]:
        client = APIClient()
        client.force_authenticate(user)
        response = client.get(f"{API}/projects/{self.project.pk}/agreement/")
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_a_reviewer_counts_only_the_claims_they_judged(self) -> None:
        body = self.agreement(self.reviewer_a)
        # Only "Taxes rose" (judged by reviewer_a, who may now see reviewer_b's verdict):
        # not the disputed claim, nor the resolved one, that they never judged.
        self.assertEqual((body["claims"], body["verdicts"], body["reviewers"]), (1, 2, []))
        self.assertEqual(body["percent_agreement"], 1.0)
        page = Client()
        page.force_login(self.reviewer_a)
        html = page.get(self.project.get_absolute_url()).content.decode()
        self.assertRegex(html, r"<dt>Verdicts</dt><dd>2</dd>")

    def test_an_editor_sees_the_disputed_claim_and_every_row(self) -> None:
        body = self.agreement(self.editor)
        self.assertEqual((body["claims"], body["verdicts"]), (3, 6))
        self.assertEqual(
            sorted(row["username"] for row in body["reviewers"]),
            ["reviewer_a", "reviewer_b", "reviewer_c"],
        )
        self.assertLess(body["percent_agreement"], 1.0)  # the dispute counts

    def test_a_reviewer_who_judged_the_disputed_claim_sees_it(self) -> None:
        body = self.agreement(self.reviewer_c)
        self.assertEqual((body["claims"], body["verdicts"]), (2, 4))
