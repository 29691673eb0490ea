"""Forms for the survivor pages: they parse and check input; services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import ContactPreference
from takedown.registry.models import ContentKind, Jurisdiction
from takedown.web.survivor.safety import COUNTRIES

#: What the email is for, and who never sees it (defect 6 of issue 14: the form used to imply
#: nothing, while the address went to websites).
CONTACT_EMAIL_HELP = _(
    "We use it only to tell you there is news on your case, in a short email that says nothing about it. "
    "Websites never see it: removal requests give the organisation's address, unless you choose to give "
    "yours for one request."
)


class SafetyForm(forms.Form):
    in_danger = forms.ChoiceField(
        label=_("Are you in danger right now?"),
        choices=[("no", _("No")), ("yes", _("Yes")), ("unsure", _("I am not sure"))],
        widget=forms.RadioSelect,
    )
    under_18 = forms.ChoiceField(
        label=_("Was anyone in the images under 18 when they were taken?"),
        choices=[("no", _("No")), ("yes", _("Yes")), ("unsure", _("I am not sure"))],
        widget=forms.RadioSelect,
    )
    # Asked, never guessed: only to point to the right service (nothing is saved).
    country = forms.ChoiceField(
        label=_("Where do you live? (Optional: it helps us point you to the right service. Nothing is saved.)"),
        choices=[("", _("I would rather not say")), *COUNTRIES],
        required=False,
    )


class UrlsField(forms.CharField):
    """Links, one per line (or separated by spaces)."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [part for part in text.split() if part]


class ReportForm(forms.Form):
    consent_understood = forms.BooleanField(
        label=_("I have read what Takedown keeps and who sees it."),
        error_messages={"required": _("Please confirm you have read what we keep.")},
    )
    consent_share_hashes = forms.BooleanField(
        label=_(
            "Share my photo fingerprints with websites that promise to block re-uploads"
            " (you can stop this at any time)."
        ),
        required=False,
    )
    bundle = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    urls = UrlsField(
        label=_("Links where the images appear (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )
    content_kind = forms.ChoiceField(
        label=_("What kind of images are they?"),
        choices=ContentKind.choices,
        initial=ContentKind.UNKNOWN,
        widget=forms.RadioSelect,
    )
    jurisdictions = forms.MultipleChoiceField(
        label=_("Where do you live? (This decides which laws help you; choose any that apply.)"),
        choices=Jurisdiction.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    contact_preference = forms.ChoiceField(
        label=_("How should we contact you?"),
        choices=ContactPreference.choices,
        initial=ContactPreference.NONE,
        widget=forms.RadioSelect,
    )
    contact_email = forms.EmailField(
        label=_("Email address (only if you chose email)"), required=False, help_text=CONTACT_EMAIL_HELP
    )
    risk_sextortion = forms.BooleanField(
        label=_("Someone is threatening me or asking for money or more images."), required=False
    )
    risk_doxxing = forms.BooleanField(
        label=_("My name, address or other personal details were shared too."), required=False
    )
    risk_physical_danger = forms.BooleanField(label=_("I am afraid for my physical safety."), required=False)
    good_faith = forms.BooleanField(
        label=_("I believe in good faith that these images were shared without my consent."),
        error_messages={"required": _("Please confirm this statement. Websites need it before they act.")},
    )
    signature_name = forms.CharField(
        label=_("Type your name to sign"),
        max_length=200,
        help_text=_("Websites need a signature on a removal request. It can be any name you use."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("bundle") or "").strip() and not data.get("urls"):
            raise forms.ValidationError(_("Add at least one photo or video, or at least one link."))
        if data.get("contact_preference") == ContactPreference.EMAIL and not data.get("contact_email"):
            self.add_error("contact_email", _("Please give an email address, or choose another way."))
        return data


class SignInForm(forms.Form):
    reference = forms.CharField(
        label=_("Case reference"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    pin = forms.CharField(
        label=_("PIN"), max_length=20, widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"})
    )


class AddUrlsForm(forms.Form):
    urls = UrlsField(label=_("Links where the images appear (one per line)"), widget=forms.Textarea(attrs={"rows": 4}))


class AddHashesForm(forms.Form):
    bundle = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ContactForm(forms.Form):
    contact_preference = forms.ChoiceField(
        label=_("How should we contact you?"), choices=ContactPreference.choices, widget=forms.RadioSelect
    )
    contact_email = forms.EmailField(
        label=_("Email address (only if you chose email)"), required=False, help_text=CONTACT_EMAIL_HELP
    )


class NoticeContactForm(forms.Form):
    """For one removal request: give the website the survivor's own email, or the organisation's."""

    use_own_email = forms.TypedChoiceField(
        choices=[("on", _("Give this website my own email address")), ("off", _("Use the organisation's address"))],
        coerce=lambda value: value == "on",
    )
    understood = forms.BooleanField(
        label=_(
            "I understand that this website will see my email address, and may pass it on to the person who posted."
        ),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("use_own_email") and not data.get("understood"):
            self.add_error(
                "understood", _("Please tick the box to say you understand, or keep the organisation's address.")
            )
        return data


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, stop everything and delete my case, my photo fingerprints and my contact details."),
        error_messages={"required": _("Please tick the box to confirm.")},
    )


class FaceMatchingForm(forms.Form):
    """Turn face matching on and add face templates: a separate consent from hash sharing."""

    consent = forms.BooleanField(
        label=_(
            "I agree that Takedown keeps face templates made from my ordinary photos and compares them "
            "with faces found at the links in my case. I can turn this off at any time, and the "
            "templates are then deleted."
        ),
        error_messages={"required": _("Please tick the box to agree, or leave face matching off.")},
    )
    #: Filled by the page's script (static/js/faces-page.js) with the templates made on the device.
    browser_bundle = forms.CharField(widget=forms.HiddenInput, required=False)
    bundle_file = forms.FileField(
        label=_("The file the faces command made (takedown-faces.json)"),
        required=False,
        max_length=255,
    )
    bundle = forms.CharField(
        label=_("Or paste its contents here"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    MAX_FILE_BYTES = 1024 * 1024
    #: How pictures a survivor may pick here by mistake begin (JPEG, PNG, GIF, WebP, HEIC/AVIF, BMP, TIFF).
    PICTURE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")

    @classmethod
    def _is_picture(cls, head: bytes) -> bool:
        webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        return head.startswith(cls.PICTURE_MAGIC) or webp or head[4:8] == b"ftyp"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("bundle_file")
        if upload is not None:
            if upload.size is not None and upload.size > self.MAX_FILE_BYTES:
                raise forms.ValidationError(_("That file is too large for a face template file."))
            content = upload.read()
            if self._is_picture(content[:16]):
                # The picture itself is dropped here, unread beyond its first bytes, and never kept.
                raise forms.ValidationError(
                    _(
                        "That is a photo, not a face template file. To use photos of your face, choose "
                        "them with Choose photos of your face: they stay on your device and only the "
                        "face templates are sent."
                    )
                )
            try:
                data["bundle"] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("That is not a face template file.")) from None
        elif not (data.get("bundle") or "").strip():
            data["bundle"] = data.get("browser_bundle") or ""
        if not (data.get("bundle") or "").strip():
            raise forms.ValidationError(
                _(
                    "Choose photos of your face and tick This is me under your face (or, for advocates, "
                    "a face template file)."
                )
            )
        return data


class FaceMatchingOffForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, turn face matching off and delete my face templates."),
        error_messages={"required": _("Please tick the box to confirm.")},
    )


class ReviewForm(forms.Form):
    """A person's decision on a link the detectors flagged without a copy of a registered image."""

    decision = forms.ChoiceField(choices=[("confirm", _("Yes, this shows me")), ("dismiss", _("No, this is not me"))])


class SharingForm(forms.Form):
    """Start or stop sharing the case's photo fingerprints with platforms (without withdrawing)."""

    share = forms.TypedChoiceField(
        choices=[("on", _("Share")), ("off", _("Stop sharing"))], coerce=lambda value: value == "on"
    )
