"""Reviewer web UI: a document's language and writing direction (editors change them).

The reader shows both (``_document_language.html``, included by the document page) and
puts them on the text as ``lang``/``dir``; the form here writes through
``services.document_update``, which checks the BCP 47 tag and records the change.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from annotations import access, services
from annotations.models import Document, Role, TextDirection
from annotations.services import limits
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, redirect_to

LANGUAGE_PAGE = "workbench/document_language.html"
FROM_LANGUAGE = ""  # the direction choice "as the language implies"


class DocumentLanguageForm(forms.Form):
    language = forms.CharField(
        required=False,
        max_length=limits.MAX_LANGUAGE,
        label="Language",
        help_text="A BCP 47 tag: en, ar, he, fa, zh-Hans, ja, pt-BR… Empty if not known.",
    )
    direction = forms.ChoiceField(
        required=False,
        label="Direction",
        choices=[(FROM_LANGUAGE, "As the language implies"), *TextDirection.choices],
        help_text="Right to left for Arabic, Hebrew, Persian, Urdu…; “from the text” lets "
        "the browser go by the first letters.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def document_language(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the form (editors). POST: change the language and direction
    (``services.document_update``) and go back to the reader."""
    document, _ = access.document_get_for_user(
        user=request.user, pk=pk, with_text=False, role=Role.EDITOR
    )
    if request.method == "GET":
        form = DocumentLanguageForm(
            initial={"language": document.language, "direction": document.direction}
        )
    else:
        form = DocumentLanguageForm(request.POST)
        if form.is_valid():
            try:
                updated = services.document_update(
                    document=document, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, _saved(updated))
                return redirect_to(request, document.get_absolute_url())
    context = {"document": document, "project": document.project, "form": form}
    return render(request, LANGUAGE_PAGE, context, status=422 if form.errors else 200)


def _saved(document: Document) -> str:
    language = document.language or "not known"
    return f"Language: {language}; direction: {document.get_direction_display().lower()}."
