"""Template tags for pages of other apps that show notice data (the case page's proposed next steps)."""

from __future__ import annotations

from django import template

from takedown.cases.models import Case
from takedown.notices.models import Escalation, EscalationStatus
from takedown.notices.selectors import case_escalations
from takedown.registry.bases import BASES

register = template.Library()


@register.simple_tag
def proposed_escalations(case: Case) -> list[Escalation]:
    """The case's escalation steps still waiting for a decision (one query). The case was reached
    through the access chokepoint by the view rendering the page."""
    return list(case_escalations(case=case).filter(status=EscalationStatus.PROPOSED))


@register.filter
def basis_name(code: str) -> str:
    """A legal basis's short name ("TAKE IT DOWN Act") for a code such as `us_take_it_down`."""
    basis = BASES.get(code)
    return str(basis.short_title) if basis is not None else code
