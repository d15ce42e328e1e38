"""Serializers of finding claims (issue 17): references, matches, claim links, repeats."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotations.api.serializers import InputSerializer, LimitedCharField
from annotations.core.numbers import MAX_ID
from annotations.models import ClaimLink, LinkState, Reference, RepeatSuggestion
from annotations.selectors import matching as match_selectors
from annotations.services import limits


class ReferenceCreateSerializer(InputSerializer):
    claim_reviewed = LimitedCharField(max_length=limits.MAX_STATEMENT)
    headline = LimitedCharField(
        max_length=limits.MAX_REFERENCE_HEADLINE, required=False, allow_blank=True
    )
    url = LimitedCharField(max_length=limits.MAX_URL, required=False, allow_blank=True)
    rating = LimitedCharField(
        max_length=limits.MAX_REFERENCE_RATING,
        required=False,
        allow_blank=True,
        help_text="The rating as published (free text).",
    )
    date = serializers.DateField(required=False, allow_null=True)
    publisher = LimitedCharField(max_length=limits.MAX_PUBLISHER, required=False, allow_blank=True)


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reference
        fields = [
            "id",
            "project",
            "claim_reviewed",
            "headline",
            "url",
            "rating",
            "date",
            "publisher",
            "origin",
            "origin_name",
            "created_by",
            "created_at",
        ]


class ReferenceIdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="In request order.")


class MatchQuerySerializer(InputSerializer):
    text = LimitedCharField(max_length=match_selectors.MAX_QUERY_CHARS)
    limit = serializers.IntegerField(
        required=False, default=5, min_value=1, max_value=match_selectors.MAX_LIMIT
    )


class MatchFlagsSerializer(serializers.Serializer):
    numbers_differ = serializers.BooleanField()
    negation_differs = serializers.BooleanField()
    numbers_only_in_text = serializers.ListField(child=serializers.CharField())
    numbers_only_in_match = serializers.ListField(child=serializers.CharField())


class MatchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[match_selectors.REFERENCE, match_selectors.CLAIM])
    id = serializers.IntegerField()
    score = serializers.FloatField()
    claim_reviewed = serializers.CharField(required=False, help_text="References only.")
    statement = serializers.CharField(required=False, help_text="Claims only.")
    rating = serializers.CharField(
        allow_null=True, help_text="null where none was published or blind review hides it."
    )
    url = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    flags = MatchFlagsSerializer()

    def to_representation(self, row: Any) -> dict[str, Any]:
        text_key = "claim_reviewed" if row.kind == match_selectors.REFERENCE else "statement"
        return {
            "kind": row.kind,
            "id": row.id,
            "score": row.score,
            text_key: row.text,
            "rating": row.rating,
            "url": row.url,
            "status": row.status,
            "flags": row.flags,
        }


class MatchResultsSerializer(serializers.Serializer):
    results = MatchSerializer(many=True)
    engine = serializers.CharField(help_text="What the matcher runs on (semantic or lexical).")


class ClaimLinkCreateSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=[match_selectors.REFERENCE, match_selectors.CLAIM])
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    state = serializers.ChoiceField(choices=LinkState.choices, required=False)


class ClaimLinkDecideSerializer(InputSerializer):
    state = serializers.ChoiceField(choices=LinkState.choices)


class ClaimLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    target_id = serializers.IntegerField()
    text = serializers.CharField()
    rating = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    state = serializers.ChoiceField(choices=LinkState.choices)
    score = serializers.FloatField(allow_null=True)
    flags = serializers.DictField()
    created_by = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    decided_by = serializers.IntegerField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, row: Any) -> dict[str, Any]:
        link: ClaimLink = row.link
        return {
            "id": link.pk,
            "kind": row.kind,
            "target_id": row.target_id,
            "text": row.text,
            "rating": row.rating,
            "url": row.url,
            "status": row.status,
            "state": link.state,
            "score": link.score,
            "flags": link.flags,
            "created_by": link.created_by_id,
            "created_at": serializers.DateTimeField().to_representation(link.created_at),
            "decided_by": link.decided_by_id,
            "decided_at": serializers.DateTimeField().to_representation(link.decided_at)
            if link.decided_at
            else None,
        }


class RepeatSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    match_id = serializers.SerializerMethodField()
    match_text = serializers.SerializerMethodField()

    class Meta:
        model = RepeatSuggestion
        fields = [
            "id",
            "document",
            "start",
            "end",
            "text",
            "kind",
            "match_id",
            "match_text",
            "score",
            "flags",
            "created_at",
        ]

    def get_kind(self, obj: RepeatSuggestion) -> str:
        return match_selectors.REFERENCE if obj.reference_id else match_selectors.CLAIM

    def get_match_id(self, obj: RepeatSuggestion) -> int:
        return int(obj.reference_id or obj.claim_id or 0)

    def get_match_text(self, obj: RepeatSuggestion) -> str:
        if obj.reference is not None:
            return obj.reference.claim_reviewed
        return obj.claim.statement if obj.claim is not None else ""
