"""Reviewer UI, reading side: project list, dashboard, document list and search, the reader,
and creating a claim from a selection (workbench/ui/reading.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from annotations import services
from annotations.models import Claim, Document
from tests.factories import Personas, judge, make_claim, make_document

HX = {"HTTP_HX_REQUEST": "true"}
XSS_TEXT = "Intro line.\nThe council said <script>alert(1)</script> cuts crime.\n"
XSS_STATEMENT = "<img src=x onerror=alert(1)>"
EMOJI_TEXT = "Flags 🇺🇦🇵🇱 and a bridge 🌉 first. Then the claim: taxes rose 5%.\n"

# <script> without a src attribute (inline code), style attributes and <style> elements.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


class ReadingViewTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact="crime fell 20% last year"
        )

    def login(self, user: object) -> None:
        self.client.force_login(user)

    def assert_csp_clean(self, html: str) -> None:
        self.assertIsNone(INLINE_SCRIPT.search(html), "inline <script> without src")
        self.assertIsNone(STYLE_ATTRIBUTE.search(html), "style= attribute")
        self.assertNotIn("<style", html.lower())

    def assert_access(self, url: str) -> None:
        """Members get the page, an outsider 404, an anonymous visitor the sign-in page."""
        with self.subTest("anonymous"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith(f"{reverse('login')}?next="))
        for user in (self.reviewer_a, self.editor, self.admin):
            with self.subTest(user=user.get_username()):
                self.login(user)
                self.assertEqual(self.client.get(url).status_code, 200)
        with self.subTest("outsider"):
            self.login(self.outsider)
            self.assertEqual(self.client.get(url).status_code, 404)


class ProjectListViewTests(ReadingViewTestCase):
    def test_it_lists_only_the_users_projects(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(reverse("workbench:project-list"))
        self.assertContains(response, self.project.get_absolute_url())
        self.assertNotContains(response, self.other_project.get_absolute_url())
        self.assertContains(response, "<title>Projects · Workbench</title>", html=False)

    def test_it_redirects_anonymous_visitors_to_sign_in(self) -> None:
        response = self.client.get(reverse("workbench:project-list"))
        self.assertRedirects(response, f"{reverse('login')}?next=/", fetch_redirect_response=False)

    def test_the_outsider_sees_no_foreign_project(self) -> None:
        self.login(self.outsider)
        response = self.client.get(reverse("workbench:project-list"))
        self.assertNotContains(response, self.project.get_absolute_url())


class SignInViewTests(ReadingViewTestCase):
    def test_sign_in_form_has_labels_and_sign_out_works(self) -> None:
        response = self.client.get(reverse("login"))
        self.assertContains(response, '<label for="id_username">')
        self.assertContains(response, '<label for="id_password">')
        response = self.client.post(
            reverse("login"), {"username": "reviewer_a", "password": "pw-reviewer_a"}
        )
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertContains(self.client.get("/"), "Sign out")
        self.client.post(reverse("logout"))
        self.assertEqual(self.client.get("/").status_code, 302)


class ProjectDashboardViewTests(ReadingViewTestCase):
    def url(self) -> str:
        return reverse("workbench:project-detail", kwargs={"slug": self.project.slug})

    def test_access(self) -> None:
        self.assert_access(self.url())

    def test_it_shows_status_counts_progress_and_chart(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")  # unanimous: resolved
        make_claim(document=self.document, actor=self.creator, exact="Critics say")
        self.login(self.editor)
        html = self.client.get(self.url()).content.decode()
        self.assertIn("1 of 2 claims resolved or published (50%)", html)
        self.assertIn('<svg class="bar-chart"', html)
        self.assertIn('<svg class="progress-chart"', html)
        self.assertIn("Current verdicts by rating: True 2,", html)
        self.assertIn('class="chart-bar tone-o5"', html)
        self.assertIn("Reviewers against consensus", html)
        self.assertIn(reverse("workbench:document-list", kwargs={"slug": self.project.slug}), html)
        self.assert_csp_clean(html)

    def test_reviewers_see_no_per_reviewer_rows_and_only_verdicts_blind_review_allows(
        self,
    ) -> None:
        judge(self.claim, self.reviewer_a, "false")
        self.login(self.reviewer_b)  # has not judged the claim: must not see reviewer_a's verdict
        html = self.client.get(self.url()).content.decode()
        self.assertNotIn("Reviewers against consensus", html)
        self.assertIn("No verdicts that you can see yet.", html)
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        self.assertIn("False 1", html)

    def test_it_links_the_users_active_lease(self) -> None:
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        self.login(self.reviewer_a)
        response = self.client.get(self.url())
        self.assertContains(response, f'href="{self.claim.get_absolute_url()}"')

    def test_review_next_and_disputes_appear_only_when_their_views_exist(self) -> None:
        self.login(self.editor)
        html = self.client.get(self.url()).content.decode()
        for name, text in (
            ("workbench:queue-next", "Review next"),
            ("workbench:disputes", "Disputes"),
        ):
            with self.subTest(name):
                try:
                    url = reverse(name, kwargs={"slug": self.project.slug})
                except NoReverseMatch:
                    self.assertNotIn(f">{text}<", html)
                else:
                    self.assertIn(f'"{url}"', html)

    def test_user_strings_are_escaped(self) -> None:
        document = make_document(
            project=self.project, actor=self.creator, text=XSS_TEXT, title=XSS_STATEMENT
        )
        claim = make_claim(
            document=document, actor=self.creator, exact="cuts crime", statement=XSS_STATEMENT
        )
        judge(self.claim, self.reviewer_a, "true")  # so the queue offers the new claim next
        assignment = services.lease_next(reviewer=self.reviewer_a, project=self.project)
        self.assertEqual(assignment.claim_id, claim.pk)
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        self.assertNotIn("<img src=x", html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assert_csp_clean(html)

    def test_query_count_does_not_grow_with_claims_verdicts_and_leases(self) -> None:
        self.login(self.editor)
        with CaptureQueriesContext(connection) as baseline:
            self.client.get(self.url())
        other = make_document(project=self.project, actor=self.creator, text=EMOJI_TEXT)
        claims = [
            make_claim(document=other, actor=self.creator, start=i, end=i + 3) for i in range(12)
        ]
        for claim in [self.claim, *claims[:5]]:
            judge(claim, self.reviewer_a, "true")
            judge(claim, self.reviewer_b, "mostly_false")
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        services.lease_next(reviewer=self.editor, project=self.project)
        with self.assertNumQueries(len(baseline.captured_queries)):
            response = self.client.get(self.url())
        self.assertContains(response, "Mostly false")


class DocumentListViewTests(ReadingViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        make_document(
            project=cls.project,
            actor=cls.creator,
            title="Budget hearing transcript",
            text="The treasurer defended the spending plan.\n",
        )
        make_document(
            project=cls.project,
            actor=cls.creator,
            title="Harbour report",
            text="Shipping volumes through the harbour doubled, the port authority said.\n",
        )
        make_document(
            project=cls.other_project,
            actor=cls.outsider,
            title="Budget leak from another desk",
            text="Secret.\n",
        )

    def url(self, **params: str) -> str:
        base = reverse("workbench:document-list", kwargs={"slug": self.project.slug})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")

    def test_access(self) -> None:
        self.assert_access(self.url())

    def test_full_page_without_htmx_and_fragment_with_htmx(self) -> None:
        self.login(self.reviewer_a)
        page = self.client.get(self.url())
        self.assertContains(page, "<html")
        self.assertContains(page, 'role="search"')
        self.assertContains(page, '<label for="document-search">')
        self.assert_csp_clean(page.content.decode())
        fragment = self.client.get(self.url(q="budget"), **HX)
        self.assertNotContains(fragment, "<html")
        self.assertContains(fragment, 'id="document-rows"')
        self.assertContains(fragment, "Budget hearing transcript")
        for response in (page, fragment):
            self.assertIn("HX-Request", response["Vary"])

    def test_a_history_restore_request_gets_the_whole_page(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(
            self.url(q="budget"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX
        )
        self.assertContains(response, "<html")

    def test_search_finds_by_title_and_by_text_within_the_project(self) -> None:
        self.login(self.reviewer_a)
        cases = [
            ("budget", ["Budget hearing transcript"], ["Harbour report", "another desk"]),
            ("shipping", ["Harbour report"], ["Budget hearing transcript"]),
            ("treasurer+spending", ["Budget hearing transcript"], ["Harbour report"]),
            ("zeppelin", [], ["Budget hearing transcript", "Harbour report", "Sample"]),
        ]
        for query, found, absent in cases:
            with self.subTest(query):
                html = self.client.get(self.url(q=query)).content.decode()
                for title in found:
                    self.assertIn(title, html)
                for title in absent:
                    self.assertNotIn(title, html)
        self.assertContains(self.client.get(self.url(q="zeppelin")), "0 documents match")

    def test_it_paginates_25_per_page(self) -> None:
        for i in range(27):
            make_document(
                project=self.project, actor=self.creator, title=f"Extra {i}", text=f"x{i}\n"
            )
        self.login(self.reviewer_a)
        first = self.client.get(self.url()).content.decode()
        self.assertEqual(first.count('<th scope="row">'), 25)
        self.assertIn("Page 1 of 2", first)
        second = self.client.get(self.url(page="2"), **HX).content.decode()
        self.assertEqual(second.count('<th scope="row">'), 30 - 25)
        self.assertIn('rel="prev"', second)

    def test_query_is_escaped(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.url(q="%3Cimg%20src=x%3E")).content.decode()
        self.assertNotIn("<img src=x>", html)
        self.assertIn("&lt;img src=x&gt;", html)


@pytest.mark.postgres("full-text search")
class DocumentFullTextSearchTests(ReadingViewTestCase):
    def test_title_matches_rank_above_text_matches_and_words_are_stemmed(self) -> None:
        make_document(
            project=self.project,
            actor=self.creator,
            title="Minutes",
            text="Among other things the council discussed tariffs.\n",
        )
        make_document(
            project=self.project,
            actor=self.creator,
            title="Tariff increases explained",
            text="Prices of imported goods.\n",
        )
        self.login(self.reviewer_a)
        url = reverse("workbench:document-list", kwargs={"slug": self.project.slug})
        html = self.client.get(url, {"q": "tariff"}).content.decode()
        self.assertLess(html.index("Tariff increases explained"), html.index("Minutes"))
        html = self.client.get(url, {"q": '"imported goods" -council'}).content.decode()
        self.assertIn("Tariff increases explained", html)
        self.assertNotIn("Minutes", html)


class DocumentReaderViewTests(ReadingViewTestCase):
    def url(self, document: Document | None = None) -> str:
        return (document or self.document).get_absolute_url()

    def test_access(self) -> None:
        self.assert_access(self.url())

    def test_paragraphs_carry_offsets_and_claims_are_highlighted(self) -> None:
        outer = make_claim(
            document=self.document, actor=self.creator, exact="The mayor said crime fell 20%"
        )
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        second_line = self.document.text.index("Unemployment")
        self.assertIn('<p data-start="0">', html)
        self.assertIn(f'<p data-start="{second_line}">', html)
        self.assertIn(f'data-claims="{outer.pk}"', html)
        # Nested: the inner run is covered by both (in text order) and links the inner claim.
        self.assertIn(
            f'<mark class="claim depth-2 starts ends" data-claims="{outer.pk} {self.claim.pk}">'
            f'<a class="claim-link" href="#claim-{self.claim.pk}" draggable="false">crime fell 20%</a>',
            html,
        )
        self.assertIn(f'<a class="claim-link" href="#claim-{self.claim.pk}"', html)
        self.assertIn(f'id="claim-{self.claim.pk}"', html)
        self.assertIn(f'data-claim-id="{outer.pk}"', html)
        self.assertIn('<script src="/static/workbench/reader.js" type="module"></script>', html)
        self.assertIn("<main", html)
        self.assertIn("<aside", html)
        self.assert_csp_clean(html)

    def test_withdrawn_claims_are_marked_and_labelled_and_live_ones_are_not(self) -> None:
        withdrawn = make_claim(document=self.document, actor=self.creator, exact="record low")
        # Overlaps the live claim (self.claim, "crime fell 20% last year") at its start.
        overlapping = make_claim(
            document=self.document, actor=self.creator, exact="The mayor said crime fell 20%"
        )
        for claim in (withdrawn, overlapping):
            services.claim_withdraw(claim=claim, actor=self.editor, reason="Not checkable.")
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        live = self.claim.pk

        def mark(css: str, claims: str, link: int, text: str, title: str = "") -> str:
            title = f' title="{title}"' if title else ""
            return (
                f'<mark class="{css}" data-claims="{claims}"{title}>'
                f'<a class="claim-link" href="#claim-{link}"{title} draggable="false">{text}</a>'
                "</mark>"
            )

        # Withdrawn only: the muted style and the label, in the title of mark and link.
        self.assertIn(
            mark(
                "claim withdrawn starts ends",
                str(withdrawn.pk),
                withdrawn.pk,
                "record low",
                "Withdrawn claim",
            ),
            html,
        )
        self.assertIn(
            mark(
                "claim withdrawn starts",
                str(overlapping.pk),
                overlapping.pk,
                "The mayor said ",
                "Withdrawn claim",
            ),
            html,
        )
        # Shared with a live claim: the live highlight (no extra depth, no edge where the
        # withdrawn one ends), linking the live claim, with the withdrawn one named.
        self.assertIn(
            mark(
                "claim depth-1 starts",
                f"{overlapping.pk} {live}",
                live,
                "crime fell 20%",
                "Includes a withdrawn claim",
            ),
            html,
        )
        # Live only: unchanged, no label.
        self.assertIn(mark("claim depth-1 ends", str(live), live, " last year"), html)
        self.assertEqual(html.count("withdrawn starts"), 2)
        self.assertEqual(html.count(' title="Withdrawn claim"'), 4)  # two marks, two links
        # The claim list keeps them (history), struck through by CSS and with their status.
        for claim, status, label in (
            (withdrawn, "withdrawn", "Withdrawn"),
            (overlapping, "withdrawn", "Withdrawn"),
            (self.claim, "in_review", "In review"),
        ):
            item = re.search(rf'<li id="claim-{claim.pk}"[^>]*>.*?</li>', html, re.DOTALL)
            self.assertIsNotNone(item, claim.pk)
            self.assertIn(f'data-status="{status}"', item.group(0))
            self.assertIn(f'<span class="status status-{status}">{label}</span>', item.group(0))
        self.assert_csp_clean(html)

    def test_text_and_statements_are_escaped(self) -> None:
        document = make_document(project=self.project, actor=self.creator, text=XSS_TEXT)
        make_claim(
            document=document,
            actor=self.creator,
            exact="<script>alert(1)</script>",
            statement=XSS_STATEMENT,
        )
        self.login(self.reviewer_a)
        html = self.client.get(self.url(document)).content.decode()
        self.assertNotIn("<script>alert(1)", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertNotIn("<img src=x", html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assert_csp_clean(html)

    def test_query_count_is_the_same_for_1_and_40_claims(self) -> None:
        self.login(self.reviewer_a)
        with CaptureQueriesContext(connection) as baseline:
            self.client.get(self.url())
        document = make_document(project=self.project, actor=self.creator, text=EMOJI_TEXT * 3)
        for i in range(40):
            make_claim(document=document, actor=self.creator, start=i, end=i + 7 + i % 5)
        with self.assertNumQueries(len(baseline.captured_queries)):
            response = self.client.get(self.url(document))
        self.assertContains(response, 'data-claim-id="', count=40)


class ClaimCreateViewTests(ReadingViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.emoji_document = make_document(
            project=cls.project, actor=cls.creator, text=EMOJI_TEXT, title="Emoji"
        )
        cls.start = EMOJI_TEXT.index("taxes rose 5%")  # code points: the flags are 4, 🌉 is 1
        cls.end = cls.start + len("taxes rose 5%")

    def url(self, document: Document | None = None) -> str:
        return reverse(
            "workbench:claim-create", kwargs={"pk": (document or self.emoji_document).pk}
        )

    def post_data(self, **overrides: object) -> dict[str, object]:
        data = {
            "start": self.start,
            "end": self.end,
            "exact": "taxes rose 5%",
            "statement": "Taxes rose 5% this year.",
            "claimant": "The opposition",
        }
        data.update(overrides)
        return data

    def test_access(self) -> None:
        self.assert_access(f"{self.url()}?start={self.start}&end={self.end}")
        self.login(self.outsider)
        self.assertEqual(self.client.post(self.url(), self.post_data()).status_code, 404)

    def test_form_fragment_is_prefilled_with_the_quote_after_emoji(self) -> None:
        # JS would have counted 9 more UTF-16 units before the selection than code points.
        self.assertEqual(len(EMOJI_TEXT[: self.start].encode("utf-16-le")) // 2, self.start + 5)
        self.login(self.creator)
        response = self.client.get(
            self.url(), {"start": self.start, "end": self.end, "exact": "taxes rose 5%"}, **HX
        )
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn("<mark>taxes rose 5%</mark>", html)
        self.assertIn('name="exact" value="taxes rose 5%"', html)
        self.assertIn('<label for="id_statement">', html)
        self.assertIn('<label for="id_claimant">', html)
        self.assertIn('hx-target="#reader"', html)
        self.assertIn("🌉 first. Then the claim: ", html)  # the prefix, in code points
        self.assert_csp_clean(html)

    def test_without_htmx_the_form_is_a_full_page(self) -> None:
        self.login(self.creator)
        response = self.client.get(self.url(), {"start": self.start, "end": self.end})
        self.assertContains(response, "<html")
        self.assertNotContains(response, "hx-post")
        self.assertContains(response, "<mark>taxes rose 5%</mark>")

    def test_bad_offsets_and_a_wrong_quote_show_errors_on_the_form(self) -> None:
        self.login(self.creator)
        length = len(EMOJI_TEXT)
        cases = [
            ({"start": -1, "end": 3}, "start (-1) must not be negative"),
            ({"start": 0, "end": length + 1}, f"past the end of the text (length {length})"),
            ({"start": 5, "end": 5}, "end (5) must be greater than start (5)"),
            ({"start": "x", "end": 5}, "Enter a whole number"),
            (
                {"start": self.start + 2, "end": self.end + 2, "exact": "taxes rose 5%"},
                "the text there is &quot;xes rose 5%.\n&quot;",
            ),
        ]
        for params, message in cases:
            with self.subTest(params=params):
                response = self.client.get(self.url(), params, **HX)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, 'role="alert"')
                self.assertContains(response, message)
                self.assertNotContains(response, "Create claim")

    def test_post_without_csrf_token_is_refused(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        response = client.post(self.url(), self.post_data())
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Claim.objects.filter(document=self.emoji_document).exists())

    def test_post_with_csrf_token_creates_the_claim_and_redirects(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        page = client.get(self.url(), {"start": self.start, "end": self.end})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
        response = client.post(self.url(), self.post_data(csrfmiddlewaretoken=token))
        claim = Claim.objects.get(document=self.emoji_document)
        self.assertRedirects(
            response,
            f"{self.emoji_document.get_absolute_url()}#claim-{claim.pk}",
            fetch_redirect_response=False,
        )
        self.assertEqual(claim.exact, EMOJI_TEXT[claim.start : claim.end])
        self.assertEqual(
            (claim.start, claim.end, claim.exact), (self.start, self.end, "taxes rose 5%")
        )
        self.assertEqual(claim.statement, "Taxes rose 5% this year.")
        self.assertEqual(claim.claimant, "The opposition")
        self.assertEqual(claim.created_by, self.creator)

    def test_htmx_post_with_the_csrf_header_returns_the_updated_reader(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        client.get(self.emoji_document.get_absolute_url())  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(self.url(), self.post_data(), HTTP_X_CSRFTOKEN=token, **HX)
        self.assertEqual(response.status_code, 200)
        claim = Claim.objects.get(document=self.emoji_document)
        html = response.content.decode()
        self.assertNotIn("<html", html)
        self.assertTrue(html.lstrip().startswith('<div id="reader"'))
        self.assertIn(f'data-claim-id="{claim.pk}" data-just-created', html)
        self.assertIn(f'data-claims="{claim.pk}"', html)
        self.assert_csp_clean(html)

    def test_a_quote_sent_with_crlf_line_breaks_still_matches(self) -> None:
        self.login(self.creator)
        text = self.document.text
        start = text.index("last year.")
        end = text.index("Unemployment") + len("Unemployment")
        self.client.post(
            self.url(self.document),
            {"start": start, "end": end, "exact": "last year.\r\nUnemployment"},
        )
        self.assertTrue(Claim.objects.filter(document=self.document, start=start, end=end).exists())

    def test_bad_offsets_or_a_wrong_quote_write_nothing(self) -> None:
        self.login(self.creator)
        cases = [
            ({"start": self.end, "end": self.start}, 200, "must be greater than start"),
            ({"end": len(EMOJI_TEXT) + 5}, 200, "past the end of the text"),
            ({"exact": "taxes rose 6%"}, 200, "the text there is &quot;taxes rose 5%&quot;"),
            ({"claimant": "x" * 201}, 200, "at most 200 characters"),
        ]
        for overrides, status, message in cases:
            with self.subTest(overrides=overrides):
                response = self.client.post(self.url(), self.post_data(**overrides), **HX)
                self.assertEqual(response.status_code, status)
                self.assertEqual(response["HX-Retarget"], "#claim-form")
                self.assertEqual(response["HX-Reswap"], "outerHTML")
                self.assertContains(response, message, status_code=status)
                plain = self.client.post(self.url(), self.post_data(**overrides))
                self.assertContains(plain, message, status_code=422)
                self.assertContains(plain, "<html", status_code=422)
        self.assertFalse(Claim.objects.filter(document=self.emoji_document).exists())

    def test_a_field_error_keeps_the_quote_on_the_form(self) -> None:
        self.login(self.creator)
        response = self.client.post(self.url(), self.post_data(claimant="x" * 201), **HX)
        self.assertContains(response, "<mark>taxes rose 5%</mark>")
        self.assertContains(response, "Create claim")
