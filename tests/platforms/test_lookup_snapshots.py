"""Lookups served from the bank's snapshot plus the feed's changes since it (issue 18).

The beat's task builds the snapshot into the configured store; each process maps it and applies
the change log after its checkpoint. Tombstones in the change log override the mapped rows, and a
withdrawn hash is gone from the files at the next build.
"""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.management import call_command
from moto.server import ThreadedMotoServer

from takedown.cases import services as case_services
from takedown.cases.models import FeedEntry, RegisteredHash
from takedown.core.access import Actor
from takedown.hashing.snapshot import open_snapshot, read_header
from takedown.matching import bank as banks
from takedown.matching.apps import bank_snapshots_configured
from takedown.matching.tasks import bank_snapshots_build
from tests.conftest import test_database_url, wait_for
from tests.platforms.conftest import World, api_client, consented_case
from tests.platforms.test_feed_lookup import lookup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def snapshots(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A local store of this test's own; a refresh interval long enough that nothing syncs by itself."""
    settings.BANK_SNAPSHOT_STORE = "local"
    settings.BANK_SNAPSHOT_DIR = tmp_path / "bank"
    settings.PLATFORM_LOOKUP_REFRESH_SECONDS = 3600
    banks._BANKS.clear()
    yield tmp_path / "bank"
    banks._BANKS.clear()


def original_pdq(case_id: int) -> RegisteredHash:
    return RegisteredHash.objects.get(case_id=case_id, signal="pdq", variant="original")


def feed_bank(signal: str = "pdq") -> banks.FeedBank:
    bank = banks.lookup_bank(signal)
    assert isinstance(bank, banks.FeedBank)
    return bank


def test_lookups_come_from_the_snapshot_and_the_changes_after_it(world: World, snapshots: Path) -> None:
    pdq = original_pdq(world.case.pk)
    client = api_client(world.x_key)
    # Before the first build a process answers from the feed itself.
    assert lookup(client, [("pdq", pdq.value)])[0]["matches"]
    assert feed_bank().fallback is not None and not feed_bank().serving_snapshot

    published = bank_snapshots_build()
    assert any(name.startswith("pdq-") for name in published) and any(name.startswith("phash-") for name in published)
    assert bank_snapshots_build() == []  # nothing changed: not due again
    files = list(snapshots.glob("pdq-*.tdsnap"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(snapshots.stat().st_mode) == 0o700

    bank = feed_bank()
    bank.sync(force=True)
    assert bank.serving_snapshot and bank.fallback is None  # the private copy is dropped
    checkpoint = bank.snapshot.index.header.checkpoint  # type: ignore[union-attr]
    [answer] = lookup(client, [("pdq", pdq.value)])
    entry = FeedEntry.objects.get(registered_hash=pdq)
    assert [m["hash_id"] for m in answer["matches"]][:1] == [entry.public_id] and entry.change_id <= checkpoint

    # A case that consents after the checkpoint is found through the change log.
    later = consented_case(2)
    later_pdq = original_pdq(later.pk)
    bank.sync(force=True)
    assert FeedEntry.objects.get(registered_hash=later_pdq).change_id > checkpoint
    assert bank.snapshot.index.header.checkpoint == checkpoint  # type: ignore[union-attr]  # same file
    assert FeedEntry.objects.get(registered_hash=later_pdq).public_id in {
        m["hash_id"] for m in lookup(client, [("pdq", later_pdq.value)])[0]["matches"]
    }
    # A new process maps the same file and answers at once (no feed read of the whole bank).
    banks._BANKS.clear()
    assert lookup(client, [("pdq", later_pdq.value)])[0]["matches"]
    assert feed_bank().serving_snapshot and feed_bank().fallback is None


def test_a_withdrawal_overrides_the_snapshot_at_once_and_is_gone_from_the_next_file(
    world: World, snapshots: Path
) -> None:
    pdq = original_pdq(world.case.pk)
    entry = FeedEntry.objects.get(registered_hash=pdq)
    bank_snapshots_build()
    client = api_client(world.x_key)
    assert lookup(client, [("pdq", pdq.value)])[0]["matches"]
    bank = feed_bank()
    old = banks.snapshot_store().latest("pdq")  # type: ignore[union-attr]
    assert old is not None

    case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=world.case)
    # At once: no sync has happened (the interval is an hour), the mapped rows still hold the hash...
    index = bank.snapshot.index
    assert index is not None and entry.pk in {m.id for m in index.query_many([pdq.value])[0]}
    # ...and no lookup answers it.
    assert lookup(client, [("pdq", pdq.value)])[0]["matches"] == []
    # The tombstone in the change log overrides the mapped row at the next sync.
    bank.sync(force=True)
    assert entry.pk not in {m.id for m in bank.snapshot.index.query_many([pdq.value])[0]}  # type: ignore[union-attr]

    # A hash left the bank, so the next build is due: the new file lacks it, the old file is deleted.
    assert any(name.startswith("pdq-") for name in bank_snapshots_build())
    new = banks.snapshot_store().latest("pdq")  # type: ignore[union-attr]
    assert new is not None and new.checkpoint > old.checkpoint
    assert not (snapshots / old.name).exists()
    rebuilt = open_snapshot(snapshots / new.name, verify=True)
    assert rebuilt.query_many([pdq.value], 0) == [[]] and entry.pk not in set(rebuilt.base.live_rows()[1].tolist())
    banks._BANKS.clear()
    assert lookup(client, [("pdq", pdq.value)])[0]["matches"] == []


def test_snapshots_in_s3_compatible_storage_reach_a_process_on_another_machine(
    world: World, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's S3 server on 127.0.0.1; the builder and the reader have different local directories."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stopped = False
    try:
        host, port = server.get_host_and_port()
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
            monkeypatch.setenv(name, value)
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bank")
        settings.BANK_SNAPSHOT_STORE = "s3"
        settings.BANK_SNAPSHOT_S3_BUCKET = "bank"
        settings.BANK_SNAPSHOT_S3_ENDPOINT_URL = endpoint
        settings.BANK_SNAPSHOT_S3_REGION = "us-east-1"
        settings.BANK_SNAPSHOT_S3_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
        settings.BANK_SNAPSHOT_DIR = tmp_path / "builder"
        assert any(name.startswith("pdq-") for name in bank_snapshots_build())
        objects = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(Bucket="bank")
        stored = [o["Key"] for o in objects["Contents"]]
        assert any(key.startswith("bank/pdq-") and key.endswith(".enc") for key in stored)

        settings.BANK_SNAPSHOT_DIR = tmp_path / "reader"  # another machine's private copy
        banks._BANKS.clear()
        pdq = original_pdq(world.case.pk)
        assert lookup(api_client(world.x_key), [("pdq", pdq.value)])[0]["matches"]
        assert feed_bank().serving_snapshot and list((tmp_path / "reader").glob("pdq-*.tdsnap"))
        # The bucket holds only ciphertext: neither the header nor the hash rows of the file appear in it.
        key = next(k for k in stored if k.startswith("bank/pdq-"))
        body = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").get_object(Bucket="bank", Key=key)
        ciphertext = body["Body"].read()
        (local,) = (tmp_path / "reader").glob("pdq-*.tdsnap")
        words = next(s for s in read_header(local).sections if s.name == "words")
        plain = local.read_bytes()
        assert plain[:8] not in ciphertext and plain[words.offset : words.offset + 32] not in ciphertext

        # The object store goes away: the process keeps answering from the index it has.
        server.stop()
        stopped = True
        feed_bank().sync(force=True)
        assert lookup(api_client(world.x_key), [("pdq", pdq.value)])[0]["matches"]

        settings.BANK_SNAPSHOT_S3_KEY = "short"
        banks._BANKS.clear()
        with pytest.raises(Exception, match="BANK_SNAPSHOT_S3_KEY"):
            banks.snapshot_store()
        assert [e.id for e in bank_snapshots_configured()] == ["takedown.E102"]
    finally:
        if not stopped:
            server.stop()


def test_a_store_that_cannot_work_is_refused_at_start(settings: Any, tmp_path: Path) -> None:
    assert bank_snapshots_configured() == []
    settings.BANK_SNAPSHOT_STORE = "nfs"
    assert [e.id for e in bank_snapshots_configured()] == ["takedown.E102"]
    settings.BANK_SNAPSHOT_STORE = "local"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    settings.BANK_SNAPSHOT_DIR = shared
    [error] = bank_snapshots_configured()
    assert error.id == "takedown.E102" and "open to other users" in error.msg


@pytest.mark.django_db(transaction=True)
def test_the_beat_builds_snapshots_through_a_real_worker(
    world: World, tmp_path: Path, broker_url: str, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    """`celery beat` with a 2 s schedule and a real worker: a snapshot appears, and a withdrawal makes
    the next one (the old file is deleted and the new one lacks the hash)."""
    directory = tmp_path / "beat-bank"
    env = {"BANK_SNAPSHOT_DIR": str(directory), "BANK_SNAPSHOT_BUILD_SECONDS": "2"}
    start_worker(queues="default", env=env)
    beat_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        **env,
    }
    log = (tmp_path / "beat.log").open("wb")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "takedown", "beat", "-s", str(tmp_path / "schedule"), "-l", "INFO"],
        cwd=Path(__file__).resolve().parents[2],
        env=beat_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def published() -> list[Path]:
            return sorted(directory.glob("pdq-*.tdsnap")) if directory.exists() else []

        wait_for(lambda: len(published()) == 1, 90, "the beat's first PDQ snapshot")
        first = published()[0]
        pdq = original_pdq(world.case.pk)
        entry = FeedEntry.objects.get(registered_hash=pdq)
        assert entry.pk in set(open_snapshot(first).base.live_rows()[1].tolist())

        case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=world.case)
        wait_for(lambda: published() and published()[0] != first, 60, "the build after the withdrawal")
        (second,) = published()
        assert not first.exists()
        assert entry.pk not in set(open_snapshot(second).base.live_rows()[1].tolist())
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=30)


def test_the_command_publishes_snapshots_before_workers_start(world: World, snapshots: Path) -> None:
    out = StringIO()
    call_command("bank_snapshots_build", stdout=out)
    assert "pdq: published pdq-" in out.getvalue() and list(snapshots.glob("pdq-*.tdsnap"))
    out = StringIO()
    call_command("bank_snapshots_build", stdout=out)
    assert "pdq: not due (latest at change" in out.getvalue()
