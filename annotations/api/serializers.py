"""API representations. Fields are listed explicitly; writes go through services,
so input serializers only parse and shape arguments."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth import authenticate
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from annotations.core import consensus as rules
from annotations.core import evidence_policy, scheduling, spans
from annotations.core import webhooks as core_webhooks
from annotations.core.calibration import MAX_GOLD_RATE
from annotations.core.numbers import (
    NOT_ASCII_NUMBER,
    NOT_ASCII_WHOLE_NUMBER,
    spelled_as_whole_number,
    spelled_in_ascii,
)
from annotations.models import (
    Citation,
    Claim,
    ClaimantKind,
    ClaimStatus,
    Confidence,
    Consensus,
    ConsensusRule,
    Document,
    DocumentRevision,
    Membership,
    Project,
    Publication,
    QuoteStatus,
    Rating,
    Role,
    Source,
    SourceFlag,
    SourceSnapshot,
    Stance,
    TextDirection,
    Verdict,
)
from annotations.selectors.evidence import citation_evidence
from annotations.services import limits


class LimitedCharField(serializers.CharField):
    """A CharField bounded by one of the services' limits (``services.limits``), refusing
    with the services' own message (Django's ``MaxLengthValidator``), so the API, the UI,
    the admin and the commands say the same thing about the same input."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.max_length is not None:
            self.validators = [
                MaxLengthValidator(self.max_length) if isinstance(v, MaxLengthValidator) else v
                for v in self.validators
            ]


REFUSED_FIELD = "Unknown or read-only field: this endpoint does not take it."
NOT_WHOLE_NUMBER = "Enter a whole number."


def _number_error(field: serializers.Field, value: Any) -> Any:
    """What is wrong with how ``value`` spells a number for ``field``, or None: text for
    an integer field not ``spelled_as_whole_number``, a JSON float for one (an id, an
    offset or a count is never ``5.0``; DRF reads it as 5), text for a decimal field not
    ``spelled_in_ascii``. Each item of a list of numbers is checked the same way."""
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        errors = {i: e for i, item in enumerate(value) if (e := _number_error(field.child, item))}
        return errors or None
    if isinstance(field, serializers.IntegerField):
        if isinstance(value, str) and not spelled_as_whole_number(value):
            return [NOT_ASCII_WHOLE_NUMBER]
        if isinstance(value, float):
            return [NOT_WHOLE_NUMBER]
    elif (
        isinstance(field, (serializers.FloatField, serializers.DecimalField))
        and isinstance(value, str)
        and not spelled_in_ascii(value)
    ):
        return [NOT_ASCII_NUMBER]
    return None


NOT_A_STRING = "Not a valid string."
NOT_A_BOOLEAN = "Must be a valid boolean."


def _json_type_error(field: serializers.Field, value: Any) -> Any:
    """What is wrong with the JSON type of ``value`` for ``field``, or None: a number for a
    text field (DRF stores its digits: ``"rationale": 5`` was saved as ``"5"``), anything
    but ``true`` or ``false`` for a boolean (DRF reads ``"yes"``, ``"on"``, ``1``), in
    DRF's own words. Each item of a list is checked the same way."""
    if value is None:
        return None  # the field's allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        errors = {
            i: e for i, item in enumerate(value) if (e := _json_type_error(field.child, item))
        }
        return errors or None
    if isinstance(field, serializers.CharField) and isinstance(value, (int, float)):
        return [NOT_A_STRING]
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return [NOT_A_BOOLEAN]
    return None


def _number_spelling_errors(
    fields: Mapping[str, serializers.Field], data: Mapping[Any, Any]
) -> dict[str, Any]:
    """A message for each number field of ``fields`` given a value ``_number_error``
    refuses, and, in a JSON object (not a form's text), for each field given a value of
    the wrong JSON type (``_json_type_error``)."""
    json = type(data) is dict
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        if field.read_only or name not in data:
            continue
        error = _number_error(field, data[name]) or (
            _json_type_error(field, data[name]) if json else None
        )
        if error:
            errors[name] = error
    return errors


class InputSerializer(serializers.Serializer):
    """The base of every serializer that reads a request body.

    A key the endpoint does not take (unknown, or read-only on the resource such as a
    project's ``slug``, ``created_by`` or ``id``) is a 400 naming it, and nothing is
    written; DRF would drop it silently, so a client would believe it had changed what it
    had not (issue 13, finding 5c). Nested input (a verdict's citations, each document of
    a bulk request) is checked the same way, and the OpenAPI schema says so
    (``additionalProperties: false``, ``StrictInputSchema``).

    A whole number given as text takes ASCII digits only (``spelled_as_whole_number``):
    ``"٣"``, ``"1_000"``, ``" 5"``, ``"+5"`` or ``"5.0"`` is a 400 naming the field, as in
    a query's id filter (``formfields.AsciiIntegerField``); so is a JSON float for an integer
    field (``5.0``). A decimal field's text takes ASCII, no ``_`` and no spaces around it
    (``spelled_in_ascii``). JSON numbers are read by the JSON parser, which takes ASCII
    digits only. In a JSON body a text field takes a string (not a number: DRF would store
    its digits) and a boolean ``true`` or ``false`` (``_json_type_error``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = sorted(str(key) for key in data if key not in writable)
            if refused:
                raise serializers.ValidationError(
                    {key[:100]: [REFUSED_FIELD] for key in refused[:50]}
                )
            misspelled = _number_spelling_errors(self.fields, data)
            if misspelled:
                raise serializers.ValidationError(misspelled)
        return super().to_internal_value(data)


class StrictInputSchema(OpenApiSerializerExtension):
    """Request bodies read by an ``InputSerializer`` allow no other properties."""

    target_class = InputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


# --- projects ---------------------------------------------------------------------------


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["key", "label", "ordinal", "position"]


class ProjectSerializer(serializers.ModelSerializer):
    scale = RatingSerializer(source="ratings", many=True, read_only=True)
    organization_url = serializers.CharField(read_only=True, help_text="http(s) URL or empty")
    allowed_stances = serializers.ListField(
        child=serializers.ChoiceField(choices=Stance.choices),
        source="evidence_policy.allowed_stances",
        read_only=True,
        help_text="Evidence policy: the stances a citation may take.",
    )
    role = serializers.SerializerMethodField()
    triage_provider = serializers.SerializerMethodField(
        help_text="Who suggests check-worthy sentences: builtin (the built-in model) or http "
        "(the project's endpoint, triage_url)"
    )
    triage_url = serializers.SerializerMethodField(
        help_text="The check-worthiness provider's URL (project admins only; null for others; "
        "empty: the built-in model)"
    )
    gold_rate = serializers.SerializerMethodField(
        help_text="Gold calibration: the share of leases that serve a gold claim (editors and "
        "admins only; null for reviewers, whom nothing tells which claims are gold)"
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "organization",
            "organization_url",
            "required_reviews",
            "consensus_rule",
            "majority_threshold",
            "lease_minutes",
            "publishing_enabled",
            "triage_provider",
            "triage_url",
            "min_citations",
            "quote_required",
            "allowed_stances",
            "gold_rate",
            "created_at",
            "role",
            "scale",
        ]
        read_only_fields = fields

    def get_role(self, project: Project) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(project.pk)

    @extend_schema_field(serializers.ChoiceField(choices=["builtin", "http"]))
    def get_triage_provider(self, project: Project) -> str:
        return "http" if project.triage_url else "builtin"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_triage_url(self, project: Project) -> str | None:
        # Like a webhook URL, it may carry a token: its admins see it, nobody else.
        return project.triage_url if self.get_role(project) == Role.ADMIN else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_gold_rate(self, project: Project) -> float | None:
        return project.gold_rate if self.get_role(project) in (Role.EDITOR, Role.ADMIN) else None


class ProjectCreateSerializer(InputSerializer):
    name = LimitedCharField(max_length=limits.MAX_PROJECT_NAME)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    organization = LimitedCharField(
        max_length=limits.MAX_ORGANIZATION, required=False, allow_blank=True
    )
    # Text, not a URLField: Django's URL check answered "Enter a valid URL." for what the
    # services refuse with the reason (numeric shorthand such as 127.1, a percent-escaped
    # host), before they ran. validate_organization_url checks the scheme, the service
    # that the site is public (services.public_url), as for every other URL field.
    organization_url = LimitedCharField(
        max_length=200, required=False, allow_blank=True, help_text="A public http(s) site."
    )
    required_reviews = serializers.IntegerField(
        min_value=rules.MIN_REQUIRED_REVIEWS, max_value=rules.MAX_REQUIRED_REVIEWS, required=False
    )
    consensus_rule = serializers.ChoiceField(choices=ConsensusRule.choices, required=False)
    majority_threshold = serializers.FloatField(
        min_value=rules.MIN_MAJORITY_THRESHOLD,
        max_value=rules.MAX_PROJECT_MAJORITY_THRESHOLD,
        required=False,
    )
    lease_minutes = serializers.IntegerField(
        min_value=scheduling.MIN_LEASE_MINUTES,
        max_value=scheduling.MAX_LEASE_MINUTES,
        required=False,
    )
    publishing_enabled = serializers.BooleanField(
        required=False,
        help_text="Public pages and feeds of published fact checks under /fact-checks/<slug>/.",
    )
    min_citations = serializers.IntegerField(
        min_value=0,
        max_value=evidence_policy.MAX_MIN_CITATIONS,
        required=False,
        help_text="Evidence policy: citations every verdict needs (default 0, none).",
    )
    quote_required = serializers.BooleanField(
        required=False,
        help_text="Evidence policy: every citation must quote its source (default false).",
    )
    allowed_stances = serializers.ListField(
        child=serializers.ChoiceField(choices=Stance.choices),
        allow_empty=False,
        min_length=1,
        max_length=len(Stance.values),
        required=False,
        help_text="Evidence policy: the stances a citation may take (default all).",
    )

    def validate_organization_url(self, value: str) -> str:
        return _http_url(value)


class ProjectUpdateSerializer(ProjectCreateSerializer):
    name = LimitedCharField(max_length=limits.MAX_PROJECT_NAME, required=False)
    gold_rate = serializers.FloatField(
        min_value=0,
        max_value=MAX_GOLD_RATE,
        required=False,
        help_text="Gold calibration: the share of leases that serve a gold claim "
        "(0 = never, e.g. 0.05).",
    )
    slug = None  # the URL name never changes
    triage_url = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="An http(s) endpoint that ranks sentences for check-worthiness (README: "
        "the HTTP provider contract); empty for the built-in model.",
    )


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]
        read_only_fields = fields


class MemberAddSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationCreateSerializer(InputSerializer):
    username = LimitedCharField(
        max_length=limits.MAX_INVITED_AS,
        help_text="The username, or the email address, of the person invited.",
    )
    role = serializers.ChoiceField(choices=Role.choices)


class ProjectInvitationSerializer(serializers.Serializer):
    """An invitation as the project's admins see it: the same whether or not the name they
    typed is an account; a decline reads as pending."""

    id = serializers.IntegerField()
    username = serializers.CharField(help_text="As the inviter typed it.")
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"])
    invited_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class InvitationProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class InvitationSerializer(serializers.Serializer):
    """An open invitation as the invited person sees it."""

    id = serializers.IntegerField()
    project = InvitationProjectSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class InvitationAcceptedSerializer(serializers.Serializer):
    project = InvitationProjectSerializer()
    role = serializers.ChoiceField(choices=Role.choices)


class ReviewerAgreementSerializer(serializers.Serializer):
    username = serializers.CharField()
    verdicts = serializers.IntegerField()
    compared = serializers.IntegerField(
        help_text="Verdicts on claims that have a current consensus."
    )
    matched_consensus = serializers.IntegerField()


class AlphaSerializer(serializers.Serializer):
    nominal = serializers.FloatField(allow_null=True)
    ordinal = serializers.FloatField(allow_null=True)


class AgreementSerializer(serializers.Serializer):
    krippendorff_alpha = AlphaSerializer()
    percent_agreement = serializers.FloatField(allow_null=True)
    claims = serializers.IntegerField()
    verdicts = serializers.IntegerField()
    reviewers = ReviewerAgreementSerializer(many=True)


# --- documents ---------------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    source_url = serializers.CharField(read_only=True, help_text="http(s) URL or empty")

    class Meta:
        model = Document
        fields = [
            "id",
            "project",
            "title",
            "length",
            "text_sha256",
            "source_url",
            "publisher",
            "author",
            "published_date",
            "language",
            "direction",
            "revision",
            "created_at",
        ]
        read_only_fields = fields


class _SurrogateCheck(ProhibitSurrogateCharactersValidator):
    """DRF's check (same message and code) without its Python loop over every character,
    which took about half of a 500-document import (bench/bench_peer.py): the UTF-8
    codec finds the first lone surrogate."""

    def __call__(self, value: Any) -> None:
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            super().__call__(text[exc.start : exc.end])


class LongTextField(serializers.CharField):
    """A CharField for document-sized text (see ``_SurrogateCheck``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            _SurrogateCheck() if isinstance(v, ProhibitSurrogateCharactersValidator) else v
            for v in self.validators
        ]


class DocumentCreateSerializer(InputSerializer):
    project = serializers.IntegerField()
    title = LimitedCharField(max_length=limits.MAX_TITLE)
    text = LongTextField(trim_whitespace=False)
    source_url = LimitedCharField(max_length=limits.MAX_URL, required=False, allow_blank=True)
    publisher = LimitedCharField(max_length=limits.MAX_PUBLISHER, required=False, allow_blank=True)
    author = LimitedCharField(max_length=limits.MAX_AUTHOR, required=False, allow_blank=True)
    published_date = serializers.DateField(required=False, allow_null=True)
    language = LimitedCharField(
        max_length=limits.MAX_LANGUAGE,
        required=False,
        allow_blank=True,
        help_text="BCP 47 tag (en, ar, zh-Hans); detected from the text when left out.",
    )
    direction = serializers.ChoiceField(
        choices=TextDirection.choices,
        required=False,
        help_text="Writing direction; by default the one the language implies, else the text's.",
    )


# --- the plain-body fast path ---------------------------------------------------------------


@dataclass(frozen=True)
class _PlainField:
    """What the plain-body fast path (``plain_body``) needs to know of one field of an
    ``InputSerializer``."""

    # "int", "str", "date", "choice", "list" (of nested input), or "" for a field the fast
    # path does not read: a body that gives it goes to the serializer.
    kind: str
    required: bool
    allow_null: bool = False
    allow_blank: bool = False
    trim: bool = True
    max_length: int | None = None
    choices: frozenset[str] = frozenset()
    item: _PlainShape | None = None  # "list": each item's


@dataclass(frozen=True)
class _PlainShape:
    """An ``InputSerializer``'s writable fields as ``plain_body`` reads them, the required
    ones, and the serializer's own check of the whole (its ``plain_check``, the predicate
    its ``validate`` refuses by)."""

    fields: dict[str, _PlainField]
    required: frozenset[str]
    check: Any = None  # Callable[[dict[str, Any]], bool] | None


# The validators a field may carry for the fast path to stand in for it: its own checks
# are the same (length, NUL, lone surrogates).
_PLAIN_VALIDATORS = (
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)
# CharFields whose reading is CharField's own (the subclasses only change validators).
_PLAIN_CHAR_FIELDS = (serializers.CharField, LimitedCharField, LongTextField)


def _plain_field(name: str, field: serializers.Field) -> _PlainField:
    common = {"required": field.required, "allow_null": field.allow_null}
    if field.source != name:
        return _PlainField("", **common)
    if isinstance(field, serializers.ListSerializer):
        item = _plain_shape(field.child)
        if item is None or field.min_length is not None or not field.allow_empty:
            return _PlainField("", **common)
        return _PlainField("list", max_length=field.max_length, item=item, **common)
    if not all(isinstance(v, _PLAIN_VALIDATORS) for v in field.validators):
        return _PlainField("", **common)
    if type(field) is serializers.IntegerField:
        if field.max_value is not None or field.min_value is not None:
            return _PlainField("", **common)
        return _PlainField("int", **common)
    if type(field) in _PLAIN_CHAR_FIELDS and field.min_length is None:
        return _PlainField(
            "str",
            allow_blank=field.allow_blank,
            trim=field.trim_whitespace,
            max_length=field.max_length,
            **common,
        )
    if type(field) is serializers.DateField:
        return _PlainField("date", **common)
    if type(field) is serializers.ChoiceField and not field.allow_blank:
        return _PlainField("choice", choices=frozenset(field.choices), **common)
    return _PlainField("", **common)


def _plain_shape(serializer: serializers.Serializer) -> _PlainShape | None:
    """``serializer``'s shape for the fast path, taken from the serializer itself so that
    the two cannot drift apart; None (no fast path at all) for a serializer that is not an
    ``InputSerializer``, reads its input its own way, has validators of its own, checks its
    fields in ``validate_<name>`` or the whole in ``validate`` without saying how
    (``plain_check``), or fills a default in."""
    cls = type(serializer)
    check = getattr(cls, "plain_check", None)
    if (
        not isinstance(serializer, InputSerializer)
        or serializer.validators
        or cls.to_internal_value is not InputSerializer.to_internal_value
        or cls.run_validation is not serializers.Serializer.run_validation
        or (cls.validate is not serializers.Serializer.validate and check is None)
    ):
        return None
    fields: dict[str, _PlainField] = {}
    for name, field in serializer.fields.items():
        if field.read_only:
            continue  # refused in a body: not a key of the shape, so the serializer words it
        if field.default is not serializers.empty or hasattr(cls, f"validate_{name}"):
            return None
        fields[name] = _plain_field(name, field)
    required = frozenset(name for name, field in fields.items() if field.required)
    return _PlainShape(fields, required, check)


@functools.cache
def _plain_shape_of(serializer_class: type[serializers.Serializer]) -> _PlainShape | None:
    return _plain_shape(serializer_class())


_REFUSED = object()


def _plain_value(field: _PlainField, value: Any) -> Any:
    """``value`` as the field's ``run_validation`` answers it, or ``_REFUSED`` when the
    fast path cannot tell (the serializer then decides)."""
    if value is None:
        return None if field.allow_null else _REFUSED
    kind = field.kind
    if kind == "str":
        if type(value) is not str:
            return _REFUSED
        if field.trim:
            value = value.strip()
        if value == "":
            return value if field.allow_blank else _REFUSED
        if (field.max_length is not None and len(value) > field.max_length) or (
            spans.storage_problems(value)  # NUL, a lone surrogate
        ):
            return _REFUSED
        return value
    if kind == "int":
        return value if type(value) is int else _REFUSED
    if kind == "choice":
        return value if type(value) is str and value in field.choices else _REFUSED
    if kind == "date":
        if type(value) is not str:
            return _REFUSED
        try:  # what DRF's parse_date tries first
            return dt.date.fromisoformat(value)
        except ValueError:
            return _REFUSED
    if kind == "list":
        if type(value) is not list or (
            field.max_length is not None and len(value) > field.max_length
        ):
            return _REFUSED
        items = []
        for item in value:
            parsed = _plain_parse(cast(_PlainShape, field.item), item)
            if parsed is None:
                return _REFUSED
            items.append(parsed)
        return items
    return _REFUSED


def _plain_parse(shape: _PlainShape, data: Any) -> dict[str, Any] | None:
    if type(data) is not dict or not data.keys() <= shape.fields.keys():
        return None
    if not shape.required <= data.keys():
        return None
    parsed: dict[str, Any] = {}
    for name, value in data.items():
        value = _plain_value(shape.fields[name], value)
        if value is _REFUSED:
            return None
        parsed[name] = value
    if shape.check is not None and not shape.check(parsed):
        return None
    return parsed


def plain_body(serializer_class: type[InputSerializer], data: Any) -> dict[str, Any] | None:
    """``data`` as ``serializer_class(data=data)`` validates it, when it is plain: a JSON
    object of known keys with the required ones, each value of the field's own type (an
    integer an int, a text a string within its limits, free of NUL and lone surrogates,
    blank only where the field allows it, a date ISO 8601, a choice one of its keys, a list
    of nested input within its length, each item plain and passing its serializer's
    ``plain_check``) or null where the field allows it. None as soon as anything is not:
    the serializer then decides, and words the errors, as before.

    DRF's machinery (a deep copy of every declared field for each request, a field
    object's run_validation, empty-value checks, validators, error collection for each
    value) was about a tenth of a lease-and-verdict cycle's CPU and a quarter of a
    500-document import's; this does the same checks inline. What it accepts, the
    serializer accepts with the same values (tests/api/test_plain_body.py,
    tests/api/test_documents_plain.py)."""
    shape = _plain_shape_of(serializer_class)
    return None if shape is None else _plain_parse(shape, data)


def documents_plain(data: list[Any]) -> list[dict[str, Any]] | None:
    """The items of a bulk import as ``DocumentCreateSerializer(many=True)`` validates
    them, when every item is plain (``plain_body``); None as soon as one item is not."""
    items: list[dict[str, Any]] = []
    for item in data:
        parsed = plain_body(DocumentCreateSerializer, item)
        if parsed is None:
            return None
        items.append(parsed)
    return items


class DocumentUpdateSerializer(InputSerializer):
    """A document's description (``services.document_update``); the text never changes here."""

    title = LimitedCharField(max_length=limits.MAX_TITLE, required=False)
    source_url = LimitedCharField(max_length=limits.MAX_URL, required=False, allow_blank=True)
    publisher = LimitedCharField(max_length=limits.MAX_PUBLISHER, required=False, allow_blank=True)
    author = LimitedCharField(max_length=limits.MAX_AUTHOR, required=False, allow_blank=True)
    published_date = serializers.DateField(required=False, allow_null=True)
    language = LimitedCharField(
        max_length=limits.MAX_LANGUAGE,
        required=False,
        allow_blank=True,
        help_text="BCP 47 tag, or empty for unknown. Without a direction, the direction "
        "becomes the one the new language implies.",
    )
    direction = serializers.ChoiceField(choices=TextDirection.choices, required=False)


# --- sources, verdicts, consensus ----------------------------------------------------------


class SourceSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True, help_text="http(s) URL")
    archive_url = serializers.CharField(read_only=True, help_text="http(s) URL or empty")

    class Meta:
        model = Source
        fields = ["id", "url", "title", "publisher", "published_date", "archive_url"]
        read_only_fields = fields


class SnapshotSerializer(serializers.ModelSerializer):
    """A snapshot's metadata (its text is in the snapshot detail, its WARC a download)."""

    requested_url = serializers.CharField(read_only=True, help_text="http(s) URL")
    final_url = serializers.CharField(
        read_only=True, help_text="After redirects; empty when the fetch failed."
    )

    class Meta:
        model = SourceSnapshot
        fields = [
            "id",
            "source",
            "outcome",
            "reason",
            "requested_url",
            "final_url",
            "http_status",
            "content_type",
            "sha256",
            "size",
            "title",
            "publisher",
            "published_date",
            "fetched_at",
        ]
        read_only_fields = fields


class SnapshotDetailSerializer(SnapshotSerializer):
    text = serializers.CharField(read_only=True, help_text="The page's main text, plain.")
    warc_sha256 = serializers.CharField(read_only=True)

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "warc_sha256", "text"]
        read_only_fields = fields


class CitationEvidenceSerializer(serializers.Serializer[Any]):
    quote_status = serializers.ChoiceField(
        choices=[*QuoteStatus.values, ""],
        read_only=True,
        help_text="verified, not_found, no_snapshot; empty for a citation without a quote.",
    )
    quote_start = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Code-point offset in the snapshot's text."
    )
    quote_end = serializers.IntegerField(read_only=True, allow_null=True)
    snapshot = SnapshotSerializer(read_only=True, allow_null=True)
    flag = serializers.ChoiceField(
        choices=[*SourceFlag.values, ""],
        read_only=True,
        help_text="The link-rot watch: ok, changed, gone, moved; empty before any snapshot.",
    )


class CitationSerializer(serializers.ModelSerializer):
    source = SourceSerializer(read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = Citation
        fields = ["source", "quote", "stance", "evidence"]
        read_only_fields = fields

    @extend_schema_field(CitationEvidenceSerializer)
    def get_evidence(self, citation: Citation) -> dict[str, Any]:
        return CitationEvidenceSerializer(citation_evidence(citation)).data


class VerdictSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    rating = serializers.CharField(source="rating.key", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Verdict
        fields = [
            "id",
            "claim",
            "reviewer",
            "rating",
            "confidence",
            "rationale",
            "revision",
            "is_current",
            "claim_version",
            "post_reveal",
            "submitted_at",
            "citations",
        ]
        read_only_fields = fields


def source_data(source: Source) -> dict[str, Any]:
    """``SourceSerializer(source).data`` written out by hand (``verdict_data``)."""
    published = source.published_date
    return {
        "id": source.pk,
        "url": source.url,
        "title": source.title,
        "publisher": source.publisher,
        "published_date": published.isoformat() if published is not None else None,
        "archive_url": source.archive_url,
    }


def citation_data(citation: Citation) -> dict[str, Any]:
    """``CitationSerializer(citation).data`` written out by hand (``verdict_data``); a
    snapshot, which a citation has only once its source was archived, is written by
    ``SnapshotSerializer``."""
    evidence = citation_evidence(citation)
    snapshot = evidence.snapshot
    return {
        "source": source_data(citation.source),
        "quote": citation.quote,
        "stance": citation.stance,
        "evidence": {
            "quote_status": evidence.quote_status,
            "quote_start": evidence.quote_start,
            "quote_end": evidence.quote_end,
            "snapshot": SnapshotSerializer(snapshot).data if snapshot is not None else None,
            "flag": evidence.flag,
        },
    }


def verdict_data(verdict: Verdict, *, zone: dt.tzinfo | None = None) -> dict[str, Any]:
    """``VerdictSerializer(verdict).data`` written out by hand, for the verdict's answer
    (the review cycle's hot path, as ``claim_data`` for a claim): DRF built the model
    serializer's fields, and its citations' and their sources', for every answer, a sixth
    of a lease-and-verdict cycle's CPU. The schema stays ``VerdictSerializer``'s, and tests
    hold the two equal."""
    return {
        "id": verdict.pk,
        "claim": verdict.claim_id,
        "reviewer": verdict.reviewer.username,
        "rating": verdict.rating.key,
        "confidence": verdict.confidence,
        "rationale": verdict.rationale,
        "revision": verdict.revision,
        "is_current": verdict.is_current,
        "claim_version": verdict.claim_version,
        "post_reveal": verdict.post_reveal,
        "submitted_at": instant(verdict.submitted_at, zone=zone),
        "citations": [citation_data(citation) for citation in verdict.citations.all()],
    }


class CitationInputSerializer(InputSerializer):
    url = LimitedCharField(max_length=limits.MAX_URL, required=False, allow_blank=True)
    source = serializers.IntegerField(required=False, allow_null=True)
    quote = LimitedCharField(
        required=False, allow_blank=True, max_length=limits.MAX_QUOTE, trim_whitespace=False
    )
    stance = serializers.ChoiceField(choices=Stance.choices)

    @staticmethod
    def plain_check(attrs: Mapping[str, Any]) -> bool:
        """A citation names its source: by URL or by a known source's id (``validate``'s
        rule, for the plain-body fast path too)."""
        return bool(attrs.get("url")) or attrs.get("source") is not None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.plain_check(attrs):
            raise serializers.ValidationError(
                {"url": "Give the source's URL or the id of a known source."}
            )
        return attrs


class VerdictCreateSerializer(InputSerializer):
    rating = serializers.CharField(max_length=40)
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    rationale = LimitedCharField(
        required=False, allow_blank=True, max_length=limits.MAX_RATIONALE, trim_whitespace=False
    )
    citations = CitationInputSerializer(many=True, required=False, max_length=limits.MAX_CITATIONS)


class ConsensusSerializer(serializers.ModelSerializer):
    rating = serializers.CharField(source="rating.key", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Consensus
        fields = [
            "sequence",
            "rating",
            "method",
            "agreement",
            "decided_by",
            "decided_at",
            "note",
            "is_current",
        ]
        read_only_fields = fields


class GoldMarkSerializer(InputSerializer):
    rating = serializers.CharField(
        max_length=40,
        required=False,
        help_text="The expected rating (a key of the project's scale); default: the claim's "
        "consensus rating.",
    )
    note = LimitedCharField(max_length=limits.MAX_NOTE, required=False, allow_blank=True)


class CalibrationVerdictSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    rating = serializers.CharField(source="rating.key")
    confidence = serializers.CharField()
    rationale = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class GoldClaimSerializer(serializers.Serializer):
    claim = serializers.IntegerField()
    rating = serializers.CharField(help_text="The expected rating.")
    note = serializers.CharField()
    marked_by = serializers.CharField()
    marked_at = serializers.DateTimeField()
    calibration_verdicts = CalibrationVerdictSerializer(many=True)


class ReviewerFiguresSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    verdicts = serializers.IntegerField()
    median_seconds_to_verdict = serializers.FloatField(allow_null=True)
    leases = serializers.IntegerField(help_text="Queue entries (leases and skips).")
    skip_rate = serializers.FloatField(allow_null=True)
    expiry_rate = serializers.FloatField(allow_null=True)
    consensus_matched = serializers.IntegerField()
    consensus_compared = serializers.IntegerField()
    consensus_agreement = serializers.FloatField(allow_null=True)
    ordinal_alpha = serializers.FloatField(allow_null=True)
    gold_correct = serializers.IntegerField()
    gold_scored = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)


class ReviewerStatisticsSerializer(serializers.Serializer):
    gold_rate = serializers.FloatField()
    reviewers = ReviewerFiguresSerializer(many=True)


class AdjudicateSerializer(InputSerializer):
    rating = serializers.CharField(max_length=40)
    note = LimitedCharField(max_length=limits.MAX_NOTE)


class NoteSerializer(InputSerializer):
    note = LimitedCharField(max_length=limits.MAX_NOTE)


class ReasonSerializer(InputSerializer):
    reason = LimitedCharField(max_length=limits.MAX_REASON)


# --- publishing ------------------------------------------------------------------------------


class PublishSerializer(InputSerializer):
    summary = LimitedCharField(
        max_length=limits.MAX_SUMMARY,
        help_text="The fact check for readers (required): what was checked and what was found.",
    )


class CorrectSerializer(InputSerializer):
    note = LimitedCharField(
        max_length=limits.MAX_NOTE, help_text="Public correction notice: what changed and why."
    )
    rating = serializers.CharField(
        max_length=40, required=False, help_text="A new rating (a key of the project's scale)."
    )
    statement = LimitedCharField(
        max_length=limits.MAX_STATEMENT, required=False, help_text="New published wording."
    )
    claimant = LimitedCharField(max_length=limits.MAX_CLAIMANT, required=False, allow_blank=True)
    summary = LimitedCharField(max_length=limits.MAX_SUMMARY, required=False)


class RetractSerializer(InputSerializer):
    note = LimitedCharField(
        max_length=limits.MAX_NOTE, help_text="Public retraction notice: why it was retracted."
    )


class PublishedCitationSerializer(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField()
    publisher = serializers.CharField()
    archive_url = serializers.CharField()
    quote = serializers.CharField()
    stance = serializers.CharField()


class PublicationSerializer(serializers.ModelSerializer):
    """One immutable publication version of a claim."""

    editor = serializers.CharField(source="editor.username", read_only=True)
    citations = PublishedCitationSerializer(many=True, read_only=True)
    appearance_url = serializers.CharField(read_only=True, help_text="http(s) URL or empty")
    publisher_url = serializers.CharField(read_only=True, help_text="http(s) URL or empty")

    class Meta:
        model = Publication
        fields = [
            "claim",
            "number",
            "kind",
            *Publication.SNAPSHOT_FIELDS,
            "published_at",
            "modified_at",
            "editor",
        ]
        read_only_fields = fields


# --- claims ----------------------------------------------------------------------------------


class PriorityField(serializers.ChoiceField):
    """A claim's priority as its key (``urgent`` …); stored as its rank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(scheduling.PRIORITIES), **kwargs)

    def to_representation(self, value: Any) -> str:
        return scheduling.priority_key(int(value))


class ClaimSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    consensus = serializers.SerializerMethodField()
    priority = PriorityField(
        read_only=True, help_text="The queue hands out urgent, then high, normal, low."
    )
    overdue = serializers.BooleanField(
        source="is_overdue",
        read_only=True,
        help_text="The deadline (due_at) has passed and the claim is still undecided.",
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "project",
            "document",
            "start",
            "end",
            "exact",
            "prefix",
            "suffix",
            "statement",
            "claimant",
            "status",
            "version",
            "claim_version",
            "anchor_status",
            "anchor_revision",
            "created_by",
            "created_at",
            "updated_at",
            "consensus",
            "priority",
            "due_at",
            "overdue",
        ]
        read_only_fields = fields

    def get_consensus(self, claim: Claim) -> dict[str, Any] | None:
        """The current consensus (rating, method) once the claim is decided (resolved,
        published or corrected)."""
        return consensus_data(claim)


def consensus_data(claim: Claim) -> dict[str, Any] | None:
    """A claim's ``consensus`` field: its current consensus once it is decided, else None."""
    if claim.status not in (
        ClaimStatus.RESOLVED,
        ClaimStatus.PUBLISHED,
        ClaimStatus.CORRECTED,
    ):
        return None
    # A resolved claim without a current record (a row the database can hold, e.g.
    # after a restore or a manual fix) shows "no consensus"; it never breaks a list.
    current = getattr(claim, "current_consensus", None)
    record = (current[0] if current else None) if isinstance(current, list) else current
    if record is None:
        return None
    return {
        "rating": record.rating.key,
        "method": record.method,
        "decided_at": record.decided_at,
    }


def current_zone() -> dt.tzinfo:
    """The current time zone, for ``instant``: UTC as ``datetime.UTC``, the time zone of the
    times read from the database, so that writing them converts nothing (converting to
    ``ZoneInfo("UTC")`` gives the same text, at several times the cost)."""
    zone = timezone.get_current_timezone()
    return dt.UTC if getattr(zone, "key", None) == "UTC" else zone


def instant(value: dt.datetime | None, *, zone: dt.tzinfo | None = None) -> str | None:
    """An aware time as ``serializers.DateTimeField().to_representation`` writes it (the
    API's one format: ISO 8601 in the current time zone, ``Z`` for UTC), without the
    field's lookups per value (its format, time zone and checks): the claims of a document
    read took a sixth of the read there. ``zone``: the current time zone, when the caller
    writes many times and has looked it up once (``current_zone``; the lookup and the
    conversion to ``ZoneInfo("UTC")`` were two thirds of each call). Held equal to the
    field by a property test."""
    if not value:
        return None
    text = value.astimezone(zone or current_zone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _creator_name(claim: Claim) -> str:
    """The claim's creator's username: a read that loads only the name (``selectors.
    reader_claims_presented``: a user row per claim was a tenth of a document read) has it
    as ``created_by_username``; otherwise the creator is read (or was loaded with it)."""
    name = getattr(claim, "created_by_username", None)
    return claim.created_by.username if name is None else name


def claim_data(claim: Claim, *, zone: dt.tzinfo | None = None) -> dict[str, Any]:
    """``ClaimSerializer(claim).data`` written out by hand, for every claim the API answers
    (a claim created, read, listed, changed, leased; a document read with its claims): DRF
    builds a model serializer's fields from the model on every instance, most of the
    request's time. The schema stays ``ClaimSerializer``'s, and tests hold the two equal.
    ``zone``: the current time zone, looked up once by a caller writing many claims
    (``instant``)."""
    zone = zone or current_zone()
    return {
        "id": claim.pk,
        "project": claim.project_id,
        "document": claim.document_id,
        "start": claim.start,
        "end": claim.end,
        "exact": claim.exact,
        "prefix": claim.prefix,
        "suffix": claim.suffix,
        "statement": claim.statement,
        "claimant": claim.claimant,
        "status": claim.status,
        "version": claim.version,
        "claim_version": claim.claim_version,
        "anchor_status": claim.anchor_status,
        "anchor_revision": claim.anchor_revision,
        "created_by": _creator_name(claim),
        "created_at": instant(claim.created_at, zone=zone),
        "updated_at": instant(claim.updated_at, zone=zone),
        "consensus": consensus_data(claim),
        "priority": scheduling.priority_key(int(claim.priority)),
        "due_at": instant(claim.due_at, zone=zone),
        "overdue": claim.is_overdue,
    }


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with its offset (``Z`` or ``+02:00``): a deadline without one would
    be read in the server's time zone, which the sender may not share."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError(
                    "Give the time zone: end the time with Z (UTC) or an offset such as +02:00."
                )
        return super().to_internal_value(value)


class ClaimCreateSerializer(InputSerializer):
    document = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    exact = serializers.CharField(required=False, trim_whitespace=False, allow_blank=False)
    statement = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_STATEMENT)
    claimant = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_CLAIMANT)
    priority = PriorityField(required=False, help_text="Editors only; default normal.")
    due_at = AwareDateTimeField(
        required=False, allow_null=True, help_text="Editors only: the deadline."
    )


class ClaimScheduleSerializer(InputSerializer):
    priority = PriorityField(required=False)
    due_at = AwareDateTimeField(
        required=False, allow_null=True, help_text="The deadline; null clears it."
    )


class ClaimAssignSerializer(InputSerializer):
    reviewers = serializers.ListField(
        child=serializers.CharField(max_length=150),
        allow_empty=False,
        max_length=50,
        help_text="Usernames of project members to reserve a review slot for.",
    )


class ReservationSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    assigned_by = serializers.CharField(source="assigned_by.username")
    assigned_at = serializers.DateTimeField(source="created_at")
    waiting = serializers.BooleanField(
        help_text="The reviewer has not taken the claim yet: the slot is held for them."
    )


class ExistingClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The existing claim in the API")


class DuplicateClaimSerializer(serializers.Serializer):
    """409 on creating a claim that is already there (``services.DuplicateClaim``)."""

    detail = serializers.CharField()
    existing = ExistingClaimSerializer(
        required=False, help_text="The claim this one would duplicate"
    )


class ClaimUpdateSerializer(InputSerializer):
    statement = LimitedCharField(required=False, max_length=limits.MAX_STATEMENT)
    claimant = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_CLAIMANT)


class ClaimReviseSerializer(InputSerializer):
    statement = LimitedCharField(required=False, max_length=limits.MAX_STATEMENT)
    claimant = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_CLAIMANT)
    start = serializers.IntegerField(required=False)
    end = serializers.IntegerField(required=False)
    exact = serializers.CharField(required=False, trim_whitespace=False, allow_blank=False)
    note = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_NOTE)


class LeaseSerializer(serializers.Serializer):
    claim = ClaimSerializer()
    lease_expires_at = serializers.DateTimeField()


class QueueNextSerializer(InputSerializer):
    project = serializers.IntegerField()


_DATE = serializers.DateField()


def document_data(document: Document) -> dict[str, Any]:
    """``DocumentSerializer(document).data`` written out by hand, for the hot paths (a
    document read, a bulk import's answer): building the model serializer's fields took
    0.95 ms of each read. The schema stays ``DocumentSerializer``'s, and tests hold the
    two equal."""
    return {
        "id": document.pk,
        "project": document.project_id,
        "title": document.title,
        "length": document.length,
        "text_sha256": document.text_sha256,
        "source_url": document.source_url,
        "publisher": document.publisher,
        "author": document.author,
        "published_date": (
            _DATE.to_representation(document.published_date) if document.published_date else None
        ),
        "language": document.language,
        "direction": document.direction,
        "revision": document.revision,
        "created_at": instant(document.created_at),
    }


def document_detail_data(document: Document, claims: list[Claim] | None) -> dict[str, Any]:
    """``DocumentDetailSerializer(document, context={"claims": claims}).data`` by hand
    (``document_data``), held equal to it by tests."""
    zone = current_zone()
    return {
        **document_data(document),
        "text": document.text,
        "claims": None if claims is None else [claim_data(claim, zone=zone) for claim in claims],
    }


class DocumentDetailSerializer(DocumentSerializer):
    text = serializers.CharField(read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "text", "claims"]
        read_only_fields = fields

    claims = serializers.SerializerMethodField()

    def get_claims(self, document: Document) -> list[dict[str, Any]] | None:
        claims = self.context.get("claims")
        # ClaimSerializer's fields (the schema), written by claim_data: a fifth of the time.
        zone = current_zone()
        return None if claims is None else [claim_data(claim, zone=zone) for claim in claims]


class NoBodySerializer(InputSerializer):
    """An operation that reads no body: any key sent is refused (400 naming it)."""


class TokenRequestSerializer(InputSerializer):
    """A username and password, checked by ``authenticate()`` (so django-axes counts a
    failure, and an inactive account is refused like a wrong password)."""

    username = serializers.CharField(write_only=True)
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with provided credentials.", code="authorization"
            )
        return {"user": user}


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="The secret, shown this once: send it as `Authorization: Token <token>`."
    )
    id = serializers.CharField(
        help_text="The token's public id (the start of its digest), as the token page lists it."
    )
    expiry = serializers.DateTimeField(
        allow_null=True, help_text="When the token stops working; null: until revoked."
    )


class TokensRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many of your tokens were revoked.")


def _http_url(value: str) -> str:
    from annotations.core.urlnorm import UrlError, check_url

    if not value:
        return value
    try:
        return check_url(value)
    except UrlError as exc:
        raise serializers.ValidationError(str(exc)) from None


# --- revisions --------------------------------------------------------------------------------


class DocumentRevisionSerializer(serializers.ModelSerializer):
    superseded_by = serializers.CharField(
        source="superseded_by.username", read_only=True, default=None
    )

    class Meta:
        model = DocumentRevision
        fields = [
            "number",
            "text_sha256",
            "length",
            "note",
            "created_at",
            "superseded_at",
            "superseded_by",
        ]
        read_only_fields = fields


class DocumentRevisionTextSerializer(DocumentRevisionSerializer):
    class Meta(DocumentRevisionSerializer.Meta):
        fields = [*DocumentRevisionSerializer.Meta.fields, "text"]
        read_only_fields = fields


class RevisionCreateSerializer(InputSerializer):
    text = LongTextField(trim_whitespace=False)
    note = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_NOTE)


class ClaimPlacementSerializer(serializers.Serializer):
    claim = serializers.IntegerField(source="claim_id")
    outcome = serializers.ChoiceField(choices=["unchanged", "moved", "changed", "orphaned"])
    before = serializers.ListField(
        child=serializers.JSONField(), help_text="[start, end, exact] before"
    )
    after = serializers.ListField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text="[start, end, exact] after; null if orphaned",
    )
    note = serializers.CharField()


class RevisionReportSerializer(serializers.Serializer):
    document = serializers.IntegerField(source="document.pk")
    revision = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    claims = ClaimPlacementSerializer(source="placements", many=True)


class ReanchorSerializer(InputSerializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    exact = serializers.CharField(required=False, trim_whitespace=False)
    note = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_NOTE)


# --- webhooks ------------------------------------------------------------------------------------

WEBHOOK_EVENT_TYPES = list(core_webhooks.EVENT_TYPES)


class WebhookEndpointCreateSerializer(InputSerializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s) only; hosts on loopback, private or other non-public addresses "
        "are refused (here and again at every delivery, after DNS).",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES), min_length=1, max_length=10
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookEndpointUpdateSerializer(WebhookEndpointCreateSerializer):
    """PATCH: any of the fields; the secret changes only through rotate-secret."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class WebhookEndpointSerializer(serializers.Serializer):
    """An endpoint; never its secret (only the answers that make one show it)."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES))
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """An endpoint with its signing secret: shown once, when it is made or rotated."""

    secret = serializers.CharField(
        help_text="The Standard Webhooks signing secret (whsec_…). Shown only now: keep it."
    )


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["delivered", "retry", "failed"])


class WebhookDeliverySerializer(serializers.Serializer):
    """One message to one endpoint, with its delivery log."""

    id = serializers.IntegerField()
    event_type = serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES)
    message_id = serializers.CharField(help_text="The webhook-id header: the same on every try.")
    payload = serializers.JSONField(help_text='The body sent: {"type", "timestamp", "data"}.')
    status = serializers.ChoiceField(choices=["pending", "delivered", "failed"])
    attempts = serializers.IntegerField(help_text="Attempts since it was (re)scheduled.")
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    log = WebhookAttemptSerializer(many=True)


# --- claimants ---------------------------------------------------------------------------------


class ClaimantCreateSerializer(InputSerializer):
    name = LimitedCharField(max_length=limits.MAX_CLAIMANT)
    kind = serializers.ChoiceField(choices=ClaimantKind.choices, required=False)
    description = LimitedCharField(max_length=500, required=False, allow_blank=True)
    aliases = serializers.ListField(
        child=LimitedCharField(max_length=limits.MAX_CLAIMANT), required=False, max_length=50
    )


class ClaimantUpdateSerializer(InputSerializer):
    name = LimitedCharField(max_length=limits.MAX_CLAIMANT, required=False)
    kind = serializers.ChoiceField(choices=ClaimantKind.choices, required=False)
    description = LimitedCharField(max_length=500, required=False, allow_blank=True)


class ClaimantAliasCreateSerializer(InputSerializer):
    name = LimitedCharField(max_length=limits.MAX_CLAIMANT)


class ClaimantMergeSerializer(InputSerializer):
    into = serializers.IntegerField(
        min_value=1, help_text="The claimant kept: this one's names become its aliases."
    )


class ClaimantAliasSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ClaimantSerializer(serializers.Serializer):
    """A claimant of a project's registry."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ClaimantKind.choices)
    description = serializers.CharField()
    aliases = ClaimantAliasSerializer(many=True)
    merged_into = serializers.IntegerField(
        allow_null=True, help_text="Set once this claimant was merged into another."
    )
    claims = serializers.IntegerField(help_text="Claims attributed to any of its names.")
    created_at = serializers.DateTimeField()


class ClaimantClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.IntegerField()
    statement = serializers.CharField()
    claimant = serializers.CharField(help_text="The claimant as the claim's creator typed it.")
    status = serializers.CharField()
    rating = serializers.CharField(
        allow_null=True,
        help_text="The current consensus rating where blind review lets you see it "
        "(editors; a reviewer who judged the claim; anyone once published), else null.",
    )
    created_at = serializers.DateTimeField()


class ClaimantRepeatSerializer(serializers.Serializer):
    statement = serializers.CharField()
    claims = serializers.ListField(child=serializers.IntegerField(), help_text="Oldest first.")


class ClaimantDetailSerializer(ClaimantSerializer):
    recent_claims = ClaimantClaimSerializer(many=True, help_text="Newest first, at most 500.")
    repeats = ClaimantRepeatSerializer(
        many=True, help_text="Statements attributed to this claimant more than once."
    )


class ClaimantSuggestionSerializer(serializers.Serializer):
    name = serializers.CharField()
    claimant = serializers.IntegerField(
        allow_null=True,
        help_text="The registered claimant, or null for a name only used on claims.",
    )


class ClaimantSuggestionsSerializer(serializers.Serializer):
    results = ClaimantSuggestionSerializer(many=True)


# --- check-worthiness suggestions ----------------------------------------------------------


class SuggestionSerializer(serializers.Serializer):
    """A suggested sentence: ``[start, end)`` in code points of the document's current
    text (like a claim's span), ``text`` exactly the text there."""

    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField(help_text="Higher is more worth checking (a ranking score).")
    agent = serializers.ChoiceField(
        choices=["builtin", "http"], help_text="The built-in model, or the project's endpoint"
    )
    status = serializers.ChoiceField(
        choices=["open", "claimed", "accepted", "dismissed"],
        help_text="open; claimed (a claim overlaps it); accepted or dismissed (decided). "
        "Only open ones are listed unless ?all=1.",
    )
    reason = serializers.CharField(help_text="Why it was dismissed (else empty)")


class SuggestionListSerializer(serializers.Serializer):
    results = SuggestionSerializer(many=True)


class SuggestionSpanSerializer(InputSerializer):
    start = serializers.IntegerField(help_text="The sentence's start (code points)")
    end = serializers.IntegerField(help_text="The sentence's end (code points, exclusive)")


class SuggestionAcceptSerializer(SuggestionSpanSerializer):
    statement = LimitedCharField(
        required=False,
        allow_blank=True,
        max_length=limits.MAX_STATEMENT,
        help_text="The claim's statement; the sentence when omitted",
    )
    claimant = LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_CLAIMANT)


class SuggestionDismissSerializer(SuggestionSpanSerializer):
    reason = LimitedCharField(
        max_length=limits.MAX_REASON, help_text="Why the sentence is not worth checking"
    )


class SuggestionDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.IntegerField(source="document_id")
    revision = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField()
    agent = serializers.CharField()
    model_version = serializers.CharField()
    decision = serializers.ChoiceField(choices=["accepted", "dismissed"])
    reason = serializers.CharField()
    claim = serializers.IntegerField(source="claim_id", allow_null=True)
    actor = serializers.CharField(source="actor.username")
    created_at = serializers.DateTimeField()


class SuggestionAcceptedSerializer(serializers.Serializer):
    decision = SuggestionDecisionSerializer()
    claim = ClaimSerializer()
