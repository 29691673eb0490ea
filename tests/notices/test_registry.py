"""The platform registry: loading is idempotent, edits to the file reload, hosts map to platforms."""

from __future__ import annotations

import copy
import io

import pytest
from django.core.management import call_command

from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.organizations.models import Organization
from takedown.registry.models import Platform, PlatformChannel, PlatformDomain
from takedown.registry.selectors import platform_for_host
from takedown.registry.services import platforms_load
from takedown.web.survivor.forms import ReportForm
from tests.cases.conftest import staff_client
from tests.notices.conftest import registry_data

pytestmark = pytest.mark.django_db

EXPECTED = {
    "google-search", "bing", "facebook", "instagram", "x", "reddit", "tiktok", "youtube", "snapchat",
    "discord", "telegram", "pornhub-aylo", "onlyfans", "xhamster", "xvideos", "tumblr", "pinterest", "cloudflare",
    # notices-review.md "Platforms a helpline needs that the registry lacks", search split from hosting
    "yandex-search", "yandex-disk", "microsoft", "google-hosting", "whatsapp", "bluesky", "twitch", "vk", "kwai",
    "sharechat", "moj", "wordpress-com", "imgur", "flickr", "dropbox", "mega", "apple-icloud", "amazon",
    "amazon-aws", "bumble", "tinder", "hinge", "fansly", "redgifs",
}  # fmt: skip


def snapshot() -> list[tuple[object, ...]]:
    return [
        *Platform.objects.order_by("slug").values_list(),
        *PlatformDomain.objects.order_by("domain").values_list(),
        *PlatformChannel.objects.order_by("id").values_list(),
    ]


def test_loading_twice_changes_nothing() -> None:
    first = platforms_load(actor=Actor.system(), data=registry_data())
    assert first.created == len(EXPECTED) and first.changed
    assert set(Platform.objects.values_list("slug", flat=True)) == EXPECTED
    assert Platform.objects.get(slug="reddit").stopncii_partner is True
    assert Platform.objects.get(slug="x").data_version == registry_data()["version"]
    telegram = Platform.objects.get(slug="telegram")
    assert list(telegram.channels.values_list("kind", "address")) == [
        ("email", "abuse@telegram.org"),
        ("email", "dmca@telegram.org"),
    ]
    before, events = snapshot(), AuditEvent.objects.count()

    second = platforms_load(actor=Actor.system(), data=registry_data())
    assert (second.created, second.updated, second.unchanged, second.deactivated) == (0, 0, len(EXPECTED), 0)
    assert snapshot() == before  # not even updated_at moved
    assert AuditEvent.objects.count() == events  # nothing happened, nothing recorded


def test_editing_the_file_and_reloading_updates() -> None:
    platforms_load(actor=Actor.system(), data=registry_data())
    data = copy.deepcopy(registry_data())
    data["version"] = "test-2"
    reddit = next(p for p in data["platforms"] if p["slug"] == "reddit")
    reddit["name"] = "Reddit (edited)"
    reddit["domains"] = ["reddit.com", "redditmedia.com"]
    reddit["channels"].append({"kind": "email", "address": "legal@reddit.example"})
    data["platforms"] = [p for p in data["platforms"] if p["slug"] != "pinterest"]

    result = platforms_load(actor=Actor.system(), data=data)
    assert result.updated == len(EXPECTED) - 1  # every row records the new version
    assert result.deactivated == 1
    reddit_row = Platform.objects.get(slug="reddit")
    assert reddit_row.name == "Reddit (edited)" and reddit_row.data_version == "test-2"
    assert set(reddit_row.domains.values_list("domain", flat=True)) == {"reddit.com", "redditmedia.com"}
    assert reddit_row.channels.filter(address="legal@reddit.example").exists()
    assert not Platform.objects.get(slug="pinterest").is_active
    assert platform_for_host("i.redd.it") is None  # that domain was removed
    assert platform_for_host("pin.it") is None  # inactive platforms match nothing
    event = AuditEvent.objects.filter(action="platforms.loaded").last()
    assert event is not None and event.data["version"] == "test-2"


def test_bad_data_is_refused_and_nothing_is_written() -> None:
    data = copy.deepcopy(registry_data())
    data["platforms"][3]["bases"] = ["no_such_law"]
    with pytest.raises(InvalidInput):
        platforms_load(actor=Actor.system(), data=data)
    assert not Platform.objects.exists()
    with pytest.raises(InvalidInput):
        platforms_load(actor=Actor.system(), data={"format": "something else"})


def test_management_command_loads_the_file() -> None:
    out = io.StringIO()
    call_command("load_platforms", stdout=out)
    assert f"{len(EXPECTED)} created" in out.getvalue()
    out = io.StringIO()
    call_command("load_platforms", stdout=out)
    assert f"0 created, 0 updated, {len(EXPECTED)} unchanged" in out.getvalue()


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("reddit.com", "reddit"),
        ("old.reddit.com", "reddit"),
        ("i.redd.it", "reddit"),
        ("WWW.XVIDEOS.COM", "xvideos"),
        ("cdn.discordapp.com", "discord"),
        ("m.facebook.com", "facebook"),
        ("www.instagram.com", "instagram"),
        ("images.google.co.uk", "google-search"),
        ("drive.google.com", "google-hosting"),
        ("www.bing.com", "bing"),
        ("onedrive.live.com", "microsoft"),
        ("media.discordapp.net", "discord"),
        ("t.me", "telegram"),
        ("notreddit.com", None),
        ("reddit.com.evil.example", None),
        ("example.com", None),
        ("127.0.0.1", None),
        ("not a host", None),
    ],
)
def test_platform_for_host(host: str, slug: str | None) -> None:
    platform = platform_for_host(host)
    assert (platform.slug if platform else None) == slug


def test_the_registry_covers_what_a_helpline_needs() -> None:
    platforms_load(actor=Actor.system(), data=registry_data())
    assert Platform.objects.count() >= 40
    # Every channel says when it was last verified (or that nobody has: unverified entries).
    for channel in PlatformChannel.objects.select_related("platform"):
        assert channel.intake, channel
        unverified = channel.platform.confidence == "unverified" or "unverified" in channel.note
        assert channel.verified_on is not None or unverified, channel
    # Search is split from hosting where the law differs: Bing Search is not a TAKE IT DOWN covered
    # platform (notices-review), Microsoft's hosting services are.
    assert "us_take_it_down" not in Platform.objects.get(slug="bing").supported_bases
    assert "us_take_it_down" in Platform.objects.get(slug="microsoft").supported_bases
    assert Platform.objects.get(slug="google-search").kind == "search"
    google = Platform.objects.get(slug="google-search")
    assert google.channels.first().address == "https://support.google.com/websearch/answer/6302812"
    # X: the TAKE IT DOWN form is for US requests only; other bases have their own channel.
    x = Platform.objects.get(slug="x")
    tida = x.channels.get(intake="tida_process")
    assert tida.bases == ["us_take_it_down"]
    assert x.channels.filter(intake="policy_form").exists()
    # Australia is a jurisdiction everywhere one is chosen ("all" includes it).
    assert "AU" in x.serves and x.first_party and not Platform.objects.get(slug="cloudflare").first_party
    assert Platform.objects.get(slug="pornhub-aylo").follow_up_days == 10


def test_australia_is_offered_wherever_a_jurisdiction_is_chosen(org_a: Organization) -> None:
    """The survivor's report form and the advocate's open-case form take their choices from the registry."""
    assert ("AU", "Australia") in list(ReportForm().fields["jurisdictions"].choices)  # type: ignore[attr-defined]
    client = staff_client(org_a, "advocate@a.example")
    page = client.get("/staff/cases/new/")
    assert page.status_code == 200 and 'value="AU"' in page.content.decode() and "Australia" in page.content.decode()
    assert "Australia" in str(ReportForm())
