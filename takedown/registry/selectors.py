"""Reads of the platform registry: which platform runs a host."""

from __future__ import annotations

from takedown.fetching.domains import normalise_host, registrable_domain
from takedown.registry.models import Platform, PlatformDomain


def _candidate_domains(host: str) -> list[str]:
    """The host and each parent down to its registrable domain, longest first.

    Both the private-section and the ICANN registrable domains are tried, so a platform listed by a
    domain the Public Suffix List marks private (a hosting platform's own suffix) is still found.
    """
    normalised = normalise_host(host)
    stops = {d for d in (registrable_domain(normalised), registrable_domain(normalised, include_private=False)) if d}
    if not stops:
        return [normalised]
    shortest = min(stops, key=len)
    labels = normalised.split(".")
    candidates: list[str] = []
    for i in range(len(labels)):
        candidates.append(".".join(labels[i:]))
        if candidates[-1] == shortest:
            break
    return candidates


def platform_for_host(host: str) -> Platform | None:
    """The active platform a host belongs to, by its longest listed suffix; None if unknown."""
    try:
        candidates = _candidate_domains(host)
    except ValueError:
        return None
    rows = {
        row.domain: row
        for row in PlatformDomain.objects.filter(domain__in=candidates, platform__is_active=True).select_related(
            "platform"
        )
    }
    for candidate in candidates:
        if candidate in rows:
            return rows[candidate].platform
    return None
