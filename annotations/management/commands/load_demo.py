"""Load the demo desk: users, a project, the sample article (cleaned) and claims on it,
with publishing on, an evidence policy of one quoted citation per verdict, and the first
claim reviewed (its verdicts meet that policy), resolved and published (so the public
page /fact-checks/demo/<id>/ shows something). The reviewers' verdicts cite a page
whose archived copy ships in ``fixtures/evidence/`` (stored as its snapshot, so its quote
shows verified without a network; ``DEMO_PAGES``).

Idempotent: running it again creates nothing twice. Demo users exist only through
this command; the README lists their logins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from annotations import services
from annotations.core import cleaning, fetching
from annotations.models import (
    Claim,
    ClaimStatus,
    Document,
    Membership,
    Project,
    Publication,
    Role,
    Source,
    SourceSnapshot,
)

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_PASSWORD = "workbench-demo"  # noqa: S105 - documented demo login, demo command only
DEMO_USERS: tuple[tuple[str, Role | None, bool], ...] = (
    ("admin", Role.ADMIN, True),
    ("editor", Role.EDITOR, False),
    ("reviewer1", Role.REVIEWER, False),
    ("reviewer2", Role.REVIEWER, False),
    ("reviewer3", Role.REVIEWER, False),
)
DEMO_PROJECT_SLUG = "demo"
DEMO_RATIONALE = (
    "Seoul's October 2017 statements ruled out additional THAAD deployments, but as its "
    "stated position rather than as a term of a signed agreement with Beijing."
)
# The demo desk's evidence policy: one quoted citation per verdict (its seeded verdicts
# carry ``demo_citations()``, a page whose copy ships with the demo: it works offline).
DEMO_POLICY: dict[str, Any] = {"min_citations": 1, "quote_required": True}
DEMO_SUMMARY = (
    "In late October 2017 Seoul and Beijing announced that they would normalise relations. "
    "Seoul said at the time that it was not considering additional THAAD deployments, one "
    "of China's demands. The article's hedge ('it would appear') fits: South Korea presented "
    "this as its existing policy, not as a concession written into an agreement, so the "
    "claim is mostly true."
)


# Pages the demo cites, shipped with it (a made-up address under .invalid, which never
# resolves): url -> (fixture file, the quote the demo's verdict cites).
DEMO_PAGES = {
    "https://news.demo-wire.invalid/2017/10/seoul-beijing-thaad": (
        "demo-seoul-beijing.html",
        "Seoul said it was not considering additional THAAD deployments",
    ),
}


def demo_citations() -> list[services.CitationInput]:
    return [
        services.CitationInput(stance="supports", url=url, quote=quote)
        for url, (_, quote) in DEMO_PAGES.items()
    ]


class Command(BaseCommand):
    help = "Create the demo project, users, sample article and claims (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = {name: self._user(name, superuser) for name, _, superuser in DEMO_USERS}
        project = Project.objects.filter(slug=DEMO_PROJECT_SLUG).first()
        if project is None:
            project = services.project_create(
                creator=users["admin"],
                name="Demo desk",
                slug=DEMO_PROJECT_SLUG,
                organization="Workbench Demo Desk",
                organization_url="https://example.org/demo-desk",
                required_reviews=2,
                consensus_rule="unanimous",
                **DEMO_POLICY,
            )
        for name, role, _ in DEMO_USERS:
            if not Membership.objects.filter(project=project, user=users[name], role=role).exists():
                services.member_add(
                    project=project, user=users[name], role=role, actor=users["admin"]
                )
        if not project.publishing_enabled:
            project = services.project_update(
                project=project, actor=users["admin"], publishing_enabled=True
            )
        if (project.min_citations, project.quote_required) == (0, False):
            # A demo desk loaded before the evidence policy existed gets it too.
            project = services.project_update(project=project, actor=users["admin"], **DEMO_POLICY)
        document = self._document(project, users["editor"])
        created = self._claims(document, users["editor"])
        self._publish_first(project, users)
        self._evidence(project)
        self.stdout.write(
            f"Demo ready: project '{project.name}', document '{document.title}' "
            f"({document.length} characters, {document.claims.count()} claims, {created} new)."
        )

    def _user(self, username: str, superuser: bool) -> Any:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                is_staff=superuser,
                is_superuser=superuser,
            )
        return user

    def _document(self, project: Project, actor: Any) -> Document:
        raw = (FIXTURES / "seed" / "sample_article.txt").read_text(encoding="utf-8")
        cleaned = cleaning.clean_text(raw)
        from annotations.core import spans

        existing = Document.objects.filter(
            project=project, text_sha256=spans.text_sha256(spans.canonicalize(cleaned.text))
        ).first()
        if existing is not None:
            return existing
        return services.document_create(
            project=project,
            data=services.DocumentInput(
                title=cleaned.title,
                text=cleaned.text,
                raw_text=raw,
                publisher=cleaned.publisher,
                language="en",
            ),
            actor=actor,
        )

    def _publish_first(self, project: Project, users: dict[str, Any]) -> None:
        """The first demo claim, through the real workflow: two reviewers take it from the
        queue and agree, the editor publishes it with a summary for readers."""
        if Publication.objects.filter(project=project).exists():
            return
        claim = Claim.objects.filter(project=project).order_by("id").first()
        if claim is None or claim.status != ClaimStatus.IN_REVIEW:
            return
        for name in ("reviewer1", "reviewer2"):
            lease = services.lease_next(reviewer=users[name], project=project)
            if lease is None or lease.claim_id != claim.pk:
                return  # someone already works the queue: leave the demo as it is
            services.verdict_submit(
                claim=claim,
                reviewer=users[name],
                rating="mostly_true",
                confidence="medium",
                rationale=DEMO_RATIONALE,
                citations=demo_citations(),
            )
        claim.refresh_from_db()
        if claim.status == ClaimStatus.RESOLVED:
            services.claim_publish(claim=claim, editor=users["editor"], summary=DEMO_SUMMARY)

    def _evidence(self, project: Project) -> None:
        """Store the shipped copy of each cited demo page as its snapshot (once)."""
        for source in Source.objects.filter(project=project, url__in=list(DEMO_PAGES)):
            if SourceSnapshot.objects.filter(source=source).exists():
                continue
            body = (FIXTURES / "evidence" / DEMO_PAGES[source.url][0]).read_bytes()
            page = fetching.Fetched(
                url=source.url,
                status=200,
                content_type="text/html",
                charset="utf-8",
                body=body,
                reason="OK",
                headers=(("Content-Type", "text/html; charset=utf-8"),),
            )
            services.snapshot_from_response(
                source_id=source.pk, fetched=page, at=timezone.now(), origin="fixture"
            )

    def _claims(self, document: Document, actor: Any) -> int:
        specs = json.loads((FIXTURES / "demo_claims.json").read_text(encoding="utf-8"))
        created = 0
        for spec in specs:
            start = document.text.find(spec["exact"])
            if start < 0:
                raise ValueError(
                    f"Demo claim not found in the cleaned sample: {spec['exact'][:60]!r}"
                )
            end = start + len(spec["exact"])
            if Claim.objects.filter(document=document, start=start, end=end).exists():
                continue
            services.claim_create(
                document=document,
                start=start,
                end=end,
                exact=spec["exact"],
                actor=actor,
                statement=spec.get("statement", ""),
                claimant=spec.get("claimant", ""),
            )
            created += 1
        return created
