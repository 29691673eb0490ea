"""Who is asking: the actor, resolved once per request, that every access helper checks.

The pattern (after Zulip's `access_stream_by_id`): an id that arrives in a request becomes an
object only through `access_<entity>(actor, id)` in the owning app's `access.py`. Each helper
applies every rule and raises `NotFound` alike for "missing" and "not yours", so a caller can never
tell which. Views never filter managers by raw request ids themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from takedown.core.models import ActorKind


@dataclass(frozen=True)
class Actor:
    """The party making a request, with what it is allowed to reach.

    `organization_ids` are the organisations a staff member belongs to; `mfa_verified` says the
    staff member has a second factor enrolled (allauth then requires it at every sign-in).
    `case_id` is set for a survivor signed in to their own case; `platform_id` for an API key.
    """

    kind: str
    user_id: int | None = None
    organization_ids: frozenset[int] = field(default_factory=frozenset)
    mfa_verified: bool = False
    case_id: int | None = None
    platform_id: int | None = None

    @property
    def is_staff_member(self) -> bool:
        return self.kind == ActorKind.STAFF

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind=ActorKind.ANONYMOUS)
