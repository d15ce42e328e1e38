"""Stored XSS, checked where it would happen: in a real browser.

tests/security/test_xss.py proves every user field is escaped in the HTML the server
sends. This renders those pages in Chromium with the payloads stored in every field a
fact-checker types (project, document title and text, claim statement, verdict rationale,
citation quote, source title, skip reason) and asserts, page by page, that

* no payload became markup: no element the payloads carry exists in the DOM (the first
  defence, escaping; CSP would block an inline handler even if escaping failed, so the
  DOM is checked directly);
* nothing ran or tried to: no dialog, no Content-Security-Policy violation, no request to
  the payload's htmx target;
* the payload is on the page as text, so the check looked at the right place.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations import services
from annotations.models import Role
from tests.browser.conftest import login
from tests.browser.helpers import track_http_errors
from tests.factories import (
    judge,
    make_claim,
    make_document,
    make_member,
    make_members,
    make_project,
    make_user,
    take,
)
from tests.security.test_xss import POLYGLOT, URL

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

# Elements and attributes only the payloads would create.
INJECTED = (
    'img[src="x"], svg[onload], [onerror], [onload]:not(body), [hx-post="/evil"], '
    '[data-hx-get="/evil"], [hx-on\\:click], a[href^="javascript:"]'
)
# Every <script> on our pages has a src (CSP allows no inline script).
INLINE_SCRIPT = "script:not([src])"


@pytest.fixture
def poisoned(transactional_db):
    owner = make_user("owner")
    project = make_project(creator=owner, name=f"Desk {POLYGLOT}"[:200])
    editor = make_member(project, "eddie", Role.EDITOR)
    reviewers = make_members(project, "rita", "remy", "rosa")
    root = make_user("root", is_staff=True, is_superuser=True)
    text = f"The mayor said taxes rose. {POLYGLOT} Rents doubled in 2024.\n"
    document = make_document(project=project, actor=owner, text=text, title=f"T {POLYGLOT}")
    claim = make_claim(document=document, actor=owner, exact=POLYGLOT, statement=f"S {POLYGLOT}")
    source = services.source_get_or_create(
        url="https://stats.example.org/r", actor=reviewers[0], project=project
    )
    source.title = f"Source {POLYGLOT}"
    source.save()
    cite = [services.CitationInput(stance="refutes", source_id=source.pk, quote=f"Q {POLYGLOT}")]
    judge(claim, reviewers[0], "false", rationale=f"R {POLYGLOT}", citations=cite)
    judge(claim, reviewers[1], "true", rationale=f"R2 {POLYGLOT}")  # disputed
    second = make_claim(document=document, actor=owner, exact="Rents doubled in 2024")
    take(second, reviewers[2])
    services.claim_skip(claim=second, reviewer=reviewers[2], reason=f"Skip {POLYGLOT}")
    # Issue 18: a comment (the linkifier's HTML) mentioning the editor, with a link whose
    # address carries markup, and an editor's note.
    services.comment_create(
        claim=claim, author=reviewers[0], body=f"C {POLYGLOT} @eddie see {URL} {POLYGLOT}"
    )
    services.comment_create(claim=claim, author=owner, body=f"N {POLYGLOT}", visibility="everyone")
    return {
        "project": project,
        "document": document,
        "claim": claim,
        "editor": editor,
        "root": root,
    }


def _visit(page, url: str, evil_requests: list[str], dialogs: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.locator(INJECTED).count() == 0, (
        url,
        page.locator(INJECTED).first.evaluate("e => e.outerHTML"),
    )
    assert page.locator(INLINE_SCRIPT).count() == 0, url
    assert "<script>alert(1)</script>" in page.locator("body").inner_text(), url
    assert not dialogs, (url, dialogs)
    assert not evil_requests, (url, evil_requests)
    assert not page.js_errors, (url, page.js_errors)


def _watch(page) -> tuple[list[str], list[str]]:
    evil: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: evil.append(r.url) if "/evil" in r.url else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return evil, dialogs


def test_no_stored_payload_runs_in_the_reviewer_ui(new_page, live_server, poisoned) -> None:
    page = new_page()
    errors = track_http_errors(page)
    evil, dialogs = _watch(page)
    login(page, live_server.url, "eddie", "pw-eddie")
    base = live_server.url
    slug = poisoned["project"].slug
    for path in (
        "/",
        f"/projects/{slug}/",
        f"/projects/{slug}/documents/",
        f"/projects/{slug}/documents/?q=taxes",
        poisoned["document"].get_absolute_url(),
        f"/claims/{poisoned['claim'].pk}/",
        f"/projects/{slug}/disputes/",
        "/notifications/",
    ):
        _visit(page, base + path, evil, dialogs)
    # An htmx fragment: the live document search swaps in rows holding the poisoned title.
    page.goto(f"{base}/projects/{slug}/documents/")
    page.evaluate("window.searchPageMarker = 'same page'")
    page.get_by_label("Search documents").press_sequentially("mayor", delay=40)
    rows = page.locator("#document-rows")
    expect(rows.locator(".result-count")).to_have_text("1 document matches “mayor”.")
    expect(rows).to_contain_text("<script>alert(1)</script>")  # the swapped-in title
    assert page.evaluate("window.searchPageMarker") == "same page"  # swapped, not reloaded
    assert page.locator(INJECTED).count() == 0
    assert not dialogs and not evil and not page.js_errors
    assert errors == [], errors


def test_no_stored_payload_runs_in_the_admin(new_page, live_server, poisoned) -> None:
    page = new_page()
    evil, dialogs = _watch(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    claim = poisoned["claim"]
    for path in (
        "/admin/annotations/claim/",
        f"/admin/annotations/claim/{claim.pk}/change/",
        "/admin/annotations/verdict/",
        "/admin/annotations/citation/",
        "/admin/annotations/source/",
        f"/admin/annotations/document/{poisoned['document'].pk}/change/",
        "/admin/annotations/event/",
        "/admin/annotations/comment/",
    ):
        _visit(page, live_server.url + path, evil, dialogs)


def test_no_stored_payload_runs_on_the_public_pages(new_page, live_server, poisoned) -> None:
    """Issue 15: an anonymous reader's public page of a published claim whose every field
    carries the payloads. The ClaimReview JSON-LD data block is the page's one script
    without a src; it parses as JSON and holds the payload as a value."""
    claim, editor, project = poisoned["claim"], poisoned["editor"], poisoned["project"]
    services.claim_adjudicate(claim=claim, editor=editor, rating="false", note=f"N {POLYGLOT}")
    services.claim_publish(claim=claim, editor=editor, summary=f"Summary {POLYGLOT}")
    services.project_update(project=project, actor=project.created_by, publishing_enabled=True)
    page = new_page()
    evil, dialogs = _watch(page)
    base = f"{live_server.url}/fact-checks/{project.slug}/"
    for url in (base, f"{base}{claim.pk}/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.locator(INJECTED).count() == 0, url
        assert page.locator('script:not([src]):not([type="application/ld+json"])').count() == 0
        assert "<script>alert(1)</script>" in page.locator("body").inner_text(), url
        assert not dialogs and not evil and not page.js_errors, (url, dialogs, evil)
    node = page.evaluate(
        "JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').textContent)"
    )
    assert node["claimReviewed"] == f"S {POLYGLOT}"
    assert node["reviewBody"] == f"Summary {POLYGLOT}"
