"""Takedown's hashing library: pure Python, no Django, usable from a CLI, a worker or a notebook.

Modules: ``image`` (canonical preprocessing and image hashes), ``video`` (vPDQ-style frame
hashes), ``variants`` (registering-side variants, checking-side border removal), ``signals``
(signal-type registry), ``index`` (brute-force indexes), ``scaled_index`` (the exact
multi-index for millions of hashes), ``matcher`` (best match for a found
copy), ``bundle`` (the hash-bundle format), ``media`` (hash any file), ``cli``.
Importing this package imports no submodule, so ``import takedown.hashing`` stays cheap.
"""

from takedown.hashing.errors import (
    BundleError,
    FileTooLargeError,
    HashingError,
    ImageTooLargeError,
    InvalidHashError,
    UnreadableMediaError,
)
from takedown.hashing.hashes import Hash

__version__ = "0.1.0"

__all__ = [
    "BundleError",
    "FileTooLargeError",
    "Hash",
    "HashingError",
    "ImageTooLargeError",
    "InvalidHashError",
    "UnreadableMediaError",
    "__version__",
]
