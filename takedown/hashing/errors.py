"""Error types of the hashing library.

Every failure a caller can meet while hashing someone's file is a ``HashingError``, so the CLI,
a worker or a view can report it in one sentence and move on to the next file instead of
crashing; the subclasses say *why*, because "this file is too big" and "this file is broken"
lead to different advice for the survivor.
"""

from __future__ import annotations


class HashingError(Exception):
    """Base class: the file or value could not be hashed or used, with a human-readable reason."""


class FileTooLargeError(HashingError):
    """The file has more bytes than the configured limit (checked before decoding)."""


class ImageTooLargeError(HashingError):
    """The image declares more pixels than the limit: a possible decompression bomb."""


class UnreadableMediaError(HashingError):
    """The file is truncated, corrupt, or not an image or video format we can decode."""


class InvalidHashError(HashingError, ValueError):
    """A hash value in text form is malformed (wrong length, not hex, unknown signal)."""


class BundleError(HashingError, ValueError):
    """A hash bundle is not valid; the message names the first problem found and where."""
