"""Entry point of ``python -m takedown.hashing`` (see :mod:`takedown.hashing.cli`)."""

from takedown.hashing.cli import main

raise SystemExit(main())
