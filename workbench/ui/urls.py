"""Every route of the reviewer web UI (namespace ``workbench``), by screen."""

from django.urls import path

from workbench.ui import (
    account,
    calibration,
    claimants,
    directing,
    discussion,
    evidence,
    exporting,
    finding,
    importing,
    language,
    live,
    members,
    reading,
    reviewing,
    revisions,
    suggestions,
)

app_name = "workbench"

urlpatterns = [
    # projects and dashboard
    path("", reading.project_list, name="project-list"),
    path("projects/<slug:slug>/", reading.project_detail, name="project-detail"),
    # export downloads (the Export menus of the dashboard and the document page)
    path(
        "projects/<slug:slug>/export/<str:fmt>/",
        exporting.project_export,
        name="project-export",
    ),
    path("documents/<int:pk>/export/<str:fmt>/", exporting.document_export, name="document-export"),
    # live updates: the change feed as server-sent events, and as JSON for polling
    path("projects/<slug:slug>/live/events/", live.live_events, name="live-events"),
    path("projects/<slug:slug>/live/changes/", live.live_changes, name="live-changes"),
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
    path(
        "documents/<int:pk>/suggestions/",
        suggestions.document_suggestions,
        name="document-suggestions",
    ),
    path(
        "documents/<int:pk>/suggestions/accept/",
        suggestions.suggestion_accept,
        name="suggestion-accept",
    ),
    path(
        "documents/<int:pk>/suggestions/dismiss/",
        suggestions.suggestion_dismiss,
        name="suggestion-dismiss",
    ),
    # revisions and re-anchoring
    path("documents/<int:pk>/revise/", revisions.document_revise, name="document-revise"),
    path("documents/<int:pk>/language/", language.document_language, name="document-language"),
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
    path("claims/<int:pk>/withdraw/", reviewing.claim_withdraw, name="claim-withdraw"),
    path("claims/<int:pk>/verdict/", reviewing.verdict_submit, name="verdict-submit"),
    path("claims/<int:pk>/citation-row/", reviewing.citation_row, name="citation-row"),
    path("claims/<int:pk>/sources/", reviewing.source_search, name="source-search"),
    path(
        "claims/<int:claim_pk>/sources/<int:pk>/snapshot/",
        evidence.source_snapshot,
        name="source-snapshot",
    ),
    path("snapshots/<int:pk>/", evidence.snapshot_detail, name="snapshot-detail"),
    path("snapshots/<int:pk>/warc/", evidence.snapshot_warc, name="snapshot-warc"),
    # the claim's discussion
    path("claims/<int:pk>/comments/", discussion.comment_create, name="comment-create"),
    path(
        "claims/<int:pk>/comments/<int:comment_pk>/withdraw/",
        discussion.comment_withdraw,
        name="comment-withdraw",
    ),
    # the review queue
    path("projects/<slug:slug>/review-next/", reviewing.queue_next, name="queue-next"),
    path("projects/<slug:slug>/review-next/empty/", reviewing.queue_empty, name="queue-empty"),
    path("claims/<int:pk>/release/", reviewing.lease_release, name="lease-release"),
    path("claims/<int:pk>/skip/", reviewing.claim_skip, name="claim-skip"),
    path("claims/<int:pk>/take/", directing.claim_take, name="claim-take"),
    # editors directing the queue
    path("claims/<int:pk>/schedule/", directing.claim_schedule, name="claim-schedule"),
    path("claims/<int:pk>/assign/", directing.claim_assign, name="claim-assign"),
    path(
        "claims/<int:pk>/assign/<str:username>/remove/",
        directing.claim_unassign,
        name="claim-unassign",
    ),
    # editors
    path("projects/<slug:slug>/disputes/", reviewing.disputes, name="disputes"),
    path("projects/<slug:slug>/reviewers/", calibration.reviewer_stats, name="project-reviewers"),
    path(
        "projects/<slug:slug>/reviewers.csv",
        calibration.reviewer_stats_csv,
        name="project-reviewers-csv",
    ),
    path("projects/<slug:slug>/gold-rate/", members.project_gold_rate, name="project-gold-rate"),
    path(
        "projects/<slug:slug>/review-policy/",
        members.project_review_policy,
        name="project-review-policy",
    ),
    path("claims/<int:pk>/adjudicate/", reviewing.claim_adjudicate, name="claim-adjudicate"),
    path("claims/<int:pk>/reopen/", reviewing.claim_reopen, name="claim-reopen"),
    path("claims/<int:pk>/publish/", reviewing.claim_publish, name="claim-publish"),
    path("claims/<int:pk>/gold/", reviewing.claim_gold, name="claim-gold"),
    path("claims/<int:pk>/correct/", reviewing.claim_correct, name="claim-correct"),
    path("claims/<int:pk>/retract/", reviewing.claim_retract, name="claim-retract"),
    # the claimant registry
    path("projects/<slug:slug>/claimants/", claimants.claimant_list, name="claimant-list"),
    path("claimants/<int:pk>/", claimants.claimant_detail, name="claimant-detail"),
    path("claimants/<int:pk>/edit/", claimants.claimant_edit, name="claimant-edit"),
    path("claimants/<int:pk>/aliases/", claimants.claimant_alias_add, name="claimant-alias-add"),
    path(
        "claimants/<int:pk>/aliases/<int:alias_pk>/remove/",
        claimants.claimant_alias_remove,
        name="claimant-alias-remove",
    ),
    path("claimants/<int:pk>/merge/", claimants.claimant_merge, name="claimant-merge"),
    # finding claims: references, matches, links, repeats
    path("projects/<slug:slug>/references/", finding.reference_list, name="reference-list"),
    path("projects/<slug:slug>/repeats/", finding.project_repeats, name="project-repeats"),
    path("documents/<int:pk>/matches/", finding.document_matches, name="document-matches"),
    path("documents/<int:pk>/repeats/", finding.document_repeats, name="document-repeats"),
    path("claims/<int:pk>/matches/", finding.claim_matches, name="claim-matches"),
    path("claims/<int:pk>/links/", finding.claim_link, name="claim-link"),
    path(
        "claims/<int:pk>/links/<int:link_pk>/",
        finding.claim_link_decide,
        name="claim-link-decide",
    ),
    # notifications
    path("notifications/", discussion.notification_list, name="notification-list"),
    path("notifications/<int:pk>/read/", discussion.notification_read, name="notification-read"),
    path(
        "notifications/read-all/",
        discussion.notifications_read_all,
        name="notification-read-all",
    ),
    path(
        "notifications/settings/",
        discussion.notification_settings,
        name="notification-settings",
    ),
    # the user's own account: API tokens, signing out everywhere
    path("account/tokens/", account.tokens, name="tokens"),
    path("account/tokens/<str:digest>/revoke/", account.token_revoke, name="token-revoke"),
    path(
        "account/sign-out-everywhere/",
        account.sign_out_everywhere,
        name="sign-out-everywhere",
    ),
]
