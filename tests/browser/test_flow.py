"""The whole review flow on the demo desk, in a real browser, one browser context per user.

reviewer1 claims a sentence of the seed article from the reader; reviewer2 and reviewer3
take it from the queue ("Review next") and disagree (true vs false) under the demo
project's policy (2 reviews, unanimous), so it becomes disputed; the editor adjudicates it
on the disputes page. Blind review is checked in the UI: reviewer3 sees reviewer2's
verdict only after submitting their own.

The queue hands out the oldest eligible claim first, so before the flow starts the editor
withdraws the demo claims still in review (the first one is published by ``load_demo``) through ``services.claim_withdraw``: the new claim is then
the only one in the queue, and "Review next" leads straight to it.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from annotations import services
from annotations.management.commands.load_demo import DEMO_PASSWORD, DEMO_PROJECT_SLUG
from annotations.models import (
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Document,
    Event,
    Project,
    Verdict,
)
from tests.browser.conftest import login, screenshot
from tests.browser.helpers import claim_selection, select_text, track_http_errors
from tests.factories import make_claim, make_document, make_member, make_project, make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

# A sentence of the seed article that none of the demo claims covers.
SENTENCE = (
    "In many ways, China is now in closer communication with South Korea than with its "
    "historic Northern partner."
)
STATEMENT = "China is in closer contact with South Korea than with North Korea (late 2017)."
RATIONALE_2 = "Seoul and Beijing normalised relations after the THAAD deal; contacts multiplied."
RATIONALE_3 = "Beijing still has its treaty with Pyongyang and far more trade with the North."
ADJUDICATION_NOTE = "Contact counts are not public; the sources support neither reading fully."


def _prepare_demo() -> tuple[Project, Document]:
    call_command("load_demo", stdout=io.StringIO())
    project = Project.objects.get(slug=DEMO_PROJECT_SLUG)
    admin = project.memberships.get(user__username="admin").user
    project = services.project_update(
        project=project, actor=admin, required_reviews=2, consensus_rule="unanimous"
    )
    editor = project.memberships.get(user__username="editor").user
    # The demo's published claim is out of the queue already (and never withdrawn).
    for claim in Claim.objects.filter(project=project, status="in_review"):
        services.claim_withdraw(
            claim=claim, actor=editor, reason="Browser test: keep the queue to the new claim."
        )
    document = Document.objects.get(project=project)
    assert SENTENCE in document.text
    return project, document


def _assert_clean(page, http_errors: list[str]) -> None:
    assert page.js_errors == [], page.js_errors  # no JS errors, no CSP violations
    assert http_errors == [], http_errors


def _user_page(new_page, live_server, username: str):
    page = new_page()
    http_errors = track_http_errors(page)
    login(page, live_server.url, username, DEMO_PASSWORD)
    return page, http_errors


def _review(page, http_errors, live_server, project: Project, claim: Claim) -> None:
    """Open the dashboard and take the next claim from the queue; it must be ``claim``."""
    page.goto(f"{live_server.url}{project.get_absolute_url()}")
    page.get_by_role("button", name="Review next").click()
    page.wait_for_url(f"{live_server.url}{claim.get_absolute_url()}")
    expect(page.locator(".lease-bar")).to_be_visible()
    expect(page.locator("#verdict-form")).to_be_visible()
    _assert_clean(page, http_errors)


def _fill_evidence(page, rationale: str, url: str, quote: str) -> None:
    """The rationale and one quoted citation: the demo desk's evidence policy, stated on
    the form, requires one."""
    expect(page.locator("#evidence-policy")).to_have_text(
        "This project requires at least 1 quoted citation per verdict."
    )
    page.locator("#verdict-form").get_by_label("Rationale").fill(rationale)
    page.locator('#verdict-form input[name="citations-0-url"]').fill(url)
    page.locator('#verdict-form textarea[name="citations-0-quote"]').fill(quote)


def _saved_then_back(page, live_server, project: Project, claim: Claim) -> None:
    """After "Submit and review next" with nothing left in the queue: the empty-queue page
    says why, and its message links back to the claim just judged; follow it."""
    page.wait_for_url(f"{live_server.url}/projects/{project.slug}/review-next/empty/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing to review right now")
    flash = page.locator(".messages")
    expect(flash).to_have_text(f"Verdict saved on {claim.statement}")
    flash.get_by_role("link", name=claim.statement).click()
    page.wait_for_url(f"{live_server.url}{claim.get_absolute_url()}")
    expect(page.locator("#claim-heading")).to_have_text(claim.statement)


def test_claim_is_created_reviewed_blind_disputed_and_adjudicated(live_server, new_page):
    project, document = _prepare_demo()
    base = live_server.url

    # --- reviewer1: dashboard, documents, reader, select a sentence, claim it -----------
    page, http_errors = _user_page(new_page, live_server, "reviewer1")
    page.get_by_role("link", name=project.name).click()
    page.wait_for_url(f"{base}{project.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_have_text(project.name)
    _assert_clean(page, http_errors)
    page.locator(".dashboard .actions").get_by_role("link", name=re.compile("^Documents")).click()
    page.wait_for_url(f"{base}/projects/{project.slug}/documents/")
    _assert_clean(page, http_errors)
    page.get_by_role("link", name=document.title).click()
    page.wait_for_url(f"{base}{document.get_absolute_url()}")
    expect(page.locator("#claim-list-heading")).to_have_text("Claims (10)")

    select_text(page, SENTENCE)
    start = document.text.index(SENTENCE)
    expect(page.locator("#selection-range")).to_have_text(
        f"characters {start}\N{EN DASH}{start + len(SENTENCE)}"
    )
    claim_selection(page, STATEMENT)

    claim = Claim.objects.get(document=document, status=ClaimStatus.IN_REVIEW)
    assert (claim.start, claim.end, claim.exact) == (start, start + len(SENTENCE), SENTENCE)
    assert claim.created_by.username == "reviewer1"
    # The new claim is painted (CSS Custom Highlight API) over its span, and selected.
    painted = page.evaluate(
        "async () => (await import('/static/workbench/reader.js')).highlightSpans()"
    )
    assert painted["wb-selected"] == [[claim.start, claim.end]]
    item = page.locator(f"#claim-{claim.pk}")
    expect(item).to_contain_text(STATEMENT)
    expect(item).to_have_class(re.compile(r"\bis-selected\b"))
    expect(page.locator("#claim-list-heading")).to_have_text("Claims (11)")
    item.locator("[data-show-claim]").click()
    page.wait_for_timeout(800)  # the smooth scroll to the highlight
    page.evaluate("document.getSelection().removeAllRanges()")
    screenshot(page, "reader")
    _assert_clean(page, http_errors)

    # --- reviewer2: Review next, rating by keyboard ("1" = True), rationale, citation ----
    page2, http_errors2 = _user_page(new_page, live_server, "reviewer2")
    _review(page2, http_errors2, live_server, project, claim)
    expect(page2.locator(".blind-note")).to_be_visible()
    page2.keyboard.press("1")
    expect(page2.locator('#verdict-form input[name="rating"][value="true"]')).to_be_checked()
    _fill_evidence(
        page2,
        RATIONALE_2,
        "https://example.org/news/thaad-agreement",
        "The two sides agreed to bring exchanges back on track.",
    )
    page2.get_by_role("button", name="Submit and review next").click()
    # Submit → next: the queue has nothing else for reviewer2, and the page says why.
    expect(page2.locator(".queue-reasons")).to_contain_text("1 already judged by you")
    _saved_then_back(page2, live_server, project, claim)
    expect(page2.locator("#review-panel .verdict-own")).to_contain_text(RATIONALE_2)
    expect(page2.locator("#review-heading .status")).to_have_text("In review")
    expect(page2.locator("#claim-status-line")).to_have_text(
        "In review — waiting for 1 more review · 1 of 2 reviews in"
    )
    # The verdict is read-only; revising is a deliberate step.
    own = page2.locator(".own-verdict")
    expect(own).to_contain_text("True")
    expect(own.locator("#verdict-form")).to_be_hidden()
    own.get_by_text("Revise my verdict").click()
    expect(own.locator("#verdict-form")).to_be_visible()
    expect(own.locator('input[name="rating"][value="true"]')).to_be_checked()
    _assert_clean(page2, http_errors2)

    # --- reviewer3: blind until they submit; rating by keyboard ("5" = False) ----------
    page3, http_errors3 = _user_page(new_page, live_server, "reviewer3")
    _review(page3, http_errors3, live_server, project, claim)
    expect(page3.locator(".blind-note")).to_be_visible()
    expect(page3.locator("#review-panel .verdict")).to_have_count(0)
    assert RATIONALE_2 not in page3.content()
    assert "reviewer2" not in page3.locator("#main").inner_text()
    page3.keyboard.press("5")
    expect(page3.locator('#verdict-form input[name="rating"][value="false"]')).to_be_checked()
    _fill_evidence(
        page3,
        RATIONALE_3,
        "https://example.org/analysis/china-dprk-treaty",
        "The 1961 treaty of friendship remains in force.",
    )
    expect(page3.locator("#claim-status-line")).to_have_text("In review · 2 reviews needed")
    page3.get_by_role("button", name="Submit and review next").click()
    expect(page3.locator(".queue-empty .empty-state")).to_contain_text(
        f"The queue is empty because no claim of {project.name} is in review."
    )
    _saved_then_back(page3, live_server, project, claim)
    expect(page3.locator("#review-heading .status")).to_have_text("Disputed")
    expect(page3.locator("#claim-status-line")).to_have_text(
        "Disputed — waiting for an editor · 2 of 2 reviews in"
    )
    expect(page3.locator(".blind-note")).to_have_count(0)
    verdicts = page3.locator("#review-panel .verdict")
    expect(verdicts).to_have_count(2)
    expect(verdicts.filter(has_text="reviewer2")).to_contain_text(RATIONALE_2)
    expect(verdicts.filter(has_text="reviewer3 (you)")).to_contain_text(RATIONALE_3)
    _assert_clean(page3, http_errors3)

    # --- editor: dashboard, disputes page, both verdicts side by side, adjudicate --------
    page4, http_errors4 = _user_page(new_page, live_server, "editor")
    page4.goto(f"{base}{project.get_absolute_url()}")
    screenshot(page4, "dashboard")
    page4.locator(".dashboard .actions").get_by_role("link", name="Disputes").click()
    page4.wait_for_url(f"{base}/projects/{project.slug}/disputes/")
    expect(page4.locator("#disputed-heading")).to_have_text("Disputed (1)")
    card = page4.locator(f"#dispute-{claim.pk}")
    expect(card.locator(".verdict-grid .verdict")).to_have_count(2)
    expect(card.locator(".verdict").filter(has_text="reviewer2")).to_contain_text("True")
    expect(card.locator(".verdict").filter(has_text="reviewer2")).to_contain_text(RATIONALE_2)
    expect(card.locator(".verdict").filter(has_text="reviewer3")).to_contain_text("False")
    expect(card.locator(".verdict").filter(has_text="reviewer3")).to_contain_text(RATIONALE_3)
    expect(card.locator(".citation-list a")).to_have_count(2)
    screenshot(page4, "disputes")
    _assert_clean(page4, http_errors4)

    card.get_by_label("Final rating").select_option("half_true")
    card.get_by_label("Note").fill(ADJUDICATION_NOTE)
    card.get_by_role("button", name="Record decision").click()
    expect(card.locator(".notice")).to_have_text("Decision recorded.")
    expect(card.locator(".status")).to_have_text("Resolved")
    expect(card.locator(".current-consensus")).to_contain_text("Half true")

    card.get_by_role("link", name=STATEMENT).click()
    page4.wait_for_url(f"{base}{claim.get_absolute_url()}")
    expect(page4.locator("#review-heading .status")).to_have_text("Resolved")
    record = page4.locator(".consensus-history .consensus-record")
    expect(record).to_have_count(1)
    expect(record).to_contain_text("Half true")
    expect(record).to_contain_text("adjudicated")
    expect(record).to_contain_text("decided by editor")
    expect(record).to_contain_text(ADJUDICATION_NOTE)
    expect(page4.locator("#review-panel .verdict")).to_have_count(2)
    screenshot(page4, "claim")
    _assert_clean(page4, http_errors4)

    # --- the database agrees -------------------------------------------------------------
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RESOLVED
    consensus = Consensus.objects.get(claim=claim, is_current=True)
    assert consensus.method == ConsensusMethod.ADJUDICATED
    assert (consensus.rating.key, consensus.decided_by.username) == ("half_true", "editor")
    assert consensus.note == ADJUDICATION_NOTE
    verdicts = Verdict.objects.filter(claim=claim, is_current=True)
    assert sorted((v.reviewer.username, v.rating.key) for v in verdicts) == [
        ("reviewer2", "true"),
        ("reviewer3", "false"),
    ]
    assert Verdict.objects.filter(claim=claim).count() == 2
    assert {c.source.url for v in verdicts for c in v.citations.all()} == {
        "https://example.org/news/thaad-agreement",
        "https://example.org/analysis/china-dprk-treaty",
    }
    for each, errors in ((page, http_errors), (page2, http_errors2), (page3, http_errors3)):
        _assert_clean(each, errors)


def test_a_creator_withdraws_a_claim_from_its_page(live_server, new_page):
    project, document = _prepare_demo()
    creator = project.memberships.get(user__username="reviewer1").user
    claim = make_claim(document=document, actor=creator, exact=SENTENCE, statement=STATEMENT)
    page, http_errors = _user_page(new_page, live_server, "reviewer1")
    page.goto(f"{live_server.url}{claim.get_absolute_url()}")
    expect(page.locator("#claim-heading")).to_have_text(STATEMENT)
    withdraw = page.locator("details.withdraw-claim")
    expect(withdraw.get_by_role("button", name="Withdraw claim")).to_be_hidden()
    withdraw.get_by_text("Withdraw this claim").click()
    withdraw.get_by_label("Reason").fill("A duplicate of an earlier claim.")
    withdraw.get_by_role("button", name="Withdraw claim").click()
    page.wait_for_url(f"{live_server.url}{claim.get_absolute_url()}")
    expect(page.locator(".messages")).to_have_text("Claim withdrawn: it has left the review queue.")
    expect(page.locator("#claim-status-line .status")).to_have_text("Withdrawn")
    expect(page.locator("details.withdraw-claim")).to_have_count(0)
    _assert_clean(page, http_errors)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN
    event = Event.objects.get(verb="claim.status", object_id=claim.pk)
    assert (event.actor.username, event.after["note"]) == (
        "reviewer1",
        "A duplicate of an earlier claim.",
    )


def test_the_review_loop_works_by_keyboard_alone(live_server, new_page):
    """Dashboard → "n" (Review next) → rating by digit, Tab to confidence and rationale,
    Tab to "Submit and review next", Enter → the next claim, with the focus on its
    statement. No mouse."""
    admin = make_user("kbd_admin")
    project = make_project(creator=admin, name="Keyboard desk", required_reviews=1)
    creator = make_member(project, "kbd_creator")
    make_member(project, "kbd_reviewer")
    document = make_document(project=project, actor=creator)
    first = make_claim(document=document, actor=creator, exact="crime fell 20%")
    second = make_claim(document=document, actor=creator, exact="record low of 3.1%")
    page = new_page()
    http_errors = track_http_errors(page)
    login(page, live_server.url, "kbd_reviewer", "pw-kbd_reviewer")
    page.goto(f"{live_server.url}{project.get_absolute_url()}")

    def focused() -> str:
        return page.evaluate(
            "() => { const e = document.activeElement;"
            " return `${e.tagName}#${e.id}[${e.getAttribute('name') || ''}]`; }"
        )

    page.keyboard.press("n")
    page.wait_for_url(f"{live_server.url}{first.get_absolute_url()}")
    expect(page.locator("#claim-heading")).to_be_focused()
    page.keyboard.press("4")  # Mostly false
    expect(page.locator('#verdict-form input[name="rating"][value="mostly_false"]')).to_be_checked()
    page.keyboard.press("Tab")
    assert focused().endswith("[confidence]"), focused()
    page.keyboard.press("ArrowRight")  # medium → high
    expect(page.locator('#verdict-form input[name="confidence"][value="high"]')).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#verdict-form textarea[name=rationale]")).to_be_focused()
    page.keyboard.type("Police figures show a 12% fall, not 20%.")
    for _ in range(12):  # through the citation row to the submit button
        page.keyboard.press("Tab")
        if "Submit and review next" in page.evaluate("() => document.activeElement.textContent"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}{second.get_absolute_url()}")
    expect(page.locator("#claim-heading")).to_be_focused()
    expect(page.locator(".messages")).to_contain_text("Verdict saved on crime fell 20%")
    _assert_clean(page, http_errors)
    verdict = Verdict.objects.get(claim=first)
    assert (verdict.rating.key, verdict.confidence, verdict.rationale) == (
        "mostly_false",
        "high",
        "Police figures show a 12% fall, not 20%.",
    )
    # Ctrl+Enter submits from any field of the form too.
    page.keyboard.press("1")
    page.keyboard.press("w")
    page.keyboard.type("Official statistics agree.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server.url}/projects/{project.slug}/review-next/empty/")
    # One review each is all this desk asks: both claims are resolved.
    expect(page.locator(".queue-empty .empty-state")).to_contain_text(
        "no claim of Keyboard desk is in review"
    )
    second_verdict = Verdict.objects.get(claim=second)
    # "w" reached the rationale although the rating key had put the focus on a radio.
    assert (second_verdict.rating.key, second_verdict.rationale) == (
        "true",
        "Official statistics agree.",
    )
    _assert_clean(page, http_errors)


def test_times_show_in_the_browsers_time_zone_with_the_utc_instant_on_hover(live_server, browser):
    admin = make_user("tz_admin")
    project = make_project(creator=admin, name="Time desk")
    creator = make_member(project, "tz_creator")
    document = make_document(project=project, actor=creator)
    claim = make_claim(document=document, actor=creator, exact="crime fell 20%")
    context = browser.new_context(locale="en-US", timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, live_server.url, "tz_creator", "pw-tz_creator")
        page.goto(f"{live_server.url}{claim.get_absolute_url()}")
        created = page.locator(".claim-byline time")
        iso = claim.created_at.astimezone(dt.UTC).isoformat(timespec="seconds")
        iso = iso.replace("+00:00", "Z")
        expect(created).to_have_attribute("datetime", iso)
        expect(created).to_have_attribute("title", iso)
        expect(created).to_contain_text("GMT+9")  # Tokyo: rewritten by workbench.js
        assert "UTC" not in created.inner_text()
        assert errors == []
    finally:
        context.close()
