"""The value object every hasher returns and every bundle, index and matcher consumes."""

from __future__ import annotations

from dataclasses import dataclass

#: Variant label of a hash of the unmodified (canonically preprocessed) image.
ORIGINAL = "original"
#: Variant label of exact hashes (sha256, md5) of the file's bytes.
FILE = "file"
#: Variant label of a PDQ hash of one sampled video (or animation) frame.
FRAME = "frame"


@dataclass(frozen=True, slots=True)
class Hash:
    """One hash of one medium.

    ``variant`` says which picture was hashed: ``"original"``, ``"file"``, ``"frame"`` or the
    label of a registered variant such as ``"crop-c10"``; the matcher reports it so a reviewer
    can see *why* two media matched. ``quality`` is only set for PDQ (0-100).
    """

    signal: str
    value: str
    quality: int | None = None
    variant: str = ORIGINAL
