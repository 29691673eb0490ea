"""`manage.py platform_key` and the portal's sign-in, through their public interfaces."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from takedown.core.models import AuditEvent
from takedown.platforms.models import ApiKey, PlatformAccount
from tests.platforms.conftest import World, api_client

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("platform_key", *args, stdout=out)
    return out.getvalue()


def shown_key(output: str) -> str:
    match = re.search(r"key \(shown once\): (tdk_live_[0-9a-f]{8}\.\S+)", output)
    assert match, output
    return match.group(1)


def test_create_rotate_revoke_from_the_command_line(registry: None) -> None:
    with pytest.raises(CommandError, match="vetted"):
        run("create", "reddit", "--scopes", "notices,feed")
    key = shown_key(run("create", "reddit", "--scopes", "notices"))
    assert api_client(key).get("/api/v1/notices/").status_code == 200
    assert api_client(key).get("/api/v1/feed/").status_code == 403

    vetted = shown_key(run("create", "reddit", "--scopes", "feed,lookup", "--vetted"))
    assert PlatformAccount.objects.get(platform__slug="reddit").is_vetted
    assert api_client(vetted).get("/api/v1/feed/").status_code == 200

    prefix = key.split(".")[0]
    rotated = shown_key(run("rotate", prefix, "--grace-seconds", "0"))
    assert api_client(key).get("/api/v1/notices/").status_code == 401
    assert api_client(rotated).get("/api/v1/notices/").status_code == 200
    run("revoke", rotated.split(".")[0])
    assert api_client(rotated).get("/api/v1/notices/").status_code == 401
    listing = run("list", "reddit")
    assert prefix in listing and rotated.split(".")[0] in listing
    assert key.split(".")[1] not in listing
    with pytest.raises(CommandError):
        run("revoke", "tdk_live_ffffffff")
    assert {"api_key.created", "api_key.rotated", "api_key.revoked"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    assert ApiKey.objects.filter(account__platform__slug="reddit").count() == 3


def test_portal_needs_a_notices_key_and_shows_only_the_platforms_queue(world: World) -> None:
    client = Client()
    assert client.get("/platform/")["Location"] == "/platform/sign-in/"
    refused = client.post("/platform/sign-in/", {"api_key": "tdk_live_00000000." + "A" * 43})
    assert refused.status_code == 400
    assert client.post("/platform/sign-in/", {"api_key": world.y_key}).status_code == 302
    other = client.get("/platform/").content.decode()
    assert "No open notices." in other
    client.post("/platform/sign-out/")
    client.post("/platform/sign-in/", {"api_key": world.x_key})
    page = client.get("/platform/").content.decode()
    # The queue lists the notice by its reference, which reveals nothing; never the case reference.
    assert world.notice.reference in page and world.case.reference not in page
    assert " left)" in page and "overdue" not in page
    from takedown.notices.models import Notice

    Notice.objects.filter(pk=world.notice.pk).update(due_at="2026-01-01T00:00:00Z")
    assert "<strong>overdue</strong>" in client.get("/platform/").content.decode()
    assert world.x_key not in page and world.x_key.split(".")[1] not in str(dict(client.session))


def test_admin_creates_rotates_and_revokes_keys_showing_the_secret_once(world: World) -> None:
    from django.contrib.auth import get_user_model

    from tests.cases.conftest import staff_client

    admin = staff_client(None, "admin@takedown.example")
    get_user_model().objects.filter(email="admin@takedown.example").update(is_staff=True, is_superuser=True)
    assert admin.get("/admin/platforms/platformaccount/").status_code == 200
    assert admin.get(f"/admin/platforms/platformaccount/{world.y.pk}/change/").status_code == 200
    created = admin.post(
        "/admin/platforms/platformaccount/",
        {"action": "create_notices_key", "_selected_action": [world.y.pk]},
        follow=True,
    )
    shown = re.search(r"(tdk_live_[0-9a-f]{8}\.[A-Za-z0-9_-]{43})", created.content.decode())
    assert shown is not None and api_client(shown.group(1)).get("/api/v1/notices/").status_code == 200
    key = ApiKey.objects.get(prefix=shown.group(1).split(".")[0])
    page = admin.get(f"/admin/platforms/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and key.secret_hash not in page and shown.group(1) not in page
    admin.post("/admin/platforms/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert api_client(shown.group(1)).get("/api/v1/notices/").status_code == 401
