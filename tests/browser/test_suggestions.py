"""The reader's "Suggested claims" panel in a real browser: htmx pulls it in, Accept creates
the claim on the sentence (CSRF from the body's hx-headers) and the reader shows it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Claim, Role
from tests.browser.conftest import login
from tests.browser.helpers import track_http_errors
from tests.factories import make_document, make_member, make_project, make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]

TEXT = "Good evening, everyone.\nUnemployment fell to 3.1 percent in 2019, the lowest since 1969.\n"


def test_accepting_a_suggestion_shows_the_claim_in_the_reader(live_server, new_page) -> None:
    owner = make_user("owner")
    project = make_project(creator=owner, name="Triage desk")
    reviewer = make_member(project, "rita", Role.REVIEWER)
    document = make_document(project=project, actor=owner, text=TEXT, title="Speech")
    page = new_page()
    page.http_errors = track_http_errors(page)
    login(page, live_server.url, reviewer.username, "pw-rita")
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    first = page.locator("#suggestions .suggestion-item").first
    expect(first).to_contain_text("Unemployment fell to 3.1 percent")
    expect(first).to_contain_text("score")
    first.get_by_role("button", name="Accept").click()
    expect(page.locator("#claim-items")).to_contain_text("Unemployment fell")
    claim = Claim.objects.get(document=document)
    sentence = "Unemployment fell to 3.1 percent in 2019, the lowest since 1969."
    assert (claim.start, claim.end, claim.exact) == (
        TEXT.index(sentence),
        TEXT.index(sentence) + len(sentence),
        sentence,
    )
    # The panel came back with the reader and no longer offers the claimed sentence.
    expect(page.locator("#suggestions")).not_to_contain_text("Unemployment fell")
    assert page.js_errors == [], page.js_errors
    assert page.http_errors == [], page.http_errors
