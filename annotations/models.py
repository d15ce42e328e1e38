"""Tables and database invariants of the workbench domain.

Rules that are data rules live here as constraints (span bounds, one current verdict
per reviewer and claim, one current consensus per claim, unique normalized source
URL). Everything that writes goes through ``annotations.services``.

Verdicts and consensus are append-only: a revision is a new row and the old one stays
(only its ``is_current`` flag flips), so no judgement is ever overwritten in place.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Substr
from django.urls import reverse
from django.utils import timezone

from annotations.core import consensus as rules
from annotations.core import evidence_policy as policies
from annotations.core import lifecycle, scheduling, textchunks


class Role(models.TextChoices):
    REVIEWER = "reviewer", "Reviewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


class ConsensusRule(models.TextChoices):
    UNANIMOUS = "unanimous", "Unanimous"
    MAJORITY = "majority", "Majority"


class Stance(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    REFUTES = "refutes", "Refutes"
    CONTEXT = "context", "Context"


# Every stance, as the evidence policy stores a set of them (the default: all allowed).
STANCES_ALL = policies.stances_text(Stance.values, Stance.values)


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, help_text="URL name, e.g. 'election-desk'.")
    organization = models.CharField(
        max_length=200, blank=True, help_text="Publishing organization, the ClaimReview author."
    )
    organization_url = models.URLField(blank=True)
    # The validators word the ranges of the check constraints below for a form (the
    # admin's): the services check the same ranges with their own messages.
    required_reviews = models.PositiveSmallIntegerField(
        default=2,
        help_text="Independent verdicts needed before consensus is decided (1 to 20).",
        validators=[
            MinValueValidator(rules.MIN_REQUIRED_REVIEWS),
            MaxValueValidator(rules.MAX_REQUIRED_REVIEWS),
        ],
    )
    consensus_rule = models.CharField(
        max_length=20, choices=ConsensusRule.choices, default=ConsensusRule.UNANIMOUS
    )
    majority_threshold = models.FloatField(
        default=0.5,
        help_text="Majority rule: the top rating needs a share strictly above this "
        "(0.5 = simple majority; at most 0.99).",
        validators=[
            MinValueValidator(rules.MIN_MAJORITY_THRESHOLD),
            MaxValueValidator(rules.MAX_PROJECT_MAJORITY_THRESHOLD),
        ],
    )
    lease_minutes = models.PositiveIntegerField(
        default=30,
        help_text="How long a reviewer holds a claim from the queue (1 to 1440 minutes).",
        validators=[
            MinValueValidator(scheduling.MIN_LEASE_MINUTES),
            MaxValueValidator(scheduling.MAX_LEASE_MINUTES),
        ],
    )
    publishing_enabled = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Published fact checks get public pages and feeds under /fact-checks/<slug>/ "
        "(project admins switch this on).",
    )
    triage_url = models.URLField(
        max_length=2000,
        blank=True,
        default="",
        db_default="",
        help_text="Check-worthiness suggestions from this http(s) endpoint instead of the "
        "built-in model (README: the HTTP provider contract). Empty: the built-in model.",
    )
    # The evidence policy (core.evidence_policy): the defaults refuse nothing.
    min_citations = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        validators=[MaxValueValidator(policies.MAX_MIN_CITATIONS)],
        help_text="Evidence policy: citations every verdict needs (0 = none required).",
    )
    quote_required = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Evidence policy: every citation must quote its source.",
    )
    allowed_stances = models.CharField(
        max_length=40,
        default=STANCES_ALL,
        db_default=STANCES_ALL,
        help_text="Evidence policy: the stances a citation may take, comma-separated "
        "in the order supports, refutes, context (e.g. 'supports,refutes').",
    )
    # Gold calibration (issue 18): the share of leases that hand a reviewer a gold claim.
    gold_rate = models.FloatField(
        default=0.0,
        db_default=0.0,
        help_text="Gold calibration: the share of a reviewer's leases that serve a gold claim "
        "(0 = never, e.g. 0.05 = one in twenty).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(required_reviews__gte=rules.MIN_REQUIRED_REVIEWS)
                & Q(required_reviews__lte=rules.MAX_REQUIRED_REVIEWS),
                name="annotations_project_required_reviews_range",
            ),
            models.CheckConstraint(
                condition=Q(majority_threshold__gte=rules.MIN_MAJORITY_THRESHOLD)
                & Q(majority_threshold__lt=rules.MAX_MAJORITY_THRESHOLD),
                name="annotations_project_majority_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(lease_minutes__gte=scheduling.MIN_LEASE_MINUTES)
                & Q(lease_minutes__lte=scheduling.MAX_LEASE_MINUTES),
                name="annotations_project_lease_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(consensus_rule__in=ConsensusRule.values),
                name="annotations_project_consensus_rule_valid",
            ),
            models.CheckConstraint(
                condition=Q(min_citations__lte=policies.MAX_MIN_CITATIONS),
                name="annotations_project_min_citations_range",
            ),
            models.CheckConstraint(
                condition=Q(allowed_stances__in=policies.stance_texts(Stance.values)),
                name="annotations_project_allowed_stances_valid",
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=0.5),
                name="annotations_project_gold_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("workbench:project-detail", kwargs={"slug": self.slug})

    @property
    def evidence_policy(self) -> policies.EvidencePolicy:
        return policies.EvidencePolicy(
            min_citations=self.min_citations,
            quote_required=self.quote_required,
            allowed_stances=policies.stances_split(self.allowed_stances),
        )

    @property
    def evidence_policy_summary(self) -> str:
        """The policy in a sentence for reviewers; empty when it refuses nothing."""
        return policies.policy_summary(self.evidence_policy, Stance.values)


class Membership(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="annotations_membership_unique"
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="annotations_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    """An offer of a role in a project, made by a project admin to a username (or an email
    address), which becomes a membership only when the invited person accepts it.

    ``invitee`` is the active account the typed name matched when the invitation was made,
    or None: the inviter is never told which (their answer and their list are the same
    either way), and an invitation without an invitee can never be accepted. An
    invitation is open while ``pending`` and before ``expires_at``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    invited_as = models.CharField(
        max_length=254, help_text="The username or email address the inviter typed."
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        db_index=False,
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    status = models.CharField(
        max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="annotations_invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvitationStatus.values),
                name="annotations_invitation_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["invitee", "status"], name="annotations_invitation_inv_idx")
        ]

    def __str__(self) -> str:
        return f"{self.invited_as} to {self.project} ({self.role}, {self.status})"


class Rating(models.Model):
    """One entry of a project's rating scale; ``ordinal`` is None for non-ordinal ratings."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="ratings", db_index=False
    )
    key = models.SlugField(
        max_length=40, help_text="Stable key used by the API, e.g. 'mostly_true'."
    )
    label = models.CharField(max_length=80)
    ordinal = models.SmallIntegerField(
        null=True,
        blank=True,
        help_text="Position on the truth scale (higher = truer); empty if none.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Display order.")

    class Meta:
        ordering = ["project_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], name="annotations_rating_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class TextDirection(models.TextChoices):
    """How a document's text runs (the HTML ``dir`` attribute); ``auto`` lets the browser
    go by the first strong character. ``annotations.core.language`` derives it."""

    LTR = "ltr", "Left to right"
    RTL = "rtl", "Right to left"
    AUTO = "auto", "From the text"


class Document(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    title = models.CharField(max_length=500)
    text = models.TextField(help_text="Canonical text (NFC, \\n line endings); immutable.")
    text_sha256 = models.CharField(max_length=64)
    length = models.PositiveIntegerField(help_text="Length of the text in code points.")
    raw_text = models.TextField(blank=True, help_text="The text as imported, kept as provenance.")
    source_url = models.URLField(max_length=2000, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    author = models.CharField(max_length=200, blank=True)
    published_date = models.DateField(null=True, blank=True)
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text="BCP 47 tag (en, ar, zh-Hans); detected on import when not given.",
    )
    direction = models.CharField(
        max_length=4,
        choices=TextDirection.choices,
        default=TextDirection.AUTO,
        db_default=TextDirection.AUTO,  # rows inserted without it (bench data) too
        help_text="Writing direction; follows the language unless set.",
    )
    revision = models.PositiveIntegerField(
        default=1,
        help_text="Number of the current text; earlier texts are kept as DocumentRevision rows.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "text_sha256"], name="annotations_document_unique_text"
            ),
            models.CheckConstraint(
                condition=Q(length__gte=0), name="annotations_document_length_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=TextDirection.values),
                name="annotations_document_direction_valid",
            ),
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="annotations_doc_proj_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("workbench:document-detail", kwargs={"pk": self.pk})


class DocumentTextChunk(models.Model):
    """A piece of a long document's current text (``core.textchunks``): derived data.

    A document longer than ``textchunks.CHUNK`` code points also keeps its text as chunks
    of that many code points, ``seq`` 0, 1, …, so a window deep in a book is read from the
    chunks that cover it (``document_text_window_expression``) instead of ``substr`` of
    the whole text, which costs time in the window's position. Written only by
    ``services.documents._text_chunks_write`` (on every creation, revision, import and
    restore); never exported; ``check_integrity`` verifies they join to the text."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="text_chunks", db_index=False
    )
    seq = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["document_id", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "seq"], name="annotations_doctextchunk_unique_seq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.seq}"


class _JoinedChunks(models.Subquery):
    """The ``text`` of the rows a ``DocumentTextChunk`` queryset of ``seq, text`` selects,
    joined in ``seq`` order; NULL when it selects none. PostgreSQL orders inside
    ``string_agg``; SQLite before 3.44 has no ``ORDER BY`` in an aggregate, and its
    ``group_concat`` takes the rows in the order of the ordered subquery (SQLite does not
    flatten a subquery with ``ORDER BY`` into an aggregate query; the unique
    (document, seq) index it is read by yields that order too)."""

    template = "(SELECT STRING_AGG(_w.text, '' ORDER BY _w.seq) FROM (%(subquery)s) _w)"
    output_field = models.TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "(SELECT GROUP_CONCAT(_w.text, '') FROM (%(subquery)s) _w)"
        return self.as_sql(compiler, connection, template=template, **extra)


# The arguments of ``document_text_window_expression`` (ints), in a compiled query's order.
DOCUMENT_TEXT_WINDOW_ARGUMENTS = ("position", "length", "first_seq", "last_seq", "chunk_position")


def document_text_window_arguments(start: int, end: int) -> dict[str, int]:
    """The arguments of ``document_text_window_expression`` for the window
    ``text[start:end]`` (code points). A start before 0 reads from 0, as SQL ``substr``
    of the text did (``text[max(0, start):end]``)."""
    start = max(0, start)
    cover = textchunks.covering(start, end)
    return {
        "position": start + 1,
        "length": max(0, end - start),
        "first_seq": cover.first,
        "last_seq": cover.last,
        "chunk_position": cover.offset + 1,
    }


def document_text_window_expression(
    *, position: Any, length: Any, first_seq: Any, last_seq: Any, chunk_position: Any
) -> models.Func:
    """``text[start:end]`` of the queried ``Document`` row as one SQL expression, its
    arguments from ``document_text_window_arguments(start, end)`` (plain values, or a
    compiled query's parameters: ``annotations.compiled``).

    A long document's window is ``substr`` of the chunks that cover it
    (``DocumentTextChunk``, by the unique (document, seq) index: one to three rows for a
    claim's or the reader's window), in time independent of where the window lies; ``substr`` of the text itself costs
    time in the window's position (``core.textchunks``). A document without chunks (at
    most ``CHUNK`` code points) reads its text: ``COALESCE`` evaluates its second
    argument only when the first is NULL, on PostgreSQL and SQLite alike, so a chunked
    document's text is not read at all."""
    chunks = (
        DocumentTextChunk.objects.filter(
            document=models.OuterRef("pk"), seq__gte=first_seq, seq__lte=last_seq
        )
        .order_by("seq")
        .values("seq", "text")
    )
    return Coalesce(
        Substr(_JoinedChunks(chunks), chunk_position, length),
        Substr("text", position, length),
        output_field=models.TextField(),
    )


class DocumentRevision(models.Model):
    """A superseded text of a document, kept read-only when a corrected text replaces it."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="revisions", db_index=False
    )
    number = models.PositiveIntegerField()
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    length = models.PositiveIntegerField()
    raw_text = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="Why the text was corrected.")
    created_at = models.DateTimeField(help_text="When this text became current.")
    superseded_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["document_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="annotations_docrevision_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} r{self.number}"


class AnchorStatus(models.TextChoices):
    ANCHORED = "anchored", "Anchored"
    MOVED = "moved", "Moved"
    CHANGED = "changed", "Changed inside (needs review)"
    ORPHANED = "orphaned", "Orphaned"


class ClaimStatus(models.TextChoices):
    IN_REVIEW = "in_review", "In review"
    DISPUTED = "disputed", "Disputed"
    RESOLVED = "resolved", "Resolved"
    PUBLISHED = "published", "Published"
    CORRECTED = "corrected", "Corrected"
    RETRACTED = "retracted", "Retracted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ClaimPriority(models.IntegerChoices):
    """Stored as the rank (``core.scheduling``), so that the queue's index sorts it."""

    URGENT = scheduling.PRIORITY_RANK[scheduling.URGENT], "Urgent"
    HIGH = scheduling.PRIORITY_RANK[scheduling.HIGH], "High"
    NORMAL = scheduling.PRIORITY_RANK[scheduling.NORMAL], "Normal"
    LOW = scheduling.PRIORITY_RANK[scheduling.LOW], "Low"


# The editors' schedule as the ORM orders claims by it (core.scheduling): priority (stored
# as its rank), then deadline, none last. The queue follows it with a claim's age
# (``QUEUE_ORDER``; the index annotations_claim_queue_idx has these columns after project
# and status); the disputes page with the time since a claim last changed.
SCHEDULE_ORDER = ("priority", F("due_at").asc(nulls_last=True))
QUEUE_ORDER = (*SCHEDULE_ORDER, "created_at", "id")


class UpdatedAtField(models.DateTimeField):
    """``auto_now``, but a new row's value is its ``created_at``, to the microsecond: Django
    reads the clock once per field, so a row's two times differed by a few microseconds at
    insert. A gold claim shows a reviewer its creation time as its last change
    (``access.claim_present``), which only the same value makes look like any claim whose
    words were never edited (the outside probe, issue 20 round 10). Needs ``created_at``
    (``auto_now_add``) declared before it."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        created = getattr(model_instance, "created_at", None) if add else None
        if created is None:
            return super().pre_save(model_instance, add)
        setattr(model_instance, self.attname, created)
        return created


class Claim(models.Model):
    """A checkable claim anchored to a span [start, end) of its document (code points)."""

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="claims", db_index=False
    )
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="claims", db_index=False
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    exact = models.TextField()
    prefix = models.CharField(max_length=32, blank=True)
    suffix = models.CharField(max_length=32, blank=True)
    statement = models.TextField(help_text="The checkable claim in the checker's words.")
    claimant = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.IN_REVIEW
    )
    version = models.PositiveIntegerField(
        default=1,
        help_text="Optimistic concurrency counter (the ETag): changes only when the claim's "
        "own fields change (statement, claimant, span), never on a status or consensus change.",
    )
    claim_version = models.PositiveIntegerField(
        default=1,
        db_default=1,
        help_text="Number of the version under review: raised only when an editor revises a "
        "judged claim (the earlier version is kept as a ClaimVersion row); each verdict "
        "records the version it judged.",
    )
    consensus = models.ForeignKey(
        "Consensus",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The current consensus record: set exactly while the claim is decided.",
    )
    anchor_status = models.CharField(
        max_length=10,
        choices=AnchorStatus.choices,
        default=AnchorStatus.ANCHORED,
        help_text="How the span survived the last revision of the document text.",
    )
    anchor_revision = models.PositiveIntegerField(
        default=1, help_text="The document revision that start/end/exact refer to."
    )
    priority = models.PositiveSmallIntegerField(
        choices=ClaimPriority.choices,
        default=ClaimPriority.NORMAL,
        db_default=ClaimPriority.NORMAL,
        help_text="The queue hands out urgent claims first, then high, normal, low.",
    )
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Deadline: among claims of one priority the earliest comes first (none "
        "last); past it and still undecided, the claim is flagged overdue.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_claims"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = UpdatedAtField(auto_now=True)

    class Meta:
        ordering = ["document_id", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__gte=0), name="annotations_claim_start_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="annotations_claim_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ClaimStatus.values), name="annotations_claim_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(anchor_status__in=AnchorStatus.values),
                name="annotations_claim_anchor_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=ClaimPriority.values),
                name="annotations_claim_priority_valid",
            ),
            # The lifecycle (core/lifecycle.py): a decided claim rests on a current consensus,
            # an undecided one on none (withdrawn claims keep whatever they had).
            models.CheckConstraint(
                condition=~Q(status__in=sorted(str(s) for s in lifecycle.DECIDED))
                | Q(consensus__isnull=False),
                name="annotations_claim_decided_has_consensus",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=sorted(str(s) for s in lifecycle.UNDECIDED))
                | Q(consensus__isnull=True),
                name="annotations_claim_undecided_no_consensus",
            ),
        ]
        indexes = [
            # The queue's order (core.scheduling): a project's claims in a status by
            # priority, deadline (PostgreSQL sorts NULL last ascending), age.
            models.Index(
                fields=["project", "status", "priority", "due_at", "created_at", "id"],
                name="annotations_claim_queue_idx",
            ),
            # The reader: a document's claims in text order.
            models.Index(fields=["document", "start", "end"], name="annotations_claim_doc_idx"),
            # The export: a project's claims in id order, read from its first claim on
            # (the primary key alone would walk every other project's claims first).
            models.Index(fields=["project", "id"], name="annotations_claim_export_idx"),
        ]

    def __str__(self) -> str:
        return self.statement[:80]

    def get_absolute_url(self) -> str:
        return reverse("workbench:claim-detail", kwargs={"pk": self.pk})

    @property
    def priority_key(self) -> str:
        return scheduling.priority_key(self.priority)

    @property
    def is_overdue(self) -> bool:
        return scheduling.is_overdue(status=self.status, due_at=self.due_at, now=timezone.now())


class ClaimVersion(models.Model):
    """A superseded version of a claim: what the verdicts recorded with ``number`` judged.

    Written by ``services.claim_revise`` when an editor revises a judged claim; the claim
    row then holds version ``number + 1``."""

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    statement = models.TextField()
    claimant = models.CharField(max_length=200, blank=True)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    exact = models.TextField()
    prefix = models.CharField(max_length=32, blank=True)
    suffix = models.CharField(max_length=32, blank=True)
    anchor_revision = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20,
        choices=ClaimStatus.choices,
        help_text="The claim's status when it was revised.",
    )
    note = models.TextField(blank=True, help_text="Why the claim was revised.")
    replaced_at = models.DateTimeField(auto_now_add=True)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["claim_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "number"], name="annotations_claimversion_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} v{self.number}"


class ClaimAnchor(models.Model):
    """A claim's earlier anchor, kept whenever a revision or a person re-anchors the claim."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="anchor_history")
    revision = models.PositiveIntegerField(
        help_text="The document revision these offsets refer to."
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    exact = models.TextField()
    prefix = models.CharField(max_length=32, blank=True)
    suffix = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=10, choices=AnchorStatus.choices)
    replaced_at = models.DateTimeField(auto_now_add=True)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["claim_id", "replaced_at", "id"]

    def __str__(self) -> str:
        return f"claim {self.claim_id} r{self.revision} [{self.start}, {self.end})"


class ClaimantKind(models.TextChoices):
    PERSON = "person", "Person"
    ORGANIZATION = "organization", "Organization"


class Claimant(models.Model):
    """Someone claims are attributed to, in one project's registry.

    A claim names its claimant as text (``Claim.claimant``, what the creator typed, kept as
    judged); the registry recognises that text by its key (``core.claimants.name_key``)
    among the claimant's names and aliases (``ClaimantName``). A claimant merged into
    another keeps its row (``merged_into``); its names move to the other.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="claimants")
    name = models.CharField(max_length=200, help_text="The name shown (its primary name).")
    kind = models.CharField(
        max_length=12, choices=ClaimantKind.choices, default=ClaimantKind.PERSON
    )
    description = models.CharField(
        max_length=500, blank=True, help_text="Who this is, e.g. a role and a period."
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="merged", null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ClaimantKind.values), name="annotations_claimant_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClaimantName(models.Model):
    """One name a claimant goes by (their primary name or an alias). A key belongs to one
    claimant per project, so one spelling never points at two people."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+", db_index=False)
    claimant = models.ForeignKey(Claimant, on_delete=models.PROTECT, related_name="names")
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, help_text="core.claimants.name_key(name)")
    is_primary = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claimant_id", "-is_primary", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], name="annotations_claimantname_unique_key"
            ),
            models.CheckConstraint(
                condition=~Q(key=""), name="annotations_claimantname_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Source(models.Model):
    """An external reference cited by verdicts: one row per project, citer and normalized
    http(s) URL.

    A source is its citer's own record of the page (the URL as they typed it, the title
    they or the page gave it): nobody else's URL, title, or the fact that someone cited
    the page at all, reaches a reviewer before blind review lets them see that person's
    verdicts, and nothing crosses projects. ``created_by`` is empty only for rows no one
    owns (written before sources had owners).
    """

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="sources", db_index=False
    )
    url = models.URLField(max_length=2000, help_text="As its citer typed it (http or https).")
    normalized_url = models.CharField(
        max_length=2000, help_text="Lower-case host, no tracking parameters or fragment."
    )
    title = models.CharField(max_length=500, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    published_date = models.DateField(null=True, blank=True)
    archive_url = models.URLField(max_length=2000, blank=True)
    accessed_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "normalized_url", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "created_by", "normalized_url"],
                name="annotations_source_unique_per_citer",
            ),
            models.UniqueConstraint(
                fields=["project", "normalized_url"],
                condition=Q(created_by__isnull=True),
                name="annotations_source_unique_unowned",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.url


class Confidence(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Verdict(models.Model):
    """One revision of one reviewer's judgement of one claim.

    A revision is a new row (``revision`` + 1) and the previous row stays with
    ``is_current=False``: history is never overwritten.
    """

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="verdicts", db_index=False
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="verdicts", db_index=False
    )
    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="verdicts")
    confidence = models.CharField(max_length=10, choices=Confidence.choices)
    rationale = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    document_revision = models.PositiveIntegerField(
        default=1, help_text="The document revision the reviewer judged."
    )
    claim_version = models.PositiveIntegerField(
        default=1,
        db_default=1,
        help_text="The claim version (Claim.claim_version) the reviewer judged.",
    )
    post_reveal = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Revised after the reviewer could see other reviewers' verdicts on this "
        "claim version: kept and shown, but left out of automatic consensus and agreement.",
    )
    calibration = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A verdict on a gold claim served for calibration: it counts toward its "
        "reviewer's accuracy only, never toward the claim's consensus or status.",
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim_id", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "reviewer"],
                condition=Q(is_current=True),
                name="annotations_verdict_one_current_per_reviewer",
            ),
            models.UniqueConstraint(
                fields=["claim", "reviewer", "revision"], name="annotations_verdict_unique_revision"
            ),
            models.CheckConstraint(
                condition=Q(confidence__in=Confidence.values),
                name="annotations_verdict_confidence_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "is_current"], name="annotations_verdict_rev_idx")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on claim {self.claim_id}: {self.rating_id} (rev {self.revision})"


class Citation(models.Model):
    verdict = models.ForeignKey(Verdict, on_delete=models.PROTECT, related_name="citations")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    quote = models.TextField(
        blank=True, help_text="The passage of the source that bears on the claim."
    )
    stance = models.CharField(max_length=10, choices=Stance.choices)

    class Meta:
        ordering = ["verdict_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stance__in=Stance.values), name="annotations_citation_stance_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stance}: {self.source}"


class AssignmentState(models.TextChoices):
    LEASED = "leased", "Leased"
    SUBMITTED = "submitted", "Submitted"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    SKIPPED = "skipped", "Skipped"


class Assignment(models.Model):
    """The queue's lease of a claim to a reviewer (and its end: submitted, released, expired, skipped)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="assignments")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="assignments", db_index=False
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assignments",
        db_index=False,
    )
    state = models.CharField(
        max_length=12, choices=AssignmentState.choices, default=AssignmentState.LEASED
    )
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(
        blank=True, help_text="Why the claim was skipped, e.g. conflict of interest."
    )
    calibration = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The queue served a gold claim for calibration (editors only see this).",
    )

    class Meta:
        ordering = ["-leased_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "reviewer"],
                condition=Q(state="leased"),
                name="annotations_assignment_one_lease_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(state__in=AssignmentState.values),
                name="annotations_assignment_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("leased_at")),
                name="annotations_assignment_expiry_after_lease",
            ),
        ]
        indexes = [
            models.Index(
                fields=["claim", "state", "expires_at"], name="annotations_assign_claim_idx"
            ),
            models.Index(fields=["reviewer", "claim"], name="annotations_assign_rev_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} → {self.reviewer} ({self.state})"


class Reservation(models.Model):
    """Directed assignment: one of a claim's review slots (``required_reviews``) held for a
    named reviewer by an editor. While the reviewer has neither a live lease nor a current
    verdict on the claim, the reservation counts as a taken slot for everyone else; the
    reviewer's queue offers the claim first. Unassigning deletes the row (the event keeps
    it), which frees the slot."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="reservations")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="reservations", db_index=False
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reservations",
        db_index=False,
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["claim_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "reviewer"], name="annotations_reservation_one_per_reviewer"
            ),
        ]
        indexes = [
            # The queue's "assigned to me first" and the dashboard's list of them.
            models.Index(
                fields=["reviewer", "project", "claim"], name="annotations_reserv_rev_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} reserved for {self.reviewer}"


class ConsensusMethod(models.TextChoices):
    UNANIMOUS = "unanimous", "Unanimous"
    MAJORITY = "majority", "Majority"
    ADJUDICATED = "adjudicated", "Adjudicated"
    CORRECTION = "correction", "Correction"


class Consensus(models.Model):
    """A recorded outcome for a claim. Append-only: a later decision supersedes (``sequence`` + 1)."""

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="consensus_history", db_index=False
    )
    sequence = models.PositiveIntegerField()
    claim_version = models.PositiveIntegerField(
        default=1,
        db_default=1,
        help_text="The claim version (Claim.claim_version) this decision is about.",
    )
    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=12, choices=ConsensusMethod.choices)
    agreement = models.FloatField(
        null=True, blank=True, help_text="Share of verdicts for this rating."
    )
    verdicts = models.ManyToManyField(Verdict, related_name="consensus_records", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when decided automatically from the verdicts.",
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["claim_id", "sequence"]
        verbose_name_plural = "consensus records"
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "sequence"], name="annotations_consensus_unique_sequence"
            ),
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(is_current=True),
                name="annotations_consensus_one_current",
            ),
            models.CheckConstraint(
                condition=Q(method__in=ConsensusMethod.values),
                name="annotations_consensus_method_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} #{self.sequence}: {self.rating_id} ({self.method})"


class GoldClaim(models.Model):
    """An editor's mark on a decided claim: a gold claim with its expected rating. The queue
    mixes gold claims into reviewers' queues (``Project.gold_rate``); their verdicts there are
    calibration verdicts (``Verdict.calibration``), scored against ``rating``. Unmarking
    deletes the row (the audit trail keeps it)."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="gold")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, help_text="Why this claim is a good yardstick.")
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField()

    class Meta:
        ordering = ["project_id", "claim_id"]
        verbose_name = "gold claim"

    def __str__(self) -> str:
        return f"gold claim {self.claim_id}: {self.rating_id}"


class PublicationKind(models.TextChoices):
    PUBLISH = "publish", "Published"
    CORRECT = "correct", "Correction"
    RETRACT = "retract", "Retraction"


class Publication(models.Model):
    """One version of a claim's published fact check: what readers saw from ``modified_at``
    on. Immutable and append-only (``services.publishing``): a correction or a retraction
    is a new row with ``number`` + 1, and nothing of an earlier version ever changes, so
    the feed as it stood at any instant is rebuilt from the rows with ``modified_at`` up
    to that instant.

    Everything a reader sees is copied in (the wording, the rating as the scale had it, the
    publisher, the citations, the appearance): a later change to the scale, the project or
    a source does not rewrite what was published. No reviewer's identity is copied."""

    # What a reader sees of a version, in display order (the API and the admin list them).
    SNAPSHOT_FIELDS = (
        "statement",
        "claimant",
        "rating_key",
        "rating_label",
        "rating_value",
        "best_rating",
        "worst_rating",
        "summary",
        "note",
        "citations",
        "appearance_title",
        "appearance_url",
        "appearance_date",
        "publisher_name",
        "publisher_url",
    )

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="publications", db_index=False
    )
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="publications", db_index=False
    )
    number = models.PositiveIntegerField(help_text="1 for the first publication, then + 1.")
    kind = models.CharField(max_length=10, choices=PublicationKind.choices)
    statement = models.TextField(help_text="The claim reviewed, as published (claimReviewed).")
    claimant = models.CharField(max_length=200, blank=True)
    consensus = models.ForeignKey(
        Consensus, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rating_key = models.CharField(max_length=40)
    rating_label = models.CharField(max_length=80, help_text="ClaimReview alternateName.")
    rating_value = models.SmallIntegerField(null=True, blank=True)
    best_rating = models.SmallIntegerField(null=True, blank=True)
    worst_rating = models.SmallIntegerField(null=True, blank=True)
    summary = models.TextField(help_text="The fact check for readers, in the editor's words.")
    note = models.TextField(
        blank=True, help_text="Public correction or retraction notice (empty on the first)."
    )
    citations = models.JSONField(default=list, blank=True, help_text="The sources, as published.")
    appearance_title = models.CharField(max_length=500, blank=True)
    appearance_url = models.URLField(max_length=2000, blank=True)
    appearance_date = models.DateField(null=True, blank=True)
    publisher_name = models.CharField(max_length=200, help_text="ClaimReview author (name).")
    publisher_url = models.URLField(blank=True)
    published_at = models.DateTimeField(help_text="datePublished: when version 1 appeared.")
    modified_at = models.DateTimeField(help_text="When this version appeared (dateModified).")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["claim_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "number"], name="annotations_publication_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PublicationKind.values),
                name="annotations_publication_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="annotations_publication_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind="publish", number=1) | (~Q(kind="publish") & Q(number__gt=1)),
                name="annotations_publication_first_is_publish",
            ),
            models.CheckConstraint(
                condition=Q(kind="publish") | ~Q(note=""),
                name="annotations_publication_change_has_note",
            ),
            models.CheckConstraint(
                condition=Q(modified_at__gte=F("published_at")),
                name="annotations_publication_modified_after_published",
            ),
        ]
        indexes = [
            # The feed: a project's versions up to an instant.
            models.Index(fields=["project", "modified_at"], name="annotations_pub_feed_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} v{self.number} ({self.kind})"


class Event(models.Model):
    """Audit trail, written by every service in the same transaction. Append-only.

    Each event is a link of its project's hash chain (``core.auditchain``; events without
    a project form the global chain): ``seq`` numbers the chain from 1, ``prev_hash`` is
    the previous event's ``hash``, and ``hash`` is SHA-256 over the event's canonical
    content, ``prev_hash`` included. ``services._base.event_record`` appends under the
    lock of the chain's ``AuditHead`` row.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    verb = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # Set by event_record before hashing (the hash covers it), never by the database.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    seq = models.PositiveBigIntegerField(help_text="Position in its project's audit chain, from 1.")
    prev_hash = models.CharField(
        max_length=64, help_text="Hash of the previous event of the chain."
    )
    hash = models.CharField(max_length=64, help_text="SHA-256 of this event's canonical content.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="annotations_event_obj_idx")
        ]
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="annotations_event_chain_seq"),
            models.UniqueConstraint(
                fields=["seq"],
                condition=Q(project__isnull=True),
                name="annotations_event_global_chain_seq",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="annotations_event_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_type}:{self.object_id}"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key`` header, so that a repeat
    (the client lost the answer and retries) gets the same answer and writes nothing.

    Written in the same transaction as the write it protects (a committed write always has
    its key), and only for a successful (2xx) answer. One row per user and key: a key is
    the client's, never shared between users. Rows expire (``expires_at``) and are purged
    lazily or by ``manage.py purge_idempotency_keys``. Bookkeeping of the transport, not an
    audit subject: the write it protects records its own event.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000, help_text="The endpoint the key was first used on.")
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical request (method, path, body)."
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty only inside the transaction that writes it."
    )
    response_body = models.TextField(blank=True, help_text="The first answer's JSON.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["user_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="annotations_idempotency_unique"),
            models.CheckConstraint(
                condition=Q(status_code__isnull=True)
                | (Q(status_code__gte=200) & Q(status_code__lte=299)),
                name="annotations_idempotency_success_only",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="annotations_idempotency_expiry_after_creation",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="annotations_idem_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key} ({self.method} {self.path})"


class AuditHead(models.Model):
    """The last link of one audit chain: its ``seq`` and ``hash``. Writers lock this row to
    append (one order under concurrent writers), so appending reads one row, never the
    chain. ``chain`` is the project's id, 0 for the events without a project."""

    chain = models.PositiveBigIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["chain"]

    def __str__(self) -> str:
        return f"audit chain {self.chain or 'global'} at seq {self.seq}"


class WebhookEndpoint(models.Model):
    """A project's webhook receiver: a URL (checked by the SSRF rules of imports when it
    is stored and again at every delivery), the event types it subscribes to and its
    signing secret (Standard Webhooks, ``whsec_…``), shown once when it is made or
    rotated and never again: not in the API, the admin or an audit event."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="The event types it receives.")
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.project})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """The outbox: one message for one endpoint, written in the transaction of the change
    it reports, then sent by the background worker (``services.webhooks``). ``pending``
    until an attempt is answered 2xx (``delivered``) or the attempts are used up or the
    answer is final (``failed``). ``next_attempt_at`` is when it is due; ``locked_until``
    is a worker's claim while it sends (a worker that dies mid-send leaves a claim that
    expires, and the delivery is due again). ``attempts`` counts the attempts since it was
    scheduled (a replay starts again at 0); the log keeps every attempt."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=40, help_text="webhook-id: the same on every try.")
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values),
                name="annotations_webhookdelivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="annotations_whd_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} → endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per attempt, with the answer's status code or the error,
    and what it meant (``delivered``, ``retry``, ``failed``). Response bodies are not kept."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="log", db_index=False
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="annotations_webhookattempt_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"


class TriageRun(models.Model):
    """Check-worthiness scores of one revision of a document's text: which provider gave
    them (``agent``: ``builtin`` or ``http``), its ``model_version`` (the built-in model's
    file hash, or the endpoint's host), and why a project's HTTP provider was not used
    when it failed (``fallback_reason``; the built-in model scored instead). Replaced when
    computed again for the same revision; a new revision gets its own run."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="triage_runs", db_index=False
    )
    revision = models.PositiveIntegerField()
    agent = models.CharField(max_length=20)
    model_version = models.CharField(max_length=200)
    fallback_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["document_id", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "revision"], name="annotations_triagerun_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"triage of document {self.document_id} revision {self.revision} ({self.agent})"


class Suggestion(models.Model):
    """One scored sentence of a run: ``text == document text[start:end]`` of the run's
    revision (code points), checked before it is stored."""

    run = models.ForeignKey(
        TriageRun, on_delete=models.CASCADE, related_name="suggestions", db_index=False
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    score = models.FloatField()

    class Meta:
        ordering = ["run_id", "-score", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="annotations_suggestion_span_order"
            ),
            models.UniqueConstraint(
                fields=["run", "start", "end"], name="annotations_suggestion_unique_span"
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.start}, {self.end}) {self.score:.3f}"


class SuggestionVerdict(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class SuggestionDecision(models.Model):
    """What the desk decided about a suggested sentence: accepted (a claim was created on
    the span) or dismissed (with a reason). Kept with the text, score and agent as they
    were, so ``train_triage`` can learn from them (accepted = check-worthy)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="suggestion_decisions", db_index=False
    )
    revision = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    score = models.FloatField()
    agent = models.CharField(max_length=20)
    model_version = models.CharField(max_length=200)
    decision = models.CharField(max_length=10, choices=SuggestionVerdict.choices)
    reason = models.TextField(blank=True)
    claim = models.ForeignKey(
        Claim, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "revision", "start", "end"],
                name="annotations_suggestiondecision_unique_span",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="annotations_suggestiondecision_span_order"
            ),
            models.CheckConstraint(
                condition=Q(decision__in=SuggestionVerdict.values),
                name="annotations_suggestiondecision_decision_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} [{self.start}, {self.end}) of document {self.document_id}"


# --- finding claims (issue 17): earlier fact checks, links, repeat suggestions -------------


class ReferenceOrigin(models.TextChoices):
    API = "api", "API"
    IMPORT = "import", "Import command"
    ADMIN = "admin", "Admin"


class Reference(models.Model):
    """An earlier fact check (the desk's archive, or another publisher's) that new texts
    are matched against (``selectors.matching``). Written once by
    ``services.references_create`` and never edited: a corrected fact check is a new row.
    ``vector`` is the claim's embedding (float32 bytes, see ``selectors.matching``), stored
    so that rebuilding a process's index does not embed every reference again."""

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="references", db_index=False
    )
    claim_reviewed = models.TextField(help_text="The claim the fact check reviewed.")
    headline = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True, help_text="The fact check's page.")
    rating = models.CharField(
        max_length=200, blank=True, help_text="The rating as published, e.g. 'Mostly false'."
    )
    date = models.DateField(null=True, blank=True, help_text="When it was published.")
    publisher = models.CharField(max_length=200, blank=True)
    origin = models.CharField(max_length=10, choices=ReferenceOrigin.choices)
    origin_name = models.CharField(
        max_length=200, blank=True, help_text="The imported file's name, for the import command."
    )
    vector = models.BinaryField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(origin__in=ReferenceOrigin.values),
                name="annotations_reference_origin_valid",
            ),
            models.CheckConstraint(
                condition=~Q(claim_reviewed=""), name="annotations_reference_claim_required"
            ),
        ]
        indexes = [models.Index(fields=["project", "id"], name="annotations_reference_proj_idx")]

    def __str__(self) -> str:
        return self.claim_reviewed[:80]


class LinkState(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class ClaimLink(models.Model):
    """A claim said to repeat an earlier fact check: a reference or an earlier claim of the
    desk (exactly one). Nothing is merged: the link is a note for people, whose state the
    claim's creator or an editor sets (``services.claim_link_*``, each audited)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="links")
    reference = models.ForeignKey(
        Reference, on_delete=models.PROTECT, null=True, blank=True, related_name="links"
    )
    target = models.ForeignKey(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="linked_from"
    )
    state = models.CharField(max_length=10, choices=LinkState.choices)
    score = models.FloatField(null=True, blank=True, help_text="The matcher's score, if any.")
    flags = models.JSONField(default=dict, blank=True, help_text="Number/negation differences.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=LinkState.values), name="annotations_claimlink_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(reference__isnull=False, target__isnull=True)
                | Q(reference__isnull=True, target__isnull=False),
                name="annotations_claimlink_one_target",
            ),
            models.CheckConstraint(
                condition=~Q(target=F("claim")), name="annotations_claimlink_not_itself"
            ),
            models.UniqueConstraint(
                fields=["claim", "reference"],
                condition=Q(reference__isnull=False),
                name="annotations_claimlink_unique_reference",
            ),
            models.UniqueConstraint(
                fields=["claim", "target"],
                condition=Q(target__isnull=False),
                name="annotations_claimlink_unique_target",
            ),
        ]

    def __str__(self) -> str:
        other = f"reference {self.reference_id}" if self.reference_id else f"claim {self.target_id}"
        return f"claim {self.claim_id} → {other} ({self.state})"


class RepeatSuggestion(models.Model):
    """A sentence of a document that matches an earlier fact check (a reference, or a
    published claim of the desk) above the threshold: written by the background scan
    (``services.repeats_scan``), replaced whole by the next scan of the document."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="repeats")
    document_revision = models.PositiveIntegerField(help_text="The revision scanned.")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField(help_text="The sentence, document.text[start:end].")
    reference = models.ForeignKey(
        Reference, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    score = models.FloatField()
    flags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="annotations_repeat_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(reference__isnull=False, claim__isnull=True)
                | Q(reference__isnull=True, claim__isnull=False),
                name="annotations_repeat_one_match",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="annotations_repeat_proj_idx")
        ]

    def __str__(self) -> str:
        return f"document {self.document_id} [{self.start}, {self.end}) repeats"


# --- evidence: snapshots of cited sources, verified quotes, the link-rot watch --------------


class SnapshotOutcome(models.TextChoices):
    OK = "ok", "Archived"
    UNREACHABLE = "unreachable", "Unreachable"
    TOO_LARGE = "too_large", "Too large"
    REFUSED_ADDRESS = "refused_address", "Refused address"
    TIMEOUT = "timeout", "Timed out"
    UNSUPPORTED_TYPE = "unsupported_type", "Unsupported content type"
    HTTP_ERROR = "http_error", "HTTP error"
    TOO_MANY_REDIRECTS = "too_many_redirects", "Too many redirects"


class SourceSnapshot(models.Model):
    """One fetch of a cited source by the background worker, kept as it came: the raw
    answer as a WARC record (``warc``, in the ``evidence`` storage), the SHA-256 and size
    of the served body, status, final URL, content type, time, and the page's main text
    and metadata; or, when the fetch failed, why (``outcome``, ``reason``). Never changed
    after it is written."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="snapshots")
    outcome = models.CharField(max_length=20, choices=SnapshotOutcome.choices)
    reason = models.CharField(max_length=300, blank=True, help_text="Why the fetch failed.")
    requested_url = models.URLField(max_length=2000)
    final_url = models.URLField(max_length=2000, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the served body.")
    size = models.PositiveIntegerField(null=True, blank=True, help_text="Body bytes.")
    warc = models.CharField(
        max_length=300,
        blank=True,
        help_text="The WARC file's name in the evidence storage (settings.STORAGES['evidence']).",
    )
    warc_sha256 = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True, help_text="The page's main text (trafilatura).")
    title = models.CharField(max_length=500, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    published_date = models.DateField(null=True, blank=True)
    fetched_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["source_id", "fetched_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=SnapshotOutcome.values),
                name="annotations_sourcesnapshot_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.pk} of source {self.source_id}: {self.outcome}"


class SourceFlag(models.TextChoices):
    OK = "ok", "Unchanged"
    CHANGED = "changed", "Changed"
    GONE = "gone", "Gone"
    MOVED = "moved", "Moved"


class SourceEvidence(models.Model):
    """A source's evidence now: its latest snapshot attempt, the baseline (its latest
    archived snapshot, what quotes are verified against and checks compared with), the
    link-rot watch's flag and when it is next due. Derived bookkeeping, one row per
    source, written by the evidence services only."""

    source = models.OneToOneField(
        Source, on_delete=models.PROTECT, primary_key=True, related_name="evidence"
    )
    latest = models.ForeignKey(
        SourceSnapshot, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    baseline = models.ForeignKey(
        SourceSnapshot, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    flag = models.CharField(max_length=10, choices=SourceFlag.choices, blank=True)
    flag_since = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source_id"]
        verbose_name_plural = "source evidence"
        constraints = [
            models.CheckConstraint(
                condition=Q(flag__in=[*SourceFlag.values, ""]),
                name="annotations_sourceevidence_flag_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"evidence of source {self.source_id}: {self.flag or 'unchecked'}"


class SourceCheck(models.Model):
    """One re-fetch of a cited source by the link-rot watch: what it answered (outcome,
    status, body hash, final URL) and the flag it gave against the baseline snapshot
    (empty when it said nothing either way: a timeout, a 5xx)."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="checks")
    baseline = models.ForeignKey(
        SourceSnapshot, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=SnapshotOutcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    final_url = models.URLField(max_length=2000, blank=True)
    flag = models.CharField(max_length=10, choices=SourceFlag.choices, blank=True)

    class Meta:
        ordering = ["source_id", "checked_at", "id"]

    def __str__(self) -> str:
        return f"check of source {self.source_id}: {self.flag or self.outcome}"


class QuoteStatus(models.TextChoices):
    VERIFIED = "verified", "Verified"
    NOT_FOUND = "not_found", "Not found"
    NO_SNAPSHOT = "no_snapshot", "No snapshot"


class QuoteCheck(models.Model):
    """Whether a citation's quote occurs in its source's baseline snapshot, and where
    (code-point offsets of the snapshot's text). Derived from the citation and the
    snapshot, so it is kept beside the citation (never in it: citations are a verdict's
    words, compared with the audit trail) and recomputed when the baseline changes."""

    citation = models.OneToOneField(
        Citation, on_delete=models.CASCADE, primary_key=True, related_name="quote_check"
    )
    snapshot = models.ForeignKey(
        SourceSnapshot, on_delete=models.PROTECT, related_name="quote_checks"
    )
    status = models.CharField(max_length=12, choices=QuoteStatus.choices)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["citation_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=QuoteStatus.values),
                name="annotations_quotecheck_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"quote of citation {self.citation_id}: {self.status}"


# --- discussion and notifications (issue 18) ---------------------------------------------------


class CommentVisibility(models.TextChoices):
    # A reviewer's comment is blind like a verdict: the author, editors, and reviewers who
    # have judged the claim's current version see it (``access.comment_scope_for_user``).
    JUDGED = "judged", "Editors and reviewers who have judged the claim"
    # An editor's note to everyone on the claim, blind or not.
    EVERYONE = "everyone", "Every member of the project (an editor's note)"


class Comment(models.Model):
    """One comment in a claim's discussion: plain text (links made safe when shown), never
    edited in place. Withdrawing keeps the row and its text (``withdrawn_at``/``withdrawn_by``,
    and an audit event); nobody but the admin panel's readers sees a withdrawn text."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="comments")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="comments", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField(help_text="Plain text; http/https links become links when shown.")
    visibility = models.CharField(
        max_length=10, choices=CommentVisibility.choices, default=CommentVisibility.JUDGED
    )
    claim_version = models.PositiveIntegerField(
        default=1, help_text="The claim version (Claim.claim_version) the comment was written on."
    )
    created_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility__in=CommentVisibility.values),
                name="annotations_comment_visibility_valid",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                | Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False),
                name="annotations_comment_withdrawn_together",
            ),
        ]
        indexes = [models.Index(fields=["claim", "id"], name="annotations_comment_claim_idx")]

    def __str__(self) -> str:
        return f"comment {self.pk} on claim {self.claim_id} by {self.author_id}"


class NotificationKind(models.TextChoices):
    MENTIONED = "mentioned", "Mentioned in a comment"
    ASSIGNED = "assigned", "Assigned a claim"
    DISPUTED = "disputed", "A claim is disputed (editors)"
    DECIDED = "decided", "Your claim was decided"
    PUBLISHED = "published", "Your claim was published"
    LEASE_EXPIRING = "lease_expiring", "Your lease is about to expire"


class Notification(models.Model):
    """One in-app notice to one member about one event. ``key`` names the event (the
    comment, the audit event of a status change, the lease and its expiry), and
    (recipient, kind, key) is unique: a retried or concurrent write, or a second sweep,
    cannot notify anyone twice. The text is rendered when read, from the kind and the
    claim, and never carries a rating or another reviewer's words (blind review)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    key = models.CharField(max_length=100)
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by the one sender that claims the row after commit: e-mail goes out at most once.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "key"], name="annotations_notification_once"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values),
                name="annotations_notification_kind_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "id"], name="annotations_notif_unread_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.key})"


class NotificationSettings(models.Model):
    """A user's e-mail choices: in-app notifications always arrive; e-mail only when
    ``email_enabled`` and the kind is in ``email_kinds`` (and the account has an address)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_enabled = models.BooleanField(default=False)
    email_kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"
