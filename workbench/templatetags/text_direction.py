"""``<blockquote{{ document|text_dir }}>``: a document's ``lang`` and ``dir`` attributes, for
the document's text and every quote from it (the claim page's span in context, the claim
form), so right-to-left text runs right to left and fonts and line breaking follow the
language. Text people type (statements) gets ``dir="auto"`` in the templates instead: its
language is not the document's necessarily."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def text_dir(document: object) -> SafeString:
    language = getattr(document, "language", "") or "und"
    direction = getattr(document, "direction", "") or "auto"
    return format_html(' lang="{}" dir="{}"', language, direction)
