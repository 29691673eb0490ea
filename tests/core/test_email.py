"""Email leaves through a real SMTP conversation with a local server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.test import Client, override_settings

from tests.conftest import free_port

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_password_reset_email_is_delivered_over_smtp(client: Client, smtp_inbox: tuple[Inbox, int]) -> None:
    inbox, port = smtp_inbox
    get_user_model().objects.create_user(username="a@example.org", email="a@example.org", password="x" * 16)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
    ):
        assert get_connection().__class__.__name__ == "EmailBackend"
        response = client.post("/accounts/password/reset/", {"email": "a@example.org"})
    assert response.status_code == 302
    assert len(inbox.messages) == 1
    _sender, recipients, raw = inbox.messages[0]
    assert recipients == ["a@example.org"]
    message = message_from_bytes(raw)
    body = (
        message.get_payload(decode=True)
        if not message.is_multipart()
        else message.get_payload(0).get_payload(decode=True)
    )
    assert b"/accounts/password/reset/key/" in body
