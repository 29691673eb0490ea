"""Packets a person files by hand: a platform's web form, field by field, and a report to a
regulator, dispute body, helpline or the police (the routes of `ladder`).

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
from takedown.notices.ladder import Route
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


def route_packet(case: Case, route: Route, notices: Iterable[Notice], *, reason: str = "") -> str:
    """A plain-text complaint or report for a route: what it needs, the case's facts, the links, and
    every notice sent with its dates, tickets and answers. Never the survivor's contact details or
    the case reference: the advocate adds who is filing when they file it."""
    with translation.override(settings.NOTICES_LANGUAGE):
        lines = [
            _("Report to %(route)s") % {"route": route.name},
        ]
        if route.link:
            lines.append(_("File it at: %(link)s") % {"link": route.link})
        if route.phone:
            lines.append(_("Telephone: %(phone)s") % {"phone": route.phone})
        lines += ["", _("What it needs: %(needs)s") % {"needs": route.needs}]
        if reason:
            lines += ["", _("Why now: %(reason)s") % {"reason": reason}]
        lines += [
            "",
            _("Nature of the content: %(kind)s") % {"kind": case.get_content_kind_display()},
            _("Reported to us on: %(date)s") % {"date": case.created_at.strftime("%Y-%m-%d")},
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
            due = notice.due_at.strftime("%Y-%m-%d %H:%M UTC") if notice.due_at else "-"
            lines.append(
                "- "
                + _(
                    "%(platform)s, %(basis)s, reference %(reference)s, sent %(sent)s, %(due_kind)s %(due)s, "
                    "status: %(status)s%(ticket)s"
                )
                % {
                    "platform": notice.platform.name,
                    "basis": b.basis_get(notice.basis).short_title,
                    "reference": notice.reference,
                    "sent": notice.sent_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "due_kind": _("legal deadline") if notice.legal_deadline else _("follow-up"),
                    "due": due,
                    "status": notice.get_status_display(),
                    "ticket": (_(", platform ticket %(t)s") % {"t": notice.platform_ticket})
                    if notice.platform_ticket
                    else "",
                }
            )
            if notice.reply_reason:
                lines.append("  " + _("The platform said: %(reason)s") % {"reason": notice.reply_reason})
        lines += [
            "",
            _(
                "The evidence records (time of each check, the page's SHA-256 and the match found) are in the case "
                "report, which can be attached. It contains no images."
            ),
        ]
    return "\n".join(str(line) for line in lines) + "\n"
