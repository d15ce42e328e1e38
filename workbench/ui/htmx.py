"""What every reviewer-UI view shares about htmx and forms: the typed request, "does this
request want a fragment", putting a service's ValidationError on a form, redirecting a
browser or htmx, and rendering a page or one of its ``{% partialdef %}`` fragments.

Fragments answer 200 even when a form is refused: htmx 2 does not swap 4xx responses by
default and the shared ``htmx-config`` keeps that default, so the refused form must come
back as a 200 to be shown. A plain browser POST with errors gets the full page with the
status the view asks for (422, 409).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """An htmx request that is not a history restore. After ``hx-push-url`` the back button
    may ask for the URL again with ``HX-History-Restore-Request``, and then htmx needs the
    whole page, not the fragment."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def attach_errors(form: Form, exc: ValidationError, *, non_field: tuple[str, ...] = ()) -> None:
    """Put a service's ValidationError on the form: on the field where the form has one of
    that name (unless it is listed in ``non_field``), else as a non-field error (model-level
    errors, or fields the form shows elsewhere)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for name, field_messages in errors.items():
        known = name in form.fields and name not in non_field
        form.add_error(name if known else None, field_messages)


def redirect_to(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Post/redirect/get for a browser; for htmx a client redirect (``HX-Redirect``), since
    the whole page changes."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def render_page_or_partial(
    request: HtmxHttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    *,
    notice: str = "",
    level: int = messages.INFO,
    status: int = 200,
) -> HttpResponse:
    """The whole page with ``status`` and the ``notice`` as a message, or for htmx the
    ``partial`` (always 200, see above) with the notice inside it: a fragment has no
    message area, so templates show ``notice``/``notice_level`` in the fragment."""
    if request.htmx:
        context |= {"notice": notice, "notice_level": messages.DEFAULT_TAGS.get(level, "info")}
        return render(request, f"{template}#{partial}", context)
    if notice:
        messages.add_message(request, level, notice)
    return render(request, template, context, status=status)
