"""The exact multi-index (takedown/hashing/scaled_index.py) against the brute-force scan.

Planted matches at every distance 0..32 from each query, including worst cases for the chunk
probes (the flipped bits spread so that every 16-bit chunk differs in 1 or 2 bits), must come
back exactly as the scan finds them: nothing within the threshold missed, nothing beyond it
returned.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from takedown.hashing.bits import WordArray, words_to_hex
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.index import HammingIndex, IndexMatch
from takedown.hashing.scaled_index import (
    MultiIndexHammingIndex,
    choose_chunks,
    chunk_layout,
    hexes_to_words,
)
from takedown.hashing.signals import SCALED_INDEX_MIN_SIZE, SIGNAL_TYPES

N_RANDOM = 20_000


def _flip(words: WordArray, positions: npt.NDArray[np.int64]) -> WordArray:
    """Copy of one hash (n_words,) with the given bit positions (0 = leftmost hex bit) flipped."""
    bits = np.unpackbits(words.astype(">u8").view(np.uint8))
    bits[positions] ^= 1
    return np.packbits(bits).view(">u8").astype(np.uint64)


def _spread(distance: int, bits: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``distance`` bit positions spread round-robin over the 16-bit chunks (the hard case)."""
    chunks = bits // 16
    order = rng.permutation(chunks)
    picks = [int(order[i % chunks]) * 16 + (i // chunks) for i in range(distance)]
    return np.asarray(picks, dtype=np.int64)


def _dataset(bits: int, seed: int) -> tuple[WordArray, WordArray, list[int]]:
    """Random hashes, plus for each query planted copies at every distance 0..32."""
    rng = np.random.default_rng(seed)
    n_words = bits // 64
    queries = rng.integers(0, 2**64, size=(12, n_words), dtype=np.uint64)
    rows = [rng.integers(0, 2**64, size=(N_RANDOM, n_words), dtype=np.uint64)]
    distances: list[int] = []
    for qi, query in enumerate(queries):
        for d in range(33):
            # Alternate uniformly random positions and the chunk-spreading worst case.
            if (qi + d) % 2:
                positions = rng.choice(bits, size=d, replace=False).astype(np.int64)
            else:
                positions = _spread(d, bits, rng)
            rows.append(_flip(query, positions)[np.newaxis, :])
            distances.append(d)
    return np.concatenate(rows), queries, distances


def _brute(words: WordArray, ids: npt.NDArray[np.int64], threshold: int) -> HammingIndex:
    index = HammingIndex(words.shape[1] * 64, threshold)
    index.add_many((words_to_hex(row), int(i)) for row, i in zip(words, ids, strict=True))
    return index


@pytest.mark.parametrize("bits", [256, 64])
def test_exact_against_brute_force_at_every_distance(bits: int) -> None:
    words, queries, distances = _dataset(bits, seed=bits)
    ids = np.arange(words.shape[0], dtype=np.int64) * 7 + 3
    threshold = 31 if bits == 256 else 4
    index = MultiIndexHammingIndex.from_matrix(words, ids, bits=bits, threshold=threshold)
    brute = _brute(words, ids, threshold)
    planted_found = 0
    for qi, query in enumerate(queries):
        text = words_to_hex(query)
        got = index.query(text)
        assert got == brute.query(text)
        assert all(m.distance <= threshold for m in got)
        got_ids = {m.id for m in got}
        for d in range(33):
            planted_id = int(ids[N_RANDOM + qi * 33 + d])
            if distances[qi * 33 + d] <= threshold:
                assert planted_id in got_ids, f"planted match at distance {d} missed"
                planted_found += 1
            elif bits == 256:
                # 64-bit random rows can fall within 4 by chance; 256-bit ones cannot.
                assert planted_id not in got_ids, f"match at distance {d} beyond {threshold} returned"
    assert planted_found == len(queries) * (threshold + 1)


@pytest.mark.parametrize(("bits", "chunks"), [(256, 11), (256, 12), (256, 13), (64, 3)])
def test_long_chunks_spanning_words_are_exact_too(bits: int, chunks: int) -> None:
    """The layouts chosen for millions of hashes (23-24 bit chunks, radius 2 for PDQ's 31)."""
    words, queries, distances = _dataset(bits, seed=bits + chunks)
    ids = np.arange(words.shape[0], dtype=np.int64)
    threshold = 31 if bits == 256 else 4
    index = MultiIndexHammingIndex.from_matrix(words, ids, bits=bits, threshold=threshold, chunks=chunks)
    assert len(index.layout) == chunks
    spanning = any(start % 64 + length > 64 for start, length in index.layout)
    assert spanning == (bits > 64)  # chunks that take bits from two words are covered
    brute = _brute(words, ids, threshold)
    texts = [words_to_hex(q) for q in queries]
    expected = [brute.query(t) for t in texts]
    assert index.query_many(texts) == expected
    assert [index.query(t) for t in texts] == expected
    planted = sum(1 for d in distances if d <= threshold)
    assert sum(m.id >= N_RANDOM for found in expected for m in found) == planted
    # Beyond the probe radius (t // chunks > 2) the same index answers by a full scan, exactly.
    wide = 3 * chunks
    assert index.query(texts[0], wide) == brute.query(texts[0], wide)


def test_the_layout_follows_the_size() -> None:
    assert chunk_layout(256, 16) == tuple((16 * j, 16) for j in range(16))
    assert [length for _, length in chunk_layout(256, 11)] == [24, 24, 24] + [23] * 8
    assert choose_chunks(256, 31, 1_000) == choose_chunks(256, 31, 1_000_000) == 16
    assert choose_chunks(256, 31, 10_000_000) == 11
    assert choose_chunks(64, 4, 10_000_000) == 3
    assert choose_chunks(256, 60, 10_000_000) == 16  # no radius pays off: the scan answers


def test_every_threshold_is_exact_including_the_scan_fallback() -> None:
    words, queries, _ = _dataset(256, seed=5)
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = MultiIndexHammingIndex.from_matrix(words, ids)
    brute = _brute(words, ids, 31)
    for threshold in (0, 1, 15, 16, 32, 47, 60, -1):
        text = words_to_hex(queries[threshold % len(queries)])
        assert index.query(text, threshold) == brute.query(text, threshold), threshold


def test_batch_query_equals_single_queries_for_hex_and_matrices() -> None:
    words, queries, _ = _dataset(256, seed=11)
    index = MultiIndexHammingIndex.from_matrix(words, np.arange(words.shape[0]))
    texts = [words_to_hex(q) for q in queries]
    singles = [index.query(t) for t in texts]
    assert sum(map(len, singles)) == len(queries) * 32
    assert index.query_many(texts) == singles
    assert index.query_many(queries) == singles
    as_bytes = queries.astype(">u8").view(np.uint8).reshape(len(queries), 32)
    assert index.query_many(as_bytes) == singles
    assert index.query_many([]) == []


def test_builds_from_hex_uint64_and_uint8_agree() -> None:
    words, queries, _ = _dataset(256, seed=3)
    ids = np.arange(words.shape[0])
    texts = [words_to_hex(row) for row in words]
    from_hex = MultiIndexHammingIndex.from_hexes(texts, ids)
    from_bytes = MultiIndexHammingIndex.from_matrix(words.astype(">u8").view(np.uint8), ids)
    built = MultiIndexHammingIndex.build(zip(texts, ids.tolist(), strict=True))
    np.testing.assert_array_equal(hexes_to_words(texts), words)
    query = words_to_hex(queries[0])
    expected = MultiIndexHammingIndex.from_matrix(words, ids).query(query)
    assert len(expected) == 32
    assert from_hex.query(query) == from_bytes.query(query) == built.query(query) == expected
    assert len(from_hex) == len(from_bytes) == len(built) == words.shape[0]


def test_appended_rows_are_found_before_and_after_the_tail_is_folded_in() -> None:
    words, queries, _ = _dataset(256, seed=13)
    index = MultiIndexHammingIndex.from_matrix(words[:N_RANDOM], np.arange(N_RANDOM))
    index.tail_limit = 100  # type: ignore[misc]
    query = words_to_hex(queries[0])
    assert index.query(query) == []
    index.add_many((words_to_hex(words[N_RANDOM + d]), 1_000_000 + d) for d in range(20))
    assert [m.distance for m in index.query(query)] == list(range(20))  # scanned in the tail
    index.add_many((words_to_hex(row), 2_000_000 + i) for i, row in enumerate(words[N_RANDOM + 20 :]))
    matches = index.query(query)
    assert index._indexed == words.shape[0]  # the tail went past the limit and was folded in
    assert [m.distance for m in matches] == list(range(32))


def test_remove_ids_takes_effect_at_once_and_compacts() -> None:
    words, queries, _ = _dataset(256, seed=17)
    ids = np.arange(words.shape[0], dtype=np.int64)
    index = MultiIndexHammingIndex.from_matrix(words, ids)
    query = words_to_hex(queries[0])
    before = index.query(query)
    gone = {before[0].id, before[5].id}
    assert index.remove_ids(gone) == 2
    assert index.remove_ids(gone) == 0
    after = index.query(query)
    assert [m for m in before if m.id not in gone] == after
    assert index.query_many([query]) == [after]
    assert len(index) == words.shape[0] - 2
    # Removing a quarter of the rows compacts: the sorted arrays are rebuilt without them.
    assert index.remove_ids(np.arange(0, N_RANDOM // 3)) == N_RANDOM // 3
    assert index._dead == 0
    assert index._indexed == len(index) == words.shape[0] - 2 - N_RANDOM // 3
    assert index.query(query) == after


def test_serialise_round_trip_keeps_results_and_drops_removed_rows() -> None:
    words, queries, _ = _dataset(256, seed=19)
    index = MultiIndexHammingIndex.from_matrix(words, np.arange(words.shape[0]) - 5, threshold=20)
    index.remove_ids([int(words.shape[0]) - 6])
    index.add("f" * 64, 99)
    restored = MultiIndexHammingIndex.deserialise(index.serialise())
    assert restored.threshold == 20
    assert len(restored) == len(index)
    for query in queries[:4]:
        text = words_to_hex(query)
        assert restored.query(text) == index.query(text)
        assert len(restored.query(text)) == 21
    assert restored.query("f" * 64) == [IndexMatch(0, 99)]
    with pytest.raises(ValueError, match="magic"):
        MultiIndexHammingIndex.deserialise(b"XXXX" + index.serialise()[4:])
    with pytest.raises(ValueError, match="length"):
        MultiIndexHammingIndex.deserialise(index.serialise()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        MultiIndexHammingIndex.deserialise(b"TD")


@pytest.mark.parametrize(
    ("value", "message"),
    [("ab" * 31, "expected 64 hex digits.*got 62"), ("g" * 64, "not hex"), ("a" * 65, "got 65"), (5, "string")],
)
def test_bad_input_raises_invalid_hash_error(value: object, message: str) -> None:
    index = MultiIndexHammingIndex.from_hexes(["0" * 64], [1])
    with pytest.raises(InvalidHashError, match=message):
        index.query(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidHashError, match=message):
        index.add(value, 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidHashError, match=message):
        index.query_many(["1" * 64, value])  # type: ignore[list-item]
    with pytest.raises(InvalidHashError, match=message):
        MultiIndexHammingIndex.from_hexes(["1" * 64, "2" * 64, value], [1, 2, 3])  # type: ignore[list-item]
    with pytest.raises(InvalidHashError, match="uint64"):
        index.query_many(np.zeros((2, 3), dtype=np.uint64))
    with pytest.raises(ValueError, match="ids"):
        MultiIndexHammingIndex.from_matrix(np.zeros((2, 4), dtype=np.uint64), [1])


def test_hex_with_inner_space_is_rejected_not_misparsed() -> None:
    with pytest.raises(InvalidHashError, match="hash 1"):
        hexes_to_words(["0" * 64, "0" * 31 + " " + "0" * 32])


def test_signal_types_choose_the_index_by_size() -> None:
    pdq = SIGNAL_TYPES["pdq"]
    assert pdq.index_class() is HammingIndex
    assert pdq.index_class(SCALED_INDEX_MIN_SIZE - 1) is HammingIndex
    assert pdq.index_class(SCALED_INDEX_MIN_SIZE) is MultiIndexHammingIndex
    assert SIGNAL_TYPES["phash"].index_class(10**6) is MultiIndexHammingIndex
    assert SIGNAL_TYPES["sha256"].index_class(10**6).kind == "exact"
