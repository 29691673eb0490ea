"""Entry point of ``python -m takedown.hashing`` (the tool itself is :mod:`takedown.cli.hashing`).

This shim is the one module of the hashing package allowed to import from above it
(import-linter's `ignore_imports`): nothing imports it, and the command people know must keep
working while the tool combines hashing with the face detector.
"""

from takedown.cli.hashing import main

raise SystemExit(main())
