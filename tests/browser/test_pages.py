"""Every page of the workbench on the demo desk, in Chromium, as the member who uses it.

Each page is checked for

* accessibility: axe-core (``axe-playwright-python``, which ships axe-core: nothing is
  downloaded) finds no serious or critical violation;
* phones: at 360 px wide nothing scrolls sideways
  (``document.documentElement.scrollWidth <= window.innerWidth``);
* a clean run: no console error and no failed request (the ``new_page`` fixture fails the
  test on any, see conftest.py).

Under ``WB_SCREENSHOTS=1`` it also writes the UI guide's screenshots (docs/ui.md):
``docs/screenshots/page-<name>.png`` and ``reader-phone.png``.

Then the shell's own behaviour: "?" opens the help dialog on every page, the header's
Help button does too, and the Export menus download files with proper names.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from annotations.management.commands.load_demo import DEMO_PASSWORD, DEMO_PROJECT_SLUG
from annotations.models import Claim, ClaimStatus, Document, Project
from tests.browser.conftest import login, screenshot

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

PHONE = 360
IMPACTS = {"serious", "critical"}


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", stdout=io.StringIO())
    project = Project.objects.get(slug=DEMO_PROJECT_SLUG)
    document = Document.objects.filter(project=project).order_by("pk").first()
    claims = Claim.objects.filter(project=project).order_by("pk")
    published = claims.filter(status=ClaimStatus.PUBLISHED).first()
    in_review = claims.filter(status=ClaimStatus.IN_REVIEW).first()
    return {
        "project": project,
        "document": document,
        "published": published,
        "in_review": in_review,
    }


def _axe_report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['failureSummary']}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def check_page(page, url: str, name: str, *, phone_name: str | None = None) -> list[str]:
    """Visit ``url``; return the problems found (axe, sideways scroll at 360 px)."""
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_load_state("networkidle")
    problems: list[str] = []
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in IMPACTS]
    if serious:
        problems.append(f"{name} ({url}): axe\n{_axe_report(serious)}")
    screenshot(page, f"page-{name}")
    page.set_viewport_size({"width": PHONE, "height": 780})
    page.wait_for_timeout(50)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1 && !e.closest('.table-scroll, .data-table, pre, dialog'))"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)]"
    )
    if widths[0] > widths[1]:
        problems.append(f"{name} ({url}): {widths[0]} px wide at {PHONE} px, from {widths[2]}")
    if phone_name:
        screenshot(page, phone_name)
    return problems


def _visit_all(page, base: str, pages: list[tuple[str, str]], **phone) -> list[str]:
    problems: list[str] = []
    for name, path in pages:
        problems += check_page(page, base + path, name, phone_name=phone.get(name))
    return problems


def test_every_page_is_accessible_and_fits_a_phone(live_server, new_page, demo) -> None:
    base = live_server.url
    project, document = demo["project"], demo["document"]
    slug = project.slug
    problems: list[str] = []

    # The token page lists tokens in a table: with one, it must still fit a phone.
    from django.contrib.auth import get_user_model

    from tests.factories import api_token

    api_token(get_user_model().objects.get(username="admin"))

    anonymous = new_page()
    problems += _visit_all(
        anonymous,
        base,
        [
            ("login", "/accounts/login/"),
            ("public-list", f"/fact-checks/{slug}/"),
            ("public-detail", f"/fact-checks/{slug}/{demo['published'].pk}/"),
        ],
    )

    admin = new_page()
    login(admin, base, "admin", DEMO_PASSWORD)
    problems += _visit_all(
        admin,
        base,
        [
            ("projects", "/"),
            ("dashboard", f"/projects/{slug}/"),
            ("documents", f"/projects/{slug}/documents/"),
            ("reader", document.get_absolute_url()),
            ("claim-editor", demo["published"].get_absolute_url()),
            ("disputes", f"/projects/{slug}/disputes/"),
            ("reviewers", f"/projects/{slug}/reviewers/"),
            ("members", f"/projects/{slug}/members/"),
            ("invitations", "/invitations/"),
            ("tokens", "/account/tokens/"),
            ("notifications", "/notifications/"),
            ("notification-settings", "/notifications/settings/"),
            ("import", f"/projects/{slug}/import/"),
            ("revise", f"/documents/{document.pk}/revise/"),
            ("revisions", f"/documents/{document.pk}/revisions/"),
            ("references", f"/projects/{slug}/references/"),
            ("claimants", f"/projects/{slug}/claimants/"),
            ("matches", f"/documents/{document.pk}/matches/"),
            ("repeats", f"/projects/{slug}/repeats/"),
            ("suggestions", f"/documents/{document.pk}/suggestions/"),
        ],
        reader="reader-phone",
    )

    reviewer = new_page()
    login(reviewer, base, "reviewer2", DEMO_PASSWORD)
    problems += _visit_all(
        reviewer,
        base,
        [
            ("dashboard-reviewer", f"/projects/{slug}/"),
            ("claim-reviewer", demo["in_review"].get_absolute_url()),
        ],
    )
    assert not problems, "\n\n".join(problems)


def test_question_mark_opens_the_help_on_every_page(live_server, new_page, demo) -> None:
    base = live_server.url
    slug = demo["project"].slug
    page = new_page()
    login(page, base, "admin", DEMO_PASSWORD)
    help_dialog = page.locator("#page-help")
    for path, shortcuts in (
        ("/", []),
        (f"/projects/{slug}/", ["n", "d"]),
        (f"/projects/{slug}/documents/", ["/"]),
        (demo["document"].get_absolute_url(), []),
        ("/notifications/", []),
    ):
        page.goto(base + path)
        expect(help_dialog).to_be_hidden()
        page.keyboard.press("?")
        expect(help_dialog).to_be_visible()
        listed = help_dialog.locator("#page-shortcuts dt kbd").all_inner_texts()
        assert listed[0] == "?" and set(shortcuts) <= set(listed), (path, listed)
        page.keyboard.press("Escape")
        expect(help_dialog).to_be_hidden()
    # Mouse users: the header's Help button; the dashboard's "d" is named by its link text.
    page.goto(f"{base}/projects/{slug}/")
    page.get_by_role("button", name="Help").click()
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("#page-shortcuts")).to_contain_text("Documents (1)")
    from axe_playwright_python.sync_playwright import Axe

    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in IMPACTS]
    assert not violations, _axe_report(violations)
    screenshot(page, "page-help")
    page.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()
    # While the help is open the page behind takes no shortcut.
    page.keyboard.press("?")
    page.keyboard.press("d")
    assert page.url == f"{base}/projects/{slug}/"


def _download(page, link_name: str):
    menu = page.locator(".export-menu")
    if menu.get_attribute("open") is None:  # a download leaves the page and its menu open
        menu.locator("summary").click()
    with page.expect_download() as info:
        menu.get_by_role("link", name=re.compile(f"^{link_name}")).click()
    download = info.value
    with open(download.path(), encoding="utf-8") as handle:
        return download.suggested_filename, handle.read()


def test_export_menus_download_named_files(live_server, new_page, demo) -> None:
    base = live_server.url
    project, document = demo["project"], demo["document"]
    today = timezone.localdate().isoformat()
    page = new_page()
    login(page, base, "reviewer2", DEMO_PASSWORD)

    page.goto(f"{base}/projects/{project.slug}/")
    name, body = _download(page, "Native JSON")
    assert name == f"{project.slug}-{today}.json"
    assert [doc["document"]["title"] for doc in json.loads(body)] == [document.title]
    name, body = _download(page, "JSON lines")
    assert name == f"{project.slug}-{today}.jsonl"
    rows = [json.loads(line) for line in body.splitlines()]
    assert {row["id"] for row in rows} == set(
        Claim.objects.filter(project=project).values_list("pk", flat=True)
    )
    name, body = _download(page, "ClaimReview")
    assert name == f"{project.slug}-{today}.claimreview.json"
    reviews = json.loads(body)
    assert reviews and all(review["@type"] == "ClaimReview" for review in reviews)
    name, body = _download(page, "Web Annotation")
    assert name == f"{project.slug}-{today}.webannotation.json"
    assert {item["type"] for item in json.loads(body)} == {"Annotation"}

    page.goto(base + document.get_absolute_url())
    name, body = _download(page, "Native JSON")
    assert name == f"{project.slug}-document-{document.pk}-{today}.json"
    assert json.loads(body)["document"]["text_sha256"] == document.text_sha256
    name, body = _download(page, "JSON lines")
    assert name == f"{project.slug}-document-{document.pk}-{today}.jsonl"
    assert {json.loads(line)["document"]["id"] for line in body.splitlines()} == {document.pk}
    name, body = _download(page, "ClaimReview")
    assert name == f"{project.slug}-document-{document.pk}-{today}.claimreview.json"
    assert json.loads(body)
    name, body = _download(page, "Web Annotation")
    assert name == f"{project.slug}-document-{document.pk}-{today}.webannotation.json"
    assert json.loads(body)


def test_htmx_swaps_leave_the_console_clean(live_server, new_page, demo) -> None:
    """The import preview and a published claim's correction, swapped in by htmx: no CSP
    report and no other console error (the fixture fails the test on any), and the
    swapped-in preview passes axe. htmx 2 "settles" class, style, width and height: it
    copies the old element's attributes onto the new one with setAttribute, and a style
    attribute set that way is refused by CSP: the cause of the "Applying inline style
    violates ..." reports after swaps. _base.html's htmx-config settles no style."""
    from axe_playwright_python.sync_playwright import Axe

    base = live_server.url
    slug = demo["project"].slug
    page = new_page()
    login(page, base, "editor", DEMO_PASSWORD)
    page.goto(f"{base}/projects/{slug}/import/")
    page.evaluate("window.importPageMarker = 'same page'")
    page.get_by_label("Paste text").fill(
        "<html><head><title>Rents doubled</title></head><body><article><h1>Rents doubled</h1>"
        "<p>The council said rents doubled in 2024, and wages rose by 3 percent.</p>"
        "<p>Critics said the figure counts new leases only.</p></article></body></html>"
    )
    # A browser extension or autofill may put a style attribute on the page (through the
    # CSSOM, which CSP allows); htmx must not copy it onto the swapped-in element with
    # setAttribute, which CSP refuses ("Applying inline style violates ...").
    page.evaluate("document.getElementById('import-preview').style.outline = '1px solid red'")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview-heading")).to_have_text("Preview")
    assert page.evaluate("window.importPageMarker") == "same page"  # swapped, not reloaded
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in IMPACTS]
    assert not violations, _axe_report(violations)
    page.locator("#import-preview").get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/documents/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rents doubled")

    published = demo["published"]
    page.goto(base + published.get_absolute_url())
    page.locator("details.correct > summary").click()
    form = page.locator("form.correct-form")
    form.get_by_label("Summary for readers").fill("The figure was revised; see the note.")
    form.get_by_label("Public correction note").fill("Browser test: the figure was revised.")
    form.get_by_role("button", name="Publish correction").click()
    page.wait_for_load_state("networkidle")
    published.refresh_from_db()
    assert published.status == ClaimStatus.CORRECTED
    assert page.js_errors == [], page.js_errors


def test_a_long_generated_document_reads_cleanly(live_server, new_page, demo) -> None:
    """A generated document of about 160,000 characters (three reader windows) with 120
    claims, five of them stacked on one sentence: the reader passes axe, fits a phone,
    loads every window as the reader scrolls (no console error, no failed request: the
    fixture checks), and paints and lists every claim."""
    from annotations.models import Membership, Role
    from tests.factories import make_claim, make_document

    project = demo["project"]
    editor = Membership.objects.filter(project=project, role=Role.EDITOR).first().user
    lines = [
        f"Paragraph {n}: the ministry said unemployment fell by {n % 17} percent in region {n}, "
        f"while exports grew by {n % 11} billion and prices rose {n % 5} points this year."
        for n in range(1, 1101)
    ]
    document = make_document(project=project, actor=editor, text="\n".join(lines), title="Long")
    assert document.length > 150_000
    for n in range(1, 1101, 10):
        make_claim(
            document=document,
            actor=editor,
            exact=f"unemployment fell by {n % 17} percent in region {n},",
        )
    stacked = f"the ministry said unemployment fell by {1000 % 17} percent in region 1000"
    first = document.text.index(stacked)
    for cut in range(5):
        make_claim(
            document=document, actor=editor, start=first + cut * 4, end=first + len(stacked) - cut
        )
    claims = Claim.objects.filter(document=document).count()
    assert claims == 115

    page = new_page()
    login(page, live_server.url, "reviewer2", DEMO_PASSWORD)
    problems = check_page(page, live_server.url + document.get_absolute_url(), "reader-long")
    assert not problems, "\n\n".join(problems)
    page.set_viewport_size({"width": 1280, "height": 900})
    # Scroll to the end: each window loads when its "continue" link is revealed.
    for _ in range(10):
        more = page.locator("#document-text .reader-more")
        if not more.count():
            break
        before = page.locator("#document-text p").count()
        more.scroll_into_view_if_needed()
        page.wait_for_function(
            "n => document.querySelectorAll('#document-text p').length > n", arg=before
        )
    expect(page.locator("#document-text p", has_text="Paragraph 1100:")).to_have_count(1)
    expect(page.locator("#claim-items [data-claim-id]")).to_have_count(claims)
    painted = page.evaluate(
        "() => [...CSS.highlights.keys()].filter(k => k.startsWith('wb-tone-'))"
        ".reduce((n, k) => n + CSS.highlights.get(k).size, 0)"
    )
    assert painted >= claims, painted
    # The five stacked claims: one fifth band, over the words all five share.
    depth5 = page.evaluate(
        "() => [...(CSS.highlights.get('wb-depth-5') || [])].map(r => r.toString())"
    )
    assert depth5 == [stacked[16 : len(stacked) - 4]], depth5
