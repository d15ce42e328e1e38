"""The API token page in a real browser: the header link, making a token with htmx (shown
once, copyable, working against the API), revoking it with htmx, and signing out
everywhere, which ends the user's session in another browser but not in this one. No
CSP violation, no script error, no failed request on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.browser.conftest import login, screenshot
from tests.browser.helpers import track_http_errors
from tests.factories import make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]


def _works(secret: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client.get("/api/v1/projects/").status_code == 200


def test_make_copy_revoke_and_sign_out_everywhere(live_server, new_page) -> None:
    make_user("scripter")
    page, laptop = new_page(), new_page()
    failures = track_http_errors(page)
    for browser_page in (page, laptop):
        login(browser_page, live_server.url, "scripter", "pw-scripter")

    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()

    page.get_by_role("button", name="Create a token").click()
    secret_field = page.locator("#new-token-secret")
    expect(secret_field).to_be_visible()
    secret = secret_field.input_value()
    assert len(secret) == 64
    assert _works(secret)
    expect(page.get_by_text("Your tokens (1)")).to_be_visible()
    page.get_by_role("button", name="Copy").click()  # selects the field, whatever the clipboard
    selected = page.evaluate(
        "() => { const f = document.getElementById('new-token-secret');"
        " return f.value.slice(f.selectionStart, f.selectionEnd); }"
    )
    assert selected == secret
    screenshot(page, "tokens")

    # Shown once: a reload lists the token by its id only.
    page.reload()
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("revoked: it no longer works")).to_be_visible()
    assert not _works(secret)

    page.get_by_role("button", name="Create a token").click()
    second = page.locator("#new-token-secret").input_value()
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("1 API token(s) revoked, 1 other session(s) ended")).to_be_visible()
    assert not _works(second)
    # This browser stays signed in; the other one is sent to the sign-in page.
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    laptop.goto(f"{live_server.url}/")
    assert "/accounts/login/" in laptop.url

    assert page.js_errors == [] and laptop.js_errors == []
    assert failures == []
