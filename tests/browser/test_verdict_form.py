"""The verdict form in a real browser: a double click on its submit button posts it once
(htmx disables the form's submit buttons while the post is in flight: ``hx-disabled-elt``
on the form, no script of ours)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations import services
from annotations.models import Event, Role, Verdict
from tests.browser.conftest import login
from tests.browser.helpers import track_http_errors
from tests.factories import make_claim, make_document, make_member, make_project, make_user

# On the load tests' worker, so never beside them: a machine they saturate stretches a
# browser's waits past their bounds (tests/browser/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("load")]


@pytest.mark.parametrize("button", ["Submit and review next", "Submit and stay"])
def test_a_double_click_on_submit_posts_the_verdict_once(live_server, new_page, button) -> None:
    owner = make_user("owner")
    project = make_project(creator=owner, name="Desk")
    reviewer = make_member(project, "rita", Role.REVIEWER)
    document = make_document(project=project, actor=owner)
    claim = make_claim(document=document, actor=owner, start=0, end=20)
    services.lease_next(reviewer=reviewer, project=project)
    page = new_page()
    http_errors = track_http_errors(page)
    login(page, live_server.url, "rita", "pw-rita")
    posts: list[str] = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith(f"/claims/{claim.pk}/verdict/")
            else None
        ),
    )
    page.goto(f"{live_server.url}{claim.get_absolute_url()}")
    form = page.locator("#verdict-form")
    form.locator('input[name="rating"][value="false"]').check()
    form.get_by_label("Rationale").fill("The office's figures show a 12% fall.")
    form.get_by_role("button", name=button).dblclick()
    if button == "Submit and stay":
        expect(page.locator("#review-panel")).to_contain_text("Your verdict is recorded.")
    else:
        # Nothing else to review: the queue's empty page, by HX-Redirect.
        page.wait_for_url(f"{live_server.url}/projects/{project.slug}/review-next/empty/")
        expect(page.locator(".messages")).to_contain_text("Verdict saved on")
    assert len(posts) == 1, posts
    assert Verdict.objects.filter(claim=claim, reviewer=reviewer).count() == 1
    assert Event.objects.filter(verb__startswith="verdict.").count() == 1
    assert page.js_errors == [], page.js_errors
    assert http_errors == [], http_errors
