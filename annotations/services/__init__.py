"""Every write of the workbench.

Each service takes keyword-only arguments, runs in ``transaction.atomic()``, validates
before it writes (raising ``django.core.exceptions.ValidationError`` with a message per
field, in which case nothing is written) and records an ``Event`` in the same
transaction. The UI, the admin, the API and the management commands all call these,
as ``services.<name>``; the modules group them by subject.
"""

from annotations.services import limits
from annotations.services._base import QueueConflict, event_record, now
from annotations.services.claims import (
    DuplicateClaim,
    StaleVersion,
    claim_create,
    claim_duplicate_of,
    claim_revise,
    claim_update,
)
from annotations.services.documents import (
    DocumentInput,
    document_create,
    document_create_many,
    document_update,
)
from annotations.services.evidence import (
    snapshot_from_response,
    snapshot_request,
    snapshot_take,
    source_check,
    sources_check,
    sources_check_sweep,
    verdict_evidence,
)
from annotations.services.idempotency import (
    IdempotentRequest,
    KeyInProgress,
    KeyReused,
    Replay,
    StoredAnswer,
    idempotency_dry_run,
    idempotency_keys_purge,
    idempotency_run,
    idempotency_stored,
)
from annotations.services.invitations import (
    InvitationClosed,
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_revoke,
)
from annotations.services.leases import claim_skip, lease_next, lease_release
from annotations.services.native_import import document_import_native
from annotations.services.native_restore import project_restore_native
from annotations.services.projects import (
    DEFAULT_SCALE,
    LAST_ADMIN,
    member_add,
    member_changes_check,
    member_remove,
    project_create,
    project_update,
)
from annotations.services.publishing import claim_correct, claim_retract
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
from annotations.services.tokens import (
    IssuedToken,
    SignOutReport,
    sign_out_everywhere,
    token_create,
    token_id,
    token_revoke,
    token_ttl,
    tokens_for_user,
    tokens_revoke_all,
)
from annotations.services.verdicts import CitationInput, verdict_submit
from annotations.services.webhooks import (
    IssuedEndpoint,
    webhook_attempt,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate,
    webhook_endpoint_update,
    webhook_replay,
    webhooks_enqueue,
    webhooks_sweep,
)

__all__ = [
    "DEFAULT_SCALE",
    "LAST_ADMIN",
    "CitationInput",
    "ClaimPlacement",
    "DocumentInput",
    "DuplicateClaim",
    "IdempotentRequest",
    "InvitationClosed",
    "IssuedEndpoint",
    "IssuedToken",
    "KeyInProgress",
    "KeyReused",
    "QueueConflict",
    "Replay",
    "RevisionReport",
    "SignOutReport",
    "StaleVersion",
    "StoredAnswer",
    "claim_adjudicate",
    "claim_correct",
    "claim_create",
    "claim_duplicate_of",
    "claim_publish",
    "claim_reanchor",
    "claim_reopen",
    "claim_retract",
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
    "idempotency_dry_run",
    "idempotency_keys_purge",
    "idempotency_run",
    "idempotency_stored",
    "invitation_accept",
    "invitation_create",
    "invitation_decline",
    "invitation_revoke",
    "lease_next",
    "lease_release",
    "limits",
    "member_add",
    "member_changes_check",
    "member_remove",
    "now",
    "project_create",
    "project_restore_native",
    "project_update",
    "rating_create",
    "rating_delete",
    "rating_update",
    "ratings_delete_check",
    "sign_out_everywhere",
    "snapshot_from_response",
    "snapshot_request",
    "snapshot_take",
    "source_check",
    "source_fetch_metadata",
    "source_get_or_create",
    "source_update",
    "sources_check",
    "sources_check_sweep",
    "token_create",
    "token_id",
    "token_revoke",
    "token_ttl",
    "tokens_for_user",
    "tokens_revoke_all",
    "verdict_evidence",
    "verdict_submit",
    "webhook_attempt",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_rotate",
    "webhook_endpoint_update",
    "webhook_replay",
    "webhooks_enqueue",
    "webhooks_sweep",
]
