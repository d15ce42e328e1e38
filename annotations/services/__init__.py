"""Every write of the workbench.

Each service takes keyword-only arguments, runs in ``transaction.atomic()``, validates
before it writes (raising ``django.core.exceptions.ValidationError`` with a message per
field, in which case nothing is written) and records an ``Event`` in the same
transaction. The UI, the admin, the API and the management commands all call these,
as ``services.<name>``; the modules group them by subject.
"""

from annotations.services import limits
from annotations.services._base import QueueConflict, event_record, now
from annotations.services.claims import StaleVersion, claim_create, claim_revise, claim_update
from annotations.services.documents import (
    DocumentInput,
    document_create,
    document_create_many,
    document_update,
)
from annotations.services.leases import claim_skip, lease_next, lease_release
from annotations.services.native_import import document_import_native
from annotations.services.projects import (
    DEFAULT_SCALE,
    LAST_ADMIN,
    member_add,
    member_changes_check,
    member_remove,
    project_create,
    project_update,
)
from annotations.services.ratings import (
    rating_create,
    rating_delete,
    rating_update,
    ratings_delete_check,
)
from annotations.services.review import (
    claim_adjudicate,
    claim_publish,
    claim_reopen,
    claim_transition,
    claim_withdraw,
    consensus_recompute,
)
from annotations.services.revisions import (
    ClaimPlacement,
    RevisionReport,
    claim_reanchor,
    document_revise,
)
from annotations.services.sources import (
    source_fetch_metadata,
    source_get_or_create,
    source_update,
)
from annotations.services.verdicts import CitationInput, verdict_submit

__all__ = [
    "DEFAULT_SCALE",
    "LAST_ADMIN",
    "CitationInput",
    "ClaimPlacement",
    "DocumentInput",
    "QueueConflict",
    "RevisionReport",
    "StaleVersion",
    "claim_adjudicate",
    "claim_create",
    "claim_publish",
    "claim_reanchor",
    "claim_reopen",
    "claim_revise",
    "claim_skip",
    "claim_transition",
    "claim_update",
    "claim_withdraw",
    "consensus_recompute",
    "document_create",
    "document_create_many",
    "document_import_native",
    "document_revise",
    "document_update",
    "event_record",
    "lease_next",
    "lease_release",
    "limits",
    "member_add",
    "member_changes_check",
    "member_remove",
    "now",
    "project_create",
    "project_update",
    "rating_create",
    "rating_delete",
    "rating_update",
    "ratings_delete_check",
    "source_fetch_metadata",
    "source_get_or_create",
    "source_update",
    "verdict_submit",
]
