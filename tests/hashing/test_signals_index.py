"""Signal-type registry, comparisons, and the brute-force indexes."""

from __future__ import annotations

import numpy as np
import pytest

from takedown.hashing.bits import hamming_cross, hamming_hex, words_to_hex
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.index import ExactIndex, HammingIndex, IndexMatch
from takedown.hashing.signals import SIGNAL_TYPES, PdqSignal, get_signal_type


def _flip(hex_value: str, n_bits: int) -> str:
    value = int(hex_value, 16) ^ ((1 << n_bits) - 1)
    return f"{value:0{len(hex_value)}x}"


def test_registry_names_and_thresholds() -> None:
    assert set(SIGNAL_TYPES) == {"pdq", "phash", "dhash", "sha256", "md5"}
    assert PdqSignal.default_threshold == 31
    assert SIGNAL_TYPES["sha256"].default_threshold == 0
    assert SIGNAL_TYPES["pdq"].index_class() is HammingIndex
    assert SIGNAL_TYPES["md5"].index_class() is ExactIndex


@pytest.mark.parametrize(
    ("signal", "value", "message"),
    [
        ("pdq", "ab", "64 hex digits"),
        ("pdq", "g" * 64, "only hex digits"),
        ("phash", "0" * 17, "16 hex digits"),
        ("md5", 5, "must be a string"),
    ],
)
def test_normalize_errors_are_clear(signal: str, value: object, message: str) -> None:
    with pytest.raises(InvalidHashError, match=message):
        SIGNAL_TYPES[signal].normalize(value)  # type: ignore[arg-type]


def test_normalize_canonicalises_case_and_space() -> None:
    assert SIGNAL_TYPES["dhash"].normalize(" ABCDEF0123456789 ") == "abcdef0123456789"


def test_unknown_signal() -> None:
    with pytest.raises(InvalidHashError, match="known: dhash, md5"):
        get_signal_type("photodna")


def test_compare_threshold_boundary() -> None:
    a = "0" * 64
    assert PdqSignal.compare(a, _flip(a, 31)).matched
    assert PdqSignal.compare(a, _flip(a, 31)).distance == 31
    assert not PdqSignal.compare(a, _flip(a, 32)).matched
    assert SIGNAL_TYPES["sha256"].compare("a" * 64, "a" * 64).matched
    assert not SIGNAL_TYPES["sha256"].compare("a" * 64, "b" * 64).matched


def test_hamming_index_query_serialise_roundtrip() -> None:
    rng = np.random.default_rng(5)
    values = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(500)]
    index = HammingIndex.build(((v, i + 100) for i, v in enumerate(values)), bits=256, threshold=31)
    near = _flip(values[7], 10)  # 10 low bits flipped
    assert index.query(near) == [IndexMatch(10, 107)]
    assert index.query(values[3], threshold=0) == [IndexMatch(0, 103)]
    index.add(values[3], 9999)  # the same hash may belong to two registrations
    assert [m.id for m in index.query(values[3])] == [103, 9999]
    restored = HammingIndex.deserialise(index.serialise())
    assert len(restored) == 501
    assert restored.query(near) == index.query(near)
    with pytest.raises(ValueError, match="wrong length"):
        HammingIndex.deserialise(index.serialise()[:-3])
    with pytest.raises(InvalidHashError):
        index.query("abc")


def test_hamming_index_64_bit_and_brute_force_agrees() -> None:
    rng = np.random.default_rng(9)
    values = [f"{int(x):016x}" for x in rng.integers(0, 2**63, 300)]
    index = HammingIndex.build(((v, i) for i, v in enumerate(values)), bits=64, threshold=20)
    query = values[0]
    expected = sorted(
        IndexMatch(d, i) for i, v in enumerate(values) if (d := (int(v, 16) ^ int(query, 16)).bit_count()) <= 20
    )
    assert index.query(query) == expected


def test_exact_index() -> None:
    index = ExactIndex.build([("AB" * 16, 1), ("ab" * 16, 2), ("cd" * 16, 3)])
    assert [m.id for m in index.query("ab" * 16)] == [1, 2]
    assert ExactIndex.deserialise(index.serialise()).query("cd" * 16) == [IndexMatch(0, 3)]


@pytest.mark.parametrize("chunk", [1, 3, 2048])
def test_hamming_cross_agrees_with_pair_by_pair_distances(chunk: int) -> None:
    """The matcher's all-pairs product, counted word by word, against distances of the hex text;
    with the extremes (0 and 256: a running count in 8 bits would wrap) and odd chunk sizes."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2**64, (7, 4), dtype=np.uint64, endpoint=False)
    b = rng.integers(0, 2**64, (11, 4), dtype=np.uint64, endpoint=False)
    a[0] = 0
    b[0] = np.iinfo(np.uint64).max
    b[1] = a[2]
    got = hamming_cross(a, b, chunk=chunk)
    assert got.shape == (7, 11) and got.dtype == np.int32
    for i in range(7):
        for j in range(11):
            assert got[i, j] == hamming_hex(words_to_hex(a[i]), words_to_hex(b[j]))
    assert got[0, 0] == 256 and got[2, 1] == 0
    assert hamming_cross(a[:0], b).shape == (0, 11)
    assert hamming_cross(a, b[:0]).shape == (7, 0)
