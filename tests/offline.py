"""A resolver that resolves nothing: the test suite's fetches can never reach the internet.

Tests serve their pages from 127.0.0.1 by IP literal (allowed only with FETCH_ALLOW_LOOPBACK), so
they never need a name lookup; any name that reaches here fails like an unknown host.
"""

from __future__ import annotations

import socket


def offline_resolver(host: str) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, f"the test suite does not resolve names ({host})")
