"""Reviewer web UI, the signed-in user's own account: API tokens and signing out everywhere.

* ``tokens`` lists the user's live tokens (id, created, expiry: never the secret, which is
  not stored) and makes a new one on POST. The secret is in that one response only: not
  in the session, not in a message, not in a redirect (``Cache-Control: no-store`` like
  every signed-in page, and htmx keeps no history cache).
* ``token_revoke`` revokes one of the user's tokens; anyone else's is a 404.
* ``sign_out_everywhere`` revokes every token and ends every other session of the user;
  this browser's session stays, under a new key.

Writes go through ``annotations.services.tokens``, which records the events.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotations import services
from workbench.ui.htmx import HtmxHttpRequest, redirect_to, render_page_or_partial

TEMPLATE = "workbench/tokens.html"
PANEL = "token-panel"
# A token's digest (SHA-512, hex): anything else is a 404 before any query.
DIGEST = re.compile(r"[0-9a-f]{128}")


def _context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    ttl = services.token_ttl()
    return {
        "tokens": [
            {"id": services.token_id(token), "digest": token.digest, "token": token}
            for token in services.tokens_for_user(user=request.user)
        ],
        "ttl_days": ttl.days if ttl else None,
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, TEMPLATE, _context(request))
    issued = services.token_create(user=request.user, actor=request.user, via="ui")
    context = _context(request, issued=issued, issued_id=services.token_id(issued.token))
    return render_page_or_partial(request, TEMPLATE, PANEL, context)


@login_required
@require_POST
def token_revoke(request: HtmxHttpRequest, digest: str) -> HttpResponse:
    token = (
        services.tokens_for_user(user=request.user).filter(digest=digest).first()
        if DIGEST.fullmatch(digest)
        else None
    )
    if token is None:
        raise Http404
    token_id = services.token_id(token)
    services.token_revoke(token=token, actor=request.user)
    notice = f"Token {token_id} revoked: it no longer works."
    if request.htmx:
        return render_page_or_partial(request, TEMPLATE, PANEL, _context(request), notice=notice)
    messages.success(request, notice)
    return redirect_to(request, reverse("workbench:tokens"))


@login_required
@require_POST
def sign_out_everywhere(request: HtmxHttpRequest) -> HttpResponse:
    report = services.sign_out_everywhere(
        user=request.user, actor=request.user, keep_session_key=request.session.session_key
    )
    # This browser stays signed in, under a new session key.
    request.session.cycle_key()
    messages.success(
        request,
        f"Signed out everywhere else: {report.tokens_revoked} API token(s) revoked, "
        f"{report.sessions_ended} other session(s) ended. This browser stays signed in.",
    )
    return redirect_to(request, reverse("workbench:tokens"))
