"""Render one sample notice per legal basis into docs/notices/ (text, HTML, JSON, PDF and a PNG of page 1).

Fictional data only: "Alex Example", example.com links, made-up digests. The samples are built in
a throw-away in-memory SQLite database through the real services (draft, approve, send), so what
is committed is exactly what the code sends. PDF needs WeasyPrint's system libraries; the PNG
needs `pdftoppm` (Debian: poppler-utils). Either is skipped, with a note, when missing.

    .venv/bin/python docs/notices/render_samples.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
COMMAND = ".venv/bin/python docs/notices/render_samples.py"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ["CHECK_ON_REPORT"] = "false"  # never fetch the example links
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "takedown.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from takedown.cases.models import RegisteredHash
    from takedown.cases.services import case_open
    from takedown.core.access import Actor
    from takedown.matching.models import CheckState, CheckTrigger, FoundMedium, ItemCheck, Verdict
    from takedown.notices.rendering import notice_pdf, render_notice
    from takedown.notices.services import notice_approve, notice_draft, notice_edit, notice_mark_sent
    from takedown.organizations.services import organization_create
    from takedown.registry import bases
    from takedown.registry.models import ChannelKind, Platform, PlatformChannel, PlatformDomain

    staff = Actor(kind="staff")
    org = organization_create(actor=Actor.system(), name="Example Helpline", slug="example-helpline", kind="helpline")
    org.notice_contact_email = "notices@helpline.example.org"
    org.save()
    platform = Platform.objects.create(
        slug="example-social",
        name="Example Social",
        serves=["US", "EU", "UK", "IN", "BR"],
        supported_bases=list(bases.BASES),
    )
    PlatformDomain.objects.create(platform=platform, domain="example.com")
    PlatformChannel.objects.create(platform=platform, kind=ChannelKind.EMAIL, address="abuse@example.com")
    case = case_open(
        actor=Actor(kind="survivor"),
        signature_name="Alex Example",
        jurisdictions=["US", "EU", "UK", "IN", "BR"],
        content_kind="authentic",
        consent_share_hashes=True,
        organization=org,
        urls=["https://example.com/posts/1234", "https://media.example.com/v/5678.jpg"],
    ).case
    RegisteredHash.objects.create(
        case=case, item_id="f1", item_kind="image", signal="pdq", variant="original", value="ab" * 32, value_digest="x1"
    )
    RegisteredHash.objects.create(
        case=case,
        item_id="f1",
        item_kind="image",
        signal="phash",
        variant="original",
        value="cd" * 8,
        value_digest="x2",
    )
    item = case.items.order_by("id").first()
    assert item is not None
    checked = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    check = ItemCheck.objects.create(
        item=item,
        case=case,
        trigger=CheckTrigger.REPORT,
        state=CheckState.DONE,
        requested_url=item.url,
        fetched_at=checked,
        finished_at=checked,
        status_code=200,
        sha256="3" * 64,
        verdict=Verdict.MATCH,
        verdict_text="near-identical copy: PDQ distance 8 to registered file 1",
    )
    FoundMedium.objects.create(
        item_check=check, url="https://media.example.com/i/1.jpg", sha256="4" * 64, matched=True, matched_item_id="f1"
    )

    sent_at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    pdftoppm = shutil.which("pdftoppm")
    for code in bases.BASES:
        notice = notice_draft(actor=staff, case=case, items=list(case.items.order_by("id")), basis_code=code)
        if code == bases.US_DMCA:
            notice = notice_edit(
                actor=staff,
                notice=notice,
                details="",
                dmca_work="A photo Alex Example took of themself in 2024 (the original is held by them).",
                dmca_acknowledged=True,
            )
        notice_approve(actor=staff, notice=notice)
        notice = notice_mark_sent(actor=staff, notice=notice, sent_at=sent_at)
        rendered = render_notice(notice)
        (OUT / f"{code}.txt").write_text(rendered.text, encoding="utf-8")
        (OUT / f"{code}.html").write_text(rendered.html, encoding="utf-8")
        (OUT / f"{code}.json").write_text(json.dumps(rendered.json, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pdf = notice_pdf(rendered.html)
        if pdf is None:
            print(f"{code}: PDF skipped (WeasyPrint or its libraries are missing)")
            continue
        (OUT / f"{code}.pdf").write_bytes(pdf)
        if pdftoppm:
            subprocess.run(  # noqa: S603 - fixed arguments, our own files
                [
                    pdftoppm,
                    "-png",
                    "-r",
                    "60",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(OUT / f"{code}.pdf"),
                    str(OUT / code),
                ],
                check=True,
            )
        else:
            print(f"{code}: PNG skipped (pdftoppm from poppler-utils is missing)")
    print(f"Samples written to {OUT.relative_to(ROOT)}/. Reproduce with: {COMMAND}")


if __name__ == "__main__":
    main()
