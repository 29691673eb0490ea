"""Local receivers for delivery tests: an SMTP server (aiosmtpd) and a webhook endpoint (http.server).

The webhook endpoint does what a platform's receiver should: it checks the HMAC signature over
"<timestamp>.<body>" and remembers idempotency keys, so a retry of a notice it already has is
answered without acting twice. Its answers are scripted (first 503, then 200...).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port

WEBHOOK_SECRET = "test-webhook-secret-0123456789"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reply = "250 Message accepted for delivery"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return self.reply

    def parsed(self, index: int = 0) -> Message:
        return message_from_bytes(self.messages[index][2])


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(inbox=inbox, port=port)
    finally:
        controller.stop()


@dataclass
class Receiver:
    """What the webhook endpoint received, and how it answers next."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> notice
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            timestamp = self.headers.get("X-Takedown-Timestamp", "")
            expected = (
                "sha256="
                + hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            )
            signed = hmac.compare_digest(expected, self.headers.get("X-Takedown-Signature", ""))
            key = self.headers.get("Idempotency-Key", "")
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.requests.append({"path": self.path, "signed": signed, "key": key, "status": status})
                if not signed:
                    status = 401
                elif status == 200 and key not in state.accepted:
                    state.accepted[key] = json.loads(body)
            reply = json.dumps({"status": status, "duplicate": key in state.accepted and status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/takedown/notices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------------
# RDAP


def rdap_network(
    *,
    name: str = "Example Hosting GmbH",
    handle: str = "ORG-EH1-RIPE",
    abuse_email: str | None = "abuse@example-hosting.test",
    start: str = "5.9.0.0",
    end: str = "5.9.255.255",
) -> dict[str, Any]:
    """An RFC 9083 IP network object shaped like the registries' (the abuse role nested in the org, as ARIN does)."""
    abuse: list[dict[str, Any]] = []
    if abuse_email is not None:
        abuse.append(
            {
                "objectClassName": "entity",
                "handle": "AR-EH1",
                "roles": ["abuse"],
                "vcardArray": [
                    "vcard",
                    [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", "Abuse desk"],
                        ["email", {}, "text", abuse_email],
                    ],
                ],
            }
        )
    return {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "ip network",
        "handle": "5.9.0.0 - 5.9.255.255",
        "startAddress": start,
        "endAddress": end,
        "ipVersion": "v4",
        "name": "EXAMPLE-NET",
        "entities": [
            {
                "objectClassName": "entity",
                "handle": handle,
                "roles": ["registrant"],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]],
                "entities": abuse,
            }
        ],
    }


@dataclass
class RdapServer:
    """A local RDAP server: `/ip/<address>` answers from `records`, or as `mode` says (404, garbage,
    slow, a redirect to `redirect_to`); `/bootstrap/<file>` serves IANA-shaped bootstrap files that
    send every address in 5.0.0.0/8 and 2a01::/16 to this server. It records each request's path
    and User-Agent (the fetcher's, never an RDAP library's own client)."""

    url: str = ""
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"  # ok, garbage, slow, error, redirect
    delay: float = 0.0
    redirect_to: str = ""
    queries: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)

    @property
    def bootstrap_url(self) -> str:
        return f"{self.url}/bootstrap/"

    def bootstrap(self, name: str) -> dict[str, Any]:
        base = f"{self.url}/"
        services: dict[str, list[Any]] = {
            "ipv4.json": [[["5.0.0.0/8"], [base]]],
            "ipv6.json": [[["2a01::/16"], [base]]],
            "asn.json": [[["64496-64511"], [base]]],
            "dns.json": [[["example"], [base]]],
            "object-tags.json": [[["abuse@example.test"], ["TEST"], [base]]],
        }
        return {"version": "1.0", "publication": "2026-11-30T00:00:00Z", "services": services[name]}


@pytest.fixture
def rdap_server() -> Iterator[RdapServer]:
    state = RdapServer()
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.queries.append(self.path)
            state.agents.append(self.headers.get("User-Agent", ""))
            if state.mode == "slow":
                release.wait(state.delay)
            headers: dict[str, str] = {}
            if self.path.startswith("/bootstrap/"):
                name = self.path.removeprefix("/bootstrap/")
                status, body, kind = 200, json.dumps(state.bootstrap(name)).encode(), "application/json"
            elif state.mode == "redirect":
                status, body, kind = 302, b"", "text/plain"
                headers["Location"] = state.redirect_to
            elif state.mode == "garbage":
                status, body, kind = 200, b"<html>not rdap", "text/html"
            elif state.mode == "error":
                status, body, kind = 500, b'{"errorCode": 500}', "application/rdap+json"
            elif (address := self.path.removeprefix("/ip/")) in state.records:
                status, body, kind = 200, json.dumps(state.records[address]).encode(), "application/rdap+json"
            else:
                status, body, kind = 404, b'{"errorCode": 404, "title": "Not Found"}', "application/rdap+json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        release.set()
        server.shutdown()
        server.server_close()
