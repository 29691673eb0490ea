"""Forms for the advocate's notice pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import Case, ReportedItem
from takedown.registry.bases import BASES


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

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        items.queryset = case.items.all()  # only the case's own items can be chosen
        basis = self.fields["basis"]
        assert isinstance(basis, forms.ChoiceField)
        basis.choices = [("", _("The best basis that applies")), *((code, b.title) for code, b in BASES.items())]


class NoticeEditForm(forms.Form):
    details = forms.CharField(
        label=_("Additional facts for the platform (optional)"),
        help_text=_("For example the national law that applies, or how the uploader is known to the survivor."),
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
