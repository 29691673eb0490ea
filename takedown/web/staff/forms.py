"""Forms for the advocate pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import CaseStatus
from takedown.cases.services.signin import IDENTITY_CHECKS
from takedown.core.access import Actor
from takedown.organizations.models import Membership, Organization
from takedown.registry.models import ContentKind, Jurisdiction
from takedown.web.survivor.forms import UrlsField


class CaseloadFilterForm(forms.Form):
    q = forms.CharField(label=_("Search reference or website"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any")), *list(CaseStatus.choices)], required=False)
    due = forms.ChoiceField(
        label=_("Deadline"),
        choices=[("", _("Any")), ("soon", _("Due within 24 hours")), ("overdue", _("Overdue"))],
        required=False,
    )
    platform = forms.CharField(label=_("Platform or website"), required=False, max_length=255)
    risk = forms.ChoiceField(
        label=_("Risk"),
        choices=[
            ("", _("Any")),
            ("sextortion", _("Sextortion")),
            ("doxxing", _("Doxxing")),
            ("physical_danger", _("Physical danger")),
        ],
        required=False,
    )
    needs = forms.ChoiceField(
        label=_("Needs action"),
        choices=[("", _("Any")), ("any", _("Needs action")), ("urgent", _("Urgent only (shown in bold)"))],
        required=False,
    )
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        choices=[
            ("-created_at", _("Newest first")),
            ("created_at", _("Oldest first")),
            ("deadline", _("Nearest deadline")),
            ("-updated_at", _("Recently changed")),
        ],
        required=False,
    )


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(v) for v in value][:500]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Invalid selection.")) from None


class BulkForm(forms.Form):
    case_ids = IdListField()
    action = forms.ChoiceField(choices=[("assign", _("Assign to")), ("close", _("Close"))])
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, choices=[])

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = (
            Membership.objects.filter(organization_id__in=actor.organization_ids, is_active=True)
            .select_related("user")
            .order_by("user__email")
        )
        choices = {(m.user_id, m.user.email) for m in members}
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Nobody")), *sorted(choices, key=lambda c: c[1])]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("case_ids"):
            raise forms.ValidationError(_("Choose at least one case."))
        return data


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note (never shown to the survivor or websites)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assigned to"), coerce=int, empty_value=None, required=False, choices=[])

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Nobody")), *members]


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[c for c in CaseStatus.choices if c[0] != CaseStatus.WITHDRAWN]
    )


class RepresentativeCaseForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.none())
    survivor_name = forms.CharField(label=_("Survivor's name (kept encrypted)"), max_length=200)
    authorisation = forms.CharField(
        label=_("How the survivor authorised you to act for them"),
        help_text=_("For example: signed authorisation form of 3 May, kept on file."),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    authorisation_confirmed = forms.BooleanField(
        label=_("I am authorised by the survivor to file removal requests on their behalf.")
    )
    signature_name = forms.CharField(label=_("Your name, as the authorised representative, to sign"), max_length=200)
    jurisdictions = forms.MultipleChoiceField(
        label=_("Jurisdictions"), choices=Jurisdiction.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    content_kind = forms.ChoiceField(
        label=_("Kind of content"), choices=ContentKind.choices, initial=ContentKind.UNKNOWN
    )
    consent_share_hashes = forms.BooleanField(
        label=_("The survivor agrees to share hashes with websites that block re-uploads."), required=False
    )
    consent_face_matching = forms.BooleanField(
        label=_(
            "The survivor agrees to face matching: face templates made from ordinary portraits (in the bundle) "
            "are kept, compared only with faces at this case's links, and deleted when they withdraw."
        ),
        required=False,
    )
    bundle = forms.CharField(
        label=_("Hash bundle (from the offline tool or the hasher above)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    urls = UrlsField(
        label=_("Links where the images appear (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Organization.objects.filter(pk__in=actor.organization_ids, is_active=True)


class DetailsForm(forms.Form):
    police_reference = forms.CharField(label=_("Police reference"), max_length=200, required=False)
    hash_service_reference = forms.CharField(
        label=_("StopNCII or Take It Down reference"), max_length=200, required=False
    )
    risk_sextortion = forms.BooleanField(label=_("Sextortion"), required=False)
    risk_doxxing = forms.BooleanField(label=_("Doxxing"), required=False)
    risk_physical_danger = forms.BooleanField(label=_("Physical danger"), required=False)


class AccessRecoverForm(forms.Form):
    """A new PIN for a survivor who lost theirs: which identity checks the advocate did."""

    checks = forms.MultipleChoiceField(
        label=_("Which of these checks did you do? (At least two.)"),
        choices=list(IDENTITY_CHECKS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick the identity checks you did.")},
    )
    confirm = forms.BooleanField(
        label=_("I am satisfied this is the survivor, and I will give them the new PIN in a safe way."),
        error_messages={"required": _("Please tick the box to confirm.")},
    )
