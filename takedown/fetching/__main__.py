"""Entry point of ``python -m takedown.fetching`` (the tool itself is :mod:`takedown.cli.fetching`).

This shim is the one module of the fetching package allowed to import from above it: nothing
imports it, and the check command combines fetching with hashing, which the library itself must
never import.
"""

from takedown.cli.fetching import main

raise SystemExit(main())
