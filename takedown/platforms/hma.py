"""HMA-compatible lookups: the shapes Meta's hasher-matcher-actioner matcher serves, over this bank.

HMA's matcher (facebook/ThreatExchange, `hasher-matcher-actioner`, `OpenMediaMatch/blueprints/
matching.py`) answers `GET /m/raw_lookup` and `GET /m/lookup` with a signal type and a hash; tools
built on it can point at `https://<this service>/api/v1` and ask the consented bank the same way.
Authentication, scopes (`lookup`, vetted platforms only), rate limits and audit are the platform
API's own (`PlatformAPIView`); errors are in the API's one shape.

What differs, on purpose:

* One bank, named `TAKEDOWN` (`banks=` filters to it or to nothing); no coin flip (`seed` and
  `bypass_coinflip` are accepted and change nothing: every consented hash is always enabled).
* `bank_content_id` is the feed entry's row number (an integer, as HMA's clients parse it); each
  match also carries the feed's `hash_id` (for feedback) and the per-platform `case_token`, extra
  keys HMA's clients ignore.
* No `url` lookup and no `POST /m/lookup` with a file: this service never fetches or receives the
  media itself (no intimate image is ever uploaded); hash on your side and send the hash.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from takedown.core.errors import InvalidInput
from takedown.platforms import services
from takedown.platforms.api import PlatformAPIView, errors
from takedown.platforms.models import Scope
from takedown.platforms.services import MAX_HASH_TEXT

BANK_NAME = "TAKEDOWN"

#: HMA's and python-threatexchange's signal type names (and this extension's) -> the feed's signals.
SIGNAL_TYPES = {
    "pdq": "pdq",
    "video_md5": "md5",
    "photo_md5": "md5",
    "phash": "phash",
    "photo_sha256": "sha256",
}


class _QuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    signal_type = serializers.ChoiceField(
        choices=sorted(SIGNAL_TYPES), help_text="HMA's signal type name (`pdq`, `video_md5`...)."
    )
    signal = serializers.RegexField(
        r"^[0-9a-fA-F]+$",
        max_length=MAX_HASH_TEXT,
        help_text="The hash in hex, as HMA writes it: 64 digits for `pdq` and `photo_sha256`, 32 for the MD5 "
        "types, 16 for `phash` (another length is refused with `invalid_hash`).",
    )
    banks = serializers.CharField(
        required=False, max_length=500, help_text=f"Comma-separated bank names; this service has one, `{BANK_NAME}`."
    )


class RawLookupQuerySerializer(_QuerySerializer):
    include_distance = serializers.BooleanField(required=False, default=False)


class LookupQuerySerializer(_QuerySerializer):
    seed = serializers.CharField(required=False, max_length=200, help_text="Accepted; there is no coin flip here.")
    bypass_coinflip = serializers.BooleanField(required=False, default=False, help_text="Accepted; changes nothing.")


class HmaMatchSerializer(serializers.Serializer):  # type: ignore[type-arg]
    bank_content_id = serializers.IntegerField(help_text="The feed entry's row number.")
    distance = serializers.CharField(help_text="Hamming distance (0 for exact signals), as text like HMA's.")
    hash_id = serializers.CharField(help_text="The feed's opaque id of the hash (for feedback).")
    case_token = serializers.CharField(help_text="Opaque per-platform token: equal tokens, same case.")


RAW_LOOKUP_RESPONSE = inline_serializer(
    "HmaRawLookupResponse",
    fields={
        "matches": serializers.ListField(
            child=serializers.JSONField(),
            help_text="`bank_content_id` integers, or with `include_distance=true` objects like `HmaMatch`.",
        )
    },
)
LOOKUP_RESPONSE = inline_serializer(
    "HmaLookupResponse",
    fields={BANK_NAME: HmaMatchSerializer(many=True, required=False, help_text="Absent when nothing matched.")},
)


class _HmaView(PlatformAPIView):
    scope = Scope.LOOKUP

    def _matches(
        self, request: Request, serializer_class: type[_QuerySerializer]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if "url" in request.query_params:
            raise InvalidInput(
                _(
                    "This service never fetches or receives the content itself: hash it on your side and "
                    "send signal and signal_type."
                ),
                code="url_not_supported",
            )
        serializer = serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = serializer.validated_data
        banks = query.get("banks")
        if banks is not None and BANK_NAME not in {b.strip() for b in banks.split(",")}:
            return query, []
        (answer,) = services.hashes_lookup(
            caller=self.caller, hashes=[{"signal": SIGNAL_TYPES[query["signal_type"]], "value": query["signal"]}]
        )
        if answer.error is not None:
            raise InvalidInput(_("invalid signal: %(why)s") % {"why": answer.error}, code="invalid_hash")
        return query, [
            {
                "bank_content_id": m.entry_id,
                "distance": str(m.distance),
                "hash_id": m.hash_id,
                "case_token": m.case_token,
            }
            for m in answer.matches
        ]


class RawLookupView(_HmaView):
    query_parameters = frozenset({"signal_type", "signal", "banks", "include_distance", "url"})

    @extend_schema(
        operation_id="hma_raw_lookup",
        tags=["HMA-compatible"],
        parameters=[RawLookupQuerySerializer],
        responses={200: RAW_LOOKUP_RESPONSE, **errors(400)},
        description="HMA's `GET /m/raw_lookup`: the matching `bank_content_id`s (with distances on request).",
    )
    def get(self, request: Request) -> Response:
        query, matches = self._matches(request, RawLookupQuerySerializer)
        if query["include_distance"]:
            return Response({"matches": matches})
        return Response({"matches": [m["bank_content_id"] for m in matches]})


class LookupView(_HmaView):
    query_parameters = frozenset({"signal_type", "signal", "banks", "seed", "bypass_coinflip", "url"})

    @extend_schema(
        operation_id="hma_lookup",
        tags=["HMA-compatible"],
        parameters=[LookupQuerySerializer],
        responses={200: LOOKUP_RESPONSE, **errors(400)},
        description=(
            "HMA's `GET /m/lookup` with `signal_type` and `signal`: matches by bank name "
            f"(`{BANK_NAME}`), each with `bank_content_id` and `distance`."
        ),
    )
    def get(self, request: Request) -> Response:
        _query, matches = self._matches(request, LookupQuerySerializer)
        return Response({BANK_NAME: matches} if matches else {})
