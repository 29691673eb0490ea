"""Hash parsing on arbitrary input: only InvalidHashError, and canonical text is a fixed point."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.hashing.errors import InvalidHashError
from takedown.hashing.signals import SIGNAL_TYPES, get_signal_type
from tests.fuzz.conftest import examples, tried

_SIGNALS = st.sampled_from(sorted(SIGNAL_TYPES))


@st.composite
def hash_like(draw: st.DrawFn) -> Any:
    """Mostly near-valid hex (right length give or take, odd characters, spaces, case), sometimes junk."""
    signal_type = SIGNAL_TYPES[draw(_SIGNALS)]
    length = draw(st.sampled_from([signal_type.hex_length, signal_type.hex_length + 1, signal_type.hex_length - 1, 0]))
    text = draw(st.text(alphabet="0123456789abcdefABCDEF", min_size=length, max_size=length))
    pad = draw(st.sampled_from(["", " ", "\n", "\u00a0", "\u2003", "\x00"]))
    return draw(
        st.sampled_from(
            [
                text,
                pad + text + pad,
                text.replace("a", "g"),
                text[:-1] + "\u0661" if text else "\u0661",  # an Arabic-Indic digit: isdigit() but not hex
                "0x" + text,
            ]
        )
        | st.text(max_size=80)
        | st.none()
        | st.integers()
        | st.binary(max_size=64)
        | st.lists(st.integers(), max_size=3)
    )


@settings(max_examples=examples(800))
@given(_SIGNALS, hash_like())
def test_normalize_raises_only_invalid_hash_error(name: str, value: Any) -> None:
    tried("hashes: normalize")
    signal_type = SIGNAL_TYPES[name]
    try:
        normal = signal_type.normalize(value)
    except InvalidHashError as exc:
        message = str(exc)
        assert message, "an error without a reason"
        return
    tried("hashes: normalize (accepted)")
    assert len(normal) == signal_type.hex_length
    assert set(normal) <= set("0123456789abcdef")
    assert signal_type.normalize(normal) == normal


@settings(max_examples=examples(500))
@given(_SIGNALS, st.data(), st.none() | st.integers(-5, 300))
def test_compare_raises_only_invalid_hash_error(name: str, data: st.DataObject, threshold: int | None) -> None:
    tried("hashes: compare")
    signal_type = SIGNAL_TYPES[name]
    valid = st.text(alphabet="0123456789abcdefABCDEF", min_size=signal_type.hex_length, max_size=signal_type.hex_length)
    a, b = data.draw(valid | hash_like()), data.draw(valid | hash_like())
    try:
        result = signal_type.compare(a, b, threshold)
    except InvalidHashError:
        return
    tried("hashes: compare (accepted)")
    bits = signal_type.hex_length * 4
    assert 0 <= result.distance <= (bits if signal_type.perceptual else 1)
    assert signal_type.compare(b, a, threshold).distance == result.distance
    assert signal_type.compare(a, a, threshold).distance == 0


@settings(max_examples=examples(300))
@given(st.text(max_size=20) | st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2))
def test_signal_lookup_raises_only_invalid_hash_error(name: Any) -> None:
    tried("hashes: signal type lookup")
    with contextlib.suppress(InvalidHashError):
        assert get_signal_type(name).name == name
