"""Tests for the public fact-check pages and feeds (issue 15, deliverables 2 and 3), as an
anonymous reader: pages of published claims with valid ClaimReview JSON-LD that no field
can break out of, one 404 for everything not published (other project, publishing off,
unpublished, nonexistent), the DataFeed with ETag/304 and ``?at=`` answering byte for
byte what was served then (the golden test), and the Atom feed."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from xml.etree import ElementTree

from django.test import Client, TestCase, override_settings
from django.utils import timezone
from django.utils.http import parse_http_date

from annotations import services
from annotations.models import Claim, Project
from tests import conformance
from tests.factories import Personas, judge, make_claim, make_document

SCHEMA = conformance.load_json(conformance.CLAIMREVIEW_SCHEMA)
HOSTILE = "</script><script>alert(1)</script><!-- crime fell 20%"
LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def resolved(document: Any, actor: Any, reviewers: Any, exact: str) -> Claim:
    claim = make_claim(document=document, actor=actor, exact=exact)
    for reviewer in reviewers:
        judge(claim, reviewer, "false")
    return Claim.objects.get(pk=claim.pk)


@override_settings(PUBLIC_BASE_URL="https://factchecks.example.org")
class PublicPagesTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        Project.objects.filter(pk=cls.project.pk).update(publishing_enabled=True)
        cls.project.refresh_from_db()
        reviewers = (cls.reviewer_a, cls.reviewer_b)
        cls.published = resolved(cls.document, cls.creator, reviewers, "crime fell 20%")
        services.claim_publish(
            claim=cls.published, editor=cls.editor, summary="Police data show a 4% rise."
        )
        cls.unpublished = resolved(
            cls.document, cls.creator, reviewers, "Unemployment is at a record low"
        )
        cls.hostile_doc = make_document(
            project=cls.project, actor=cls.creator, text=f"The mayor: {HOSTILE}. Really."
        )
        cls.hostile = resolved(cls.hostile_doc, cls.creator, reviewers, HOSTILE)
        services.claim_publish(claim=cls.hostile, editor=cls.editor, summary=f"Summary {HOSTILE}")

    def setUp(self) -> None:
        self.reader = Client()

    def page(self, claim: Claim, slug: str | None = None) -> Any:
        return self.reader.get(f"/fact-checks/{slug or self.project.slug}/{claim.pk}/")

    def jsonld(self, response: Any) -> dict[str, Any]:
        [block] = LD_JSON.findall(response.content.decode())
        return json.loads(block)

    def test_a_published_claim_has_a_public_page_with_valid_claimreview(self) -> None:
        response = self.page(self.published)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Police data show a 4% rise.")
        self.assertContains(response, "False")
        node = self.jsonld(response)
        failures, report = conformance.check_claimreview(node, SCHEMA)
        self.assertEqual(failures, 0, "\n".join(report))
        for key in ("claimReviewed", "url", "author", "datePublished"):
            self.assertTrue(node[key], key)
        self.assertEqual(node["reviewRating"]["alternateName"], "False")
        self.assertEqual(
            node["url"],
            f"https://factchecks.example.org/fact-checks/{self.project.slug}/{self.published.pk}/",
        )
        # No reviewer's name, and nothing but what was published.
        page = response.content.decode()
        for name in (
            "reviewer_a",
            "reviewer_b",
            "creator",
            "editor",
            "Unemployment is at a record low",
        ):
            self.assertNotIn(name, page)
        self.assertIn("public", response["Cache-Control"])
        # Crawlers and caches ask with HEAD too.
        self.assertEqual(self.reader.head(response.wsgi_request.path).status_code, 200)
        policy = response["Content-Security-Policy"]
        self.assertNotIn("unsafe-inline", policy)
        self.assertIn("script-src", policy)

    def test_no_field_can_close_the_json_ld_script(self) -> None:
        response = self.page(self.hostile)
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertNotIn("<script>alert(1)", html)
        [block] = LD_JSON.findall(html)
        self.assertNotIn("<", block)
        self.assertNotIn("<!--", block)
        node = json.loads(block)
        self.assertEqual(node["claimReviewed"], HOSTILE)
        self.assertEqual(node["reviewBody"], f"Summary {HOSTILE}")
        # The only script element on the page is the data block.
        self.assertEqual(html.count("<script"), 1)

    def test_everything_not_published_is_the_same_404(self) -> None:
        missing = self.reader.get(f"/fact-checks/{self.project.slug}/999999/")
        self.assertEqual(missing.status_code, 404)
        other_doc = make_document(project=self.other_project, actor=self.outsider)
        foreign = make_claim(document=other_doc, actor=self.outsider, exact="The mayor")
        cases = {
            "unpublished": self.page(self.unpublished),
            "other project's claim under this slug": self.page(foreign),
            "claim under another project's slug": self.page(
                self.published, slug=self.other_project.slug
            ),
            "unknown project": self.page(self.published, slug="no-such-desk"),
        }
        for label, response in cases.items():
            with self.subTest(label):
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.content, missing.content)
        Project.objects.filter(pk=self.project.pk).update(publishing_enabled=False)
        for path in ("", f"{self.published.pk}/", "feed.json", "feed.atom"):
            with self.subTest(publishing="off", path=path):
                response = self.reader.get(f"/fact-checks/{self.project.slug}/{path}")
                self.assertEqual(response.status_code, 404)

    def test_the_index_lists_published_claims_newest_first(self) -> None:
        response = self.reader.get(f"/fact-checks/{self.project.slug}/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        first = html.index(f"/{self.hostile.pk}/")
        second = html.index(f"/{self.published.pk}/")
        self.assertLess(first, second)
        self.assertNotIn(f"/{self.unpublished.pk}/", html)
        self.assertNotIn("<script>alert(1)", html)

    def test_public_reads_cost_a_constant_number_of_queries(self) -> None:
        # project, the page's claims (count + page), their versions; project, versions;
        # the Atom feed also reads the project's last change (a retraction dates it).
        for path, queries in (
            ("", 4),
            (f"{self.published.pk}/", 2),
            ("feed.json", 2),
            ("feed.atom", 3),
        ):
            with self.subTest(path=path), self.assertNumQueries(queries):
                response = self.reader.get(f"/fact-checks/{self.project.slug}/{path}")
                self.assertEqual(response.status_code, 200)

    def test_a_retracted_claim_keeps_its_page_saying_why_without_claimreview(self) -> None:
        services.claim_correct(
            claim=self.published, editor=self.editor, rating="half_true", note="Revised series."
        )
        corrected = self.page(self.published)
        self.assertContains(corrected, "Revised series.")
        self.assertEqual(self.jsonld(corrected)["reviewRating"]["alternateName"], "Half true")
        services.claim_retract(
            claim=self.published, editor=self.editor, note="The figures were for another city."
        )
        response = self.page(self.published)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "This fact check was retracted")
        self.assertContains(response, "The figures were for another city.")
        self.assertEqual(LD_JSON.findall(response.content.decode()), [])


@override_settings(PUBLIC_BASE_URL="https://factchecks.example.org")
class FeedTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        Project.objects.filter(pk=cls.project.pk).update(publishing_enabled=True)
        reviewers = (cls.reviewer_a, cls.reviewer_b)
        cls.first = resolved(cls.document, cls.creator, reviewers, "crime fell 20%")
        cls.second = resolved(
            cls.document, cls.creator, reviewers, "Unemployment is at a record low"
        )
        cls.third = resolved(cls.document, cls.creator, reviewers, "Critics say the new bridge")

    def setUp(self) -> None:
        self.reader = Client()
        self.url = f"/fact-checks/{self.project.slug}/feed.json"

    def items(self, body: bytes) -> list[dict[str, Any]]:
        return json.loads(body)["dataFeedElement"]

    def test_golden_feed_at_t1_is_byte_for_byte_what_was_served_then(self) -> None:
        services.claim_publish(claim=self.first, editor=self.editor, summary="It rose 4%.")
        recorded = self.reader.get(self.url)
        self.assertEqual(recorded.status_code, 200)
        self.assertEqual(recorded["Content-Type"], "application/ld+json")
        t1 = timezone.now()
        # Then: a new publication, a correction of the first, a retraction of the new one.
        services.claim_publish(claim=self.second, editor=self.editor, summary="It is not.")
        services.claim_publish(claim=self.third, editor=self.editor, summary="Not quite.")
        services.claim_correct(
            claim=self.first, editor=self.editor, rating="half_true", note="Revised series."
        )
        services.claim_retract(claim=self.second, editor=self.editor, note="Wrong city.")

        past = self.reader.get(self.url, {"at": t1.isoformat()})
        self.assertEqual(past.status_code, 200)
        self.assertEqual(past.content, recorded.content)
        self.assertEqual(past["ETag"], recorded["ETag"])

        now = self.reader.get(self.url)
        items = self.items(now.content)
        by_url = {item["item"]["url"].rstrip("/").rsplit("/", 1)[1]: item for item in items}
        self.assertEqual(set(by_url), {str(self.first.pk), str(self.third.pk)})  # no retraction
        corrected = by_url[str(self.first.pk)]["item"]
        self.assertEqual(corrected["reviewRating"]["alternateName"], "Half true")
        self.assertIn("dateModified", corrected)
        self.assertEqual(corrected["correction"][0]["text"], "Revised series.")
        for item in items:
            failures, report = conformance.check_claimreview(item["item"], SCHEMA)
            self.assertEqual(failures, 0, "\n".join(report))
        # The current feed is the feed "at" now, by the same code.
        self.assertEqual(
            self.reader.get(self.url, {"at": timezone.now().isoformat()}).content, now.content
        )

    def test_conditional_gets_answer_304(self) -> None:
        services.claim_publish(claim=self.first, editor=self.editor, summary="It rose 4%.")
        first = self.reader.get(self.url)
        self.assertTrue(first["ETag"].startswith('"') and first["Last-Modified"])
        again = self.reader.get(self.url, HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual((again.status_code, again.content), (304, b""))
        since = self.reader.get(self.url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
        self.assertEqual(since.status_code, 304)
        services.claim_publish(claim=self.second, editor=self.editor, summary="It is not.")
        changed = self.reader.get(self.url, HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed["ETag"], first["ETag"])

    def test_a_bad_instant_is_a_400_naming_at(self) -> None:
        for value in ("", "yesterday", "2030-05-01", "2030-05-01T10:00:00"):
            with self.subTest(value=value):
                response = self.reader.get(self.url, {"at": value})
                self.assertEqual(response.status_code, 400)
                self.assertIn("at", response.json())

    def test_the_atom_feed_lists_current_fact_checks(self) -> None:
        services.claim_publish(claim=self.first, editor=self.editor, summary="It rose 4%.")
        services.claim_publish(claim=self.second, editor=self.editor, summary="It is not.")
        services.claim_retract(claim=self.second, editor=self.editor, note="Wrong city.")
        response = self.reader.get(f"/fact-checks/{self.project.slug}/feed.atom")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("application/atom+xml"))
        body = response.content.decode()
        self.assertIn(
            f"https://factchecks.example.org/fact-checks/{self.project.slug}/{self.first.pk}/", body
        )
        self.assertNotIn(f"/{self.second.pk}/", body)
        self.assertIn("It rose 4%.", body)

    def test_the_atom_summary_is_the_text_as_typed_never_markup(self) -> None:
        """Outside probe: <summary type="html"> held the summary escaped once, so a feed
        reader turned "</script><script>alert(1)</script>" back into live markup."""
        typed = "Up 4% </script><script>alert(1)</script> <b>x</b> & more"
        services.claim_publish(claim=self.first, editor=self.editor, summary=typed)
        response = self.reader.get(f"/fact-checks/{self.project.slug}/feed.atom")
        feed = ElementTree.fromstring(response.content)  # noqa: S314 (our own answer)
        summary = feed.find(
            "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}summary"
        )
        self.assertIsNotNone(summary)
        assert summary is not None
        self.assertEqual(summary.get("type"), "html")
        # What a reader renders: the XML's text is HTML whose text is the summary as typed.
        self.assertEqual(html.unescape(summary.text or ""), typed)
        self.assertNotIn("<script", summary.text or "")

    def test_a_future_instant_is_a_400(self) -> None:
        """Outside probe: ?at= in the future answered today's feed, which will change."""
        later = (timezone.now() + dt.timedelta(minutes=5)).isoformat()
        for value in ("9999-12-31T23:59:59Z", later):
            with self.subTest(value=value):
                response = self.reader.get(self.url, {"at": value})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), {"at": ["This instant is in the future."]})

    def test_the_atom_feed_moves_forward_on_a_retraction_and_answers_304(self) -> None:
        """Outside probe: after a retraction the Atom feed's Last-Modified and <updated>
        went back to the newest remaining item, and it had no ETag and never said 304."""
        atom = f"/fact-checks/{self.project.slug}/feed.atom"
        services.claim_publish(claim=self.first, editor=self.editor, summary="It rose 4%.")
        services.claim_publish(claim=self.second, editor=self.editor, summary="It is not.")
        before = self.reader.get(atom)
        self.assertEqual(self.reader.get(atom, HTTP_IF_NONE_MATCH=before["ETag"]).status_code, 304)
        self.assertEqual(
            self.reader.get(atom, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]).status_code,
            304,
        )
        retracted_at = timezone.now() + dt.timedelta(seconds=2)
        services.claim_retract(
            claim=self.second, editor=self.editor, note="Wrong city.", now=retracted_at
        )
        after = self.reader.get(atom, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
        self.assertEqual(after.status_code, 200)
        self.assertGreater(
            parse_http_date(after["Last-Modified"]), parse_http_date(before["Last-Modified"])
        )
        self.assertIn(
            f"<updated>{retracted_at.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S')}",
            after.content.decode(),
        )
        self.assertNotEqual(after["ETag"], before["ETag"])
