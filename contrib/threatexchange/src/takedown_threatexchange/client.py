"""A small HTTP client for Takedown's platform API (v1): the feed, feedback and the batch lookup.

Every request carries ``Authorization: Bearer <key>`` and has connect and read timeouts. What can
heal is retried (connection errors, 429 and 5xx answers) with exponential backoff, jitter and a
cap, honouring ``Retry-After``; anything else (401, 403, 404, 400) fails at once with the API's
own error code and message. The key is only ever sent over HTTPS, or over plain HTTP to this very
machine (a test server on 127.0.0.1).
"""

import ipaddress
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

USER_AGENT = "takedown-threatexchange/0.1"
#: Seconds to connect, seconds to wait for an answer.
TIMEOUT = (10.0, 60.0)
#: Attempts per request for errors that can heal, and the longest wait between two.
MAX_ATTEMPTS = 5
MAX_BACKOFF = 60.0
MAX_LOOKUP = 1000
VERDICTS = ("seen", "blocked", "not_blocked", "false_positive")


class TakedownAPIError(Exception):
    """The API refused a request (or kept failing): ``status`` and the API's error ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Takedown API error {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FeedEntry:
    """One entry of the feed: an active hash, or a tombstone (``value`` None) to delete."""

    hash_id: str
    signal: str
    status: str
    value: str | None
    updated_at: str
    change_id: int

    @property
    def active(self) -> bool:
        return self.status == "active" and bool(self.value)


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: int
    has_more: bool


@dataclass(frozen=True)
class LookupMatch:
    hash_id: str
    distance: int
    case_token: str


def check_server(server: str) -> str:
    """The server's base URL without a trailing slash; refuses to send a key in the clear."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"the server must be an https:// address, got {server!r}")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError("the API key is only sent over https (plain http only to this machine)")
    return server.strip().rstrip("/")


class TakedownClient:
    def __init__(
        self,
        server: str,
        api_key: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = check_server(server)
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.sleep = sleep

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base}{path}"
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.max_attempts:
                    raise TakedownAPIError(0, "unreachable", str(exc)) from exc
                self.sleep(self._backoff(attempt, None))
                continue
            healable = response.status_code == 429 or response.status_code >= 500
            if healable and attempt < self.max_attempts:
                self.sleep(self._backoff(attempt, response.headers.get("Retry-After")))
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response.json()
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _backoff(attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(MAX_BACKOFF, float(retry_after))
        return min(MAX_BACKOFF, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311 - jitter

    def feed_page(self, cursor: int, limit: int = 500) -> FeedPage:
        """Entries changed after ``cursor``, oldest change first (``GET /api/v1/feed/``)."""
        data = self._request("GET", "/api/v1/feed/", params={"cursor": cursor, "limit": limit})
        entries = [
            FeedEntry(
                hash_id=str(e["hash_id"]),
                signal=str(e["signal"]),
                status=str(e["status"]),
                value=None if e.get("value") is None else str(e["value"]),
                updated_at=str(e["updated_at"]),
                change_id=int(e["change_id"]),
            )
            for e in data["entries"]
        ]
        return FeedPage(entries, int(data["cursor"]), bool(data["has_more"]))

    def feedback(self, hash_id: str, verdict: str) -> None:
        """Record this platform's verdict on one hash (``POST /api/v1/hashes/{id}/feedback/``)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        self._request("POST", f"/api/v1/hashes/{hash_id}/feedback/", json={"verdict": verdict})

    def lookup(self, hashes: Sequence[tuple[str, str]]) -> list[list[LookupMatch]]:
        """Matches of each (signal, value) in the consented bank (``POST /api/v1/lookup/``)."""
        results: list[list[LookupMatch]] = []
        for start in range(0, len(hashes), MAX_LOOKUP):
            batch = hashes[start : start + MAX_LOOKUP]
            data = self._request(
                "POST", "/api/v1/lookup/", json={"hashes": [{"signal": s, "value": v} for s, v in batch]}
            )
            for item in data["results"]:
                if item.get("error"):
                    raise TakedownAPIError(400, "invalid_hash", str(item["error"]))
                results.append(
                    [LookupMatch(str(m["hash_id"]), int(m["distance"]), str(m["case_token"])) for m in item["matches"]]
                )
        return results


def _error(response: requests.Response) -> TakedownAPIError:
    try:
        body = response.json()["error"]
        return TakedownAPIError(response.status_code, str(body["code"]), str(body["message"]))
    except (ValueError, KeyError, TypeError):
        return TakedownAPIError(response.status_code, "http_error", response.reason or "")
