"""The document reader and its neighbours in a real browser: code point offsets after
emoji, highlights that select their claims, reading without JavaScript, the htmx document
search and the shortcut help."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import expect

from annotations import services
from annotations.models import Claim, Document, Project, Role
from tests.browser.conftest import login
from tests.browser.helpers import claim_selection, select_text, track_http_errors
from tests.factories import make_claim, make_document, make_member, make_project, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Astral-plane emoji (two UTF-16 units, one code point each; flags are two code points,
# the family a ZWJ sequence of five) and a combining accent that NFC keeps as two code
# points (there is no precomposed q with tilde), all before the spans the tests select.
TEXT = (
    "Flags 🇺🇦🇵🇱 and a bridge 🌉 open the story.\n"
    "Then 😀 the mayor of Zoq\u0303uin said: taxes rose 5% in 2024, she added.\n"
    "\n"
    "👩\u200d👩\u200d👧 Families paid more; the bridge 🌉 toll doubled to €4.\n"
)


@dataclass
class Desk:
    project: Project
    document: Document
    reviewer: AbstractBaseUser
    password: str


@pytest.fixture
def desk(transactional_db) -> Desk:
    owner = make_user("owner")
    project = make_project(creator=owner, name="Reader desk")
    reviewer = make_member(project, "rita", Role.REVIEWER)
    document = make_document(project=project, actor=owner, text=TEXT, title="Bridge emoji")
    return Desk(project, document, reviewer, "pw-rita")


def _open_reader(new_page, live_server, desk: Desk):
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, desk.password)
    page.goto(f"{live_server.url}{desk.document.get_absolute_url()}")
    return page


def _assert_clean(page) -> None:
    assert page.js_errors == [], page.js_errors
    assert page.http_errors == [], page.http_errors


def _utf16_index(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def test_selection_after_emoji_is_stored_in_code_points(live_server, new_page, desk):
    assert unicodedata.normalize("NFC", TEXT) == TEXT  # the combining accent survives
    page = _open_reader(new_page, live_server, desk)
    for needle in ("taxes rose 5% in 2024", "the bridge 🌉 toll doubled to €4"):
        start = TEXT.index(needle)
        end = start + len(needle)
        # The browser's own count differs, or this test would prove nothing.
        assert _utf16_index(TEXT, start) > start
        select_text(page, needle)
        expect(page.locator("#selection-quote")).to_have_text(needle)
        expect(page.locator("#selection-range")).to_have_text(f"characters {start}\N{EN DASH}{end}")
        claim_selection(page, f"Claim on {needle}")
        claim = Claim.objects.get(document=desk.document, statement=f"Claim on {needle}")
        assert (claim.start, claim.end) == (start, end)
        assert claim.exact == TEXT[claim.start : claim.end] == needle
        expect(page.locator(f'#document-text mark[data-claims~="{claim.pk}"]')).to_have_text(needle)
        expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
    # The text around the new highlights is unchanged, emoji and accent included.
    paragraphs = page.locator("#document-text p[data-start]").all_text_contents()
    assert "\n".join(paragraphs) == TEXT.replace("\n\n", "\n").rstrip("\n")
    _assert_clean(page)


def test_clicking_a_highlight_selects_its_claims(live_server, new_page, desk):
    outer = make_claim(
        document=desk.document, actor=desk.reviewer, exact="a bridge 🌉 open the story"
    )
    inner = make_claim(document=desk.document, actor=desk.reviewer, exact="open the story")
    other = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    page = _open_reader(new_page, live_server, desk)
    # With JavaScript the highlights are no links (a press on a link cannot start a drag).
    expect(page.locator("#document-text a")).to_have_count(0)

    page.locator(f'#document-text mark[data-claims="{other.pk}"]').click()
    expect(page.locator(f"#claim-{other.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    expect(page.locator(f"#claim-{other.pk}")).to_have_attribute("aria-current", "true")
    expect(page.locator("#claim-list .is-selected")).to_have_count(1)
    expect(page.locator("#reader-status")).to_have_text("1 claim selected.")

    # The overlap belongs to both claims: both are selected and all their marks related.
    overlap = page.locator(f'#document-text mark[data-claims="{outer.pk} {inner.pk}"]')
    expect(overlap).to_have_text("open the story")
    overlap.click()
    for claim in (outer, inner):
        expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#claim-{other.pk}")).not_to_have_attribute("aria-current", "true")
    expect(page.locator("#reader-status")).to_have_text("2 claims selected.")
    expect(page.locator("#document-text mark.is-related")).to_have_count(2)

    page.locator(f'#document-text mark[data-claims="{outer.pk}"]').click()
    expect(page.locator("#claim-list .is-selected")).to_have_count(1)
    expect(page.locator(f"#claim-{outer.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    assert page.evaluate("location.hash") == ""
    _assert_clean(page)


def test_a_withdrawn_claim_is_highlighted_apart_and_still_found(live_server, new_page, desk):
    live = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    withdrawn = make_claim(document=desk.document, actor=desk.reviewer, exact="open the story")
    services.claim_withdraw(claim=withdrawn, actor=desk.reviewer, reason="Not checkable.")
    page = _open_reader(new_page, live_server, desk)
    live_mark = page.locator(f'#document-text mark[data-claims="{live.pk}"]')
    gone_mark = page.locator(f'#document-text mark[data-claims="{withdrawn.pk}"]')
    expect(gone_mark).to_have_class(re.compile(r"\bwithdrawn\b"))
    expect(gone_mark).to_have_attribute("title", "Withdrawn claim")
    expect(live_mark).not_to_have_class(re.compile(r"\bwithdrawn\b"))
    expect(live_mark).not_to_have_attribute("title", re.compile("."))

    def style(locator, prop: str) -> str:
        return locator.evaluate(f"(el) => getComputedStyle(el).{prop}")

    # Not the live yellow, and a dashed rather than a solid line.
    assert style(gone_mark, "backgroundColor") != style(live_mark, "backgroundColor")
    assert style(gone_mark, "borderBottomStyle") == "dashed"
    assert style(live_mark, "borderBottomStyle") == "solid"
    # It still leads to its claim, listed with its status and struck through.
    gone_mark.click()
    item = page.locator(f"#claim-{withdrawn.pk}")
    expect(item).to_have_attribute("aria-current", "true")
    expect(item.locator(".status")).to_have_text("Withdrawn")
    assert "line-through" in style(item.get_by_role("link"), "textDecorationLine")
    assert "line-through" not in style(
        page.locator(f"#claim-{live.pk}").get_by_role("link"), "textDecorationLine"
    )
    _assert_clean(page)


def test_reader_is_readable_without_javascript(live_server, browser, desk):
    claim = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5% in 2024")
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        login(page, live_server.url, desk.reviewer.username, desk.password)
        page.goto(f"{live_server.url}{desk.document.get_absolute_url()}")
        expect(page.locator("html")).not_to_have_class(re.compile(r"\bjs\b"))  # no script ran
        text = page.locator("#document-text")
        expect(text).to_be_visible()
        expect(text).to_contain_text("Flags 🇺🇦🇵🇱 and a bridge 🌉 open the story.")
        expect(text).to_contain_text("Families paid more")
        expect(page.locator("#document-text p[data-start]")).to_have_count(3)
        # Each highlight is a plain link to its claim in the list.
        link = page.locator(f'#document-text mark[data-claims="{claim.pk}"] a.claim-link')
        expect(link).to_have_text("taxes rose 5% in 2024")
        expect(link).to_have_attribute("href", f"#claim-{claim.pk}")
        expect(page.locator("#claim-list-heading")).to_have_text("Claims (1)")
        item = page.locator(f"#claim-{claim.pk}")
        expect(item).to_be_visible()
        expect(item.get_by_role("link", name=claim.statement)).to_have_attribute(
            "href", claim.get_absolute_url()
        )
        # Controls that need JavaScript stay out of the way.
        expect(page.locator("#reader-hint")).to_be_hidden()
        expect(item.locator("[data-show-claim]")).to_be_hidden()
        expect(page.locator("#selection-bar")).to_be_hidden()
        link.click()
        page.wait_for_url(f"**{desk.document.get_absolute_url()}#claim-{claim.pk}")
        item.get_by_role("link", name=claim.statement).click()
        page.wait_for_url(f"{live_server.url}{claim.get_absolute_url()}")
        expect(page.locator("#claim-heading")).to_have_text(claim.statement)
    finally:
        context.close()


def test_document_search_updates_results_as_you_type(live_server, new_page, desk):
    owner = desk.project.memberships.get(role=Role.ADMIN).user
    make_document(
        project=desk.project,
        actor=owner,
        title="Harbour crime figures",
        text="Crime in the harbour district fell by a fifth, the police said.\n",
    )
    make_document(
        project=desk.project,
        actor=owner,
        title="Bridge budget review",
        text="The auditors reviewed the bridge budget and found overruns.\n",
    )
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, desk.password)
    page.goto(f"{live_server.url}/projects/{desk.project.slug}/documents/")
    rows = page.locator("#document-rows")
    expect(rows.locator(".result-count")).to_have_text("3 documents.")
    page.evaluate("window.searchPageMarker = 'same page'")

    search = page.get_by_label("Search documents")
    search.press_sequentially("bridge", delay=40)
    expect(rows.locator(".result-count")).to_have_text("2 documents match “bridge”.")
    expect(rows.locator("tbody tr")).to_have_count(2)
    expect(rows.get_by_role("link", name="Bridge emoji")).to_be_visible()
    expect(rows.get_by_role("link", name="Bridge budget review")).to_be_visible()
    page.wait_for_url(re.compile(r"[?&]q=bridge$"))

    search.press_sequentially(" toll", delay=40)
    expect(rows.locator(".result-count")).to_have_text("1 document matches “bridge toll”.")
    expect(rows.locator("tbody tr")).to_have_count(1)
    expect(rows.get_by_role("link", name="Bridge emoji")).to_be_visible()

    search.fill("")
    expect(rows.locator(".result-count")).to_have_text("3 documents.")
    # htmx swapped the rows in place: no page load happened, the field kept its focus.
    assert page.evaluate("window.searchPageMarker") == "same page"
    expect(search).to_be_focused()
    _assert_clean(page)


def test_question_mark_toggles_the_shortcut_help_on_the_claim_page(live_server, new_page, desk):
    claim = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, desk.password)
    page.goto(f"{live_server.url}{claim.get_absolute_url()}")
    # The claim page's shortcuts are its part of the help dialog every page has.
    help_panel = page.locator("#page-help #shortcut-help")
    expect(help_panel).to_be_hidden()
    page.keyboard.press("?")
    expect(help_panel).to_be_visible()
    expect(help_panel.get_by_role("heading")).to_have_text("Keyboard shortcuts on the claim page")
    expect(help_panel).to_contain_text("Choose a rating (1 True, 2 Mostly true")
    page.keyboard.press("?")
    expect(help_panel).to_be_hidden()
    _assert_clean(page)
