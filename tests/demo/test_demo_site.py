"""The local demo site: "Check now" on a demo link finds the match through the real pipeline, offline."""

from __future__ import annotations

import io
import re
import socket
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.test import Client
from pytest_django import Settings

from takedown.cases.models import Case, ItemStatus
from takedown.cases.services import case_open
from takedown.core.access import Actor
from takedown.demo.hosts import resolve
from takedown.demo.pictures import picture
from takedown.demo.scenes import DEMO_HOSTS, SCENES
from takedown.demo.site import running, set_online
from takedown.hashing.bundle import build_bundle, make_item
from takedown.hashing.media import hash_file
from takedown.matching.models import CheckTrigger, Verdict
from takedown.matching.services import item_check_request
from takedown.organizations.services import organization_create
from takedown.registry.selectors import platform_for_host
from tests.organizations.test_staff_access import current_code

pytestmark = pytest.mark.django_db(transaction=True)  # the check runs on commit, as in use

STAFF = Actor(kind="staff", mfa_verified=True)


def test_a_check_of_a_demo_link_finds_the_demo_survivors_picture(demo: int, settings: Settings) -> None:
    settings.CHECK_ON_REPORT = False  # the check below is the advocate's "Check now"
    settings.FETCH_RESOLVER = "takedown.demo.hosts.resolve"  # as scripts/run sets them
    settings.FETCH_ALLOW_LOOPBACK = True
    scene = next(s for s in SCENES if s.key == "match")
    media = hash_file(picture(scene.picture))
    organization = organization_create(actor=Actor.system(), name="Demo", slug="demo", kind="helpline")
    case = case_open(
        actor=Actor(kind="survivor"),
        signature_name="Demo survivor",
        jurisdictions=["US"],
        bundle=build_bundle([make_item(media.kind, media.hashes)]),  # type: ignore[arg-type]
        urls=[scene.url(demo)],
        organization=organization,
    ).case
    item = case.items.get()
    assert platform_for_host(item.host).slug == scene.platform  # type: ignore[union-attr]

    with running(demo):
        check = item_check_request(actor=STAFF, item=item, trigger=CheckTrigger.MANUAL)
        check.refresh_from_db()
        item.refresh_from_db()
        assert check.verdict == Verdict.MATCH, (check.verdict, check.error_message)
        assert item.status == ItemStatus.LIVE
        assert check.media.filter(matched=True).exists()

        # A page the platform took down answers 404, and a check of it no longer finds the copy.
        set_online(scene.path, online=False)
        with pytest.raises(urllib.error.HTTPError) as gone:
            urllib.request.urlopen(f"http://127.0.0.1:{demo}{scene.path}", timeout=5)
        assert gone.value.code == 404
        recheck = item_check_request(actor=STAFF, item=item, trigger=CheckTrigger.RECHECK)
        recheck.refresh_from_db()
        item.refresh_from_db()
        assert recheck.verdict == Verdict.REMOVED and item.status == ItemStatus.REMOVED


def test_the_demo_resolver_sends_only_the_demo_names_to_the_demo_site(demo: int) -> None:
    for host in DEMO_HOSTS.values():
        assert resolve(host) == ["127.0.0.1"]
        assert resolve(host.upper() + ".") == ["127.0.0.1"]
    # Another name goes to the system resolver (the suite has no network: here, a name that does
    # not exist fails as it would without the demo resolver), and the system's answer comes back.
    with pytest.raises(socket.gaierror):
        resolve("no-such-host.invalid")
    assert resolve("localhost") == socket_answer("localhost")


def socket_answer(host: str) -> list[str]:
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)))


def test_check_now_on_the_new_demo_case_finds_the_match(demo: int, settings: Settings, client: Client) -> None:
    """What a newcomer does after scripts/run: sign in as the demo advocate, open the new case, press "Check now"."""
    settings.FETCH_RESOLVER = "takedown.demo.hosts.resolve"  # as scripts/run sets them for the server
    settings.FETCH_ALLOW_LOOPBACK = True
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    text = out.getvalue()
    reference = re.search(r"^demo case: (\S+) PIN \d{8} \(new\)$", text, re.M).group(1)  # type: ignore[union-attr]
    email = re.search(r"email:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    password = re.search(r"password:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    secret = re.search(r"TOTP secret:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    client.post("/accounts/login/", {"login": email, "password": password})
    client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    item = Case.objects.get(reference=reference).items.get()
    assert item.status == ItemStatus.REPORTED

    with running(demo):  # scripts/run's demo site (the seed's own stopped when it finished)
        response = client.post(f"/staff/cases/{item.case_id}/items/{item.pk}/check/")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == ItemStatus.LIVE
    assert item.checks.get().verdict == Verdict.MATCH
