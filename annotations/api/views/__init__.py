"""REST API views (``/api/v1/``). Thin: parse, call a selector or a service, serialize.

Every object is looked up through the caller's memberships (``annotations.access``): a
non-member gets 404, a member without the needed role 403. Objects named in a request
*body* that the caller cannot see are a 400 on that field, never a hint they exist.
One module per resource; ``urls.py`` names the views as ``views.<Name>``.
"""

from annotations.api.views.auth import TokenApi, TokensApi
from annotations.api.views.calibration import ClaimGoldApi, ProjectReviewersApi
from annotations.api.views.claims import (
    ClaimDetailApi,
    ClaimListApi,
    ClaimReanchorApi,
    ClaimReviseApi,
)
from annotations.api.views.documents import (
    DocumentDetailApi,
    DocumentListApi,
    DocumentRevisionDetailApi,
    DocumentRevisionsApi,
)
from annotations.api.views.exports import DocumentExportApi, ProjectAuditApi, ProjectExportApi
from annotations.api.views.invitations import (
    InvitationAcceptApi,
    InvitationDeclineApi,
    InvitationListApi,
    ProjectInvitationRevokeApi,
    ProjectInvitationsApi,
)
from annotations.api.views.projects import (
    ProjectAgreementApi,
    ProjectDetailApi,
    ProjectListApi,
    ProjectMembersApi,
)
from annotations.api.views.review import (
    ClaimAdjudicateApi,
    ClaimAssignApi,
    ClaimConsensusApi,
    ClaimCorrectApi,
    ClaimLeaseApi,
    ClaimPublicationsApi,
    ClaimPublishApi,
    ClaimReleaseApi,
    ClaimReopenApi,
    ClaimRetractApi,
    ClaimScheduleApi,
    ClaimSkipApi,
    ClaimUnassignApi,
    ClaimVerdictsApi,
    ClaimWithdrawApi,
    QueueNextApi,
)
from annotations.api.views.webhooks import (
    WebhookDeliveriesApi,
    WebhookDeliveryReplayApi,
    WebhookEndpointDetailApi,
    WebhookEndpointRotateApi,
    WebhookEndpointsApi,
)

__all__ = [
    "ClaimAdjudicateApi",
    "ClaimAssignApi",
    "ClaimConsensusApi",
    "ClaimCorrectApi",
    "ClaimDetailApi",
    "ClaimGoldApi",
    "ClaimLeaseApi",
    "ClaimListApi",
    "ClaimPublicationsApi",
    "ClaimPublishApi",
    "ClaimReanchorApi",
    "ClaimReleaseApi",
    "ClaimReopenApi",
    "ClaimRetractApi",
    "ClaimReviseApi",
    "ClaimScheduleApi",
    "ClaimSkipApi",
    "ClaimUnassignApi",
    "ClaimVerdictsApi",
    "ClaimWithdrawApi",
    "DocumentDetailApi",
    "DocumentExportApi",
    "DocumentListApi",
    "DocumentRevisionDetailApi",
    "DocumentRevisionsApi",
    "InvitationAcceptApi",
    "InvitationDeclineApi",
    "InvitationListApi",
    "ProjectAgreementApi",
    "ProjectAuditApi",
    "ProjectDetailApi",
    "ProjectExportApi",
    "ProjectInvitationRevokeApi",
    "ProjectInvitationsApi",
    "ProjectListApi",
    "ProjectMembersApi",
    "ProjectReviewersApi",
    "QueueNextApi",
    "TokenApi",
    "TokensApi",
    "WebhookDeliveriesApi",
    "WebhookDeliveryReplayApi",
    "WebhookEndpointDetailApi",
    "WebhookEndpointRotateApi",
    "WebhookEndpointsApi",
]
