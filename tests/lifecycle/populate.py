"""A case with everything a real one accumulates, opened and used the way people do it.

The survivor opens it through the report form (bundle of a real photo, links, email contact),
signs in again from a second browser after one wrong PIN; checks run against a local site and
find the photo; an advocate writes a note, drafts, edits, approves and sends a notice. Every value
that identifies the survivor or the pictures carries a random marker, and `secrets()` lists them
all (read from the database before anything is deleted) for the residue and log scans.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from django.test import Client

from takedown.cases.models import Case, CaseNote, RegisteredHash, ReportedItem
from takedown.cases.services import case_note_add
from takedown.core.access import Actor
from takedown.matching.models import FoundMedium, ItemCheck
from takedown.notices.models import Notice
from takedown.notices.services import (
    notice_approve,
    notice_contact_choose,
    notice_draft,
    notice_edit,
    notice_mark_sent,
)
from tests.cases.conftest import bundle_text
from tests.lifecycle.scan import Needle
from tests.matching.conftest import Site, page_with, photo, recompressed

STAFF = Actor(kind="staff", mfa_verified=True)


@dataclass
class PopulatedCase:
    case_id: int
    reference: str
    pin: str
    marker: str
    email: str
    urls: list[str]
    client: Client  # the survivor's browser, signed in
    needles: list[Needle] = field(default_factory=list)


def populate_case(site: Site, *, photo_number: int = 1) -> PopulatedCase:
    """Needs: transaction=True (checks start on commit), CHECK_ON_REPORT, FETCH_ALLOW_LOOPBACK, registry."""
    marker = "m" + secrets.token_hex(8)
    email = f"{marker}@survivor.example"
    site.put(f"/{marker}/img.jpg", recompressed(photo(photo_number)), "image/jpeg")
    urls = [
        site.put(f"/{marker}/post", page_with(f"/{marker}/img.jpg")),
        f"https://x.com/{marker}/status/1",  # a platform in the registry, for the notice
        f"https://{marker}.example.net/gallery",  # a site named after the survivor: the host identifies
    ]
    client = Client()
    response = client.post(
        "/start/report/",
        {
            "consent_understood": "on",
            "bundle": bundle_text(photo(photo_number)),
            "urls": "\n".join(urls),
            "content_kind": "authentic",
            "jurisdictions": ["US"],
            "contact_preference": "email",
            "contact_email": email,
            "good_faith": "on",
            "signature_name": f"Signer {marker}",
        },
    )
    # The answer to the report shows the reference and PIN, once: nothing keeps them afterwards.
    assert response.status_code == 200 and b'data-testid="pin"' in response.content, response.content.decode()[:2000]
    page = response.content.decode()
    reference = re.search(r'data-testid="reference">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    pin = re.search(r'data-testid="pin">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert isinstance(reference, str) and isinstance(pin, str)

    other = Client()
    wrong = "00000000" if pin != "00000000" else "11111111"
    assert other.post("/case/sign-in/", {"reference": reference, "pin": wrong}).status_code == 404
    assert other.post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code == 302
    assert other.get("/case/").status_code == 200

    case = Case.objects.get(reference=reference)
    case_note_add(actor=STAFF, case=case, body=f"Called the survivor about {marker}")
    x_item = next(item for item in ReportedItem.objects.filter(case=case) if "x.com" in item.url)
    notice = notice_draft(actor=STAFF, case=case, items=[x_item])
    notice = notice_edit(actor=STAFF, notice=notice, details=f"The uploader knows the survivor ({marker}).")
    # The survivor chooses to give X their own email for this notice (by default it never reaches a
    # platform): the notice then holds it, and withdrawal must remove it with the rest.
    notice = notice_contact_choose(actor=Actor(kind="survivor", case_id=case.pk), notice=notice, use_own_email=True)
    notice = notice_approve(actor=STAFF, notice=notice)
    notice_mark_sent(actor=STAFF, notice=notice, platform_ticket=f"TICKET-{marker}")

    populated = PopulatedCase(
        case_id=case.pk, reference=reference, pin=pin, marker=marker, email=email, urls=urls, client=client
    )
    populated.needles = secrets_of(populated)
    return populated


def secrets_of(populated: PopulatedCase) -> list[Needle]:
    """Every identifying value of the case, read back from the database (so derived values count)."""
    case_id = populated.case_id
    needles = [
        Needle("marker (in URLs, email, names, note, notice)", populated.marker),
        Needle("reference", populated.reference),
        Needle("PIN", populated.pin, whole_number=True),
        Needle("contact email", populated.email),
    ]
    needles += [Needle("reported URL", url) for url in populated.urls]
    for item in ReportedItem.objects.filter(case_id=case_id):
        needles.append(Needle("normalised URL", item.normalized_url))
    for value in RegisteredHash.objects.filter(case_id=case_id).values_list("value", flat=True):
        needles.append(Needle("registered hash", value))
    checks = ItemCheck.objects.filter(case_id=case_id)
    found = FoundMedium.objects.filter(item_check__case_id=case_id)
    assert found.exists(), "the checks found no media: the residue test would miss found-media hashes"
    for medium in found:
        needles.append(Needle("found medium URL", medium.url))
        if medium.sha256:
            needles.append(Needle("found medium SHA-256", medium.sha256))
        for entry in medium.hashes or []:  # [signal, value, quality, variant]
            found_value = entry[1] if isinstance(entry, list) and len(entry) > 1 else None
            if isinstance(found_value, str) and len(found_value) >= 16:
                needles.append(Needle("found medium hash", found_value))
    for sha in checks.exclude(sha256="").values_list("sha256", flat=True):
        needles.append(Needle("page SHA-256", sha))
    for body in CaseNote.objects.filter(case_id=case_id).values_list("body", flat=True):
        needles.append(Needle("note", body))
    assert Notice.objects.filter(case_id=case_id, content_text__isnull=False).exists()
    return needles
