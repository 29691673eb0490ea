"""The consented bank applies the matcher's pairing rule (takedown.hashing.pairing.may_compare).

A window of a found copy meets only the registered variant(s) it stands for, and the variants
registered for windows only (parts of the picture, off-centre crops) meet no ordinary view. The
bank is the real ``DeltaBank`` and ``bank_lookup``; only its source is a list of changes instead
of the feed table (the feed's own tests, tests/platforms/test_feed_lookup.py, cover that read).
"""

from __future__ import annotations

import pytest

from takedown.hashing.hashes import Hash
from takedown.matching import bank
from takedown.matching.bank import BankChange, DeltaBank, bank_lookup

A = "a" * 64
B = "5" * 64
C = "c3" * 32
D = "0f" * 32


@pytest.fixture
def pdq_bank(monkeypatch: pytest.MonkeyPatch) -> DeltaBank:
    changes = [
        BankChange(1, 1, A, case_id=10, variant="part-b20"),  # window-only: the top 80%
        BankChange(2, 2, B, case_id=11, variant="crop-k55t15l30"),  # window-only: off-centre crop
        BankChange(3, 3, C, case_id=12, variant="original"),
        BankChange(4, 4, D, case_id=13, variant="crop-c20"),
    ]
    delta = DeltaBank(
        bits=256,
        threshold=31,
        load_changes=lambda after: [c for c in changes if c.change_id > after],
        refresh_seconds=3600,
    )
    monkeypatch.setitem(bank._BANKS, "pdq", delta)
    return delta


def _cases(found: list[Hash]) -> set[int]:
    return {hit.case_id for hit in bank_lookup(found, exclude_case_id=0)}


def test_window_only_variants_meet_no_ordinary_view(pdq_bank: DeltaBank) -> None:
    found = [Hash("pdq", A, 100, "found"), Hash("pdq", B, 100, "found-trim"), Hash("pdq", C, 100, "found")]
    assert _cases(found) == {12}


def test_windows_meet_the_variants_they_stand_for(pdq_bank: DeltaBank) -> None:
    found = [Hash("pdq", C, 100, "win-orig@G+7"), Hash("pdq", D, 100, "win-c20@1,1,80,80")]
    assert _cases(found) == {12, 13}


def test_windows_for_window_only_variants_are_not_asked(pdq_bank: DeltaBank) -> None:
    """The feed never shares the variants registered for windows only (parts of the picture,
    off-centre crops, the central 40%), so the bank is not asked about the windows standing for
    them: they are ~90% of a found image's windows and each lookup costs index search. Even a
    bank that held such a hash (this one does) is not asked."""
    found = [Hash("pdq", A, 100, "win-pb20@0,0,80,100"), Hash("pdq", B, 100, "win-k55@3,4,55,55")]
    assert _cases(found) == set()


def test_windows_meet_nothing_else(pdq_bank: DeltaBank) -> None:
    found = [
        Hash("pdq", A, 100, "win-pt20@20,0,80,100"),  # another part
        Hash("pdq", B, 100, "win-k64@3,4,64,64"),  # another group
        Hash("pdq", C, 100, "win-c20@1,1,80,80"),  # a central crop, not the original
    ]
    assert _cases(found) == set()


def test_skewed_windows_are_left_to_the_cases_own_check(pdq_bank: DeltaBank) -> None:
    """A skewed crop window (``@~``) is not asked either: the case's own check compares it."""
    assert _cases([Hash("pdq", B, 100, "win-k55@~3,4,55,60")]) == set()
