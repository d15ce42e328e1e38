"""``citation|citation_evidence``: a citation's quote status, snapshot and source flag
(``selectors.citation_evidence``, no query: the selectors load them with the citation)."""

from __future__ import annotations

from django import template

from annotations import selectors
from annotations.models import Citation

register = template.Library()


@register.filter
def citation_evidence(citation: Citation) -> selectors.CitationEvidence:
    return selectors.citation_evidence(citation)
