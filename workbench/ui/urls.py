"""Every route of the reviewer web UI (namespace ``workbench``), by screen."""

from django.urls import path

from workbench.ui import account, importing, members, reading, reviewing, revisions

app_name = "workbench"

urlpatterns = [
    # projects and dashboard
    path("", reading.project_list, name="project-list"),
    path("projects/<slug:slug>/", reading.project_detail, name="project-detail"),
    # members and invitations
    path("projects/<slug:slug>/members/", members.project_members, name="project-members"),
    path(
        "projects/<slug:slug>/publishing/",
        members.project_publishing,
        name="project-publishing",
    ),
    path(
        "projects/<slug:slug>/evidence-policy/",
        members.project_evidence_policy,
        name="project-evidence-policy",
    ),
    path(
        "projects/<slug:slug>/invitations/<int:pk>/revoke/",
        members.invitation_revoke,
        name="invitation-revoke",
    ),
    path("invitations/", members.invitation_list, name="invitation-list"),
    path("invitations/<int:pk>/accept/", members.invitation_accept, name="invitation-accept"),
    path("invitations/<int:pk>/decline/", members.invitation_decline, name="invitation-decline"),
    # documents and the reader
    path("projects/<slug:slug>/documents/", reading.document_list, name="document-list"),
    path("projects/<slug:slug>/import/", importing.document_import, name="document-import"),
    path("documents/<int:pk>/", reading.document_detail, name="document-detail"),
    path("documents/<int:pk>/claims/new/", reading.claim_create, name="claim-create"),
    # revisions and re-anchoring
    path("documents/<int:pk>/revise/", revisions.document_revise, name="document-revise"),
    path("documents/<int:pk>/revisions/", revisions.document_revisions, name="document-revisions"),
    path(
        "documents/<int:pk>/revisions/<int:number>/",
        revisions.document_revision,
        name="document-revision",
    ),
    path("documents/<int:pk>/orphans/", revisions.document_orphans, name="document-orphans"),
    path("claims/<int:pk>/reanchor/find/", revisions.reanchor_find, name="claim-reanchor-find"),
    path("claims/<int:pk>/reanchor/", revisions.claim_reanchor, name="claim-reanchor"),
    # the claim page
    path("claims/<int:pk>/", reviewing.claim_detail, name="claim-detail"),
    path("claims/<int:pk>/edit/", reviewing.claim_edit, name="claim-edit"),
    path("claims/<int:pk>/revise/", reviewing.claim_revise, name="claim-revise"),
    path("claims/<int:pk>/verdict/", reviewing.verdict_submit, name="verdict-submit"),
    path("claims/<int:pk>/citation-row/", reviewing.citation_row, name="citation-row"),
    path("claims/<int:pk>/sources/", reviewing.source_search, name="source-search"),
    # the review queue
    path("projects/<slug:slug>/review-next/", reviewing.queue_next, name="queue-next"),
    path("claims/<int:pk>/release/", reviewing.lease_release, name="lease-release"),
    path("claims/<int:pk>/skip/", reviewing.claim_skip, name="claim-skip"),
    # editors
    path("projects/<slug:slug>/disputes/", reviewing.disputes, name="disputes"),
    path("claims/<int:pk>/adjudicate/", reviewing.claim_adjudicate, name="claim-adjudicate"),
    path("claims/<int:pk>/reopen/", reviewing.claim_reopen, name="claim-reopen"),
    path("claims/<int:pk>/publish/", reviewing.claim_publish, name="claim-publish"),
    path("claims/<int:pk>/correct/", reviewing.claim_correct, name="claim-correct"),
    path("claims/<int:pk>/retract/", reviewing.claim_retract, name="claim-retract"),
    # the user's own account: API tokens, signing out everywhere
    path("account/tokens/", account.tokens, name="tokens"),
    path("account/tokens/<str:digest>/revoke/", account.token_revoke, name="token-revoke"),
    path(
        "account/sign-out-everywhere/",
        account.sign_out_everywhere,
        name="sign-out-everywhere",
    ),
]
