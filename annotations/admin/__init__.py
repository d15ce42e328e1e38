"""Admin panel: every model, with list columns, filters, search and inlines.

Every write goes through the services, with the same role checks as the API (asked of
``annotations.access``), and leaves the same audit Event:

* ``projects``: projects (policy) and members, for project admins; ``ratings``: the
  rating scale; ``documents``: documents (description only, the text is fixed) and their
  superseded texts; ``claims``: statement and claimant for the creator or an editor, the
  status through admin actions (reopen, publish, retract, withdraw, recompute consensus),
  no deletes; ``publications``: publication versions, read-only; ``claimants``: the claimant
  registry with its names, read-only (editors change it on the claimant pages); ``sources``: never repointed, described by those ``access.source_can_edit``
  allows; ``review``: verdicts, citations, consensus records, leases, read-only;
  ``events``: the audit trail, read-only; ``references``: references, claim links and
  repeat suggestions, read-only; ``invitations``: read-only, scoped to the
  projects a staff user administers; ``users``: deletes through the members services; ``webhooks``: endpoints and deliveries with
  their log, read-only, scoped like invitations, with a replay action; ``evidence``:
  source snapshots, link-rot checks and evidence states, read-only, scoped like sources;
  ``discussion``: comments (blind review), notifications and their settings, read-only.
* Verdicts obey blind review: a staff user who is only a reviewer in a project sees their
  own verdicts until they have submitted on the claim (``access.verdict_scope_for_user``);
  superusers and project editors see everything.
* Tenancy: a staff user who is not a superuser sees the rows of their projects and writes
  only where their project role allows it (``tenancy.ProjectTenancyMixin``). Superusers
  see every row; they administer any project's members and policy, and otherwise write as
  the member they are, since the services check the actor's own membership.

Each module registers its admins (``@admin.register``) when imported here.
"""

from annotations.admin import (  # noqa: F401
    claimants,
    claims,
    discussion,
    documents,
    events,
    evidence,
    invitations,
    projects,
    publications,
    ratings,
    references,
    review,
    sources,
    users,
    webhooks,
)
