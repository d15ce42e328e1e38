"""Reads that cross relations or feed pages, the API and the export.

Access is checked first, in ``annotations.access`` (404 for non-members, blind review);
these compose what a page, an API answer or an export shows, with their
``select_related``/``prefetch_related``, in a number of queries that does not grow with
the rows. Grouped by subject: ``documents`` (reader, search, revisions, import),
``projects`` (dashboard, agreement), ``review`` (verdicts, claim page, disputes),
``export`` (native JSON, streamed project rows, ClaimReview and Web Annotation),
``audit`` (the hash chains) and ``integrity`` (the invariants ``check_integrity`` scans).
Callers use them as ``selectors.<name>``.
"""

from annotations.selectors.audit import (
    audit_chains,
    audit_entries,
    audit_head,
    audit_rows,
    audit_verify,
)
from annotations.selectors.documents import (
    SEARCH_CONFIG,
    PlacementRow,
    claim_previous_anchor,
    claims_for_reader,
    claims_needing_review,
    claims_orphaned,
    document_duplicate_get,
    document_revision_get,
    document_revisions_list,
    document_search_for_user,
    document_text_window,
    documents_recent_for_project,
    revision_placements,
)
from annotations.selectors.export import (
    document_claimreview,
    document_native,
    document_web_annotations,
    project_row_querysets,
    project_rows,
)
from annotations.selectors.export_v2 import project_native
from annotations.selectors.projects import (
    AgreementReport,
    ProjectDashboard,
    RatingCount,
    ReviewerAgreement,
    StatusCount,
    agreement_report,
    project_dashboard_get,
    project_summaries_for_user,
)
from annotations.selectors.review import (
    ClaimReview,
    DisputeCard,
    claim_review_get,
    claims_with_consensus,
    consensus_history,
    dispute_card,
    dispute_card_get,
    dispute_cards_for_editor,
    lease_held_by,
    ratings_for_project,
    sources_search_for_user,
    verdicts_visible_to,
)

__all__ = [
    "SEARCH_CONFIG",
    "AgreementReport",
    "ClaimReview",
    "DisputeCard",
    "PlacementRow",
    "ProjectDashboard",
    "RatingCount",
    "ReviewerAgreement",
    "StatusCount",
    "agreement_report",
    "audit_chains",
    "audit_entries",
    "audit_head",
    "audit_rows",
    "audit_verify",
    "claim_previous_anchor",
    "claim_review_get",
    "claims_for_reader",
    "claims_needing_review",
    "claims_orphaned",
    "claims_with_consensus",
    "consensus_history",
    "dispute_card",
    "dispute_card_get",
    "dispute_cards_for_editor",
    "document_claimreview",
    "document_duplicate_get",
    "document_native",
    "document_revision_get",
    "document_revisions_list",
    "document_search_for_user",
    "document_text_window",
    "document_web_annotations",
    "documents_recent_for_project",
    "lease_held_by",
    "project_dashboard_get",
    "project_native",
    "project_row_querysets",
    "project_rows",
    "project_summaries_for_user",
    "ratings_for_project",
    "revision_placements",
    "sources_search_for_user",
    "verdicts_visible_to",
]
