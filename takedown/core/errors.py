"""The project's error types.

Services raise these; the web middleware and the API exception handler turn them into plain,
translated messages with the right status code, so no domain error reaches a user as a traceback.
"""

from __future__ import annotations


class TakedownError(Exception):
    """Base class. `message` is safe to show to the person who made the request."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(TakedownError):
    """The request was understood but its content is not acceptable."""

    code = "invalid"


class NotFound(TakedownError):
    """Missing or not yours: the two are deliberately indistinguishable (see `core.access`)."""

    status_code = 404
    code = "not_found"


class Conflict(TakedownError):
    """The request contradicts the current state (for example a transition that is not allowed)."""

    status_code = 409
    code = "conflict"


class RateLimited(TakedownError):
    """Too many attempts; the message says when to try again."""

    status_code = 429
    code = "rate_limited"


class MfaRequired(TakedownError):
    """Staff must enrol a second factor before they may see any case."""

    status_code = 403
    code = "mfa_required"
