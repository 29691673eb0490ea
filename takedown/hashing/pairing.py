"""Which registered hash a found hash may be compared with: the rule that keeps searches safe.

The checking side hashes thousands of windows of a found copy (crops, parts above a caption band,
rotations undone). Each window stands for one registered variant, or one small group of them,
and is compared with nothing else: every extra comparison is another chance of a false match,
and only the variant a window stands for can match a window of the right content (comparing crop
windows with every registered hash gave a false pair at distance 30 where the rule gave none;
docs/benchmarks/crop-search.md). Symmetrically, the registered variants made only for windows
(off-centre crops for heavy crops, the parts of the picture for overlays, the smallest central
crop for straightened copies) are never compared with the ordinary views of a found copy. This
module is the single place that rule lives: the matcher, the benchmark and the consented bank
(``takedown.matching.bank``) all ask :func:`may_compare`.

Label grammar of a window (at most 32 characters: ``takedown.matching`` stores the found
variant in a 32-character column): ``win-<code>@<where>``, where ``<code>`` names the target and
``<where>`` says which part of the copy was hashed (a box ``top,left,height,width`` in pixels of
the reduced copy, or a rotation ``A+12``). Codes:

- ``orig``: the registered ``original``;
- ``c10``, ``c20``, ``c40``, ``c50``, ``c60``: the registered central crop ``crop-<code>``
  (``crop-c60``, the central 40% of each side, is met by rotation windows only);
- ``pb20`` (``p`` and a name): the registered part of the picture ``part-b20`` (the top 80%:
  20% removed at the bottom), for copies with a caption band, text or stickers;
- ``k55`` (``k`` and a number): the group of registered off-centre crops that keep 55% of each
  side, ``crop-k55t15l15``, ``crop-k55t15l30``, ... (any of them: the window's position in the
  copy fits each of the group's crops for some crop of the original). A box starting with
  ``~`` (``win-k55@~12,30,400,533``) is a skewed window: the copy kept a different share of each
  axis (:func:`is_bank_query`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from takedown.hashing.hashes import ORIGINAL

WINDOW_PREFIX: Final = "win-"
#: Registered labels of off-centre crop groups start with this (``crop-k55t15l30``).
GROUP_PREFIX: Final = "crop-k"
#: Registered parts of the picture made for overlay windows only (``part-b20`` = the top 80%).
PART_PREFIX: Final = "part-"
#: Registered central crops made for rotation windows only: the central 40% of each side is what
#: still fits inside a wide picture straightened 12-15 degrees to the largest upright rectangle
#: (a thin strip), but 16% of the area is too little picture to be met by every view of every
#: copy, or to go into the platforms' hash feed.
WINDOW_ONLY_CROPS: Final = frozenset({"crop-c60"})
#: Marks the box of a skewed crop window (a different share off each axis): ``win-k55@~12,30,400,533``.
#: Not a letter: rotation windows' places start with a letter (``win-orig@S+5``).
SKEWED_MARK: Final = "~"


def window_code(found_variant: str) -> str | None:
    """The target code of a window label (``c20`` of ``win-c20@1,2,3,4``), None for other hashes."""
    if not found_variant.startswith(WINDOW_PREFIX):
        return None
    code, sep, _where = found_variant[len(WINDOW_PREFIX) :].partition("@")
    return code if sep else None


def is_window_only(registered_variant: str) -> bool:
    """Registered variants that only windows may meet (see the module docstring)."""
    return registered_variant.startswith((GROUP_PREFIX, PART_PREFIX)) or registered_variant in WINDOW_ONLY_CROPS


def may_compare(registered_variant: str, found_variant: str) -> bool:
    """Whether a registered hash and a found hash of the same signal may be compared at all."""
    code = window_code(found_variant)
    if code is None and found_variant.startswith(WINDOW_PREFIX):
        return False  # a malformed window label stands for nothing
    return may_meet(registered_variant, code)


@lru_cache(maxsize=4096)
def may_meet(registered_variant: str, code: str | None) -> bool:
    """:func:`may_compare` for a found hash known by its window code (None: an ordinary view of
    the copy, a video frame or a file digest).

    The rule depends on the code only, never on where the window sits, so a matcher that groups
    a found copy's thousands of windows by code asks once per group and registered label; the
    answers are cached (a few dozen labels times a few dozen codes).
    """
    if code is None:
        return not is_window_only(registered_variant)
    if code == "orig":
        return registered_variant == ORIGINAL
    if code.startswith("k"):
        return registered_variant.startswith(f"crop-{code}t")
    if code.startswith("p"):
        return registered_variant == PART_PREFIX + code[1:]
    return registered_variant == f"crop-{code}"


def is_bank_query(found_variant: str) -> bool:
    """Whether a found hash is looked up in the consented bank of every case, not only compared
    with the checked case's own hashes.

    The bank holds only what the feed shares, and the feed leaves out the variants registered
    for windows only (``takedown.cases.feed``): a window standing for an off-centre crop, a part
    of the picture or the central 40% can meet nothing there, so it is not asked. Those are ~93%
    of a found image's windows, and against a bank of millions each lookup costs ~0.4 ms of index
    search (docs/benchmarks/index.md). Skewed crop windows (62%, all of them off-centre groups)
    were left out for that cost before this rule covered them; with it the windows asked per
    found photo fall from ~3,900 to ~710 (measured on shared photos). What is lost: nothing the
    bank could answer; a heavy crop of another case's picture is found only when that case's own
    check reaches the link (the bank has no off-centre crops to suggest it with).
    """
    if not found_variant.startswith(WINDOW_PREFIX):
        return True
    _code, sep, where = found_variant.removeprefix(WINDOW_PREFIX).partition("@")
    if not sep or where.startswith(SKEWED_MARK):
        return False
    target = window_target(found_variant)
    return target is not None and not is_window_only(target)


def window_target(found_variant: str) -> str | None:
    """The one registered label a window stands for; None for hashes that are not windows.

    Kept for callers that compare ``registered.variant == window_target(found.variant)``: a
    window of an off-centre group answers with the group's prefix (``crop-k55``), which is no
    registered label, so such a caller simply never matches group windows. New callers should use
    :func:`may_compare`, which also keeps window-only registered variants away from ordinary views.
    """
    if not found_variant.startswith(WINDOW_PREFIX):
        return None
    code = window_code(found_variant)
    if code is None:
        return found_variant  # malformed: equal to no registered label, so compared with nothing
    if code == "orig":
        return ORIGINAL
    if code.startswith("p"):
        return PART_PREFIX + code[1:]
    return f"crop-{code}"
