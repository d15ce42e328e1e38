from django.urls import path

from annotations.api import views
from annotations.api.views import claimants, discussion, evidence, imports, suggestions
from annotations.api.views import matching as matching_views

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenApi.as_view(), name="token"),
    path("auth/tokens/", views.TokensApi.as_view(), name="tokens"),
    path("projects/", views.ProjectListApi.as_view(), name="project-list"),
    path("projects/<int:pk>/", views.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<int:pk>/members/", views.ProjectMembersApi.as_view(), name="project-members"),
    path(
        "projects/<int:pk>/invitations/",
        views.ProjectInvitationsApi.as_view(),
        name="project-invitations",
    ),
    path(
        "projects/<int:pk>/invitations/<int:invitation_pk>/revoke/",
        views.ProjectInvitationRevokeApi.as_view(),
        name="project-invitation-revoke",
    ),
    path("invitations/", views.InvitationListApi.as_view(), name="invitation-list"),
    path(
        "invitations/<int:pk>/accept/",
        views.InvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<int:pk>/decline/",
        views.InvitationDeclineApi.as_view(),
        name="invitation-decline",
    ),
    path(
        "projects/<int:pk>/agreement/",
        views.ProjectAgreementApi.as_view(),
        name="project-agreement",
    ),
    path(
        "projects/<int:pk>/reviewers/",
        views.ProjectReviewersApi.as_view(),
        name="project-reviewers",
    ),
    path("projects/<int:pk>/webhooks/", views.WebhookEndpointsApi.as_view(), name="webhook-list"),
    path(
        "projects/<int:pk>/webhooks/<int:endpoint_pk>/",
        views.WebhookEndpointDetailApi.as_view(),
        name="webhook-detail",
    ),
    path(
        "projects/<int:pk>/webhooks/<int:endpoint_pk>/rotate-secret/",
        views.WebhookEndpointRotateApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "projects/<int:pk>/webhooks/<int:endpoint_pk>/deliveries/",
        views.WebhookDeliveriesApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "projects/<int:pk>/webhooks/<int:endpoint_pk>/deliveries/<int:delivery_pk>/replay/",
        views.WebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
    path(
        "projects/<int:pk>/references/",
        matching_views.ProjectReferencesApi.as_view(),
        name="project-references",
    ),
    path(
        "projects/<int:pk>/matches/",
        matching_views.ProjectMatchesApi.as_view(),
        name="project-matches",
    ),
    path("claims/<int:pk>/links/", matching_views.ClaimLinksApi.as_view(), name="claim-links"),
    path(
        "claims/<int:pk>/links/<int:link_pk>/",
        matching_views.ClaimLinkDetailApi.as_view(),
        name="claim-link-detail",
    ),
    path(
        "documents/<int:pk>/repeats/",
        matching_views.DocumentRepeatsApi.as_view(),
        name="document-repeats",
    ),
    path("projects/<int:pk>/export/", views.ProjectExportApi.as_view(), name="project-export"),
    path("projects/<int:pk>/audit.jsonl", views.ProjectAuditApi.as_view(), name="project-audit"),
    path("documents/", views.DocumentListApi.as_view(), name="document-list"),
    path("documents/preview/", imports.DocumentPreviewApi.as_view(), name="document-preview"),
    path("documents/import/", imports.DocumentImportApi.as_view(), name="document-import"),
    path("documents/<int:pk>/", views.DocumentDetailApi.as_view(), name="document-detail"),
    path("documents/<int:pk>/export/", views.DocumentExportApi.as_view(), name="document-export"),
    path(
        "documents/<int:pk>/revisions/",
        views.DocumentRevisionsApi.as_view(),
        name="document-revisions",
    ),
    path(
        "documents/<int:pk>/revisions/<int:number>/",
        views.DocumentRevisionDetailApi.as_view(),
        name="document-revision-detail",
    ),
    path(
        "documents/<int:pk>/suggestions/",
        suggestions.DocumentSuggestionsApi.as_view(),
        name="document-suggestions",
    ),
    path(
        "documents/<int:pk>/suggestions/accept/",
        suggestions.DocumentSuggestionAcceptApi.as_view(),
        name="document-suggestion-accept",
    ),
    path(
        "documents/<int:pk>/suggestions/dismiss/",
        suggestions.DocumentSuggestionDismissApi.as_view(),
        name="document-suggestion-dismiss",
    ),
    path("claims/<int:pk>/reanchor/", views.ClaimReanchorApi.as_view(), name="claim-reanchor"),
    path("claims/<int:pk>/revise/", views.ClaimReviseApi.as_view(), name="claim-revise"),
    path("claims/", views.ClaimListApi.as_view(), name="claim-list"),
    path("claims/<int:pk>/", views.ClaimDetailApi.as_view(), name="claim-detail"),
    path("claims/<int:pk>/release/", views.ClaimReleaseApi.as_view(), name="claim-release"),
    path("claims/<int:pk>/skip/", views.ClaimSkipApi.as_view(), name="claim-skip"),
    path("claims/<int:pk>/lease/", views.ClaimLeaseApi.as_view(), name="claim-lease"),
    path("claims/<int:pk>/assign/", views.ClaimAssignApi.as_view(), name="claim-assign"),
    path(
        "claims/<int:pk>/assign/<str:username>/",
        views.ClaimUnassignApi.as_view(),
        name="claim-unassign",
    ),
    path("claims/<int:pk>/schedule/", views.ClaimScheduleApi.as_view(), name="claim-schedule"),
    path("claims/<int:pk>/verdicts/", views.ClaimVerdictsApi.as_view(), name="claim-verdicts"),
    path("claims/<int:pk>/consensus/", views.ClaimConsensusApi.as_view(), name="claim-consensus"),
    path("claims/<int:pk>/gold/", views.ClaimGoldApi.as_view(), name="claim-gold"),
    path(
        "claims/<int:pk>/adjudicate/", views.ClaimAdjudicateApi.as_view(), name="claim-adjudicate"
    ),
    path("claims/<int:pk>/reopen/", views.ClaimReopenApi.as_view(), name="claim-reopen"),
    path("claims/<int:pk>/publish/", views.ClaimPublishApi.as_view(), name="claim-publish"),
    path("claims/<int:pk>/correct/", views.ClaimCorrectApi.as_view(), name="claim-correct"),
    path("claims/<int:pk>/retract/", views.ClaimRetractApi.as_view(), name="claim-retract"),
    path(
        "claims/<int:pk>/publications/",
        views.ClaimPublicationsApi.as_view(),
        name="claim-publications",
    ),
    path("claims/<int:pk>/comments/", discussion.ClaimCommentsApi.as_view(), name="claim-comments"),
    path(
        "claims/<int:pk>/comments/<int:comment_pk>/withdraw/",
        discussion.ClaimCommentWithdrawApi.as_view(),
        name="claim-comment-withdraw",
    ),
    path("notifications/", discussion.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/read-all/",
        discussion.NotificationReadAllApi.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/settings/",
        discussion.NotificationSettingsApi.as_view(),
        name="notification-settings",
    ),
    path(
        "notifications/<int:pk>/read/",
        discussion.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path("claims/<int:pk>/withdraw/", views.ClaimWithdrawApi.as_view(), name="claim-withdraw"),
    path(
        "sources/<int:pk>/fetch-metadata/",
        imports.SourceFetchMetadataApi.as_view(),
        name="source-fetch-metadata",
    ),
    path(
        "sources/<int:pk>/snapshots/",
        evidence.SourceSnapshotsApi.as_view(),
        name="source-snapshots",
    ),
    path("snapshots/<int:pk>/", evidence.SnapshotDetailApi.as_view(), name="snapshot-detail"),
    path("snapshots/<int:pk>/warc/", evidence.SnapshotWarcApi.as_view(), name="snapshot-warc"),
    path("queue/next/", views.QueueNextApi.as_view(), name="queue-next"),
    path(
        "projects/<int:pk>/claimants/",
        claimants.ProjectClaimantsApi.as_view(),
        name="claimant-list",
    ),
    path(
        "projects/<int:pk>/claimants/suggest/",
        claimants.ProjectClaimantSuggestApi.as_view(),
        name="claimant-suggest",
    ),
    path("claimants/<int:pk>/", claimants.ClaimantDetailApi.as_view(), name="claimant-detail"),
    path(
        "claimants/<int:pk>/aliases/",
        claimants.ClaimantAliasesApi.as_view(),
        name="claimant-aliases",
    ),
    path(
        "claimants/<int:pk>/aliases/<int:alias_pk>/",
        claimants.ClaimantAliasDetailApi.as_view(),
        name="claimant-alias-detail",
    ),
    path("claimants/<int:pk>/merge/", claimants.ClaimantMergeApi.as_view(), name="claimant-merge"),
]
