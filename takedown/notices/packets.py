"""Packets a person files by hand: a platform's web form, field by field, and a regulator complaint.

Both are read-only views of a notice or a case. Web-form field names in the registry are free text
("location (URLs) of the content", "signature"), so each field is matched to a notice element by
the words it contains; a field nothing matches gets the notice's statement, and the whole text is
always shown below so nothing has to be retyped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from takedown.cases.models import Case
from takedown.notices.models import Notice
from takedown.notices.rendering import NoticeContext, notice_context, render_notice
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, PlatformChannel


@dataclass(frozen=True)
class FormField:
    label: str
    value: str


@dataclass(frozen=True)
class FormPacket:
    link: str
    fields: list[FormField]
    text: str
    note: str


# Words in a field's name -> the element whose value goes there (first rule that matches wins).
_FIELD_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("signature", "sign"), b.SIGNATURE),
    (("url", "link", "location"), b.LOCATION),
    (("email", "contact"), b.CONTACT),
    (("good faith", "good-faith", "consent"), b.GOOD_FAITH_NONCONSENT),
    (("confirm", "authorised", "authorized", "representative"), b.SUBJECT_DECLARATION),
    (("type of content", "nature", "nudity", "sexual"), b.CONTENT_NATURE),
    (("accura",), b.GOOD_FAITH_ACCURACY),
    (("explanation", "why", "illegal", "law"), b.LEGAL_EXPLANATION),
)


def _field_value(label: str, ctx: NoticeContext) -> str:
    lowered = label.lower()
    if "country" in lowered or "jurisdiction" in lowered:
        return ", ".join(str(j) for j in (ctx.case.jurisdictions or []))
    if "name" in lowered and "service" not in lowered:
        return ctx.notifier_name
    if "service" in lowered:
        return ctx.notice.platform.name
    for words, code in _FIELD_RULES:
        if any(word in lowered for word in words):
            value = ctx.elements.get(code, "")
            if value:
                return value
    return ctx.elements.get(b.GOOD_FAITH_NONCONSENT, "") or ctx.notice.details


def form_packet(notice: Notice) -> FormPacket:
    """The web form's link and, for each of its fields, what to paste (from the notice as it is sent)."""
    channel = (
        PlatformChannel.objects.filter(
            platform_id=notice.platform_id, kind=ChannelKind.WEB_FORM, address=notice.recipient
        )
        .order_by("position", "id")
        .first()
    )
    ctx = notice_context(notice)
    with translation.override(settings.NOTICES_LANGUAGE):
        labels = list(channel.fields) if channel else []
        fields = [FormField(label=label, value=_field_value(label, ctx)) for label in labels]
    return FormPacket(
        link=notice.recipient,
        fields=fields,
        text=render_notice(notice).text,
        note=channel.note if channel else "",
    )


@dataclass(frozen=True)
class Regulator:
    code: str
    name: str
    link: str
    jurisdictions: tuple[str, ...]


# Where a survivor can complain when platforms do not act (../shared/reference/legal.md).
REGULATORS: tuple[Regulator, ...] = (
    Regulator(
        "ftc_take_it_down", "US Federal Trade Commission (TAKE IT DOWN Act)", "https://takeitdown.ftc.gov/", ("US",)
    ),
    Regulator(
        "eu_dsc",
        "EU Digital Services Coordinator",
        "https://digital-strategy.ec.europa.eu/en/policies/dsa-dscs",
        ("EU",),
    ),
    Regulator(
        "esafety", "eSafety Commissioner (Australia)", "https://www.esafety.gov.au/report/image-based-abuse", ("other",)
    ),
)


def regulators_for(case: Case) -> list[Regulator]:
    """Regulators for the case's jurisdictions; eSafety when none listed applies (it takes reports
    about content hosted anywhere when the person is in Australia, which "somewhere else" may mean)."""
    chosen = [r for r in REGULATORS if set(r.jurisdictions) & set(case.jurisdictions or [])]
    return chosen or [REGULATORS[-1]]


def regulator_packet(case: Case, regulator: Regulator, notices: Iterable[Notice]) -> str:
    """A plain-text complaint: the case's facts, the links, and every notice sent with its dates."""
    with translation.override(settings.NOTICES_LANGUAGE):
        lines = [
            _("Complaint to %(regulator)s") % {"regulator": regulator.name},
            _("File it at: %(link)s") % {"link": regulator.link},
            "",
            _("Case reference: %(reference)s") % {"reference": case.reference},
            _("Nature of the content: %(kind)s") % {"kind": case.get_content_kind_display()},
            _("Reported on: %(date)s") % {"date": case.created_at.strftime("%Y-%m-%d %H:%M UTC")},
            "",
            _("Reported links and what their last check found:"),
        ]
        for item in case.items.order_by("id"):
            checked = item.last_checked_at.strftime("%Y-%m-%d %H:%M UTC") if item.last_checked_at else _("never")
            lines.append(f"- {item.url} ({item.get_status_display()}; {_('last checked')} {checked})")
        lines += ["", _("Notices sent to the platforms:")]
        for notice in notices:
            if notice.sent_at is None:
                continue
            lines.append(
                "- "
                + _("%(platform)s, %(basis)s, sent %(sent)s, due %(due)s, status: %(status)s%(ticket)s")
                % {
                    "platform": notice.platform.name,
                    "basis": b.basis_get(notice.basis).short_title,
                    "sent": notice.sent_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "due": notice.due_at.strftime("%Y-%m-%d %H:%M UTC") if notice.due_at else "-",
                    "status": notice.get_status_display(),
                    "ticket": (_(", platform ticket %(t)s") % {"t": notice.platform_ticket})
                    if notice.platform_ticket
                    else "",
                }
            )
        lines += [
            "",
            _(
                "The evidence records (time of each check, the page's SHA-256 and the match found) are in the case "
                "report, which can be attached."
            ),
        ]
    return "\n".join(str(line) for line in lines) + "\n"
