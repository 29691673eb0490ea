from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    """Values every template needs: where the quick-exit control goes."""
    return {"QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
