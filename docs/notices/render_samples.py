"""Render one sample notice per legal basis and language into docs/notices/ (text, HTML, JSON, PDF
and a PNG of page 1), and each country's escalation ladder into docs/notices/escalation/.

Fictional data only: "Alex Example", example.com links, made-up digests. The samples are built in
a throw-away in-memory SQLite database through the real services (draft, complete, approve, send),
so what is committed is exactly what the code sends. Nothing is fetched: link checks are off and
the resolver resolves nothing. PDF needs WeasyPrint's system libraries; the PNG needs `pdftoppm`
(Debian: poppler-utils). Either is skipped, with a note, when missing.

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
LADDER_COUNTRIES = {"US": "us", "EU": "eu-de", "UK": "uk", "AU": "au", "IN": "in", "BR": "br"}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ["CHECK_ON_REPORT"] = "false"  # never fetch the example links
    os.environ["FETCH_RESOLVER"] = "tests.offline.offline_resolver"  # and resolve no name, whatever runs
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "takedown.settings")
    # A script, not a module: Django is set up before the project's modules can be imported.
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    render_notices()
    render_ladders()
    print(f"Samples written to {OUT.relative_to(ROOT)}/. Reproduce with: {COMMAND}")


def render_notices() -> None:
    from takedown.cases.models import RegisteredHash
    from takedown.cases.services import case_open
    from takedown.core.access import Actor
    from takedown.matching.models import CheckState, CheckTrigger, FoundMedium, ItemCheck, Verdict
    from takedown.notices.rendering import notice_pdf, render_notice
    from takedown.notices.services import (
        notice_approve,
        notice_draft,
        notice_edit,
        notice_mark_sent,
    )
    from takedown.organizations.services import organization_create, organization_notifier_set
    from takedown.registry import bases
    from takedown.registry.models import ChannelKind, Intake, Platform, PlatformChannel, PlatformDomain

    staff = Actor(kind="staff")
    org = organization_create(actor=Actor.system(), name="Example Helpline", slug="example-helpline", kind="helpline")
    org.notice_contact_email = "notices@helpline.example.org"
    org.save()
    organization_notifier_set(
        actor=Actor.system(),
        organization=org,
        postal_address="1 Example Street, Example City, EX1 2MP",
        phone="+1 555 0100",
        trusted_flagger=False,
    )
    platform = Platform.objects.create(
        slug="example-social",
        name="Example Social",
        kind="social",
        first_party=True,
        serves=["US", "EU", "UK", "AU", "IN", "BR"],
        supported_bases=list(bases.BASES),
    )
    PlatformDomain.objects.create(platform=platform, domain="example.com")
    # One channel per intake, as a large platform has them: each basis goes through its own.
    for position, (kind, address, intake, basis_codes) in enumerate(
        [
            (ChannelKind.WEB_FORM, "https://example.com/legal/take-it-down", Intake.TIDA_PROCESS, ["us_take_it_down"]),
            (ChannelKind.WEB_FORM, "https://example.com/legal/dsa-notice", Intake.DSA_FORM, ["eu_dsa"]),
            (ChannelKind.EMAIL, "grievance-officer@example.com", Intake.GRIEVANCE_OFFICER, ["in_it_rules"]),
            (ChannelKind.EMAIL, "copyright@example.com", Intake.COPYRIGHT, ["us_dmca_512"]),
            (ChannelKind.EMAIL, "abuse@example.com", Intake.ABUSE_EMAIL, []),
        ]
    ):
        PlatformChannel.objects.create(
            platform=platform, kind=kind, address=address, intake=intake, bases=basis_codes, position=position
        )
    checked = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)

    def sample_case(jurisdictions: list[str]) -> object:
        """A survivor in these places, two links, and checks that found a copy of their photo at both."""
        case = case_open(
            actor=Actor(kind="survivor"),
            signature_name="Alex Example",
            jurisdictions=jurisdictions,
            content_kind="authentic",
            consent_share_hashes=True,
            organization=org,
            urls=["https://example.com/posts/1234", "https://example.com/videos/5678"],
        ).case
        # Hashes the survivor registered and consented to share: they must appear in no sample below.
        for signal, value, digest in (("pdq", "ab" * 32, "x1"), ("phash", "cd" * 8, "x2")):
            RegisteredHash.objects.create(
                case=case,
                item_id="f1",
                item_kind="image",
                signal=signal,
                variant="original",
                value=value,
                value_digest=digest,
            )
        first, second = list(case.items.order_by("id"))
        for item, medium, kind in (
            (first, "https://cdn.example.com/i/9f3a1c.jpg", "image"),
            (second, "https://cdn.example.com/v/77b2e0.mp4", "video"),
        ):
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
                item_check=check, url=medium, kind=kind, sha256="4" * 64, matched=True, matched_item_id="f1"
            )
        return case

    sent_at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    pdftoppm = shutil.which("pdftoppm")
    for old in OUT.glob("*.*"):
        if old.suffix in {".txt", ".html", ".json", ".pdf", ".png"}:
            old.unlink()
    for code, basis in bases.BASES.items():
        # One survivor per basis, where that law applies; the policy sample is a UK survivor's, to
        # show the law that backs a policy request.
        case = sample_case(list(basis.jurisdictions) or ["UK"])
        notice = notice_draft(
            actor=staff, case=case, items=list(case.items.order_by("id")), basis_code=code, member_state="DE"
        )
        notice = notice_edit(
            actor=staff,
            notice=notice,
            details="",
            dmca_work="A photo the person depicted took of themself in 2024 (they hold the original)."
            if code == bases.US_DMCA
            else "",
            dmca_acknowledged=code == bases.US_DMCA,
            requester_verification=(
                "Documento de identidade da pessoa retratada disponível mediante solicitação pelo endereço de contato."
                if code == bases.BR_MARCO_CIVIL
                else ""
            ),
            # The advocate adds the moment in the video the checks found.
            media_links=[{"url": "https://cdn.example.com/v/77b2e0.mp4", "time": "01:23"}],
        )
        notice_approve(actor=staff, notice=notice)
        notice = notice_mark_sent(actor=staff, notice=notice, sent_at=sent_at)
        rendered = render_notice(notice)
        assert "ab" * 32 not in rendered.text + rendered.html + json.dumps(rendered.json), "a PDQ value leaked"
        stem = f"{code}.{basis.language}"
        (OUT / f"{stem}.txt").write_text(rendered.text, encoding="utf-8")
        (OUT / f"{stem}.html").write_text(rendered.html, encoding="utf-8")
        (OUT / f"{stem}.json").write_text(json.dumps(rendered.json, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pdf = notice_pdf(rendered.html)
        if pdf is None:
            print(f"{stem}: PDF skipped (WeasyPrint or its libraries are missing)")
            continue
        (OUT / f"{stem}.pdf").write_bytes(pdf)
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
                    str(OUT / f"{stem}.pdf"),
                    str(OUT / stem),
                ],
                check=True,
            )
        else:
            print(f"{stem}: PNG skipped (pdftoppm from poppler-utils is missing)")


def render_ladders() -> None:
    from takedown.notices import ladder
    from takedown.notices.models import EscalationReason, EscalationRung
    from takedown.registry.models import Jurisdiction

    folder = OUT / "escalation"
    folder.mkdir(exist_ok=True)
    when = {
        EscalationReason.SENT: "When the first notice is sent (day 0)",
        EscalationReason.OVERDUE: "When the notice's time passes with the content still online",
        EscalationReason.REJECTED: "When the platform rejects the notice",
        EscalationReason.DISPUTED: "When the platform says removed but our re-check still finds the content",
    }
    for code, name in LADDER_COUNTRIES.items():
        country = str(Jurisdiction(code).label) + (" (one Member State: Germany)" if code == "EU" else "")
        lines = [
            f"Escalation ladder: a survivor in {country}",
            "",
            "Generated from takedown/notices/ladder.py (the data the services use) by "
            f"{COMMAND}. Every step is proposed to the advocate, never sent by itself: a step",
            "either comes with a draft notice to complete, approve and send, or with a packet to file by hand.",
            "The time of a notice is its legal deadline when it went through the intake that starts one (TAKE IT",
            "DOWN: the designated process, 48 hours; India: the Grievance Officer, 2 hours as reported), otherwise",
            "the platform's follow-up window (7 days by default, 10 for adult sites).",
        ]
        section = None
        for step in ladder.ladder(code):
            if step.reason != section:
                section = step.reason
                lines += ["", when[EscalationReason(section)] + ":"]
            lines.append(f"- {EscalationRung(step.rung).label}: {step.what}")
        routes = [r for r in ladder.ROUTES if r.jurisdiction == code]
        lines += [
            "",
            "Routes for this country, with what each needs:" if routes else "No regulator or police route here.",
        ]
        for route in routes:
            lines.append(f"- {route.name}")
            if route.link:
                lines.append(f"  {route.link}")
            if route.phone:
                lines.append(f"  Telephone: {route.phone}")
            if route.basis:
                lines.append(f"  Only after a notice on: {route.basis}")
            lines.append(f"  {route.needs}")
            lines.append(f"  Source: {route.source}")
        if code != "AU":
            lines += [
                "",
                "eSafety (Australia) is never proposed: it acts only where the person, poster or host is in Australia.",
            ]
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
