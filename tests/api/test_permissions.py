"""Who may call what: every API endpoint for an anonymous caller, a non-member
("outsider"), a reviewer, an editor and an admin of the project, with exact status codes.

Rules under test (DESIGN "API contract"): everything needs authentication (401); a
non-member gets 404 for objects named in the URL, a 400 on the field for objects named
in the body, and empty lists; a member below the needed role gets 403; only admins change
a project or add members; only editors and admins create documents, adjudicate, reopen,
publish, correct and retract. Permission is checked before the body is validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.test import override_settings
from django.urls import get_resolver
from rest_framework.response import Response

from annotations import services
from annotations.core import triage
from annotations.models import Notification, Role, WebhookDelivery
from tests.api.base import API, ApiTestCase
from tests.factories import judge, make_claim, make_document, make_member, make_user, take

ANON, OUTSIDER, REVIEWER, EDITOR, ADMIN = "anonymous", "outsider", "reviewer", "editor", "admin"
CALLERS = (ANON, OUTSIDER, REVIEWER, EDITOR, ADMIN)


@dataclass(frozen=True)
class Row:
    """One endpoint call and the status each caller gets; ``body`` may depend on the caller."""

    name: str
    method: str
    path: str
    expected: dict[str, int]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def body_for(self, caller: str, user: AbstractBaseUser | None) -> Any:
        return self.body(caller, user) if callable(self.body) else self.body


def routed_api_paths() -> set[str]:
    """Route patterns under ``/api/v1/``, e.g. ``"claims/<int:pk>/skip/"``."""
    [api] = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"]
    return {str(p.pattern) for p in api.url_patterns}


def statuses(anon: int, outsider: int, reviewer: int, editor: int, admin: int) -> dict[str, int]:
    return dict(zip(CALLERS, (anon, outsider, reviewer, editor, admin), strict=True))


class EndpointMatrix(ApiTestCase):
    """Every API endpoint called by each caller (``rows``), on one world of objects; also
    the table ``tests/api/test_query_params.py`` runs. No tests of its own."""

    policy = {"required_reviews": 3}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.reviewer_d = make_member(cls.project, "reviewer_d", Role.REVIEWER)
        make_user("newcomer")
        # In review, leased by the reviewer, the editor and the admin (all three slots).
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        for user in (cls.reviewer_a, cls.editor, cls.admin):
            take(cls.claim, user)
        cls.disputed = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        for user, rating in (
            (cls.reviewer_b, "true"),
            (cls.reviewer_c, "false"),
            (cls.reviewer_d, "misleading"),
        ):
            judge(cls.disputed, user, rating)
        cls.resolved = make_claim(
            document=cls.document, actor=cls.creator, exact="the new bridge cost $2 billion"
        )
        # A source cited by reviewer_b only: visible to editors, blind to reviewer_a. Its
        # address is private, so fetching its metadata is refused before any connection.
        # (Cited while the deployment allowed that intranet host: input refuses it otherwise.)
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["10.0.0.1"]):
            cls.source = services.source_get_or_create(
                url="http://10.0.0.1/report", actor=cls.reviewer_b, project=cls.project
            )
        cite = [services.CitationInput(stance="supports", source_id=cls.source.pk, quote="q")]
        judge(cls.resolved, cls.reviewer_b, "false", citations=cite)
        for user in (cls.reviewer_c, cls.reviewer_d):
            judge(cls.resolved, user, "false")
        # Its snapshot: the private address is refused before any connection (no WARC).
        cls.snapshot = services.snapshot_take(source_id=cls.source.pk)
        cls.outsider_document = make_document(
            project=cls.other_project, actor=cls.outsider, text="The outsider's own text."
        )
        cls.invitation = services.invitation_create(
            project=cls.project, actor=cls.admin, invited_as="someone", role=Role.REVIEWER
        )
        cls.for_outsider = services.invitation_create(
            project=cls.project, actor=cls.admin, invited_as="outsider", role=Role.REVIEWER
        )
        # A webhook endpoint with one failed delivery (replayable).
        cls.webhook = services.webhook_endpoint_create(
            project=cls.project,
            actor=cls.admin,
            url="https://hooks.example.org/in",
            event_types=["claim.published"],
        ).endpoint
        (cls.delivery,) = services.webhooks_enqueue(
            project_id=cls.project.pk, event_type="claim.published", data={"claim_id": 1}
        )
        WebhookDelivery.objects.filter(pk=cls.delivery.pk).update(status="failed")
        # A claimant of the registry with an alias, and another to merge.
        cls.claimant = services.claimant_create(
            project=cls.project, name="The Mayor", actor=cls.editor, aliases=["Mayor Adams"]
        )
        cls.alias = cls.claimant.names.get(is_primary=False)
        cls.other_claimant = services.claimant_create(
            project=cls.project, name="Eric Adams", actor=cls.editor
        )
        # Finding claims: a reference and a suggested link of the claim in review to it.
        (cls.reference,) = services.references_create(
            project=cls.project,
            items=[services.ReferenceInput(claim_reviewed="Crime fell 20% last year.")],
            actor=cls.editor,
        )
        cls.link = services.claim_link_create(
            claim=cls.claim, actor=cls.creator, reference=cls.reference
        )
        # Discussion: an editor's note to everyone mentions reviewer_a and the admin, the
        # admin's comment mentions the editor (one notice each); reviewer_a's own comment.
        cls.comment = services.comment_create(
            claim=cls.claim,
            author=cls.editor,
            body="@reviewer_a @admin see this",
            visibility="everyone",
        )
        services.comment_create(claim=cls.claim, author=cls.admin, body="@editor look")
        cls.own_comment = services.comment_create(
            claim=cls.claim, author=cls.reviewer_a, body="my note"
        )
        # A notification of each caller, by caller (the outsider has none here).
        cls.notices = {
            user.pk: Notification.objects.get(recipient=user, kind="mentioned").pk
            for user in (cls.reviewer_a, cls.editor, cls.admin)
        }
        # A document with one earlier revision, for the revision endpoints.
        cls.revised = make_document(project=cls.project, actor=cls.creator, text="First text.")
        services.document_revise(document=cls.revised, text="Corrected text.", actor=cls.editor)
        # Directed review: a claim in review with a slot reserved for reviewer_c.
        cls.waiting = make_claim(document=cls.document, actor=cls.creator, exact="Others disagree")
        services.claim_assign(claim=cls.waiting, editor=cls.editor, usernames=["reviewer_c"])

    def user_for(self, caller: str) -> AbstractBaseUser | None:
        return {
            ANON: None,
            OUTSIDER: self.outsider,
            REVIEWER: self.reviewer_a,
            EDITOR: self.editor,
            ADMIN: self.admin,
        }[caller]

    def call(self, row: Row, caller: str) -> Response:
        user = self.user_for(caller)
        client = self.client_for(user)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in row.headers.items()}
        method = getattr(client, row.method.lower())
        body = row.body_for(caller, user)
        # The caller's own notification; an outsider names reviewer_a's (someone else's).
        own = self.notices.get(user.pk if user is not None else 0, self.notices[self.reviewer_a.pk])
        path = row.path.replace("<own>", str(own))
        if row.method == "GET":
            return method(API + path, body or {}, **extra)
        return method(API + path, body, format="json", **extra)

    def rows(self) -> list[Row]:
        p, d, c = self.project.pk, self.document.pk, self.claim.pk
        disputed, resolved = self.disputed.pk, self.resolved.pk

        def credentials(caller: str, user: AbstractBaseUser | None) -> dict[str, str]:
            name = "reviewer_a" if user is None else user.get_username()
            password = "wrong" if user is None else f"pw-{name}"
            return {"username": name, "password": password}

        new_doc = {"project": p, "title": "New", "text": "A brand new text."}
        return [
            Row("token", "POST", "/auth/token/", statuses(400, 200, 200, 200, 200), credentials),
            Row("token revoke", "DELETE", "/auth/token/", statuses(401, 204, 204, 204, 204)),
            Row("tokens revoke all", "DELETE", "/auth/tokens/", statuses(401, 200, 200, 200, 200)),
            Row("project list", "GET", "/projects/", statuses(401, 200, 200, 200, 200)),
            Row(
                "project create",
                "POST",
                "/projects/",
                # Only holders of "Can add project" (the admin persona) open projects.
                statuses(401, 403, 403, 403, 201),
                {"name": "New desk"},
            ),
            Row("project detail", "GET", f"/projects/{p}/", statuses(401, 404, 200, 200, 200)),
            Row(
                "project update",
                "PATCH",
                f"/projects/{p}/",
                statuses(401, 404, 403, 403, 200),
                {"lease_minutes": 45},
            ),
            Row("member list", "GET", f"/projects/{p}/members/", statuses(401, 404, 200, 200, 200)),
            Row(
                "member role change",
                "POST",
                f"/projects/{p}/members/",
                statuses(401, 404, 403, 403, 201),
                {"username": "reviewer_d", "role": "editor"},
            ),
            Row(
                "member add (not a member: invite instead)",
                "POST",
                f"/projects/{p}/members/",
                statuses(401, 404, 403, 403, 400),
                {"username": "newcomer", "role": "reviewer"},
            ),
            Row(
                "project invitations",
                "GET",
                f"/projects/{p}/invitations/",
                statuses(401, 404, 403, 403, 200),
            ),
            Row(
                "invite",
                "POST",
                f"/projects/{p}/invitations/",
                statuses(401, 404, 403, 403, 201),
                {"username": "newcomer", "role": "reviewer"},
            ),
            Row(
                "invitation revoke",
                "POST",
                f"/projects/{p}/invitations/{self.invitation.pk}/revoke/",
                statuses(401, 404, 403, 403, 200),
            ),
            *self.webhook_rows(),
            *self.claimant_rows(),
            *self.matching_rows(),
            Row("my invitations", "GET", "/invitations/", statuses(401, 200, 200, 200, 200)),
            # Addressed to the outsider: everybody else gets a 404, as for a missing id.
            Row(
                "invitation accept",
                "POST",
                f"/invitations/{self.for_outsider.pk}/accept/",
                statuses(401, 200, 404, 404, 404),
            ),
            Row(
                "invitation decline",
                "POST",
                f"/invitations/{self.for_outsider.pk}/decline/",
                statuses(401, 204, 404, 404, 404),
            ),
            Row("agreement", "GET", f"/projects/{p}/agreement/", statuses(401, 404, 200, 200, 200)),
            # Gold calibration and reviewer statistics (issue 18): editors and admins.
            Row(
                "reviewer statistics",
                "GET",
                f"/projects/{p}/reviewers/",
                statuses(401, 404, 403, 200, 200),
            ),
            Row(
                "gold mark",
                "POST",
                f"/claims/{resolved}/gold/",
                statuses(401, 404, 403, 200, 200),
                {"rating": "false"},
            ),
            Row(
                "gold read (not gold: 404)",
                "GET",
                f"/claims/{resolved}/gold/",
                statuses(401, 404, 403, 404, 404),
            ),
            Row(
                "gold unmark (not gold: 409)",
                "DELETE",
                f"/claims/{resolved}/gold/",
                statuses(401, 404, 403, 409, 409),
            ),
            Row(
                "agreement of a document",
                "GET",
                f"/projects/{p}/agreement/",
                statuses(401, 404, 200, 200, 200),
                {"document": d},
            ),
            Row("document list", "GET", "/documents/", statuses(401, 200, 200, 200, 200)),
            Row(
                "document list of the project",
                "GET",
                "/documents/",
                statuses(401, 200, 200, 200, 200),
                {"project": p},
            ),
            Row(
                "document create", "POST", "/documents/", statuses(401, 400, 403, 201, 201), new_doc
            ),
            Row(
                "document bulk create",
                "POST",
                "/documents/",
                statuses(401, 400, 403, 201, 201),
                [new_doc],
            ),
            Row("document detail", "GET", f"/documents/{d}/", statuses(401, 404, 200, 200, 200)),
            Row(
                "document detail with claims",
                "GET",
                f"/documents/{d}/",
                statuses(401, 404, 200, 200, 200),
                {"include": "claims"},
            ),
            Row("claim list", "GET", "/claims/", statuses(401, 200, 200, 200, 200)),
            Row(
                "claim list of the document",
                "GET",
                "/claims/",
                statuses(401, 200, 200, 200, 200),
                {"document": d, "project": p},
            ),
            Row(
                "claim create",
                "POST",
                "/claims/",
                statuses(401, 400, 201, 201, 201),
                {"document": d, "start": 0, "end": 9},
            ),
            Row("claim detail", "GET", f"/claims/{c}/", statuses(401, 404, 200, 200, 200)),
            Row(
                "claim update",
                "PATCH",
                f"/claims/{c}/",
                statuses(401, 404, 403, 200, 200),  # the reviewer did not create it
                {"statement": "Crime fell."},
                {"If-Match": '"1"'},
            ),
            Row(
                "lease release", "POST", f"/claims/{c}/release/", statuses(401, 404, 204, 204, 204)
            ),
            Row(
                "skip",
                "POST",
                f"/claims/{c}/skip/",
                statuses(401, 404, 204, 204, 204),
                {"reason": "conflict of interest"},
            ),
            *self.directing_rows(),
            Row(
                "verdict list",
                "GET",
                f"/claims/{resolved}/verdicts/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "verdict submit",
                "POST",
                f"/claims/{c}/verdicts/",
                statuses(401, 404, 201, 201, 201),
                {"rating": "false", "confidence": "high"},
            ),
            Row(
                "consensus",
                "GET",
                f"/claims/{resolved}/consensus/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "adjudicate",
                "POST",
                f"/claims/{disputed}/adjudicate/",
                statuses(401, 404, 403, 201, 201),
                {"rating": "false", "note": "Police data."},
            ),
            Row(
                "reopen",
                "POST",
                f"/claims/{resolved}/reopen/",
                statuses(401, 404, 403, 200, 200),
                {"note": "New data."},
            ),
            Row(
                "publish",
                "POST",
                f"/claims/{resolved}/publish/",
                statuses(401, 404, 403, 201, 201),
                {"summary": "Police data show a rise."},
            ),
            Row(
                "correct",
                "POST",
                f"/claims/{resolved}/correct/",
                statuses(401, 404, 403, 409, 409),  # resolved, not published yet
                {"note": "New figures.", "rating": "true"},
            ),
            Row(
                "retract",
                "POST",
                f"/claims/{resolved}/retract/",
                statuses(401, 404, 403, 409, 409),
                {"note": "Wrong series."},
            ),
            Row(
                "publications",
                "GET",
                f"/claims/{resolved}/publications/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "withdraw",
                "POST",
                f"/claims/{c}/withdraw/",
                statuses(401, 404, 403, 200, 200),  # the reviewer did not create it
                {"reason": "Duplicate"},
            ),
            Row(
                "queue next",
                "POST",
                "/queue/next/",
                statuses(401, 400, 200, 200, 200),
                {"project": p},
            ),
            *self.suggestion_rows(),
            Row(
                "revision list",
                "GET",
                f"/documents/{self.revised.pk}/revisions/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "revision text",
                "GET",
                f"/documents/{self.revised.pk}/revisions/1/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "revise document text",
                "POST",
                f"/documents/{self.revised.pk}/revisions/",
                statuses(401, 404, 403, 201, 201),
                {"text": "Corrected again.", "note": "typo"},
            ),
            Row(
                "revise claim",
                "POST",
                f"/claims/{c}/revise/",
                statuses(401, 404, 403, 200, 200),  # editors only, even for the creator
                {"statement": "Crime fell sharply.", "note": "sharper wording"},
                {"If-Match": '"1"'},
            ),
            Row(
                "re-anchor claim",
                "POST",
                f"/claims/{c}/reanchor/",
                statuses(401, 404, 403, 200, 200),  # the reviewer did not create it
                {"start": 0, "end": 9},
            ),
            Row(
                "import preview",
                "POST",
                "/documents/preview/",
                statuses(401, 400, 403, 200, 200),
                {"project": p, "text": "Title line\nA short article to preview."},
            ),
            Row(
                "import",
                "POST",
                "/documents/import/",
                statuses(401, 400, 403, 201, 201),
                {"project": p, "text": "Title line\nAn imported article."},
            ),
            Row(
                "source metadata fetch",
                "POST",
                f"/sources/{self.source.pk}/fetch-metadata/",
                statuses(401, 404, 404, 400, 400),  # blind to reviewer_a; 10.0.0.1 is refused
            ),
            # Evidence: visible where the source is; a new snapshot for its citer or editors.
            Row(
                "source snapshots",
                "GET",
                f"/sources/{self.source.pk}/snapshots/",
                statuses(401, 404, 404, 200, 200),
            ),
            Row(
                "source snapshot request",
                "POST",
                f"/sources/{self.source.pk}/snapshots/",
                statuses(401, 404, 404, 202, 202),
            ),
            Row(
                "snapshot",
                "GET",
                f"/snapshots/{self.snapshot.pk}/",
                statuses(401, 404, 404, 200, 200),
            ),
            Row(
                "snapshot warc",
                "GET",
                f"/snapshots/{self.snapshot.pk}/warc/",
                statuses(401, 404, 404, 404, 404),  # the fetch was refused: no WARC
            ),
            *self.export_rows(),
        ]

    def suggestion_rows(self) -> list[Row]:
        """Check-worthiness suggestions: members list and accept, editors dismiss."""
        base = f"/documents/{self.document.pk}/suggestions/"
        sentence = next(s for s in triage.split_sentences(self.document.text) if "Others" in s.text)
        span = {"start": sentence.start, "end": sentence.end}
        return [
            Row("suggestions", "GET", base, statuses(401, 404, 200, 200, 200)),
            Row(
                "suggestion accept",
                "POST",
                f"{base}accept/",
                statuses(401, 404, 201, 201, 201),
                span,
            ),
            Row(
                "suggestion dismiss",
                "POST",
                f"{base}dismiss/",
                statuses(401, 404, 403, 201, 201),
                {**span, "reason": "A reaction, not a claim."},
            ),
        ]

    def webhook_rows(self) -> list[Row]:
        """Webhooks: project admins only."""
        base = f"/projects/{self.project.pk}/webhooks/"
        one = f"{base}{self.webhook.pk}/"
        new = {"url": "https://hooks.example.org/new", "event_types": ["consensus.reached"]}
        return [
            Row("webhooks", "GET", base, statuses(401, 404, 403, 403, 200)),
            Row("webhook create", "POST", base, statuses(401, 404, 403, 403, 201), new),
            Row("webhook", "GET", one, statuses(401, 404, 403, 403, 200)),
            Row(
                "webhook update", "PATCH", one, statuses(401, 404, 403, 403, 200), {"active": False}
            ),
            Row("webhook delete", "DELETE", one, statuses(401, 404, 403, 403, 204)),
            Row(
                "webhook rotate", "POST", f"{one}rotate-secret/", statuses(401, 404, 403, 403, 200)
            ),
            Row(
                "webhook deliveries", "GET", f"{one}deliveries/", statuses(401, 404, 403, 403, 200)
            ),
            Row(
                "webhook replay",
                "POST",
                f"{one}deliveries/{self.delivery.pk}/replay/",
                statuses(401, 404, 403, 403, 202),
            ),
        ]

    def claimant_rows(self) -> list[Row]:
        """The claimant registry: every member reads it; editors and admins change it."""
        base = f"/projects/{self.project.pk}/claimants/"
        one = f"/claimants/{self.claimant.pk}/"
        return [
            Row("claimants", "GET", base, statuses(401, 404, 200, 200, 200)),
            Row("claimant create", "POST", base, statuses(401, 404, 403, 201, 201), {"name": "Jo"}),
            Row(
                "claimant suggest",
                "GET",
                f"{base}suggest/",
                statuses(401, 404, 200, 200, 200),
                {"q": "may"},
            ),
            Row("claimant", "GET", one, statuses(401, 404, 200, 200, 200)),
            Row(
                "claimant update",
                "PATCH",
                one,
                statuses(401, 404, 403, 200, 200),
                {"kind": "person"},
            ),
            Row(
                "claimant alias add",
                "POST",
                f"{one}aliases/",
                statuses(401, 404, 403, 201, 201),
                {"name": "Hizzoner"},
            ),
            Row(
                "claimant alias remove",
                "DELETE",
                f"{one}aliases/{self.alias.pk}/",
                statuses(401, 404, 403, 204, 204),
            ),
            Row(
                "claimant merge",
                "POST",
                f"{one}merge/",
                statuses(401, 404, 403, 200, 200),
                {"into": self.other_claimant.pk},
            ),
        ]

    def directing_rows(self) -> list[Row]:
        """Review from the claim page, directed assignment, priority and deadline."""
        c, w = self.claim.pk, self.waiting.pk
        return [
            # Everyone who may review holds a lease on the claim: it comes back to them.
            Row("lease claim", "POST", f"/claims/{c}/lease/", statuses(401, 404, 200, 200, 200)),
            Row("assignees", "GET", f"/claims/{w}/assign/", statuses(401, 404, 403, 200, 200)),
            Row(
                "assign",
                "POST",
                f"/claims/{w}/assign/",
                statuses(401, 404, 403, 200, 200),
                {"reviewers": ["reviewer_d"]},
            ),
            Row(
                "unassign",
                "DELETE",
                f"/claims/{w}/assign/reviewer_c/",
                statuses(401, 404, 403, 204, 204),
            ),
            Row(
                "schedule",
                "PATCH",
                f"/claims/{c}/schedule/",
                statuses(401, 404, 403, 200, 200),
                {"priority": "urgent", "due_at": "2030-01-01T12:00:00Z"},
            ),
        ]

    def export_rows(self) -> list[Row]:
        """Export endpoints, once they are routed (another change adds them)."""
        api_routes = routed_api_paths()
        rows = []
        d, p = self.document.pk, self.project.pk
        if "documents/<int:pk>/export/" in api_routes:
            for fmt in ("json", "claimreview", "webannotation"):
                rows.append(
                    Row(
                        f"document export {fmt}",
                        "GET",
                        f"/documents/{d}/export/",
                        statuses(401, 404, 200, 200, 200),
                        {"format": fmt},
                    )
                )
        if "projects/<int:pk>/export/" in api_routes:
            rows.append(
                Row(
                    "project export",
                    "GET",
                    f"/projects/{p}/export/",
                    statuses(401, 404, 200, 200, 200),
                    {"format": "jsonl"},
                )
            )
        # The audit log: editors and admins only (events carry verdicts' contents).
        rows.append(
            Row(
                "project audit log",
                "GET",
                f"/projects/{p}/audit.jsonl",
                statuses(401, 404, 403, 200, 200),
            )
        )
        return rows

    def matching_rows(self) -> list[Row]:
        """Finding claims: members read references and search; editors add references;
        the claim's creator or an editor links it (the claim's creator is not a caller)."""
        p, c, d = self.project.pk, self.claim.pk, self.document.pk
        return [
            Row(
                "references", "GET", f"/projects/{p}/references/", statuses(401, 404, 200, 200, 200)
            ),
            Row(
                "references create",
                "POST",
                f"/projects/{p}/references/",
                statuses(401, 404, 403, 201, 201),
                [{"claim_reviewed": "Bridges rust in winter."}],
            ),
            Row(
                "matches",
                "POST",
                f"/projects/{p}/matches/",
                statuses(401, 404, 200, 200, 200),
                {"text": "crime fell"},
            ),
            Row("claim links", "GET", f"/claims/{c}/links/", statuses(401, 404, 200, 200, 200)),
            Row(
                "claim link create",
                "POST",
                f"/claims/{c}/links/",
                statuses(401, 404, 403, 201, 201),
                {"kind": "claim", "id": self.resolved.pk},
            ),
            Row(
                "claim link decide",
                "PATCH",
                f"/claims/{c}/links/{self.link.pk}/",
                statuses(401, 404, 403, 200, 200),
                {"state": "confirmed"},
            ),
            Row(
                "document repeats",
                "GET",
                f"/documents/{d}/repeats/",
                statuses(401, 404, 200, 200, 200),
            ),
            # discussion and notifications (issue 18)
            Row("comments", "GET", f"/claims/{c}/comments/", statuses(401, 404, 200, 200, 200)),
            Row(
                "comment create",
                "POST",
                f"/claims/{c}/comments/",
                statuses(401, 404, 201, 201, 201),
                {"body": "A thought @editor"},
            ),
            Row(
                "note to everyone (editors)",
                "POST",
                f"/claims/{c}/comments/",
                statuses(401, 404, 400, 201, 201),
                {"body": "Editors' note", "visibility": "everyone"},
            ),
            Row(
                "comment withdraw (author or editor)",
                "POST",
                f"/claims/{c}/comments/{self.own_comment.pk}/withdraw/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "comment withdraw (someone else's)",
                "POST",
                f"/claims/{c}/comments/{self.comment.pk}/withdraw/",
                statuses(401, 404, 403, 200, 200),
            ),
            Row("notifications", "GET", "/notifications/", statuses(401, 200, 200, 200, 200)),
            Row(
                "notification read (one's own)",
                "POST",
                "/notifications/<own>/read/",
                statuses(401, 404, 200, 200, 200),
            ),
            Row(
                "notifications read all",
                "POST",
                "/notifications/read-all/",
                statuses(401, 200, 200, 200, 200),
            ),
            Row(
                "notification settings",
                "GET",
                "/notifications/settings/",
                statuses(401, 200, 200, 200, 200),
            ),
            Row(
                "notification settings update",
                "PUT",
                "/notifications/settings/",
                statuses(401, 200, 200, 200, 200),
                {"email_enabled": False, "email_kinds": ["mentioned"]},
            ),
        ]


class ApiPermissionMatrixTests(EndpointMatrix):
    """Each cell runs in a savepoint that is rolled back, so cells never see each other."""

    def test_every_endpoint_answers_each_caller_with_the_expected_status(self) -> None:
        for row in self.rows():
            for caller in CALLERS:
                with self.subTest(row.name, caller=caller), transaction.atomic():
                    response = self.call(row, caller)
                    content = b"" if response.streaming else response.content[:300]
                    self.assertEqual(response.status_code, row.expected[caller], content)
                    transaction.set_rollback(True)

    def test_every_api_route_is_in_the_matrix(self) -> None:
        covered = {row.path for row in self.rows()}
        ids = {
            self.project.pk,
            self.document.pk,
            self.claim.pk,
            self.disputed.pk,
            self.resolved.pk,
            self.waiting.pk,
        }
        normalized = set()
        for path in covered:
            path = path.replace("/revisions/1/", "/revisions/<int:number>/")
            path = path.replace(f"/sources/{self.source.pk}/", "/sources/<int:pk>/")
            path = path.replace(f"/snapshots/{self.snapshot.pk}/", "/snapshots/<int:pk>/")
            path = path.replace(
                f"/invitations/{self.invitation.pk}/revoke/",
                "/invitations/<int:invitation_pk>/revoke/",
            )
            path = path.replace(f"/invitations/{self.for_outsider.pk}/", "/invitations/<int:pk>/")
            path = path.replace(f"/webhooks/{self.webhook.pk}/", "/webhooks/<int:endpoint_pk>/")
            path = path.replace(f"/links/{self.link.pk}/", "/links/<int:link_pk>/")
            path = path.replace("/notifications/<own>/", "/notifications/<int:pk>/")
            for comment in (self.comment, self.own_comment):
                path = path.replace(f"/comments/{comment.pk}/", "/comments/<int:comment_pk>/")
            path = path.replace(
                f"/deliveries/{self.delivery.pk}/", "/deliveries/<int:delivery_pk>/"
            )
            path = path.replace(f"/claimants/{self.claimant.pk}/", "/claimants/<int:pk>/")
            path = path.replace(f"/aliases/{self.alias.pk}/", "/aliases/<int:alias_pk>/")
            path = path.replace("/assign/reviewer_c/", "/assign/<str:username>/")
            for pk in {*ids, self.revised.pk}:
                path = path.replace(f"/{pk}/", "/<int:pk>/")
            normalized.add(path.lstrip("/"))
        self.assertEqual(routed_api_paths() - normalized, set())

    def test_anonymous_calls_are_told_to_send_a_token(self) -> None:
        response = self.get(None, "/projects/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["WWW-Authenticate"], "Token")
        self.assertEqual(set(response.json()), {"detail"})

    def test_outsiders_get_empty_lists_without_rows_or_counts_of_other_projects(self) -> None:
        # Their own project's rows only (they created a document there, no claims).
        own = self.get(self.outsider, "/documents/").json()["results"]
        self.assertEqual(
            [(d["id"], d["project"]) for d in own],
            [(self.outsider_document.pk, self.other_project.pk)],
        )
        cases = [
            ("/documents/", {"project": self.project.pk}),
            ("/claims/", {}),
            ("/claims/", {"project": self.project.pk}),
            ("/claims/", {"document": self.document.pk}),
            ("/claims/", {"status": "resolved"}),
        ]
        for path, params in cases:
            with self.subTest(path, **params):
                response = self.get(self.outsider, path, params)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json(), {"next": None, "previous": None, "results": []})
        projects = self.get(self.outsider, "/projects/").json()["results"]
        self.assertEqual([p["id"] for p in projects], [self.other_project.pk])

    def test_outsiders_body_references_are_a_400_on_the_field(self) -> None:
        cases = [
            ("/claims/", {"document": self.document.pk, "start": 0, "end": 3}, "document"),
            ("/documents/", {"project": self.project.pk, "title": "T", "text": "T"}, "project"),
            ("/documents/", [{"project": self.project.pk, "title": "T", "text": "T"}], "project"),
            ("/queue/next/", {"project": self.project.pk}, "project"),
        ]
        for path, body, name in cases:
            with self.subTest(path, field=name), self.assertNothingWritten():
                response = self.post(self.outsider, path, body)
                self.assertFieldError(response, name)
        # The same message for an id that does not exist at all: no hint that it exists.
        hidden = self.post(self.outsider, "/queue/next/", {"project": self.project.pk}).json()
        missing = self.post(self.outsider, "/queue/next/", {"project": 10**9}).json()
        self.assertEqual(
            hidden["project"][0].replace(str(self.project.pk), "N"),
            missing["project"][0].replace(str(10**9), "N"),
        )

    def test_a_members_body_reference_to_another_project_is_a_400(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.editor,
                "/claims/",
                {"document": self.outsider_document.pk, "start": 0, "end": 3},
            )
            self.assertFieldError(response, "document")
            response = self.get(
                self.editor,
                f"/projects/{self.project.pk}/agreement/",
                {"document": self.outsider_document.pk},
            )
            self.assertFieldError(response, "document")

    def test_permission_is_checked_before_the_body_is_validated(self) -> None:
        p, c, disputed = self.project.pk, self.claim.pk, self.disputed.pk
        invalid = [
            ("PATCH", f"/projects/{p}/", {"required_reviews": 0}),
            ("POST", f"/projects/{p}/members/", {"username": "nobody", "role": "owner"}),
            ("PATCH", f"/claims/{c}/", {"statement": ""}),  # and no If-Match either
            ("POST", f"/claims/{c}/skip/", {}),
            ("POST", f"/claims/{c}/verdicts/", {"rating": "nope", "confidence": "sure"}),
            ("POST", f"/claims/{disputed}/adjudicate/", {"rating": "nope"}),
            ("POST", f"/claims/{disputed}/reopen/", {}),
            ("POST", f"/claims/{c}/withdraw/", {}),
        ]
        for method, path, body in invalid:
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                call = self.patch if method == "PATCH" else self.post
                self.assertEqual(call(self.outsider, path, body).status_code, 404)
                self.assertEqual(call(None, path, body).status_code, 401)
        below_role = [
            (self.patch, self.editor, f"/projects/{p}/", {"required_reviews": 0}),
            (self.post, self.editor, f"/projects/{p}/members/", {"role": "owner"}),
            (self.post, self.reviewer_a, f"/claims/{disputed}/adjudicate/", {"rating": "nope"}),
            (self.post, self.reviewer_a, f"/claims/{disputed}/reopen/", {}),
        ]
        for call, user, path, body in below_role:
            with self.subTest(user=user.get_username(), path=path), self.assertNothingWritten():
                self.assertEqual(call(user, path, body).status_code, 403)

    def test_a_non_creator_is_refused_before_if_match_and_body_are_read(self) -> None:
        url = f"/claims/{self.claim.pk}/"
        with self.assertNothingWritten():
            answers = [
                self.patch(self.reviewer_b, url, {"statement": "X"}).status_code,
                self.patch(self.reviewer_b, url, {"statement": ""}, '"1"').status_code,
                self.patch(self.reviewer_b, url, {"statement": "X"}, '"9"').status_code,
            ]
        self.assertEqual(answers, [403, 403, 403])

    def test_only_the_creator_or_an_editor_edits_a_claim(self) -> None:
        url = f"/claims/{self.claim.pk}/"
        self.assertEqual(
            self.patch(self.reviewer_b, url, {"statement": "X"}, '"1"').status_code, 403
        )
        response = self.patch(self.creator, url, {"statement": "Crime fell."}, '"1"')
        self.assertEqual(response.status_code, 200, response.content)
