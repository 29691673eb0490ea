"""The consented hash feed, the batch lookup, and feedback holds, through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from takedown.cases import services as case_services
from takedown.cases.feed import feed_sync_case
from takedown.cases.models import CaseStatus, FeedEntry, FeedStatus, RegisteredHash
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching import bank as banks
from takedown.platforms.models import HashFeedback
from tests.cases.conftest import staff_client
from tests.platforms.conftest import World, api_client, consented_case
from tests.web.helpers import survivor_sign_in_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_banks(settings: Any) -> Iterator[None]:
    """Each test's database starts again from change id 1, so the process's banks must too.

    A refresh interval of 0 makes every lookup see the latest change (production: the setting's
    bound, 5 s by default).
    """
    settings.PLATFORM_LOOKUP_REFRESH_SECONDS = 0
    banks._BANKS.clear()
    yield
    banks._BANKS.clear()


def read_feed(client: Client, cursor: int = 0, limit: int = 4) -> tuple[list[dict[str, Any]], int]:
    entries: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = client.get(f"/api/v1/feed/?cursor={cursor}&limit={limit}").json()
        entries += page["entries"]
        cursor = page["cursor"]
        pages += 1
        if not page["has_more"]:
            return entries, cursor
        assert pages < 100


def flip(value: str, bits: int) -> str:
    number = int(value, 16)
    for bit in range(bits):
        number ^= 1 << (bit * 7 % (len(value) * 4))
    return f"{number:0{len(value)}x}"


def shared_hashes(case_id: int, signal: str) -> list[RegisteredHash]:
    return list(RegisteredHash.objects.filter(case_id=case_id, signal=signal))


def test_feed_pages_through_and_announces_withdrawals_as_tombstones(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    other = consented_case(2)
    private = consented_case(3, consent=False)
    client = api_client(world.x_key)
    entries, cursor = read_feed(client)
    ids = [e["change_id"] for e in entries]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert all(e["status"] == "active" and re.fullmatch(r"[0-9a-f]+", e["value"]) for e in entries)
    assert {e["signal"] for e in entries} == {"pdq", "phash", "md5", "sha256"}
    by_case = {
        case.pk: set(FeedEntry.objects.filter(case_id=case.pk).values_list("public_id", flat=True))
        for case in (world.case, other, private)
    }
    assert by_case[private.pk] == set() and by_case[world.case.pk] and by_case[other.pk]
    assert {e["hash_id"] for e in entries} == by_case[world.case.pk] | by_case[other.pk]
    # Values served are the registered ones (dHash is not shared).
    registered = {rh.value for rh in RegisteredHash.objects.filter(case=other).exclude(signal="dhash")}
    assert {e["value"] for e in entries if e["hash_id"] in by_case[other.pk]} <= registered

    # Nothing new: the same cursor comes back.
    page = client.get(f"/api/v1/feed/?cursor={cursor}").json()
    assert page == {"entries": [], "cursor": cursor, "has_more": False}

    some_id = sorted(by_case[other.pk])[0]
    feedback = client.post(
        f"/api/v1/hashes/{some_id}/feedback/", {"verdict": "blocked"}, content_type="application/json"
    )
    assert feedback.status_code == 200 and HashFeedback.objects.count() == 1
    # Feedback belongs to the platforms app, which deletes it when the withdrawal's event is relayed
    # on commit (the relay runs in process here, as in the embedded default).
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=other)
    assert HashFeedback.objects.count() == 0
    tombstones, _cursor = read_feed(client, cursor)
    assert {t["hash_id"] for t in tombstones} == by_case[other.pk]
    assert all(t["status"] == "withdrawn" and t["value"] is None for t in tombstones)
    # No residue: the rows keep only the opaque id and the signal.
    for row in FeedEntry.objects.filter(public_id__in=by_case[other.pk]):
        assert row.value is None and row.value_digest == "" and row.case_id is None and row.registered_hash_id is None


def test_closing_a_case_withdraws_its_hashes_and_reopening_restores_them(world: World) -> None:
    client = api_client(world.x_key)
    _entries, cursor = read_feed(client)
    staff = Actor(kind="staff", mfa_verified=True)
    case_services.case_set_status(actor=staff, case=world.case, status=CaseStatus.CLOSED)
    closed, cursor = read_feed(client, cursor)
    assert closed and all(e["status"] == "withdrawn" for e in closed)
    case_services.case_set_status(actor=staff, case=world.case, status=CaseStatus.OPEN)
    reopened, _cursor = read_feed(client, cursor)
    assert {e["hash_id"] for e in reopened} == {e["hash_id"] for e in closed}
    assert all(e["status"] == "active" and e["value"] for e in reopened)


def test_survivor_stops_and_restarts_sharing_platforms_see_tombstones_then_hashes(world: World) -> None:
    client = api_client(world.x_key)
    shared, cursor = read_feed(client)
    mine = {e["hash_id"] for e in shared if FeedEntry.objects.get(public_id=e["hash_id"]).case_id == world.case.pk}
    assert mine
    survivor = Client()
    survivor_sign_in_session(survivor, world.case.pk)
    response = survivor.post("/case/sharing/", {"share": "off"})
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert not world.case.consent_share_hashes
    stopped, cursor = read_feed(client, cursor)
    assert {e["hash_id"] for e in stopped} == mine
    assert all(e["status"] == "withdrawn" and e["value"] is None for e in stopped)
    # The hashes are still registered: matching against the survivor's own links goes on.
    assert RegisteredHash.objects.filter(case=world.case).exists()
    pdq = next(rh for rh in shared_hashes(world.case.pk, "pdq") if rh.variant == "original").value
    assert lookup(client, [("pdq", pdq)])[0]["matches"] == []
    assert AuditEvent.objects.filter(action="case.sharing_off", subject_id=str(world.case.pk)).exists()

    assert survivor.post("/case/sharing/", {"share": "on"}).status_code == 302
    again, _cursor = read_feed(client, cursor)
    assert {e["hash_id"] for e in again} == mine
    assert all(e["status"] == "active" and e["value"] for e in again)
    assert lookup(client, [("pdq", pdq)])[0]["matches"]
    assert AuditEvent.objects.filter(action="case.sharing_on", subject_id=str(world.case.pk)).exists()


def test_closing_a_consenting_case_in_the_admin_tombstones_its_feed_and_is_audited(world: World) -> None:
    """The admin writes only through the services: closing there is closing (feed and audit included)."""
    from django.contrib.auth import get_user_model

    client = api_client(world.x_key)
    _shared, cursor = read_feed(client)
    admin = staff_client(None, "admin@takedown.example")
    get_user_model().objects.filter(email="admin@takedown.example").update(is_staff=True, is_superuser=True)
    # The status cannot be edited in the form: the field is read-only, and a forged POST changes nothing.
    page = admin.get(f"/admin/cases/case/{world.case.pk}/change/").content.decode()
    assert 'name="status"' not in page and 'name="organization"' not in page and 'name="assignee"' not in page
    world.case.refresh_from_db()
    before = world.case.status  # in progress: the world's notice was sent
    admin.post(f"/admin/cases/case/{world.case.pk}/change/", {"status": "closed"})
    world.case.refresh_from_db()
    assert world.case.status == before
    response = admin.post("/admin/cases/case/", {"action": "close_cases", "_selected_action": [world.case.pk]})
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert world.case.status == CaseStatus.CLOSED
    closed, _cursor = read_feed(client, cursor)
    entries = FeedEntry.objects.filter(case_id=world.case.pk)
    assert entries.exists() and {e["hash_id"] for e in closed} == set(entries.values_list("public_id", flat=True))
    assert all(e["status"] == "withdrawn" for e in closed)
    event = AuditEvent.objects.filter(action="case.status_changed", subject_id=str(world.case.pk)).last()
    assert event is not None and event.data == {"from": before, "to": "closed"} and event.actor_user is not None


def test_feed_sync_is_idempotent(world: World) -> None:
    assert feed_sync_case(case_id=world.case.pk) == 0


def test_variants_registered_for_windows_only_stay_out_of_the_feed(world: World) -> None:
    """Parts of the picture and off-centre crops (issue 17) are only for the service's own
    search windows; platforms get the original and the whole-picture variants."""
    registered = {rh.variant for rh in shared_hashes(world.case.pk, "pdq")}
    assert {"part-b20", "crop-k55t15l15", "crop-c20", "original"} <= registered
    fed = set(
        FeedEntry.objects.filter(case_id=world.case.pk, status=FeedStatus.ACTIVE).values_list(
            "registered_hash__variant", flat=True
        )
    )
    assert "original" in fed
    assert "crop-c20" in fed
    assert not any(v.startswith(("part-", "crop-k")) for v in fed)


def lookup(client: Client, hashes: list[tuple[str, str]]) -> list[dict[str, Any]]:
    response = client.post(
        "/api/v1/lookup/",
        {"hashes": [{"signal": s, "value": v} for s, v in hashes]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_lookup_finds_planted_near_duplicates_with_opaque_tokens(world: World) -> None:
    private = consented_case(3, consent=False)
    pdq = next(rh for rh in shared_hashes(world.case.pk, "pdq") if rh.variant == "original")
    phash = shared_hashes(world.case.pk, "phash")[0]
    md5 = shared_hashes(world.case.pk, "md5")[0]
    private_pdq = next(rh for rh in shared_hashes(private.pk, "pdq") if rh.variant == "original")
    results = lookup(
        api_client(world.x_key),
        [
            ("pdq", flip(pdq.value, 6)),
            ("pdq", flip(pdq.value, 60)),
            ("phash", flip(phash.value, 2).upper()),
            ("md5", md5.value),
            ("sha256", "0" * 64),
            ("pdq", private_pdq.value),
        ],
    )
    near, far, ph, exact, unknown, not_consented = results
    assert near["matches"] and near["matches"][0]["distance"] == 6
    entry = FeedEntry.objects.get(registered_hash=pdq)
    assert entry.public_id in {m["hash_id"] for m in near["matches"]}
    assert far["matches"] == [] and unknown["matches"] == [] and not_consented["matches"] == []
    assert ph["value"] == flip(phash.value, 2) and ph["matches"][0]["distance"] == 2
    assert exact["matches"][0]["distance"] == 0
    tokens = {m["case_token"] for r in (near, ph, exact) for m in r["matches"]}
    assert len(tokens) == 1  # one case, one token for this platform
    token = tokens.pop()
    assert world.case.reference not in token and str(world.case.pk) != token
    # Another platform gets another token for the same case.
    other = lookup(api_client(world.y_key), [("md5", md5.value)])
    assert other[0]["matches"][0]["case_token"] != token


def test_withdrawal_leaves_the_lookup_at_the_next_sync(world: World) -> None:
    md5 = shared_hashes(world.case.pk, "md5")[0].value
    pdq = next(rh for rh in shared_hashes(world.case.pk, "pdq") if rh.variant == "original").value
    client = api_client(world.x_key)
    assert all(r["matches"] for r in lookup(client, [("md5", md5), ("pdq", pdq)]))
    case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=world.case)
    assert all(r["matches"] == [] for r in lookup(client, [("md5", md5), ("pdq", pdq)]))


def test_a_withdrawal_leaves_lookups_at_once_even_before_the_bank_syncs(world: World, settings: Any) -> None:
    """The index keeps a withdrawn entry until its next sync, but every hit is confirmed against the
    feed first, so the withdrawal is effective at the very next lookup in every process."""
    settings.PLATFORM_LOOKUP_REFRESH_SECONDS = 3600
    banks._BANKS.clear()
    pdq = next(rh for rh in shared_hashes(world.case.pk, "pdq") if rh.variant == "original").value
    client = api_client(world.x_key)
    assert lookup(client, [("pdq", pdq)])[0]["matches"]
    case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=world.case)
    bank = banks.lookup_bank("pdq")
    assert len(bank) > 0  # not synced yet: the index still holds it
    assert lookup(client, [("pdq", pdq)])[0]["matches"] == []
    bank.sync(force=True)  # the next sync takes it out of the index too
    assert len(bank) == 0


def test_lookup_limits_and_errors(world: World) -> None:
    client = api_client(world.x_key)
    too_many = {"hashes": [{"signal": "md5", "value": "0" * 32}] * 1001}
    response = client.post("/api/v1/lookup/", too_many, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many"
    bad = client.post(
        "/api/v1/lookup/", {"hashes": [{"signal": "pdq", "value": "xyz"}]}, content_type="application/json"
    )
    # One bad hash is answered with its error; the rest of the batch is still looked up.
    assert bad.status_code == 200
    [answer] = bad.json()["results"]
    assert answer["matches"] == [] and "64 hex digits" in answer["error"]
    md5 = shared_hashes(world.case.pk, "md5")[0].value
    mixed = client.post(
        "/api/v1/lookup/",
        {"hashes": [{"signal": "dhash", "value": "0" * 16}, {"signal": "md5", "value": md5}]},
        content_type="application/json",
    )
    assert mixed.status_code == 400 and mixed.json()["error"]["code"] == "invalid_signal"
    mixed = client.post(
        "/api/v1/lookup/",
        {"hashes": [{"signal": "md5", "value": "0" * 31}, {"signal": "md5", "value": md5}]},
        content_type="application/json",
    ).json()["results"]
    assert "32 hex digits" in mixed[0]["error"] and mixed[1]["error"] is None and mixed[1]["matches"]
    assert client.post("/api/v1/lookup/", {"hashes": ["x"]}, content_type="application/json").status_code == 400
    full = {"hashes": [{"signal": "pdq", "value": flip("0" * 64, i % 200)} for i in range(1000)]}
    assert len(client.post("/api/v1/lookup/", full, content_type="application/json").json()["results"]) == 1000


def test_two_platforms_false_positive_holds_the_hash_until_an_advocate_clears_it(world: World) -> None:
    pdq = next(rh for rh in shared_hashes(world.case.pk, "pdq") if rh.variant == "original")
    entry = FeedEntry.objects.get(registered_hash=pdq)
    x, y = api_client(world.x_key), api_client(world.y_key)
    _entries, cursor = read_feed(x)
    url = f"/api/v1/hashes/{entry.public_id}/feedback/"
    assert x.post(url, {"verdict": "false_positive"}, content_type="application/json").status_code == 200
    # The same platform twice is still one platform.
    assert x.post(url, {"verdict": "false_positive"}, content_type="application/json").status_code == 200
    assert FeedEntry.objects.get(pk=entry.pk).held_at is None
    assert lookup(x, [("pdq", pdq.value)])[0]["matches"]
    assert y.post(url, {"verdict": "false_positive"}, content_type="application/json").status_code == 200
    held = FeedEntry.objects.get(pk=entry.pk)
    assert held.held_at is not None and held.status == FeedStatus.ACTIVE
    changes, cursor = read_feed(x, cursor)
    assert changes == [
        {
            "hash_id": entry.public_id,
            "signal": "pdq",
            "status": "withdrawn",
            "value": None,
            "updated_at": changes[0]["updated_at"],
            "change_id": held.change_id,
        }
    ]
    assert all(m["hash_id"] != entry.public_id for m in lookup(x, [("pdq", pdq.value)])[0]["matches"])
    assert pdq.value not in x.get("/api/v1/feed/export.txt").getvalue().decode()
    assert AuditEvent.objects.filter(action="hash.held", subject_id=str(world.case.pk)).count() == 1

    # The advocate sees the feedback on the case page and clears the hold.
    advocate = staff_client(world.case.organization, "advocate@helpline.example.org")
    page = advocate.get(f"/staff/cases/{world.case.pk}/").content.decode()
    assert "Platform feedback on shared hashes" in page and entry.public_id in page and "Held for review" in page
    response = advocate.post(f"/staff/cases/{world.case.pk}/hashes/{entry.public_id}/clear-hold/")
    assert response.status_code == 302
    cleared = FeedEntry.objects.get(pk=entry.pk)
    assert cleared.held_at is None and cleared.hold_cleared_at is not None
    back, _cursor = read_feed(x, cursor)
    assert [(e["hash_id"], e["status"], e["value"]) for e in back] == [(entry.public_id, "active", pdq.value)]
    assert lookup(x, [("pdq", pdq.value)])[0]["matches"]


def test_an_advocate_of_another_organisation_cannot_clear_a_hold(world: World, org_b: Any) -> None:
    entry = FeedEntry.objects.filter(case_id=world.case.pk).first()
    assert entry is not None
    FeedEntry.objects.filter(pk=entry.pk).update(held_at="2026-01-01T00:00:00Z")
    outsider = staff_client(org_b, "advocate@ngo-b.example.org")
    response = outsider.post(f"/staff/cases/{world.case.pk}/hashes/{entry.public_id}/clear-hold/")
    assert response.status_code == 404
    assert FeedEntry.objects.get(pk=entry.pk).held_at is not None


def test_hma_export_is_pdq_hex_lines(world: World) -> None:
    consented_case(2)
    body = api_client(world.x_key).get("/api/v1/feed/export.txt")
    assert body["Content-Type"].startswith("text/plain")
    lines = body.getvalue().decode().splitlines()
    expected = {e.value for e in FeedEntry.objects.filter(signal="pdq", status=FeedStatus.ACTIVE)}
    assert set(lines) == expected and len(lines) == len(expected) > 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", line) for line in lines)
