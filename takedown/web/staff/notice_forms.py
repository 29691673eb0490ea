"""Forms for the advocate's notice pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import Case, ReportedItem
from takedown.registry.bases import BASES
from takedown.registry.models import MemberState

MEMBER_STATE_CHOICES = [("", _("Not an EU notice, or not chosen yet")), *MemberState.choices]


class ItemChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: ReportedItem) -> str:
        return f"{obj.host}: {obj.url}"


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

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        items.queryset = case.items.all()  # only the case's own items can be chosen
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
