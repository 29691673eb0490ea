"""Request and response shapes of the platform API. Parsing only: the rules live in services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from takedown.cases.feed import FEED_SIGNALS
from takedown.cases.models import FeedEntry, FeedStatus
from takedown.notices.models import Notice, NoticeStatus
from takedown.platforms.models import FeedbackVerdict, WebhookEvent, WebhookSubscription
from takedown.platforms.selectors import MAX_FEED_PAGE, feed_entry_is_shared
from takedown.platforms.services import MAX_HASH_TEXT, MAX_LOOKUP_HASHES

PLATFORM_STATUSES = [
    NoticeStatus.SENT,
    NoticeStatus.ACKNOWLEDGED,
    NoticeStatus.REMOVED,
    NoticeStatus.REJECTED,
    NoticeStatus.NEEDS_INFO,
]


class NoticeSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A notice as the platform received it: the frozen sent content, and the state of the exchange."""

    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in PLATFORM_STATUSES])
    ticket_id = serializers.CharField(source="platform_ticket")
    reason = serializers.CharField(source="reply_reason", help_text="What you said when rejecting or asking.")
    content = serializers.JSONField(
        source="content_json", help_text="The JSON hash-match notice exactly as it was sent (frozen)."
    )

    class Meta:
        model = Notice
        fields = [
            "id",
            "status",
            "basis",
            "sent_at",
            "due_at",
            "acknowledged_at",
            "replied_at",
            "ticket_id",
            "reason",
            "content",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ticket_id = serializers.CharField(max_length=200, help_text="Your own ticket or case number.")


class ResolveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    outcome = serializers.ChoiceField(
        choices=[NoticeStatus.REMOVED.value, NoticeStatus.REJECTED.value, NoticeStatus.NEEDS_INFO.value]
    )
    reason = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, help_text="Required when the outcome is rejected."
    )
    question = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, help_text="Required when the outcome is needs_info."
    )


class LookupHashSerializer(serializers.Serializer):  # type: ignore[type-arg]
    signal = serializers.ChoiceField(choices=list(FEED_SIGNALS))
    value = serializers.CharField(
        max_length=MAX_HASH_TEXT,
        help_text="Hex digits (pdq and sha256: 64, md5: 32, phash: 16). A value of the wrong form is "
        "answered with its `error` instead of failing the batch.",
    )


class LookupRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hashes = serializers.ListField(child=LookupHashSerializer(), min_length=1, max_length=MAX_LOOKUP_HASHES)


class LookupMatchSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hash_id = serializers.CharField(help_text="The opaque id of the matching hash (as in the feed).")
    distance = serializers.IntegerField()
    case_token = serializers.CharField(help_text="Opaque, per platform: equal tokens mean the same case.")


class LookupResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    signal = serializers.CharField()
    value = serializers.CharField()
    matches = LookupMatchSerializer(many=True)
    error = serializers.CharField(allow_null=True, help_text="Why this hash could not be looked up (else null).")


class LookupResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    results = LookupResultSerializer(many=True)


class FeedQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    cursor = serializers.IntegerField(min_value=0, required=False, default=0, max_value=2**62)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_FEED_PAGE, required=False, default=500)


class FeedEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    hash_id = serializers.CharField(help_text="Opaque and stable: key your copy by it.")
    signal = serializers.CharField()
    status = serializers.ChoiceField(choices=FeedStatus.values)
    value = serializers.CharField(allow_null=True, help_text="Null for withdrawn entries (tombstones).")
    updated_at = serializers.DateTimeField()
    change_id = serializers.IntegerField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        entry: FeedEntry = instance
        shared = feed_entry_is_shared(entry)
        return {
            "hash_id": entry.public_id,
            "signal": entry.signal,
            "status": FeedStatus.ACTIVE.value if shared else FeedStatus.WITHDRAWN.value,
            "value": entry.value if shared else None,
            "updated_at": serializers.DateTimeField().to_representation(entry.updated_at),
            "change_id": entry.change_id,
        }


class FeedPageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    entries = FeedEntrySerializer(many=True)
    cursor = serializers.IntegerField(help_text="Pass back as `cursor` to continue (also when has_more is false).")
    has_more = serializers.BooleanField()


class FeedbackSerializer(serializers.Serializer):  # type: ignore[type-arg]
    verdict = serializers.ChoiceField(choices=FeedbackVerdict.values)


class FeedbackResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hash_id = serializers.CharField()
    verdict = serializers.CharField()


class WebhookCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.values), min_length=1, max_length=len(WebhookEvent.values)
    )


class WebhookSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.values))

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "created_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret. Shown once: store it now.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields
