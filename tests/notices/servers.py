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
