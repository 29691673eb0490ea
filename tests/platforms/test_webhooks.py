"""A real signed delivery to a local receiver that verifies it with the snippet documented in docs/api.md.

The receiver executes the documented code block itself (not a copy), so the documentation cannot
drift from what the service sends. It accepts the delivery, then refuses the same request sent
again (replay), a tampered body, and a correctly signed but stale one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from takedown.notices.services import notice_mark_sent
from takedown.platforms.models import WebhookDelivery
from tests.notices.conftest import approved_notice, open_case
from tests.platforms.conftest import STAFF, World, api_client

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_verifier() -> dict[str, Any]:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- webhook-verification-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/api.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOCS), "exec"), namespace)
    return namespace


@dataclass
class VerifyingReceiver:
    url: str = ""
    secret: str = ""
    seen: set[str] = field(default_factory=set)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def verifying_receiver() -> Iterator[VerifyingReceiver]:
    state = VerifyingReceiver()
    verifier = documented_verifier()
    verify: Callable[..., dict[str, Any]] = verifier["verify_takedown_webhook"]
    rejected_error: type[Exception] = verifier["WebhookRejected"]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.raw.append((dict(self.headers.items()), body))
                try:
                    event = verify(state.secret, self.headers, body, state.seen)
                except rejected_error as exc:
                    state.rejected.append(str(exc))
                    status = 400
                else:
                    state.accepted.append(event)
                    status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/takedown/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def subscribe(world: World, receiver: VerifyingReceiver, events: list[str]) -> int:
    response = api_client(world.x_key).post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": events}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    receiver.secret = body["secret"]
    listed = api_client(world.x_key).get("/api/v1/webhooks/").json()
    assert [h["id"] for h in listed] == [body["id"]] and "secret" not in listed[0]
    return int(body["id"])


def test_a_notice_sent_event_verifies_with_the_documented_snippet_and_a_replay_is_rejected(
    world: World, verifying_receiver: VerifyingReceiver, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FETCH_ALLOW_LOOPBACK = True
    subscribe(world, verifying_receiver, ["notice.sent"])
    case = open_case(organization=world.case.organization, urls=("https://x.com/someone/status/9",))
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_mark_sent(actor=STAFF, notice=approved_notice(case))

    assert verifying_receiver.rejected == []
    # The world's own notice, sent earlier, is announced by the same relay: every sent notice is.
    assert {e["data"]["notice_id"] for e in verifying_receiver.accepted} == {notice.pk, world.notice.pk}
    [event] = [e for e in verifying_receiver.accepted if e["data"]["notice_id"] == notice.pk]
    assert event["event"] == "notice.sent"
    delivery = WebhookDelivery.objects.get(delivery_id=event["id"])
    assert delivery.delivered and delivery.http_status == 200
    # The event names the notice; the platform reads it through the API.
    assert api_client(world.x_key).get(event["data"]["url"]).json()["id"] == notice.pk

    headers, body = next((h, b) for h, b in verifying_receiver.raw if json.loads(b)["id"] == event["id"])
    replay = requests.post(verifying_receiver.url, data=body, headers=headers, timeout=5)
    assert replay.status_code == 400 and verifying_receiver.rejected == ["replayed delivery"]

    tampered = body.replace(str(notice.pk).encode(), b"1", 1)
    fresh = {**headers, "X-Takedown-Delivery": "wd_other"}
    assert requests.post(verifying_receiver.url, data=tampered, headers=fresh, timeout=5).status_code == 400
    assert verifying_receiver.rejected[-1] == "bad signature"

    # Correctly signed with the secret, but an hour old: outside the tolerance.
    from takedown.core.transport import webhook_signature

    old = str(int(time.time()) - 3600)
    stale = {
        **headers,
        "X-Takedown-Timestamp": old,
        "X-Takedown-Signature": webhook_signature(verifying_receiver.secret, old, body),
    }
    assert requests.post(verifying_receiver.url, data=body, headers=stale, timeout=5).status_code == 400
    assert verifying_receiver.rejected[-1] == "timestamp outside the tolerance"
    assert len(verifying_receiver.accepted) == 2  # the two notices, once each: no replay got through


def test_ping_and_unsubscribe(
    world: World, verifying_receiver: VerifyingReceiver, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FETCH_ALLOW_LOOPBACK = True
    hook_id = subscribe(world, verifying_receiver, ["ping"])
    client = api_client(world.x_key)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/webhooks/{hook_id}/ping/").status_code == 202
    assert [e["event"] for e in verifying_receiver.accepted] == ["ping"]
    assert json.loads(verifying_receiver.raw[0][1])["data"] == {"message": "ping"}
    assert client.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204
    assert client.get("/api/v1/webhooks/").json() == []
    assert client.post(f"/api/v1/webhooks/{hook_id}/ping/").status_code == 404


def test_a_webhook_to_a_private_address_is_refused(world: World) -> None:
    response = api_client(world.x_key).post(
        "/api/v1/webhooks/", {"url": "http://10.0.0.1/hook", "events": ["notice.sent"]}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_url"
