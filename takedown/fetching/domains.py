"""The registrable domain of a host (``cdn.images.example.co.uk`` -> ``example.co.uk``).

Used to group items by who controls them: notices go to whoever runs the registrable domain, and
two URLs on the same registrable domain are probably the same platform. The Public Suffix List
comes from the ``publicsuffixlist`` package, which bundles a snapshot of the list and never
downloads anything at run time (updating it means upgrading the pinned package).

By default the list's private section counts, so ``alice.github.io`` and ``bob.github.io`` are
different registrable domains (different people control them); pass ``include_private=False``
to get the ICANN answer (``github.io``), e.g. to find the hosting platform.
"""

from __future__ import annotations

import functools
import ipaddress

import idna
from publicsuffixlist import PublicSuffixList


@functools.cache
def _suffix_list(include_private: bool) -> PublicSuffixList:
    # Parsing the bundled list takes a few tens of milliseconds; do it once per process and mode.
    return PublicSuffixList(only_icann=not include_private)


def normalise_host(host: str) -> str:
    """Lower-case ASCII (punycode) form of a host name; IP literals in canonical form.

    Raises ValueError for text that is not a host name.
    """
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or any(c in text for c in "/\\@:% \t\r\n"):
        raise ValueError(f"{host!r} is not a host name")
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid host name: {exc}") from exc


def registrable_domain(host: str, *, include_private: bool = True) -> str | None:
    """The registrable domain ("eTLD+1") of ``host``, in punycode.

    IP literals are returned as they are (canonical form): an address has no registrable domain,
    and the address itself is the best grouping key. A host that *is* a public suffix
    (``co.uk``, ``github.io``) has no registrable domain: None.
    """
    normalised = normalise_host(host)
    try:
        ipaddress.ip_address(normalised)
    except ValueError:
        pass
    else:
        return normalised
    result = _suffix_list(include_private).privatesuffix(normalised)
    return None if result is None else str(result)
