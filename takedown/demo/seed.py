"""Demo survivor cases in every state a case goes through, made with the real services.

new (a link reported, not checked yet); checked with a match; notice drafted; sent and awaiting
the platform's answer; overdue; removed; needing review (the platform said removed, the re-check
still finds the copy). Each case registers the photo fingerprints of its own demo picture
(`takedown.demo.pictures`), reports a link on a registry platform that the demo site serves
(`takedown.demo.scenes`), and is checked through the real pipeline (fetch, hash, match) against
that site: nothing is written to a model directly, and nothing leaves the machine.

Idempotent: the references are kept per checkout in var/demo_cases.json (git-ignored); a case
found again is left as it is (an advocate may have worked on it since) and only gets a new PIN
through the lost-PIN service (`case_access_recover`, as the demo advocate), because a PIN is never
stored in clear and so cannot be printed again. A case withdrawn or deleted since is made again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from takedown.cases.models import Case, CaseStatus, ReportedItem
from takedown.cases.services import case_open
from takedown.cases.services.signin import case_access_recover
from takedown.core.access import Actor
from takedown.core.models import ActorKind
from takedown.demo.pictures import picture
from takedown.demo.scenes import DEMO_HOSTS, SCENES, Scene
from takedown.demo.site import running, set_online
from takedown.hashing.bundle import build_bundle, make_item
from takedown.hashing.media import hash_file
from takedown.matching.models import CheckTrigger
from takedown.matching.services import item_check_request
from takedown.notices.models import Notice, NoticeChannel, NoticeStatus
from takedown.notices.services import (
    deadlines_review,
    notice_approve,
    notice_draft,
    notice_mark_sent,
    notice_mark_submitted,
    notice_record_reply,
)
from takedown.organizations.models import Organization
from takedown.organizations.selectors import membership_organization_ids
from takedown.registry.models import ContentKind, Jurisdiction
from takedown.registry.selectors import platform_for_host

#: What the demo advocate records to give a new PIN (the lost-PIN service requires two checks).
_DEMO_IDENTITY_CHECKS = ("case_reference", "known_in_person")
#: The checks `demo_seed` runs itself; "Check now" afterwards needs the same (scripts/run sets them).
DEMO_FETCH_RESOLVER = "takedown.demo.hosts.resolve"
#: How long ago the overdue case's notice went out: past any platform's follow-up window.
_OVERDUE_BY = timedelta(days=30)


class RegistryNotLoaded(Exception):
    """The demo links' platforms are not in the registry (`manage.py load_platforms` first)."""


@dataclass(frozen=True)
class DemoCase:
    reference: str
    pin: str
    state: str

    @property
    def line(self) -> str:
        """One line, exactly as outside checks read it: `demo case: TD-... PIN 12345678 (state)`."""
        return f"demo case: {self.reference} PIN {self.pin} ({self.state})"


def _cases_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_cases.json"


def _save(known: dict[str, str]) -> None:
    path = _cases_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known), encoding="utf-8")
    path.chmod(0o600)


def _advocate_actor(*, advocate_email: str) -> Actor:
    user = get_user_model().objects.get(email=advocate_email)
    return Actor(
        kind=ActorKind.STAFF,
        user_id=user.pk,
        organization_ids=frozenset(membership_organization_ids(user_id=user.pk)),
        mfa_verified=True,  # the demo advocate has TOTP enrolled (organizations.demo)
    )


def _open(*, scene: Scene, organization: Organization) -> Case:
    media = hash_file(picture(scene.picture))
    bundle = build_bundle([make_item(media.kind, media.hashes)])  # type: ignore[arg-type]
    return case_open(
        actor=Actor(kind=ActorKind.SURVIVOR),
        signature_name=f"Demo survivor ({scene.state})",
        jurisdictions=[Jurisdiction.US],
        content_kind=ContentKind.AUTHENTIC,
        bundle=bundle,
        urls=[scene.url(settings.DEMO_SITE_PORT)],
        organization=organization,
    ).case


def _send(*, advocate: Actor, notice: Notice, sent_at: datetime | None = None) -> Notice:
    """Record the notice as sent the way its channel is: a form packet the advocate submitted (the
    demo never posts it to the platform), else marked sent (the demo never emails it)."""
    ticket = f"DEMO-{notice.reference}"
    if notice.channel == NoticeChannel.FORM:
        return notice_mark_submitted(
            actor=advocate,
            notice=notice,
            platform_ticket=ticket,
            submitted_at=sent_at,
        )
    return notice_mark_sent(actor=advocate, notice=notice, sent_at=sent_at, platform_ticket=ticket)


def _play(*, scene: Scene, advocate: Actor, case: Case) -> None:
    """Take a new case to its scene's state, as an advocate (and the platform) would."""
    if scene.key == "new":
        return
    item = ReportedItem.objects.get(case=case)
    set_online(scene.path, online=True)  # a page taken down for an earlier run of this scene is back
    item_check_request(actor=advocate, item=item, trigger=CheckTrigger.MANUAL)  # runs in process: a match
    if scene.key == "match":
        return
    notice = notice_draft(actor=advocate, case=case, items=[item])
    if scene.key == "drafted":
        return
    notice = notice_approve(actor=advocate, notice=notice)  # backed by the hash match: no second person needed
    # The overdue notice is sent in the past through the service's own `sent_at`, so its
    # deadline has passed; the deadline review below finds it overdue and proposes the next step.
    notice = _send(
        advocate=advocate, notice=notice, sent_at=timezone.now() - _OVERDUE_BY if scene.key == "overdue" else None
    )
    if scene.key == "removed":
        set_online(scene.path, online=False)  # the platform takes the page down
    if scene.key in {"removed", "review"}:
        # The platform's answer "removed", recorded by the advocate as it arrived; the re-check runs
        # at once against the demo site, where the removed page is gone and the other still there.
        notice_record_reply(actor=advocate, notice=notice, outcome=NoticeStatus.REMOVED)


def demo_cases_seed(*, organization: Organization, advocate_email: str) -> list[DemoCase]:
    """Create the demo cases (or find them again), each with a new PIN, in the order of SCENES.

    Not one transaction: each step commits, as in use, so the checks it asks for run (in process,
    the embedded default) before the next step reads their result. The demo site serves for the
    duration (the running one, or one in a thread). Settings are overridden for the seed only:
    checks on report are off, so the "new" case stays unchecked and every other check is the one
    asked for; the fetcher reaches the demo site through the demo resolver on loopback.
    """
    missing = sorted(host for host in DEMO_HOSTS.values() if platform_for_host(host) is None)
    if missing:
        # Else drafting would look the hosts up (RDAP) and record a made-up contact in the registry.
        raise RegistryNotLoaded(
            f"The platform registry does not list {', '.join(missing)}: run manage.py load_platforms first."
        )
    advocate = _advocate_actor(advocate_email=advocate_email)
    path = _cases_file()
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    seeded: list[DemoCase] = []
    port = settings.DEMO_SITE_PORT
    with (
        running(port),
        override_settings(CHECK_ON_REPORT=False, FETCH_RESOLVER=DEMO_FETCH_RESOLVER, FETCH_ALLOW_LOOPBACK=True),
    ):
        for scene in SCENES:
            case = (
                Case.objects.filter(reference=known.get(scene.key, ""), organization=organization)
                .exclude(status=CaseStatus.WITHDRAWN)
                .first()
            )
            if case is None:  # first run, or withdrawn or deleted since
                case = _open(scene=scene, organization=organization)
                _play(scene=scene, advocate=advocate, case=case)
            known[scene.key] = case.reference
            _save(known)  # at once: a run that fails half way leaves no case to be made twice
        deadlines_review()  # what the beat does every few minutes: overdue and disputed removals flagged now
    for scene in SCENES:
        case = Case.objects.get(reference=known[scene.key])
        pin = case_access_recover(actor=advocate, case=case, checks=_DEMO_IDENTITY_CHECKS)
        seeded.append(DemoCase(reference=case.reference, pin=pin, state=scene.state))
    return seeded
