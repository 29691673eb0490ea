"""The python-threatexchange extension (contrib/threatexchange) against a live test server.

tests/contrib/conftest.py installs the extension into this virtualenv (``pip install -e
contrib/threatexchange``, offline: no dependencies, no build isolation). The tests serve the
project on 127.0.0.1 with pytest-django's live server and drive threatexchange's own CLI in a
private HOME: add the extension, configure a collaboration with a vetted platform key, fetch,
match a shared photo, see a survivor's withdrawal become a deletion on the next fetch, and send
feedback back. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer
from takedown_threatexchange.api import TakedownCollabConfig, TakedownCredentials, TakedownSignalExchangeAPI
from threatexchange.exchanges.fetch_state import SignalOpinionCategory
from threatexchange.signal_type.pdq.signal import PdqSignal

from takedown.cases import services as case_services
from takedown.cases.models import Case, FeedEntry, FeedStatus
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.platforms import services as platform_services
from takedown.platforms.models import HashFeedback
from tests.cases.conftest import shared_photo
from tests.platforms.conftest import account_for, consented_case, key_for

pytestmark = pytest.mark.django_db(transaction=True)

THREATEXCHANGE = Path(sys.executable).with_name("threatexchange")
COLLAB = "takedown-ncii"
#: The feed's signal -> the threatexchange signal types the extension files it under.
TX_TYPES = {
    "pdq": {"pdq"},
    "md5": {"video_md5", "photo_md5"},
    "sha256": {"video_sha256", "photo_sha256"},
    "phash": {"phash"},
}


class Tx:
    """threatexchange's CLI with a private HOME (its state, and the key file ~/.tx_takedown_api_key)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = os.environ | {"HOME": str(home), "TX_STATEDIR": str(home / ".threatexchange")}
        self.env.pop("TX_TAKEDOWN_API_KEY", None)

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(THREATEXCHANGE), *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if ok and done.returncode:
            raise AssertionError(f"threatexchange {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def signals(self) -> set[tuple[str, str]]:
        """(signal type, value) of everything fetched, as the CLI itself lists them."""
        out = self.run("dataset", "--print-signals", "--print-signals-only").stdout
        return {(kind, value) for kind, value in (line.split() for line in out.splitlines() if line.strip())}

    def matches(self, photo: Path) -> dict[str, set[str]]:
        """Signal type -> hash ids that ``threatexchange match photo`` names for our collaboration."""
        found: dict[str, set[str]] = {}
        for line in self.run("match", "--all", "photo", str(photo)).stdout.splitlines():
            parts = line.split()
            if f"({COLLAB})" in parts:
                found.setdefault(parts[0], set()).add(parts[-1])
        return found


def _expected(cases: list[Case]) -> tuple[set[tuple[str, str]], dict[int, dict[str, set[str]]]]:
    """What the feed shares for these cases: (type, value) pairs, and hash ids per case and type."""
    pairs: set[tuple[str, str]] = set()
    ids: dict[int, dict[str, set[str]]] = {}
    for entry in FeedEntry.objects.filter(case_id__in=[c.pk for c in cases], status=FeedStatus.ACTIVE):
        assert entry.value is not None and entry.case_id is not None
        for kind in TX_TYPES[entry.signal]:
            pairs.add((kind, entry.value))
            ids.setdefault(entry.case_id, {}).setdefault(kind, set()).add(entry.public_id)
    return pairs, ids


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


def test_threatexchange_fetches_matches_deletes_and_reports_through_the_extension(
    live_server: LiveServer, home: Path, tmp_path: Path
) -> None:
    kept, withdrawn = consented_case(1), consented_case(2)
    not_shared = consented_case(3, consent=False)
    platform = account_for("hma-platform", vetted=True)
    key = key_for(platform, ["feed", "lookup"])
    key_file = home / ".tx_takedown_api_key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o400)
    tx = Tx(home)

    added = tx.run("config", "extensions", "add", "takedown_threatexchange").stdout
    assert "takedown - TakedownSignalExchangeAPI" in added and "phash - PHashSignal" in added
    tx.run("config", "collab", "edit", "takedown", COLLAB, "--create", "--server", live_server.url, "--page-size", "3")
    collab = json.loads(tx.run("config", "collab", "print", COLLAB).stdout)
    assert collab == {"name": COLLAB, "api": "takedown", "enabled": True, "server": live_server.url, "page_size": 3}

    tx.run("fetch")
    shared, ids = _expected([kept, withdrawn])
    assert len(shared) > 10  # several pages of 3 entries: PDQ variants, pHash, dHash-free digests
    assert tx.signals() == shared
    assert not FeedEntry.objects.filter(case_id=not_shared.pk).exists()

    # threatexchange's own hasher on the shared photo finds the survivor's hashes, by hash id.
    before = tx.matches(shared_photo(2))
    assert before["pdq"] and before["pdq"] <= ids[withdrawn.pk]["pdq"]
    assert before["phash"] <= ids[withdrawn.pk]["phash"]  # the extension's own signal type
    assert before["photo_md5"] == ids[withdrawn.pk]["photo_md5"]  # the very file: exact digest too
    assert tx.matches(shared_photo(1))["pdq"] <= ids[kept.pk]["pdq"]

    # The survivor withdraws: the next fetch turns her hashes' tombstones into deletions.
    case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=withdrawn)
    tx.run("fetch")
    remaining, _ = _expected([kept])
    assert tx.signals() == remaining
    assert not tx.signals() & {pair for pair in shared if pair not in remaining}
    assert tx.matches(shared_photo(2)) == {}
    assert tx.matches(shared_photo(1))["pdq"] <= ids[kept.pk]["pdq"]
    tx.run("fetch")  # nothing new: the checkpoint (the feed cursor) holds
    assert tx.signals() == remaining

    # Feedback: the CLI's `label` (a positive label: blocked) on threatexchange's PDQ of the photo.
    pdq = tx.run("hash", "photo", str(shared_photo(1))).stdout.split()[1]
    (tmp_path / "seen.pdq").write_text(pdq)
    tx.run("label", "--as-hash", "pdq", COLLAB, "photo", str(tmp_path / "seen.pdq"))
    verdicts = dict(HashFeedback.objects.filter(account=platform).values_list("entry__public_id", "verdict"))
    assert verdicts and set(verdicts) <= ids[kept.pk]["pdq"] and set(verdicts.values()) == {"blocked"}

    # A revoked key stops the fetch: threatexchange reports the collaboration failed.
    platform_services.api_key_revoke(actor=Actor.system(), key=platform.keys.get())
    refused = tx.run("fetch", ok=False)
    assert refused.returncode != 0 and "failed to fetch" in refused.stderr
    assert tx.signals() == remaining  # what was fetched stays until the next successful fetch


def test_review_feedback_and_seen_through_the_python_interface(live_server: LiveServer) -> None:
    """What HMA calls: a match is reported as "seen" (no decision yet), review results become verdicts."""
    case = consented_case(4)
    platform = account_for("review-platform", vetted=True)
    collab = TakedownCollabConfig(name="t", server=live_server.url, page_size=1000)
    api = TakedownSignalExchangeAPI.for_collab(collab, TakedownCredentials(key_for(platform, ["feed"])))
    (delta,) = list(api.fetch_iter([PdqSignal], None))
    records = api.naive_convert_to_signal_type(
        [PdqSignal], collab, {k: v for k, v in delta.updates.items() if v is not None}
    )[PdqSignal]
    record = next(iter(records.values()))
    assert FeedEntry.objects.get(public_id=record.hash_id).case_id == case.pk
    assert delta.checkpoint.cursor == FeedEntry.objects.order_by("-change_id").first().change_id  # type: ignore[union-attr]

    def verdict() -> str:
        return HashFeedback.objects.get(account=platform, entry__public_id=record.hash_id).verdict

    # HMA reports a match before anyone reviewed it: the platform saw the hash, no decision yet.
    api.submit_matched(collab, record)
    assert verdict() == "seen"
    api.submit_review_feedback(collab, record, SignalOpinionCategory.NEGATIVE_CLASS)
    assert verdict() == "false_positive"
    api.submit_review_feedback(collab, record, SignalOpinionCategory.POSITIVE_CLASS)
    assert verdict() == "blocked"
    # Matching the same hash again later does not undo the decision.
    api.submit_matched(collab, record)
    assert verdict() == "blocked"
    assert AuditEvent.objects.filter(action="hash.feedback_received", data__verdict="seen").count() == 2
