"""The verdict form on the claim page: submitting a verdict with citations, errors and
refusals, one more citation row, and the source search.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Event,
    Source,
    Verdict,
)
from tests.factories import judge, make_claim
from tests.ui.reviewing_base import ReviewViewTestCase, verdict_post


class VerdictFormTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        # reviewer_a's own earlier source: citing its address again finds it.
        cls.known = services.source_get_or_create(
            url="https://police.example.org/annual-report",
            actor=cls.reviewer_a,
            project=cls.project,
            title="Annual report",
        )
        cls.url = reverse("workbench:verdict-submit", kwargs={"pk": cls.claim.pk})

    def test_it_records_a_verdict_with_citations(self) -> None:
        self.login(self.reviewer_a)
        rows = [
            {
                "url": "https://stats.example.org/crime?utm_source=x",
                "quote": "fell 12%",
                "stance": "refutes",
            },
            {"url": "", "quote": "", "stance": "supports"},  # left empty: dropped
            {"url": "https://POLICE.example.org/annual-report", "quote": "", "stance": "context"},
        ]
        response = self.client.post(self.url, verdict_post(rows=rows), follow=True)
        # The only claim of the desk: submit → the page saying why nothing is left.
        empty = reverse("workbench:queue-empty", kwargs={"slug": self.project.slug})
        self.assertRedirects(response, empty)
        self.assertContains(
            response,
            f'Verdict saved on <a href="{self.claim.get_absolute_url()}">crime fell 20%</a>',
        )
        self.assertContains(response, "1 already judged by you")
        verdict = Verdict.objects.get(claim=self.claim, reviewer=self.reviewer_a)
        self.assertEqual((verdict.rating.key, verdict.confidence), ("false", "high"))
        citations = list(verdict.citations.select_related("source").order_by("id"))
        self.assertEqual(
            [(c.source.normalized_url, c.quote, c.stance) for c in citations],
            [
                ("https://stats.example.org/crime", "fell 12%", "refutes"),
                (self.known.normalized_url, "", "context"),
            ],
        )
        self.assertEqual(citations[1].source, self.known)
        self.assertEqual(Source.objects.count(), 2)

    def test_it_refuses_a_javascript_url_and_writes_nothing(self) -> None:
        self.login(self.reviewer_a)
        rows = [{"url": "javascript:alert(1)", "quote": "", "stance": "supports"}]
        response = self.client.post(self.url, verdict_post(rationale="Kept text", rows=rows))
        self.assertEqual(response.status_code, 422)
        self.assertContains(
            response, "Only http and https URLs are allowed (scheme: javascript).", status_code=422
        )
        self.assertContains(response, 'aria-invalid="true"', status_code=422)
        self.assertContains(response, "Kept text</textarea>", status_code=422)
        self.assertFalse(Verdict.objects.exists())
        self.assertFalse(Citation.objects.exists())
        self.assertEqual(Source.objects.count(), 1)

    def test_it_refuses_an_internal_address_on_the_url_field_and_writes_nothing(self) -> None:
        self.login(self.reviewer_a)
        for url, reason in (
            ("http://169.254.169.254/latest/meta-data", "the address 169.254.169.254 is"),
            ("http://localhost:8000/admin", "localhost is this server itself"),
            ("http://0x7f.1/", "0x7f.1 is numeric shorthand"),
        ):
            with self.subTest(url=url):
                rows = [{"url": url, "quote": "", "stance": "supports"}]
                response = self.client.post(self.url, verdict_post(rows=rows))
                self.assertEqual(response.status_code, 422)
                self.assertContains(
                    response, f"Only public sites are accepted: {reason}", status_code=422
                )
                self.assertRegex(
                    response.content.decode(), r'aria-invalid="true"[^>]*id="id_citations-0-url"'
                )
        self.assertFalse(Verdict.objects.exists())
        self.assertEqual(Source.objects.count(), 1)

    def test_it_refuses_a_lone_surrogate_as_the_api_does_and_writes_nothing(self) -> None:
        # A browser sends U+FFFD for a lone surrogate; a crafted body spells one with the
        # bytes ED A0 80, which Django reads as U+FFFD (stored as if typed). The API refuses
        # "\ud800" with a 400 on the field; a form body is refused alike, naming the field
        # (workbench.middleware.UndecodableFormMiddleware, before the view).
        self.login(self.reviewer_a)
        rows = [{"url": "https://stats.example.org/a", "quote": "q", "stance": "refutes"}]
        surrogate = "Is not valid Unicode text: lone surrogate"
        cases = [
            ("rationale", "rationale=Kept%ED%A0%80text", f"{surrogate} U+D800 at position 4."),
            # The byte the reviewer sent is named, not the U+DCFF a decoder makes of it.
            ("a bad byte", "rationale=ab%FF", "Byte 0xFF at position 2 is not UTF-8."),
            (
                "a citation's quote",
                "citations-0-quote=x%ED%B0%80",
                f"{surrogate} U+DC00 at position 1.",
            ),
        ]

        def counts() -> list[int]:
            return [m.objects.count() for m in (Verdict, Citation, Source, Event, Assignment)]

        before = counts()
        for label, field, reason in cases:
            name = field.split("=")[0]
            data = {key: value for key, value in verdict_post(rows=rows).items() if key != name}
            body = urlencode(data) + "&" + field
            with self.subTest(label):
                response = self.client.post(
                    self.url, body, content_type="application/x-www-form-urlencoded"
                )
                self.assertEqual(response.status_code, 400)
                self.assertEqual(counts(), before, "the form wrote rows")
                self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
                self.assertEqual(response.content.decode(), f"{name}: {reason}")
        self.assertFalse(Verdict.objects.exists())
        # A U+FFFD the reviewer sent as such is text like any other.
        body = urlencode(verdict_post(rationale="Kept \ufffd text"))
        response = self.client.post(
            self.url, body, content_type="application/x-www-form-urlencoded"
        )
        self.assertEqual(response.status_code, 302, response.content[:500])
        self.assertEqual(Verdict.objects.get().rationale, "Kept \ufffd text")

    def test_it_sends_htmx_to_the_next_claim_with_hx_redirect(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(), HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response["HX-Redirect"],
            reverse("workbench:queue-empty", kwargs={"slug": self.project.slug}),
        )

    def test_submit_and_stay_answers_htmx_with_the_review_panel(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(after="stay"), HTTP_HX_REQUEST="true")
        self.assertFragment(response, "Your verdict is recorded.")
        html = self.page(response)
        self.assertIn('id="review-panel"', html)
        # Read-only first: the revision form waits behind "Revise my verdict", closed.
        self.assertIn('<details class="revise-verdict">', html)
        self.assertIn("Revise my verdict", html)
        # The claim's status line is refreshed out of band (it sits above the panel).
        self.assertIn('id="claim-status-line" class="claim-status-line" hx-swap-oob="true"', html)
        self.assertIn("In review — waiting for 1 more review", html)
        self.assertIn("1 of 2 reviews in", html)

    def test_its_submit_buttons_are_disabled_while_htmx_posts_it(self) -> None:
        # No second post from a double click: htmx disables the form's submit buttons
        # until the answer is in (an attribute: the page runs no inline script).
        self.login(self.reviewer_a)
        response = self.client.get(self.claim.get_absolute_url())
        html = self.page(response)
        form = re.search(r'<form id="verdict-form"[^>]*>', html)
        assert form is not None, html
        selector = "#verdict-form .verdict-submit button"
        self.assertIn(f'hx-disabled-elt="{selector}"', form.group(0))
        buttons = re.search(r'<div class="verdict-submit">(.*?)</div>', html, re.S)
        assert buttons is not None, html
        self.assertEqual(
            re.findall(r'<button type="submit"[^>]*name="after" value="(\w+)"', buttons.group(1)),
            ["next", "stay"],
        )
        self.assertNoInlineCode(response)

    def test_a_second_click_records_nothing_more(self) -> None:
        # A post that got through twice anyway (without JavaScript, or sent again): the
        # second finds the same verdict recorded, says it is unchanged, writes nothing.
        self.login(self.reviewer_a)
        rows = [
            {"url": "https://stats.example.org/crime", "quote": "fell 12%", "stance": "refutes"}
        ]
        data = verdict_post(rows=rows, after="stay")
        first = self.client.post(self.url, data, HTTP_HX_REQUEST="true")
        self.assertFragment(first, "Your verdict is recorded.")
        events = Event.objects.count()
        second = self.client.post(self.url, data, HTTP_HX_REQUEST="true")
        self.assertFragment(second, "Your verdict is unchanged: this one was recorded already.")
        self.assertEqual(Event.objects.count(), events)
        # "Submit" (to the next claim) says the same in its message.
        again = self.client.post(self.url, verdict_post(rows=rows), follow=True)
        self.assertContains(again, "Verdict unchanged (already recorded) on")
        self.assertEqual(Event.objects.filter(verb__startswith="verdict.").count(), 1)
        verdict = Verdict.objects.get(claim=self.claim, reviewer=self.reviewer_a)
        self.assertEqual((verdict.revision, verdict.citations.count()), (1, 1))

    def test_it_shows_form_errors_in_the_htmx_fragment(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(rating=""), HTTP_HX_REQUEST="true")
        self.assertFragment(response, "This field is required.")
        self.assertFalse(Verdict.objects.exists())

    def test_it_needs_the_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        self.assertEqual(client.post(self.url, verdict_post()).status_code, 403)
        client.get(self.claim.get_absolute_url())
        token = client.cookies["csrftoken"].value
        response = client.post(
            self.url, verdict_post(), HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(Verdict.objects.filter(reviewer=self.reviewer_a).exists())

    def test_it_keeps_the_text_when_the_queue_refuses(self) -> None:
        self.login(self.reviewer_c)  # holds no lease
        response = self.client.post(self.url, verdict_post(rationale="My long rationale"))
        self.assertEqual(response.status_code, 409)
        html = self.page(response)
        self.assertIn("Take this claim from the queue (Review next)", html)
        self.assertIn("My long rationale</textarea>", html)
        self.assertFalse(Verdict.objects.exists())

    def test_it_adds_a_citation_row_without_javascript(self) -> None:
        self.login(self.reviewer_a)
        rows = [{"url": "https://a.example.org/", "quote": "q", "stance": "refutes"}]
        data = verdict_post(rationale="Draft", rows=rows, add_citation="1")
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 200)
        html = self.page(response)
        self.assertIn('name="citations-1-url"', html)
        self.assertIn('value="https://a.example.org/"', html)
        self.assertIn("Draft</textarea>", html)
        self.assertNotIn("errorlist", html)
        self.assertFalse(Verdict.objects.exists())

    def test_it_offers_a_revision_until_consensus(self) -> None:
        judge_url = self.url
        self.login(self.reviewer_a)
        rows = [{"url": "https://a.example.org/", "quote": "", "stance": "refutes"}]
        self.client.post(judge_url, verdict_post(rating="mostly_false", rows=rows))
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn('<details class="revise-verdict">', html)  # closed until asked for
        self.assertIn("Revise my verdict", html)
        self.assertRegex(html, r'value="mostly_false"[^>]*checked')
        self.assertIn('value="https://a.example.org/"', html)
        response = self.client.post(
            judge_url, verdict_post(rating="false", rows=rows, after="stay")
        )
        self.assertRedirects(response, self.claim.get_absolute_url())
        current = Verdict.objects.get(reviewer=self.reviewer_a, is_current=True)
        self.assertEqual((current.rating.key, current.revision), ("false", 2))


class ReviewLoopTests(ReviewViewTestCase):
    """Submit → next: the queue's next claim is leased and opened, a message links back."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.first = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.second = make_claim(document=cls.document, actor=cls.creator, exact="last year")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def test_submitting_opens_the_next_claim_of_the_queue(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:verdict-submit", kwargs={"pk": self.first.pk})
        response = self.client.post(url, verdict_post(), follow=True)
        self.assertRedirects(response, self.second.get_absolute_url())
        html = self.page(response)
        self.assertIn(
            f'Verdict saved on <a href="{self.first.get_absolute_url()}">crime fell 20%</a>', html
        )
        self.assertIn('id="verdict-form"', html)  # leased to them: ready to judge
        self.assertTrue(
            Assignment.objects.filter(
                claim=self.second, reviewer=self.reviewer_a, state=AssignmentState.LEASED
            ).exists()
        )

    def test_submit_and_stay_stays_on_the_claim(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:verdict-submit", kwargs={"pk": self.first.pk})
        response = self.client.post(url, verdict_post(after="stay"), follow=True)
        self.assertRedirects(response, self.first.get_absolute_url())
        self.assertContains(response, "Your verdict is recorded.")
        self.assertFalse(Assignment.objects.filter(claim=self.second).exists())

    def test_skipping_opens_the_next_claim_too(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:claim-skip", kwargs={"pk": self.first.pk})
        response = self.client.post(url, {"reason": "I know the mayor"}, HTTP_HX_REQUEST="true")
        self.assertEqual(response["HX-Redirect"], self.second.get_absolute_url())
        page = self.page(self.client.get(self.second.get_absolute_url()))
        self.assertIn("Skipped (it will not be offered to you again):", page)


class CitationRowTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.url = reverse("workbench:citation-row", kwargs={"pk": cls.claim.pk})

    def test_it_returns_one_more_row_and_moves_the_count_on(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url, {"index": "3"}, HTTP_HX_REQUEST="true")
        self.assertFragment(response, 'name="citations-3-url"')
        html = self.page(response)
        self.assertIn("<legend>Citation 4</legend>", html)
        self.assertIn('list="citations-3-sources"', html)
        self.assertIn(reverse("workbench:source-search", kwargs={"pk": self.claim.pk}), html)
        self.assertRegex(html, r'name="citations-TOTAL_FORMS" value="4"[^>]*hx-swap-oob="true"')
        self.assertRegex(html, r'id="add-citation"[^>]*\?index=4"[^>]*hx-swap-oob="true"')
        self.assertNoInlineCode(response)

    def test_it_refuses_a_bad_index(self) -> None:
        self.login(self.reviewer_a)
        for index in ("", "-1", "50", "x"):
            with self.subTest(index=index):
                self.assertEqual(self.client.get(self.url, {"index": index}).status_code, 400)


class SourceSearchTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        for index in range(12):
            services.source_get_or_create(
                url=f"https://bureau.example.org/report-{index}",
                actor=cls.reviewer_a,
                project=cls.project,
                title=f"Bureau report {index}",
            )
        services.source_get_or_create(
            url="https://elsewhere.example.org/bureau",
            actor=cls.outsider,
            project=cls.other_project,
            title="Other desk",
        )
        judge(
            cls.claim,
            cls.reviewer_a,
            "false",
            citations=[
                services.CitationInput(
                    stance="supports", url=f"https://bureau.example.org/report-{i}"
                )
                for i in range(12)
            ],
        )
        cls.url = reverse("workbench:source-search", kwargs={"pk": cls.claim.pk})

    def options(self, response: HttpResponse) -> list[str]:
        return re.findall(r'<option value="([^"]+)"', self.page(response))

    def test_it_suggests_at_most_ten_cited_sources_of_the_project(self) -> None:
        self.login(self.editor)
        response = self.client.get(self.url, {"q": "bureau"}, HTTP_HX_REQUEST="true")
        self.assertFragment(response, "<option")
        options = self.options(response)
        self.assertEqual(len(options), 10)
        self.assertTrue(all(url.startswith("https://bureau.example.org/") for url in options))

    def test_it_matches_the_url_too(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url, {"q": "report-11"})
        self.assertEqual(self.options(response), ["https://bureau.example.org/report-11"])

    def test_it_reveals_no_citation_under_blind_review(self) -> None:
        self.login(self.reviewer_b)  # has not judged the claim reviewer_a cited these on
        self.assertEqual(self.options(self.client.get(self.url, {"q": "bureau"})), [])

    def test_it_ignores_short_queries(self) -> None:
        self.login(self.editor)
        self.assertEqual(self.options(self.client.get(self.url, {"q": "b"})), [])
