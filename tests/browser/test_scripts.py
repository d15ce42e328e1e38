"""Right-to-left and CJK documents in a real browser (issue 19): Arabic, Hebrew and Chinese
texts are claimed by selection with exact quotes and code point offsets, the Arabic text
runs right to left, and the document search finds a Chinese substring.

The tests rely only on ``#document-text`` and the shared selection helpers, not on how the
reader paints its highlights."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import expect

from annotations.models import Claim, Document, Project, Role
from tests.browser.conftest import login
from tests.browser.helpers import claim_selection, select_text, track_http_errors
from tests.factories import make_document, make_member, make_project, make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

# Each text has a character outside the Basic Multilingual Plane (two UTF-16 units, one
# code point) before the phrase, so the browser's count and the stored offsets differ.
ARABIC = (
    "تقرير 🌍 الاقتصاد\n"
    "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام، وأضاف أن الأسعار مستقرة.\n"
)
HEBREW = "דוח 🌍 הכלכלה\nשר האוצר אמר כי שיעור האבטלה ירד לשלושה אחוזים השנה, והמחירים יציבים.\n"
CHINESE = (
    "经济报告 𠮷 第一部分\n"
    "财政部长表示今年的失业率下降到了百分之三北京大学的经济学家对此表示怀疑物价保持稳定\n"
)
CASES = [
    ("arabic", ARABIC, "ar", "rtl", "معدل البطالة انخفض"),
    ("hebrew", HEBREW, "he", "rtl", "שיעור האבטלה ירד"),
    ("chinese", CHINESE, "zh", "ltr", "失业率下降到了百分之三"),
]


@dataclass
class Desk:
    project: Project
    documents: dict[str, Document]
    reviewer: AbstractBaseUser


@pytest.fixture
def desk(transactional_db) -> Desk:
    owner = make_user("owner")
    project = make_project(creator=owner, name="Scripts desk")
    reviewer = make_member(project, "rita", Role.REVIEWER)
    documents = {
        name: make_document(project=project, actor=owner, text=text, title=f"Report ({name})")
        for name, text, *_ in CASES
    }
    return Desk(project, documents, reviewer)


def _open(new_page, live_server, desk: Desk, path: str):
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, desk.reviewer.username, "pw-rita")
    page.goto(f"{live_server.url}{path}")
    return page


@pytest.mark.parametrize(("name", "text", "language", "direction", "phrase"), CASES)
def test_a_phrase_is_claimed_with_its_exact_quote_and_code_point_offsets(
    live_server, new_page, desk, name, text, language, direction, phrase
):
    document = desk.documents[name]
    assert (document.language, document.direction) == (language, direction)  # detected
    page = _open(new_page, live_server, desk, document.get_absolute_url())
    container = page.locator("#document-text")
    expect(container).to_have_attribute("dir", direction)
    expect(container).to_have_attribute("lang", language)
    assert container.evaluate("el => getComputedStyle(el).direction") == direction

    start = text.index(phrase)
    assert len(text[:start].encode("utf-16-le")) // 2 > start  # the counts really differ
    select_text(page, phrase)
    expect(page.locator("#selection-quote")).to_have_text(phrase)
    claim_selection(page, f"Claim in {name}")

    claim = Claim.objects.get(document=document, statement=f"Claim in {name}")
    assert claim.exact == phrase
    assert (claim.start, claim.end) == (start, start + len(phrase))
    assert text[claim.start : claim.end] == phrase
    assert page.js_errors == [], page.js_errors
    assert page.http_errors == [], page.http_errors


def test_the_claim_page_quotes_right_to_left(live_server, new_page, desk):
    document = desk.documents["arabic"]
    page = _open(new_page, live_server, desk, document.get_absolute_url())
    select_text(page, "وزير المالية")
    claim_selection(page, "The minister")
    claim = Claim.objects.get(document=document, statement="The minister")
    page.goto(f"{live_server.url}{claim.get_absolute_url()}")
    quote = page.locator(".span-in-context blockquote")
    expect(quote).to_have_attribute("dir", "rtl")
    assert quote.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(quote.locator("mark")).to_have_text("وزير المالية")
    assert page.js_errors == [], page.js_errors


def test_the_document_search_finds_a_chinese_substring(live_server, new_page, desk):
    page = _open(new_page, live_server, desk, f"/projects/{desk.project.slug}/documents/")
    rows = page.locator("#document-rows")
    expect(rows.locator("tbody tr")).to_have_count(3)
    search = page.get_by_label("Search documents")
    search.fill("北京大学")  # in the middle of a sentence without spaces
    expect(rows.locator("tbody tr")).to_have_count(1)
    expect(rows.get_by_role("link", name="Report (chinese)")).to_be_visible()
    search.fill("上海")
    expect(rows.locator("tbody tr")).to_have_count(0)
    assert page.js_errors == [], page.js_errors
    assert page.http_errors == [], page.http_errors
