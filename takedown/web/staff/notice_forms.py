"""Forms for the advocate's notice pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Case, Value, When
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import Case as CaseModel
from takedown.cases.models import ItemStatus, ReportedItem
from takedown.registry.bases import BASES
from takedown.registry.models import MemberState

MEMBER_STATE_CHOICES = [("", _("Not an EU notice, or not chosen yet")), *MemberState.choices]


# What a check found for a link, as the advocate choosing the links of a notice needs to read it.
_ITEM_FINDING = {
    ItemStatus.LIVE: _("Match found"),
    ItemStatus.NEEDS_REVIEW: _("Possible match, not reviewed yet"),
    ItemStatus.NO_MATCH: _("No match found (a notice for it rests on your word)"),
    ItemStatus.UNREACHABLE: _("Could not be checked"),
    ItemStatus.REPORTED: _("Not checked yet"),
    ItemStatus.CHECKING: _("Being checked"),
    ItemStatus.REMOVED: _("Removed"),
}
# Links with a match first: they are what a notice is usually for.
_ITEM_ORDER = Case(
    When(status=ItemStatus.LIVE, then=Value(0)),
    When(status=ItemStatus.NEEDS_REVIEW, then=Value(1)),
    When(status__in=[ItemStatus.REPORTED, ItemStatus.CHECKING, ItemStatus.UNREACHABLE], then=Value(2)),
    When(status=ItemStatus.NO_MATCH, then=Value(3)),
    default=Value(4),
)


class ItemChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: ReportedItem) -> str:
        finding = _ITEM_FINDING.get(ItemStatus(obj.status), obj.get_status_display())
        if obj.status == ItemStatus.LIVE and obj.confirmed_at:
            finding = _("Match confirmed by a person")
        return f"{finding}: {obj.url}"


class NoticeDraftForm(forms.Form):
    items = ItemChoiceField(
        label=_("Links the notice covers (all on one platform)"),
        queryset=ReportedItem.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    basis = forms.ChoiceField(
        label=_("Legal basis"),
        required=False,
        help_text=_("Leave empty to use the best basis that applies. Copyright (DMCA) is used only if chosen here."),
    )
    member_state = forms.ChoiceField(
        label=_("EU Member State whose law applies (EU notices)"),
        required=False,
        choices=MEMBER_STATE_CHOICES,
        help_text=_("Where the survivor lives. A Digital Services Act notice names this country's offence."),
    )
    host_contact = forms.CharField(
        label=_("For a site the registry does not know: its abuse email address or report form address"),
        required=False,
        max_length=500,
        help_text=_(
            "Use this when the hosting provider could not be found. It is saved to the registry, so the next "
            "case with this site goes straight to it."
        ),
    )
    host_name = forms.CharField(label=_("Name of the site or its host (optional)"), required=False, max_length=200)
    host_is_provider = forms.BooleanField(
        label=_("This contact is the site's hosting provider, not the site itself"), required=False
    )

    def __init__(self, *args: Any, case: CaseModel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        # Only the case's own items can be chosen; matched links first, and ticked when no notice
        # covers them yet.
        items.queryset = case.items.order_by(_ITEM_ORDER, "id")
        if not self.is_bound:
            items.initial = list(
                case.items.filter(status=ItemStatus.LIVE, notices__isnull=True).values_list("pk", flat=True)
            )
        basis = self.fields["basis"]
        assert isinstance(basis, forms.ChoiceField)
        basis.choices = [("", _("The best basis that applies")), *((code, b.title) for code, b in BASES.items())]


def parse_media_links(text: str) -> list[dict[str, str]]:
    """ "URL [time]" per line -> [{"url", "time"}]: direct links to images or videos, with a time in a video."""
    links = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            links.append({"url": parts[0], "time": " ".join(parts[1:])[:20]})
    return links


def media_links_text(links: object) -> str:
    if not isinstance(links, list):
        return ""
    return "\n".join(
        f"{link.get('url', '')} {link.get('time', '')}".strip() for link in links if isinstance(link, dict)
    )


class NoticeEditForm(forms.Form):
    media_links = forms.CharField(
        label=_("Direct links to the images or videos (optional)"),
        help_text=_(
            "One per line: the address of the image or video file itself, then, for a video, the time it shows the "
            "survivor (for example: https://cdn.example.com/v/123.mp4 01:23). Links our checks found are listed "
            "already."
        ),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    member_state = forms.ChoiceField(
        label=_("EU Member State whose law applies (EU notices)"), required=False, choices=MEMBER_STATE_CHOICES
    )
    national_offence = forms.CharField(
        label=_("EU notices, for a Member State without a listed offence: the national provision"),
        help_text=_("For example the article of the criminal code that makes sharing intimate images an offence."),
        required=False,
        max_length=300,
    )
    requester_verification = forms.CharField(
        label=_("Brazil notices: how the platform can verify who is asking"),
        help_text=_(
            "Marco Civil Art. 21: without it the notice is void. For example 'documento de identidade disponível "
            "mediante solicitação pelo endereço de contato' or 'procuração anexa'. Written in Portuguese."
        ),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    details = forms.CharField(
        label=_("Additional facts for the platform (optional)"),
        help_text=_("For example what shows the survivor did not consent, or what a platform said was missing."),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    dmca_work = forms.CharField(
        label=_("Copyright notices only: the original photo or video the survivor took"),
        required=False,
        max_length=1000,
    )
    dmca_acknowledged = forms.BooleanField(
        label=_(
            "Copyright notices only: the survivor took these images, understands the counter-notice and "
            "identity-exposure risks, and agrees to the statement under penalty of perjury."
        ),
        required=False,
    )


class FormSubmittedForm(forms.Form):
    platform_ticket = forms.CharField(
        label=_("The ticket or reference number the platform gave"),
        max_length=200,
        help_text=_("Shown on the platform's confirmation page or in its confirmation email."),
    )


class EscalationDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Take this step")), ("dismiss", _("Set it aside"))])
