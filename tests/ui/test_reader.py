"""The reader (workbench/ui/reading.py, reader.py): a document's text with its claims,
highlights and windows, and creating a claim from a selection.
"""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from annotations import services
from annotations.models import Claim, Document
from tests.factories import make_claim, make_document
from tests.ui.reading_base import EMOJI_TEXT, HX, XSS_STATEMENT, XSS_TEXT, ReadingViewTestCase
from workbench.ui import reader


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
            f'<mark class="claim depth-2 starts ends tone-in_review" data-claims="{outer.pk} {self.claim.pk}">'
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
                "claim depth-1 starts tone-in_review",
                f"{overlapping.pk} {live}",
                live,
                "crime fell 20%",
                "Includes a withdrawn claim",
            ),
            html,
        )
        # Live only: unchanged, no label.
        self.assertIn(
            mark("claim depth-1 ends tone-in_review", str(live), live, " last year"), html
        )
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
        self.assertRegex(html, rf'<li id="claim-{claim.pk}"[^>]* data-just-created>')
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

    def test_the_same_claim_again_links_to_the_existing_one_instead_of_creating_it(self) -> None:
        self.login(self.creator)
        self.client.post(self.url(), self.post_data())
        existing = Claim.objects.get(document=self.emoji_document)
        link = f'href="{existing.get_absolute_url()}" data-existing-claim="{existing.pk}"'
        # The same span and statement (whitespace aside), from another reviewer.
        self.login(self.reviewer_a)
        again = self.post_data(statement="  Taxes rose 5%\nthis year. ")
        response = self.client.post(self.url(), again, **HX)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["HX-Retarget"], "#claim-form")
        self.assertContains(response, "The same claim already exists on this span.")
        self.assertContains(response, link)
        self.assertContains(response, "<mark>taxes rose 5%</mark>")  # the form stays to change
        plain = self.client.post(self.url(), again)
        self.assertContains(plain, link, status_code=409)
        self.assertContains(plain, "<html", status_code=409)
        self.assertEqual(Claim.objects.filter(document=self.emoji_document).count(), 1)
        # Another statement on the same span is another claim.
        other = self.client.post(self.url(), self.post_data(statement="Taxes rose."), **HX)
        self.assertNotContains(other, "already exists")
        self.assertEqual(Claim.objects.filter(document=self.emoji_document).count(), 2)


class ReaderFilterAndClaimModeTests(ReadingViewTestCase):
    """``?status=``/``?mine=1`` filters and ``?claim=1`` (claiming without JavaScript)."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.disputed = make_claim(document=cls.document, actor=cls.reviewer_a, exact="record low")
        Claim.objects.filter(pk=cls.disputed.pk).update(status="disputed")

    def get(self, query: str = "", **headers: str) -> str:
        self.login(self.reviewer_a)
        response = self.client.get(f"{self.document.get_absolute_url()}{query}", **headers)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def listed(self, html: str) -> set[int]:
        return {int(pk) for pk in re.findall(r'<li id="claim-(\d+)"', html)}

    def test_claim_items_carry_their_span_and_tone_for_the_highlights(self) -> None:
        html = self.get()
        self.assertRegex(
            html,
            rf'<li id="claim-{self.disputed.pk}" class="claim-item tone-disputed" '
            rf'data-status="disputed" data-tone="disputed" data-claim-id="{self.disputed.pk}" '
            rf'data-start="{self.disputed.start}" data-end="{self.disputed.end}"',
        )
        self.assertIn('<h2 id="claim-list-heading" tabindex="-1">Claims (2)</h2>', html)
        # The legend names every tone in words, with its count, as a filter link.
        self.assertIn('href="/documents/', html)
        self.assertRegex(html, r'data-filter-tone="disputed">.*Disputed <span class="meta">\(1\)')
        # The text runs in the document's direction (detected on import).
        self.assertRegex(html, r'id="document-text"[^>]* dir="ltr"')
        self.assert_csp_clean(html)

    def test_a_status_filter_lists_and_highlights_only_those_claims(self) -> None:
        html = self.get("?status=disputed")
        self.assertEqual(self.listed(html), {self.disputed.pk})
        self.assertIn("Claims (1 of 2)", html)
        self.assertIn(f'data-claims="{self.disputed.pk}"', html)
        self.assertNotIn(f'data-claims="{self.claim.pk}"', html)
        self.assertRegex(html, r'data-filter-tone="disputed" aria-current="true"')
        with self.subTest("resolved groups published and corrected"):
            self.assertEqual(
                [reader.claim_tone(s) for s in ("resolved", "published", "corrected")],
                ["resolved"] * 3,
            )
            self.assertEqual(self.listed(self.get("?status=resolved")), set())
        with self.subTest("an unknown status is no filter"):
            self.assertEqual(
                self.listed(self.get("?status=bogus")), {self.claim.pk, self.disputed.pk}
            )

    def test_mine_lists_the_claims_the_user_created(self) -> None:
        html = self.get("?mine=1")
        self.assertEqual(self.listed(html), {self.disputed.pk})
        self.assertIn("Everyone's claims", html)

    def test_an_empty_filter_and_an_empty_document_say_why(self) -> None:
        html = self.get("?status=retracted")
        self.assertIn("No claims match this filter.", html)
        self.assertEqual(self.listed(html), set())
        document = make_document(project=self.project, actor=self.creator, text="Nothing yet.\n")
        self.login(self.reviewer_a)
        html = self.client.get(document.get_absolute_url()).content.decode()
        self.assertIn("No claims yet — select text to claim it", html)
        self.assertIn(f'<a href="{document.get_absolute_url()}?claim=1">claim a sentence</a>', html)

    def test_a_filter_link_from_htmx_gets_the_reader_fragment(self) -> None:
        html = self.get("?status=disputed", HTTP_HX_TARGET="reader", **HX)
        self.assertNotIn("<html", html)
        self.assertTrue(html.lstrip().startswith('<div id="reader"'))
        self.assertEqual(self.listed(html), {self.disputed.pk})

    def test_the_next_window_keeps_the_filter(self) -> None:
        text = "A line about nothing.\n" * (reader.READER_WINDOW // 22 + 10)
        document = make_document(project=self.project, actor=self.creator, text=text)
        self.login(self.reviewer_a)
        html = self.client.get(f"{document.get_absolute_url()}?status=disputed&claim=1").content
        self.assertIn(b"?start=", html)
        self.assertRegex(
            html.decode(), r'hx-get="[^"]*\?start=\d+&amp;status=disputed&amp;claim=1"'
        )
        self.assertIn(b"Claims (0 matching)", html)

    def test_claim_mode_links_each_sentence_to_the_claim_form(self) -> None:
        html = self.get("?claim=1")
        text = self.document.text
        url = reverse("workbench:claim-create", kwargs={"pk": self.document.pk})
        links = re.findall(rf'<a class="claimable" href="{url}\?start=(\d+)&amp;end=(\d+)">', html)
        self.assertTrue(links)
        for start, end in links:
            sentence = text[int(start) : int(end)]
            self.assertEqual(sentence, sentence.strip())
        # Paragraph text is unchanged: offsets in data-start still count the same text.
        first = text.split("\n")[0]
        start, end = map(int, links[0])
        self.assertEqual((start, text[start:end]), (0, text[start:end]))
        self.assertTrue(first.startswith(text[start:end]))
        self.assertNotIn("<mark", html)
        self.assertIn('data-mode="claim"', html)
        self.assert_csp_clean(html)
        # Following a link gives the claim form for that sentence, with the quote.
        response = self.client.get(f"{url}?start={start}&end={end}")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'name="start" value="{start}"')
        self.assertContains(response, f'name="end" value="{end}"')


@given(
    st.text(alphabet=st.sampled_from("ab .?\n🌉\u0303。 ")),
    st.integers(min_value=0, max_value=10_000),
)
def test_sentence_paragraphs_keep_every_character_at_its_offset(text: str, offset: int) -> None:
    """The "claim a sentence" mode renders each line as sentences and the space between:
    joined, they give the line back, at the offsets the claim links and data-start use."""
    paragraphs = reader.sentence_paragraphs(text, offset)
    lines = [(i, line) for i, line in _lines(text) if line]
    assert [p.start for p in paragraphs] == [offset + i for i, _ in lines]
    for paragraph, (_, line) in zip(paragraphs, lines, strict=True):
        parts = paragraph.sentences or []
        assert "".join(part.text for part in parts) == line
        position = paragraph.start
        for part in parts:
            assert part.start == position and part.end == position + len(part.text)
            assert text[part.start - offset : part.end - offset] == part.text
            assert part.claimable == (part.text.strip() != "")
            position = part.end


def _lines(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for line in text.split("\n"):
        out.append((start, line))
        start += len(line) + 1
    return out
