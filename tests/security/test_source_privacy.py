"""Security round 2, finding 1: a cited URL never leaks past blind review or across projects.

The probe: reviewer2 in project P1 cites a page with their own tracking parameters and a
highlighted quote in the fragment; a member of project P2 only, and reviewer1 of P1 (still
blind on reviewer2's claim), cite the same page. Before, both got reviewer2's row back
(their URL, their title, an old id). Sources now belong to their project and their citer
(``models.Source``), so every answer shows only what the caller typed or may already see,
and nothing says that someone else cited the page.
"""

from __future__ import annotations

from typing import Any

from django.test import TestCase
from django.urls import reverse
from rest_framework.test import APIClient

from annotations import services
from annotations.models import Source
from tests.admin.helpers import grant_every_permission
from tests.factories import Personas, api_token, judge, make_claim, make_document, make_member, take

API = "/api/v1"
TYPED_BY_R2 = "https://Example.org/leaked-memo?utm_source=r2secret&id=7#:~:text=R2%20secret%20quote"
TITLE_BY_R2 = "R2-SECRET notes on the memo"
PLAIN = "https://example.org/leaked-memo?id=7"


class SourcePrivacyTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        # The queue hands out the oldest claim first: ``second`` is reviewer_a's first claim,
        # ``first`` the one reviewer_b cites the page on, ``third`` one more.
        cls.second = make_claim(
            document=cls.document, actor=cls.creator, exact="Unemployment is at a record low"
        )
        cls.first = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.third = make_claim(document=cls.document, actor=cls.creator, exact="the new bridge")
        # reviewer_b (the probe's reviewer2) cites the page on ``first``, with a title.
        services.claim_skip(claim=cls.second, reviewer=cls.reviewer_b, reason="Wrote about it.")
        cls.r2_verdict = judge(
            cls.first,
            cls.reviewer_b,
            "false",
            citations=[services.CitationInput(stance="refutes", url=TYPED_BY_R2, quote="12%")],
        )
        cls.r2_source = cls.r2_verdict.citations.get().source
        services.source_update(source=cls.r2_source, actor=cls.reviewer_b, title=TITLE_BY_R2)
        # The other project: a member of it only.
        cls.p2_member = make_member(cls.other_project, "p2_member")
        services.project_update(project=cls.other_project, actor=cls.outsider, required_reviews=1)
        other_document = make_document(
            project=cls.other_project, actor=cls.outsider, text="Another desk's article."
        )
        cls.p2_claim = make_claim(document=other_document, actor=cls.outsider, exact="Another")

    def api(self, user: Any) -> APIClient:
        client = APIClient()
        key = api_token(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    def assertNothingOfR2(self, payload: Any) -> None:
        text = str(payload)
        for secret in ("r2secret", "R2%20secret", TITLE_BY_R2, f"'id': {self.r2_source.pk},"):
            self.assertNotIn(secret, text)

    def cite(self, user: Any, claim: Any, url: str = PLAIN) -> dict[str, Any]:
        take(claim, user)
        response = self.api(user).post(
            f"{API}/claims/{claim.pk}/verdicts/",
            {
                "rating": "false",
                "confidence": "high",
                "citations": [{"url": url, "quote": "q", "stance": "refutes"}],
            },
            format="json",
        )
        self.assertEqual(response.status_code, 201, response.content)
        return response.json()

    def test_a_member_of_another_project_gets_back_only_what_they_typed(self) -> None:
        body = self.cite(self.p2_member, self.p2_claim)
        source = body["citations"][0]["source"]
        self.assertEqual(source["url"], PLAIN)
        self.assertEqual(source["title"], "")
        self.assertNotEqual(source["id"], self.r2_source.pk)
        self.assertNothingOfR2(body)
        self.assertEqual(Source.objects.get(pk=source["id"]).project, self.other_project)

    def test_a_blind_reviewer_of_the_same_project_learns_nothing_by_citing_the_page(self) -> None:
        # reviewer_a has not judged the first claim: reviewer_b's verdict is hidden from them.
        body = self.cite(self.reviewer_a, self.second)
        source = body["citations"][0]["source"]
        self.assertEqual((source["url"], source["title"]), (PLAIN, ""))
        self.assertNothingOfR2(body)
        # Its id is a new row's, like citing a page nobody cited: nothing hints at reviewer_b.
        self.assertGreater(source["id"], self.r2_source.pk)
        client = self.api(self.reviewer_a)
        for url in (
            f"{API}/claims/{self.second.pk}/verdicts/",
            f"{API}/documents/{self.document.pk}/export/?format=json",
            f"{API}/projects/{self.project.pk}/export/",
        ):
            with self.subTest(url=url):
                response = client.get(url)
                content = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                self.assertEqual(response.status_code, 200)
                self.assertNotIn(b"r2secret", content)
                self.assertNotIn(TITLE_BY_R2.encode(), content)
        # Naming reviewer_b's source by id reads as an id that does not exist.
        take(self.second, self.reviewer_c)
        refused = self.api(self.reviewer_c).post(
            f"{API}/claims/{self.second.pk}/verdicts/",
            {
                "rating": "false",
                "confidence": "high",
                "citations": [{"source": self.r2_source.pk, "stance": "refutes"}],
            },
            format="json",
        )
        unknown = self.api(self.reviewer_c).post(
            f"{API}/claims/{self.second.pk}/verdicts/",
            {
                "rating": "false",
                "confidence": "high",
                "citations": [{"source": 999_999, "stance": "refutes"}],
            },
            format="json",
        )
        self.assertEqual(refused.status_code, 400)
        self.assertEqual(
            refused.json()["citations"],
            {
                "0": {
                    "source": [
                        m.replace("999999", str(self.r2_source.pk))
                        for m in unknown.json()["citations"]["0"]["source"]
                    ]
                }
            },
        )

    def test_suggestions_and_the_source_endpoints_keep_to_what_the_caller_may_see(self) -> None:
        self.client.force_login(self.reviewer_a)
        response = self.client.get(
            f"/claims/{self.second.pk}/sources/", {"q": "example"}, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("leaked-memo", response.content.decode())
        # The metadata endpoint answers 404 for a source the caller may not see.
        fetch = self.api(self.reviewer_a).post(f"{API}/sources/{self.r2_source.pk}/fetch-metadata/")
        self.assertEqual(fetch.status_code, 404)

    def test_the_admin_lists_none_of_it_to_a_staff_reviewer(self) -> None:
        grant_every_permission(self.reviewer_a)
        self.client.force_login(self.reviewer_a)
        listed = self.client.get(reverse("admin:annotations_source_changelist"), {"q": "memo"})
        self.assertEqual(listed.status_code, 200)
        self.assertEqual(list(listed.context["cl"].result_list), [])
        page = self.client.get(
            reverse("admin:annotations_source_change", args=[self.r2_source.pk]), follow=True
        )
        self.assertNotIn(TITLE_BY_R2, page.content.decode())
        self.assertNotIn("r2secret", page.content.decode())
        # Adding the same page in the admin is not refused as "already a source": only the
        # user's own sources count.
        added = self.client.post(
            reverse("admin:annotations_source_add"), {"project": self.project.pk, "url": PLAIN}
        )
        self.assertEqual(added.status_code, 302)

    def test_after_their_own_verdict_a_reviewer_sees_and_may_cite_the_other_s_source(self) -> None:
        self.cite(self.reviewer_a, self.second)
        self.cite(self.reviewer_a, self.first)  # reviewer_a judges reviewer_b's claim too
        verdicts = self.api(self.reviewer_a).get(f"{API}/claims/{self.first.pk}/verdicts/").json()
        urls = {c["source"]["url"] for v in verdicts for c in v["citations"]}
        self.assertEqual(urls, {TYPED_BY_R2, PLAIN})
        take(self.third, self.reviewer_a)
        cited = self.api(self.reviewer_a).post(
            f"{API}/claims/{self.third.pk}/verdicts/",
            {
                "rating": "false",
                "confidence": "high",
                "citations": [{"source": self.r2_source.pk, "stance": "context"}],
            },
            format="json",
        )
        self.assertEqual(cited.status_code, 201, cited.content)
        self.assertEqual(cited.json()["citations"][0]["source"]["id"], self.r2_source.pk)
