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
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from annotations.services import storable_text_errors


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


def refuse_unstorable(request: HttpRequest, *forms: Form) -> bool:
    """Put an error on each field of ``forms`` whose posted bytes are not UTF-8 text, as
    the services' storable-text check words it (``services.storable_text_errors``: "Is not
    valid Unicode text: lone surrogate U+D800 at position 4."); True if any was found.

    Django reads such bytes in a form body as U+FFFD, so a value the API refuses with a
    400 (a JSON ``"\ud800"``) was stored by a form as if typed. Only a crafted body has
    them: a browser sends U+FFFD itself for a lone surrogate, which is text like any
    other. The body is read again, each key and value as the bytes it spells: ED A0 80
    (how a lone surrogate is written as UTF-8-like bytes) is that surrogate, any other
    undecodable byte an escaped one (U+DC80..U+DCFF). A field no form has, or an
    undecodable name, is an error of the first form. Form bodies only (Django has
    already decoded a multipart one, which the UI's forms do not send)."""
    if request.method != "POST" or request.content_type != "application/x-www-form-urlencoded":
        return False
    if (request.encoding or settings.DEFAULT_CHARSET).lower().replace("_", "-") != "utf-8":
        return False
    try:
        parse_qsl(request.body.decode(), keep_blank_values=True, errors="strict")
        return False  # the usual case: the whole body is UTF-8 text
    except UnicodeDecodeError:
        pass
    # Latin-1 maps every byte to the code point of its value, so each key and value
    # below spells exactly its bytes (as a percent-escape or raw).
    pairs = parse_qsl(request.body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    fields = {form.add_prefix(name): (form, name) for form in forms for name in form.fields}
    found = False
    for key, value in pairs:
        problems = storable_text_errors(name=_bytes_as_text(key), value=_bytes_as_text(value))
        if not problems:
            continue
        found = True
        target, field = (
            (forms[0], None) if "name" in problems else fields.get(key, (forms[0], None))
        )
        for reasons in problems.values():
            target.add_error(field, reasons)
    return found


def _bytes_as_text(spelled: str) -> str:
    """The text of the bytes ``spelled`` (one code point per byte) read as UTF-8, with a
    lone surrogate's ED A0 80 kept as that surrogate, and any other undecodable byte as
    an escaped one: what ``storable_text_errors`` then names."""
    raw = spelled.encode("latin-1")
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape")


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
