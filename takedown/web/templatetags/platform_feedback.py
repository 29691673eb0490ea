"""The case page's "platform feedback" section, as an inclusion tag so the cases views need no change."""

from __future__ import annotations

from typing import Any

from django import template

from takedown.cases.models import Case
from takedown.platforms.selectors import case_hash_feedback

register = template.Library()


@register.inclusion_tag("platforms/_case_feedback.html", takes_context=True)
def platform_feedback(context: dict[str, Any], case: Case) -> dict[str, Any]:
    return {"case": case, "rows": case_hash_feedback(case.pk), "csrf_token": context.get("csrf_token")}
