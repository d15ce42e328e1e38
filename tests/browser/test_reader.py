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
from annotations.models import Claim, ClaimStatus, Document, Project, Role
from tests.browser.conftest import login, screenshot
from tests.browser.helpers import claim_selection, select_text, track_http_errors
from tests.factories import make_claim, make_document, make_member, make_project, make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

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


_READER_JS = "/static/workbench/reader.js"


def highlights(page) -> dict[str, list[list[int]]]:
    """The reader's registered highlights, as code point spans per highlight name."""
    return page.evaluate(f"async () => (await import('{_READER_JS}')).highlightSpans()")


def wait_until(page, script: str) -> None:
    """Poll ``script`` (an expression) until true; wait_for_function would need eval (CSP)."""
    for _ in range(100):
        if page.evaluate(script):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {script}")


def wait_for_highlights(page) -> None:
    wait_until(page, "CSS.highlights.size > 0")


# The viewport centre of the ``index``-th character of ``needle`` in the reader's text.
_POINT_JS = """([needle, index]) => {
  for (const p of document.querySelectorAll("#document-text p[data-start]")) {
    const node = p.firstChild;
    const at = node && node.nodeType === Node.TEXT_NODE ? node.data.indexOf(needle) : -1;
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at + index);
    range.setEnd(node, at + index + 1);
    const rect = range.getClientRects()[0];
    return [rect.left + rect.width / 2, rect.top + rect.height / 2];
  }
  return null;
}"""


def point_at(page, needle: str, index: int = 0) -> tuple[float, float]:
    point = page.evaluate(_POINT_JS, [needle, index])
    assert point, f"{needle!r} is not in one text node of the reader"
    return point[0], point[1]


def click_text(page, needle: str, index: int = 0) -> None:
    page.locator(f"#document-text p:has-text({needle!r})").first.scroll_into_view_if_needed()
    page.mouse.click(*point_at(page, needle, index))


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
        # The bar stays in the text column: it never covers the claim list.
        bar = page.locator("#selection-bar").bounding_box()
        listing = page.locator("#claim-list").bounding_box()
        assert bar and listing and bar["x"] + bar["width"] <= listing["x"]
        expect(page.locator("#selection-range")).to_have_text(f"characters {start}\N{EN DASH}{end}")
        claim_selection(page, f"Claim on {needle}")
        claim = Claim.objects.get(document=desk.document, statement=f"Claim on {needle}")
        assert (claim.start, claim.end) == (start, end)
        assert claim.exact == TEXT[claim.start : claim.end] == needle
        expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
        # Painted with the Highlight API over exactly those code points, and selected.
        painted = highlights(page)
        assert [start, end] in painted["wb-tone-in_review"]
        assert painted["wb-selected"] == [[start, end]]
    # With JavaScript each paragraph is one text node again: no element splits the text.
    assert page.evaluate(
        "[...document.querySelectorAll('#document-text p[data-start]')]"
        ".every((p) => p.childNodes.length === 1 && p.firstChild.nodeType === Node.TEXT_NODE)"
    )
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
    wait_for_highlights(page)
    # With JavaScript the highlights are painted, not elements: no marks, no links.
    expect(page.locator("#document-text mark, #document-text a")).to_have_count(0)
    open_at = TEXT.index("open the story")
    painted = highlights(page)
    assert painted["wb-tone-in_review"] == [
        [TEXT.index("a bridge"), open_at + len("open the story")],
        [open_at, open_at + len("open the story")],
        [TEXT.index("taxes"), TEXT.index("taxes") + len("taxes rose 5%")],
    ]
    assert painted["wb-depth-2"] == [[open_at, open_at + len("open the story")]]

    click_text(page, "taxes rose 5%", 3)
    expect(page.locator(f"#claim-{other.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    expect(page.locator(f"#claim-{other.pk}")).to_have_attribute("aria-current", "true")
    expect(page.locator("#claim-list .is-selected")).to_have_count(1)
    expect(page.locator("#reader-status")).to_have_text("1 claim selected.")

    # The overlap belongs to both claims: both are selected and painted as selected.
    click_text(page, "open the story", 5)
    for claim in (outer, inner):
        expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#claim-{other.pk}")).not_to_have_attribute("aria-current", "true")
    expect(page.locator("#reader-status")).to_have_text("2 claims selected.")
    assert highlights(page)["wb-selected"] == painted["wb-tone-in_review"][:2]
    expect(page.locator("#claim-popover")).to_contain_text("2 claims here")

    click_text(page, "a bridge", 2)
    expect(page.locator("#claim-list .is-selected")).to_have_count(1)
    expect(page.locator(f"#claim-{outer.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    # A click beside every highlight selects nothing new.
    click_text(page, "Families", 2)
    expect(page.locator(f"#claim-{outer.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    assert page.evaluate("location.hash") == ""
    _assert_clean(page)


def test_a_withdrawn_claim_is_highlighted_apart_and_still_found(live_server, new_page, desk):
    live = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    withdrawn = make_claim(document=desk.document, actor=desk.reviewer, exact="open the story")
    services.claim_withdraw(claim=withdrawn, actor=desk.reviewer, reason="Not checkable.")
    page = _open_reader(new_page, live_server, desk)
    wait_for_highlights(page)
    painted = highlights(page)
    at = TEXT.index("open the story")
    assert painted["wb-tone-withdrawn"] == [[at, at + len("open the story")]]
    assert painted["wb-tone-in_review"] == [[TEXT.index("taxes"), TEXT.index("taxes") + 13]]

    def highlight_style(name: str, prop: str) -> str:
        return page.evaluate(
            "([name, prop]) => { const p = document.querySelector('#document-text p');"
            " return getComputedStyle(p, `::highlight(${name})`)[prop]; }",
            [name, prop],
        )

    # Not the live tint, and a dashed rather than a solid line: colour is not the only cue.
    assert highlight_style("wb-tone-withdrawn", "backgroundColor") != highlight_style(
        "wb-tone-in_review", "backgroundColor"
    )
    assert highlight_style("wb-tone-withdrawn", "textDecorationStyle") == "dashed"
    assert highlight_style("wb-tone-in_review", "textDecorationStyle") == "solid"
    # It still leads to its claim, listed with its status and struck through.
    click_text(page, "open the story", 2)
    item = page.locator(f"#claim-{withdrawn.pk}")
    expect(item).to_have_attribute("aria-current", "true")
    expect(item.locator(".status")).to_have_text("Withdrawn")
    popover = page.locator("#claim-popover")
    expect(popover).to_contain_text("1 claim here")
    expect(popover.locator(".status")).to_have_text("Withdrawn")

    def style(locator, prop: str) -> str:
        return locator.evaluate(f"(el) => getComputedStyle(el).{prop}")

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


# Five claims over one stretch, each a little shorter: the innermost words are under all five.
FIVE = ["Then 😀 the mayor", "the mayor of Zoq", "mayor of Zoq", "mayor of", "mayor"]


def test_five_overlapping_claims_stay_readable_and_the_popover_lists_them(
    live_server, new_page, desk
):
    made = [make_claim(document=desk.document, actor=desk.reviewer, exact=e) for e in FIVE]
    disputed = made[1]
    Claim.objects.filter(pk=disputed.pk).update(status=ClaimStatus.DISPUTED)
    page = _open_reader(new_page, live_server, desk)
    wait_for_highlights(page)
    painted = highlights(page)
    spans = {claim.pk: [claim.start, claim.end] for claim in made}
    assert painted["wb-tone-disputed"] == [spans[disputed.pk]]
    assert painted["wb-tone-in_review"] == sorted(v for k, v in spans.items() if k != disputed.pk)
    mayor = TEXT.index("mayor")
    # One band per further claim: "mayor" lies under all five, "of" under four, and so on.
    assert painted["wb-depth-5"] == [[mayor, mayor + 5]]
    assert painted["wb-depth-4"] == [[mayor, mayor + 5]]
    assert painted["wb-depth-3"] == [[mayor, mayor + len("mayor of")]]
    assert painted["wb-depth-2"] == [[TEXT.index("the mayor"), TEXT.index("\u0303uin said")]]
    assert "wb-depth-6" not in painted

    # Hover the innermost word: the popover lists all five, with their status in words.
    page.locator("#document-text").scroll_into_view_if_needed()
    page.mouse.move(*point_at(page, "mayor of Zoq", 2))
    popover = page.locator("#claim-popover")
    expect(popover).to_be_visible()
    screenshot(page, "reader-overlaps")
    expect(popover.locator("p")).to_have_text("5 claims here")
    expect(popover.locator("li")).to_have_count(5)
    expect(popover.locator("li .status")).to_have_text(
        ["In review", "Disputed"] + ["In review"] * 3
    )
    expect(popover.get_by_role("link", name=disputed.statement)).to_have_attribute(
        "href", disputed.get_absolute_url()
    )
    # The popover sits next to the word: within the viewport, under or over the line.
    box = popover.bounding_box()
    _, y = point_at(page, "mayor of Zoq", 2)
    assert box is not None and abs(box["y"] - y) < 120 and 0 <= box["x"] <= 1280
    # The pointer may move onto the popover to follow a link; it stays.
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.wait_for_timeout(600)
    expect(popover).to_be_visible()
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    _assert_clean(page)


def test_keyboard_focus_on_a_listed_claim_shows_its_details(live_server, new_page, desk):
    claim = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    page = _open_reader(new_page, live_server, desk)
    wait_for_highlights(page)
    link = page.locator(f"#claim-{claim.pk}").get_by_role("link", name=claim.statement)
    link.focus()
    page.keyboard.press("Tab")  # keyboard focus, as a screen reader user moves
    page.keyboard.press("Shift+Tab")
    expect(link).to_be_focused()
    popover = page.locator("#claim-popover")
    expect(popover).to_be_visible()
    expect(popover).to_contain_text("1 claim here")
    expect(popover).to_contain_text("In review")
    page.locator(f"#claim-{claim.pk} [data-show-claim]").press("Enter")
    expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
    assert highlights(page)["wb-selected"] == [[claim.start, claim.end]]
    _assert_clean(page)


ARABIC = "قال الوزير إن الاقتصاد نما بنسبة خمسة بالمئة هذا العام.\nوأضاف أن البطالة انخفضت.\n"  # noqa: RUF001


def test_a_highlight_inside_an_arabic_word_keeps_the_word_whole(live_server, new_page, desk):
    owner = desk.project.memberships.get(role=Role.ADMIN).user
    document = make_document(project=desk.project, actor=owner, text=ARABIC, title="Arabic")
    word = "الاقتصاد"
    inside = ARABIC.index(word) + 2  # from the third letter of the word to its end
    claim = make_claim(document=document, actor=owner, start=inside, end=inside + len(word) - 2)
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, desk.password)
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    wait_for_highlights(page)
    # No element splits the word (the letters join); the text and offsets are exact.
    first = page.locator("#document-text p[data-start]").first
    assert first.evaluate("(p) => p.childNodes.length === 1 && p.firstChild.nodeType === 3")
    expect(first).to_have_text(ARABIC.split("\n")[0])
    expect(page.locator("#document-text")).to_have_attribute("dir", "rtl")
    assert highlights(page)["wb-tone-in_review"] == [[claim.start, claim.end]]
    click_text(page, word, 4)
    expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
    screenshot(page, "reader-rtl")
    # Selecting Arabic text still gives code point offsets and the exact quote.
    needle = "البطالة انخفضت"
    select_text(page, needle)
    start = ARABIC.index(needle)
    expect(page.locator("#selection-range")).to_have_text(
        f"characters {start}\N{EN DASH}{start + len(needle)}"
    )
    _assert_clean(page)


def test_status_filter_narrows_the_list_and_the_highlights(live_server, new_page, desk):
    in_review = make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    disputed = make_claim(document=desk.document, actor=desk.reviewer, exact="open the story")
    Claim.objects.filter(pk=disputed.pk).update(status=ClaimStatus.DISPUTED)
    page = _open_reader(new_page, live_server, desk)
    wait_for_highlights(page)
    page.evaluate("window.sameReaderPage = true")
    legend = page.get_by_role("navigation", name="Filter claims by status")
    expect(legend.get_by_role("link", name=re.compile("^Disputed"))).to_contain_text("(1)")
    legend.get_by_role("link", name=re.compile("^Disputed")).click()
    page.wait_for_url(re.compile(r"\?status=disputed$"))
    expect(page.locator("#claim-list-heading")).to_have_text("Claims (1 of 2)")
    expect(page.locator("#claim-list-heading")).to_be_focused()
    expect(page.locator(f"#claim-{disputed.pk}")).to_be_visible()
    expect(page.locator(f"#claim-{in_review.pk}")).to_have_count(0)
    painted = highlights(page)
    assert painted["wb-tone-disputed"] == [[disputed.start, disputed.end]]
    assert "wb-tone-in_review" not in painted
    assert page.evaluate("window.sameReaderPage") is True  # htmx swapped the reader only

    page.get_by_role("link", name=re.compile("^Retracted")).click()
    page.wait_for_url(re.compile(r"\?status=retracted$"))
    expect(page.locator("#claim-items .empty-state")).to_contain_text(
        "No claims match this filter."
    )
    wait_until(page, "!CSS.highlights.has('wb-tone-disputed')")
    assert highlights(page) == {"wb-selected": []}
    page.get_by_role("link", name="All statuses").click()
    expect(page.locator("#claim-list-heading")).to_have_text("Claims (2)")
    _assert_clean(page)


def test_a_sentence_can_be_claimed_without_javascript(live_server, browser, desk):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        login(page, live_server.url, desk.reviewer.username, desk.password)
        page.goto(f"{live_server.url}{desk.document.get_absolute_url()}")
        expect(page.locator("#claim-items .empty-state")).to_contain_text("No claims yet")
        page.get_by_role("link", name="Claim a sentence").first.click()
        sentence = "Families paid more; the bridge 🌉 toll doubled to €4."
        page.get_by_role("link", name=sentence).click()
        page.fill("#id_statement", "The toll doubled.")
        page.get_by_role("button", name="Create claim").click()
        page.wait_for_url(re.compile(r"/documents/\d+/#claim-\d+$"))
        claim = Claim.objects.get(document=desk.document)
        start = TEXT.index("👩")
        assert (claim.start, claim.end) == (
            start,
            start + len("👩\u200d👩\u200d👧 ") + len(sentence),
        )
        assert claim.exact == TEXT[claim.start : claim.end]
        expect(page.locator(f"#claim-{claim.pk}")).to_contain_text("The toll doubled.")
    finally:
        context.close()


def test_on_a_phone_the_claim_list_is_reachable_and_the_form_opens_by_the_text(
    live_server, browser, desk
):
    make_claim(document=desk.document, actor=desk.reviewer, exact="taxes rose 5%")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, live_server.url, desk.reviewer.username, desk.password)
        page.goto(f"{live_server.url}{desk.document.get_absolute_url()}")
        jump = page.get_by_role("link", name="Claims (1)")
        expect(jump).to_be_visible()
        # Nothing in the reader is wider than the phone (the site header is the shell's).
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#reader *')]"
            ".map((e) => e.getBoundingClientRect().right))"
        )
        assert widest <= 360, widest
        # A tap on a highlight shows its claim right there, without jumping to the list.
        wait_for_highlights(page)
        click_text(page, "taxes rose 5%", 2)
        scrolled = page.evaluate("window.scrollY")
        expect(page.locator("#claim-popover")).to_contain_text("1 claim here")
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") == scrolled
        select_text(page, "Families paid more")
        scrolled = page.evaluate("window.scrollY")
        page.click("#claim-this")
        form = page.locator("#selection-bar #claim-form")
        expect(form).to_be_visible()
        # The form opened next to the text: the page did not scroll to the claim list.
        assert page.evaluate("window.scrollY") == scrolled
        expect(form).to_be_in_viewport()
        screenshot(page, "reader-phone")
        page.fill("#id_statement", "Families paid more.")
        form.get_by_role("button", name="Create claim").click()
        expect(page.locator("#selection-bar")).to_be_hidden()
        claim = Claim.objects.get(document=desk.document, statement="Families paid more.")
        expect(page.locator(f"#claim-{claim.pk}")).to_have_attribute("aria-current", "true")
        jump = page.get_by_role("link", name="Claims (2)")
        jump.click()
        expect(page.locator("#claim-list-heading")).to_be_in_viewport()
        assert [e for e in errors if "favicon" not in e] == []
    finally:
        context.close()


def test_a_claim_in_a_later_window_is_painted_when_that_window_loads(live_server, new_page, desk):
    from workbench.ui.reader import READER_WINDOW

    line = "A long report line that says little at all.\n"
    text = line * (READER_WINDOW // len(line) + 40) + "The final line says taxes rose 9%.\n"
    owner = desk.project.memberships.get(role=Role.ADMIN).user
    document = make_document(project=desk.project, actor=owner, text=text, title="Long")
    claim = make_claim(document=document, actor=owner, exact="taxes rose 9%")
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, desk.password)
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    expect(page.locator(f"#claim-{claim.pk}")).to_have_count(0)
    page.locator(".reader-more").scroll_into_view_if_needed()
    expect(page.locator(f"#claim-{claim.pk}")).to_have_count(1)
    wait_until(page, "CSS.highlights.has('wb-tone-in_review')")
    assert highlights(page)["wb-tone-in_review"] == [[claim.start, claim.end]]
    last = page.locator("#document-text p[data-start]").last
    assert last.evaluate("(p) => p.childNodes.length") == 1
    _assert_clean(page)
