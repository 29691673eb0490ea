"""The Takedown consented hash feed as a python-threatexchange ``SignalExchangeAPI``.

* **Fetch**: ``GET /api/v1/feed/?cursor=&limit=`` page by page; the checkpoint is the feed's cursor
  (its last change id), so every fetch after the first only transfers what changed.
* **Keys**: records are keyed by the feed's opaque ``hash_id``, because a withdrawn hash comes
  back as a tombstone with no value: the key is the only way to find the copy to delete. A
  tombstone becomes ``None`` in the fetch delta, which threatexchange's stores (the CLI's, HMA's)
  treat as a deletion.
* **Signal types**: ``pdq`` is threatexchange's PDQ; ``md5`` and ``sha256`` are offered both as
  threatexchange's ``video_md5``/``video_sha256`` and this extension's ``photo_md5``/
  ``photo_sha256``; ``phash`` is this extension's pHash type (:mod:`.signals`).
* **Feedback**: ``submit_matched`` (seen), ``submit_review_feedback`` (blocked / false positive)
  and ``report_opinion`` (the CLI's ``label``) post to ``/api/v1/hashes/{hash_id}/feedback/``.

The API key (scope ``feed``; ``lookup`` too for ``report_opinion``) comes from HMA's credential
store, the ``TX_TAKEDOWN_API_KEY`` environment variable, or the file ``~/.tx_takedown_api_key``.
"""

# No `from __future__ import annotations` here: the threatexchange CLI builds its
# `config collab edit takedown` options from the collaboration dataclass's real field types.

import typing as t
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from takedown_threatexchange.client import TakedownClient
from takedown_threatexchange.signals import PHashSignal, PhotoMD5Signal, PhotoSHA256Signal

try:  # threatexchange after 1.2 has mixins through which HMA finds an exchange's feedback methods.
    from threatexchange.exchanges.write_api_mixins import (  # type: ignore[import-not-found]
        ExchangeWithMatchedOnPlatform,
        ExchangeWithReviewFeedback,
    )

    _FEEDBACK_MIXINS: tuple[type, ...] = (ExchangeWithMatchedOnPlatform, ExchangeWithReviewFeedback)
except ImportError:  # 1.2.x: the methods below are still there, called by name
    _FEEDBACK_MIXINS = ()

API_NAME = "takedown"
MAX_PAGE = 1000

#: The feed's signal names -> threatexchange signal types (any of them the caller supports).
SIGNAL_TYPES: Mapping[str, tuple[type[SignalType], ...]] = {
    "pdq": (PdqSignal,),
    "md5": (VideoMD5Signal, PhotoMD5Signal),
    "sha256": (VideoSHA256Signal, PhotoSHA256Signal),
    "phash": (PHashSignal,),
}
#: threatexchange signal type name -> the feed's signal name (for lookups by value).
FEED_SIGNAL_OF = {st.get_name(): name for name, types in SIGNAL_TYPES.items() for st in types}


@dataclass
class _TakedownCollabRequired:
    server: str = field(metadata={"help": "the Takedown service's address, e.g. https://takedown.example.org"})


@dataclass
class TakedownCollabConfig(CollaborationConfigWithDefaults, _TakedownCollabRequired):
    """A collaboration with one Takedown service: where it is, and how much to fetch per request."""

    api: str = field(init=False, default=API_NAME)
    page_size: int = field(default=500, metadata={"help": "feed entries per request (1-1000)"})


@dataclass
class TakedownCredentials(auth.CredentialHelper):
    """A platform API key of the form ``tdk_live_xxxxxxxx.<secret>``, vetted, with scope ``feed``."""

    ENV_VARIABLE: t.ClassVar[str] = "TX_TAKEDOWN_API_KEY"
    FILE_NAME: t.ClassVar[str] = "~/.tx_takedown_api_key"

    api_key: str = field(metadata={"help": "Takedown platform API key (tdk_live_...), scopes feed (+ lookup)"})

    @classmethod
    def _from_str(cls, s: str) -> "TakedownCredentials":
        return cls(s.strip())

    def _are_valid(self) -> bool:
        prefix, dot, secret = self.api_key.partition(".")
        return prefix.startswith("tdk_") and bool(dot) and bool(secret)


@dataclass
class TakedownCheckpoint(state.FetchCheckpointBase):
    """The feed's cursor (the last change id read) and the newest change time seen, for display."""

    cursor: int
    updated_at: int = 0

    def get_progress_timestamp(self) -> int | None:
        return self.updated_at or None


@dataclass
class TakedownSignalMetadata(state.FetchedSignalMetadata):
    """One shared hash: its opaque id (for feedback and deletion), the feed's signal and value."""

    hash_id: str
    signal: str
    value: str

    def get_as_opinions(self) -> Sequence[state.SignalOpinion]:
        # Registered by a survivor of non-consensual intimate imagery on her own device: nobody at
        # the service has seen the picture, so a match is a lead to review (as StopNCII's are).
        return [state.SignalOpinion(False, state.SignalOpinionCategory.INVESTIGATION_SEED, {"ncii"})]

    def __str__(self) -> str:
        return f"{super().__str__()} {self.hash_id}"


def _timestamp(text: str) -> int:
    """Unix seconds of the feed's ISO 8601 time (``2026-11-26T17:00:00Z``; Python 3.10 needs +00:00)."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class TakedownSignalExchangeAPI(
    auth.SignalExchangeWithAuth[TakedownCollabConfig, TakedownCredentials],
    SignalExchangeAPI[
        TakedownCollabConfig,
        TakedownCheckpoint,
        TakedownSignalMetadata,
        str,
        TakedownSignalMetadata,
    ],
    *_FEEDBACK_MIXINS,  # type: ignore[misc]
):
    """Fetch Takedown's consented hash feed; report what you saw and decided back to it."""

    def __init__(self, collab: TakedownCollabConfig, client: TakedownClient) -> None:
        self.collab = collab
        self.client = client

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> type[TakedownCollabConfig]:
        return TakedownCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> type[TakedownCheckpoint]:
        return TakedownCheckpoint

    @staticmethod
    def get_record_cls() -> type[TakedownSignalMetadata]:
        return TakedownSignalMetadata

    @staticmethod
    def get_credential_cls() -> type[TakedownCredentials]:
        return TakedownCredentials

    @classmethod
    def for_collab(
        cls, collab: TakedownCollabConfig, credentials: TakedownCredentials | None = None
    ) -> "TakedownSignalExchangeAPI":
        credentials = credentials or TakedownCredentials.get(cls)
        return cls(collab, TakedownClient(collab.server, credentials.api_key))

    # ---- fetching -----------------------------------------------------------------------------

    def fetch_iter(
        self,
        supported_signal_types: Sequence[type[SignalType]],
        checkpoint: TakedownCheckpoint | None,
    ) -> Iterator[state.FetchDelta[str, TakedownSignalMetadata, TakedownCheckpoint]]:
        """One delta per feed page, in change order, until the feed has nothing more."""
        cursor = checkpoint.cursor if checkpoint else 0
        newest = checkpoint.updated_at if checkpoint else 0
        limit = max(1, min(MAX_PAGE, self.collab.page_size))
        while True:
            page = self.client.feed_page(cursor, limit)
            updates: dict[str, TakedownSignalMetadata | None] = {}
            for entry in page.entries:
                # The current state of the entry: a tombstone deletes any copy kept under its id.
                updates[entry.hash_id] = (
                    TakedownSignalMetadata(entry.hash_id, entry.signal, entry.value or "") if entry.active else None
                )
                # The feed's order is the change id's; times are for display only, kept monotonic.
                newest = max(newest, _timestamp(entry.updated_at))
            cursor = page.cursor
            yield state.FetchDelta(updates, TakedownCheckpoint(cursor, newest))
            if not page.has_more:
                return

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: Sequence[type[SignalType]],
        collab: TakedownCollabConfig,
        fetched: Mapping[str, TakedownSignalMetadata],
    ) -> dict[type[SignalType], dict[str, TakedownSignalMetadata]]:
        wanted = set(signal_types)
        out: dict[type[SignalType], dict[str, TakedownSignalMetadata]] = {}
        for record in fetched.values():
            for s_type in SIGNAL_TYPES.get(record.signal, ()):
                if s_type not in wanted:
                    continue
                try:
                    value = s_type.validate_signal_str(record.value)
                except ValueError:
                    continue  # never index a malformed value; the feed validates them anyway
                out.setdefault(s_type, {})[value] = record
        return out

    # ---- feedback -----------------------------------------------------------------------------

    def send_feedback(self, hash_id: str, verdict: str) -> None:
        """``seen``, ``blocked``, ``not_blocked`` or ``false_positive`` for one hash of the feed."""
        self.client.feedback(hash_id, verdict)

    def submit_matched(self, collab: TakedownCollabConfig, matched_record: TakedownSignalMetadata) -> None:
        """You matched this hash on your platform (no decision yet)."""
        self.send_feedback(matched_record.hash_id, "seen")

    def submit_review_feedback(
        self,
        collab: TakedownCollabConfig,
        reviewed_record: TakedownSignalMetadata,
        review_result: state.SignalOpinionCategory,
    ) -> None:
        """After a person reviewed the match: positive = blocked, negative = false positive."""
        self.send_feedback(reviewed_record.hash_id, _verdict(review_result))

    def report_opinion(self, s_type: type[SignalType], signal: str, opinion: state.SignalOpinion) -> None:
        """The CLI's ``label``: your verdict on every feed hash matching ``signal`` (needs ``lookup``)."""
        feed_signal = FEED_SIGNAL_OF.get(s_type.get_name())
        if feed_signal is None:
            raise NotImplementedError(f"Takedown's feed has no {s_type.get_name()} hashes")
        verdict = _verdict(opinion.category)
        (matches,) = self.client.lookup([(feed_signal, s_type.validate_signal_str(signal))])
        for match in matches:
            self.send_feedback(match.hash_id, verdict)


def _verdict(category: state.SignalOpinionCategory) -> str:
    if category == state.SignalOpinionCategory.POSITIVE_CLASS:
        return "blocked"
    if category == state.SignalOpinionCategory.NEGATIVE_CLASS:
        return "false_positive"
    raise NotImplementedError("Takedown records blocked or false positive; report a match itself as seen")
