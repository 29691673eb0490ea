"""Withdrawal request time for a case with 10,000 shared hashes, and the old synchronous way.

Builds a case with three made-up videos (10,001 hashes), vouches for it so all of them are in the
feed, then times `case_withdraw_and_delete` (what the survivor's request runs: one UPDATE of the
feed's tombstones, the case marked withdrawn; the rows are erased by a task, timed separately).
The baseline is the old synchronous path (`_case_erase` in the request: delete every row, then
tombstone the feed entry by entry), run on an identical case. Also replays the poisoning attack of
issue 14 (four bundles, 24,500 random PDQ values) and counts what the caps refused and what
reached the feed.

Run (PostgreSQL must be up; uses a throwaway test database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/takedown .venv/bin/python bench/withdrawal.py --runs 3

The old way is not run on the 10,000-hash case: on this shared machine (load ~11) one such run was
still in its feed UPDATE after 7.5 minutes and was stopped; issue 14 measured 74 s for 24,500
hashes on a quiet machine. `--baseline-frames` sets the smaller case it is timed on.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from takedown.cases import services  # noqa: E402
from takedown.cases.models import Case, FeedEntry, FeedStatus, RegisteredHash  # noqa: E402
from takedown.cases.services.lifecycle import _case_erase  # noqa: E402
from takedown.celery import app as celery_app  # noqa: E402
from takedown.core.access import Actor  # noqa: E402
from takedown.core.errors import InvalidInput  # noqa: E402
from takedown.hashing.bundle import build_bundle, make_item  # noqa: E402
from takedown.hashing.hashes import FILE, FRAME, Hash  # noqa: E402

SURVIVOR = Actor(kind="survivor")


def video(frames: int):  # type: ignore[no-untyped-def]
    hashes = [Hash("pdq", secrets.token_hex(32), 100, FRAME) for _ in range(frames)]
    return make_item("video", [*hashes, Hash("sha256", secrets.token_hex(32), None, FILE)])


def shared_case(organization, advocate, frames: tuple[int, ...] = (3333, 3333, 3332)) -> Case:  # type: ignore[no-untyped-def]
    bundle = build_bundle([video(n) for n in frames])
    case = services.case_open(
        actor=SURVIVOR, signature_name="Bench", consent_share_hashes=True, organization=organization, bundle=bundle
    ).case
    services.case_sharing_vouch(actor=advocate, case=case)
    expected = sum(frames) + len(frames)
    assert FeedEntry.objects.filter(case_id=case.pk, status=FeedStatus.ACTIVE).count() == expected
    return case


def new_withdrawal(case: Case) -> tuple[float, float]:
    started = time.perf_counter()
    services.case_withdraw_and_delete(actor=Actor(kind="survivor", case_id=case.pk), case=case)
    request = time.perf_counter() - started
    started = time.perf_counter()
    services.case_erase_withdrawn(case_id=case.pk)  # the task, run here for its time
    return request, time.perf_counter() - started


def old_withdrawal(case: Case) -> None:
    """The synchronous way this replaced: every row deleted inside the request."""
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        _case_erase(actor=SURVIVOR, case=locked, action="case.withdrawn", data={"by": "survivor"})


def poisoning_replay(organization) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Issue 14's attack: 4 requests, 24,500 random PDQ values (one request alone 14,002)."""
    case = services.case_open(
        actor=SURVIVOR, signature_name="Poisoner", consent_share_hashes=True, organization=organization
    ).case
    posted = refused = 0
    for frames in (14_001, 3_500, 3_500, 3_495):  # 14,002 + 3 x ~3,500 = 24,500 with the files' sha256
        items = []
        left = frames
        while left > 0:  # as many "videos" as it takes at the bundle library's own per-item limit
            take = min(left, 7_000)
            items.append(video(take))
            left -= take
        bundle = build_bundle(items)
        count = sum(len(i.hashes) for i in bundle.items)
        posted += count
        try:
            services.case_add_bundle(actor=SURVIVOR, case=case, bundle=bundle)
        except InvalidInput:
            refused += count
    registered = RegisteredHash.objects.filter(case=case).count()
    in_feed = FeedEntry.objects.filter(case_id=case.pk, status=FeedStatus.ACTIVE).count()
    return {"posted": posted, "refused": refused, "registered": registered, "in_feed": in_feed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--baseline-frames", type=int, default=2000, help="size of the old way's case (0: skip the baseline)"
    )
    args = parser.parse_args()
    print(
        "reproduce: DATABASE_URL=postgres://postgres@127.0.0.1:5432/takedown .venv/bin/python bench/withdrawal.py "
        f"--runs {args.runs} --baseline-frames {args.baseline_frames}"
    )
    setup_test_environment()
    # Tasks are published to Redis as in production (nobody consumes them here), not run inline:
    # the request's time is what is measured; the erase task is timed on its own below.
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")  # type: ignore[misc]  # settable at run time; the stubs say read-only
    connection.settings_dict["TEST"]["NAME"] = f"test_takedown_bench_withdrawal_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from tests.cases.vouching import advocate_of, vetted_organization

        organization = vetted_organization()
        advocate = advocate_of(organization)
        new_times, erase_times = [], []
        for _run in range(args.runs):
            request, erase = new_withdrawal(shared_case(organization, advocate))
            new_times.append(request)
            erase_times.append(erase)
        print(f"database: {test_db}; runs: {args.runs}; case: 10,001 hashes, all in the feed")
        print("| path | case | median s | runs (s) |")
        print("| --- | --- | --- | --- |")
        rows = [
            ("withdrawal request (tombstones + case withdrawn)", "10,001 hashes", new_times),
            ("erase task (after the request)", "10,001 hashes", erase_times),
        ]
        # Stopping sharing tombstones the same entries through feed_sync_case (batched bulk_update).
        case = shared_case(organization, advocate)
        started = time.perf_counter()
        services.case_sharing_set(actor=Actor(kind="survivor", case_id=case.pk), case=case, share=False)
        rows.append(
            ("survivor stops sharing (all entries become tombstones)", "10,001 hashes", [time.perf_counter() - started])
        )
        if args.baseline_frames:
            # The old way grows faster than the case (its feed update is one CASE expression per
            # column over every entry): measured once, on a smaller case, with the new way beside it.
            frames = (args.baseline_frames,)
            size = f"{args.baseline_frames + 1:,} hashes"
            started = time.perf_counter()
            old_withdrawal(shared_case(organization, advocate, frames))
            old = time.perf_counter() - started
            request, _erase = new_withdrawal(shared_case(organization, advocate, frames))
            rows += [("old synchronous withdrawal (everything in the request)", size, [old])]
            rows += [("withdrawal request, same case", size, [request])]
        for name, size, times in rows:
            print(f"| {name} | {size} | {statistics.median(times):.3f} | {', '.join(f'{t:.3f}' for t in times)} |")
        replay = poisoning_replay(organization)
        print(
            "poisoning replay: posted {posted} hashes in 4 requests; refused by caps {refused}; "
            "registered {registered}; in the feed {in_feed}".format(**replay)
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
