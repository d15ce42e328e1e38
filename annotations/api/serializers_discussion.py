"""Serializers of discussions and notifications (issue 18)."""

from __future__ import annotations

from rest_framework import serializers

from annotations.api.serializers import InputSerializer, LimitedCharField
from annotations.core.discussion import notification_actor
from annotations.models import CommentVisibility, Notification, NotificationKind
from annotations.services import limits


class CommentCreateSerializer(InputSerializer):
    body = LimitedCharField(
        max_length=limits.MAX_COMMENT,
        help_text="Plain text (no Markdown); http/https addresses become links; "
        "@username mentions notify members.",
    )
    visibility = serializers.ChoiceField(
        choices=CommentVisibility.choices,
        required=False,
        default=CommentVisibility.JUDGED,
        help_text="judged (default): blind like a verdict; everyone: an editor's note.",
    )


class CommentSerializer(serializers.Serializer):
    """A comment as the caller may read it (``selectors.CommentRow``)."""

    id = serializers.IntegerField()
    claim = serializers.IntegerField()
    author = serializers.CharField()
    visibility = serializers.ChoiceField(choices=CommentVisibility.choices)
    body = serializers.CharField(help_text="Empty once withdrawn.")
    body_html = serializers.CharField(
        help_text="The body as safe HTML: escaped, links only to public http/https sites "
        "(not to loopback, private or other internal addresses), with "
        'rel="nofollow noopener noreferrer".'
    )
    claim_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    withdrawn = serializers.BooleanField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    can_withdraw = serializers.BooleanField()


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    text = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "text",
            "project",
            "claim",
            "comment",
            "actor",
            "created_at",
            "read",
            "read_at",
        ]

    def get_text(self, obj: Notification) -> str:
        from annotations.services import notification_text

        return notification_text(obj)

    def get_actor(self, obj: Notification) -> str | None:
        """Who acted, for the kinds that name them (``core.discussion.notification_actor``):
        a status notice names nobody (blind review)."""
        return notification_actor(
            kind=obj.kind, actor=obj.actor.get_username() if obj.actor is not None else None
        )

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")


class NotificationSettingsSerializer(serializers.Serializer):
    email_enabled = serializers.BooleanField()
    email_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices)
    )


class NotificationSettingsUpdateSerializer(InputSerializer):
    email_enabled = serializers.BooleanField()
    email_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices),
        allow_empty=True,
        max_length=len(NotificationKind.values),
        help_text="The kinds to receive by e-mail as well.",
    )
