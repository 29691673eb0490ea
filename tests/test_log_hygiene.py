"""Logs never carry a survivor's secrets: the whole journey runs with every logger at DEBUG, and
neither the log records nor anything written to stdout/stderr contains the case's PIN, reference,
contact email, URLs (or their paths), registered or found hashes, note or notice text, or the
session, CSRF and webhook secrets.

The journey: the survivor opens a case through the report form, signs in from a second browser
after a wrong PIN, adds a link; checks run against a local site (eager tasks, as in a worker);
an advocate notes, drafts, approves and sends notices (one marked sent, one delivered by SMTP to
a local server); the survivor withdraws. Records of the local test servers themselves (aiosmtpd's
"mail.log") are left out: they stand for the platform receiving the notice, not for us.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pytest_django import Settings

from takedown.cases.models import ReportedItem
from takedown.core.access import Actor
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.services import notice_approve, notice_contact_choose, notice_draft, notice_send
from tests.lifecycle.populate import populate_case
from tests.lifecycle.scan import Needle, find
from tests.matching.conftest import Site, site  # noqa: F401 - fixture
from tests.notices.conftest import registry  # noqa: F401 - fixture
from tests.notices.servers import SmtpServer, smtp_server  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)
TEST_SERVER_LOGGERS = ("mail.log",)  # aiosmtpd: the receiving side in this test


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(TEST_SERVER_LOGGERS):
            return
        self.records.append(self.format(record))  # message with its arguments, and any traceback


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    """What an operator gets with LOG_LEVEL=DEBUG, and more: the root logger and the django,
    celery and takedown trees at DEBUG, all into one handler. Loggers the settings' LOGGING sets a
    level for keep it (that is where a noisy third-party logger is quieted on purpose)."""
    handler = Capture()
    names = ["", "django", "celery", "takedown", "kombu", "weasyprint", "fontTools", "PIL", "requests"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    quiet = [(logging.getLogger(name), logging.getLogger(name).level) for name in TEST_SERVER_LOGGERS]
    for logger, _level in quiet:  # the test SMTP server logs every line it receives at DEBUG
        logger.setLevel(logging.WARNING)
    saved += quiet
    attached = [logging.getLogger()]
    for name in list(logging.root.manager.loggerDict):  # a logger that does not propagate gets the handler too
        logger = logging.getLogger(name)
        if not logger.propagate:
            attached.append(logger)
    for logger in attached:
        logger.addHandler(handler)
    yield handler
    for logger in attached:
        logger.removeHandler(handler)
    for logger, level in saved:
        logger.setLevel(level)


def test_the_journey_logs_no_secret(
    site: Site,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    settings: Settings,
    debug_logs: Capture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    populated = populate_case(site)
    telegram = f"https://t.me/{populated.marker}/12"  # a platform the registry reaches by email
    assert populated.client.post("/case/links/", {"urls": telegram}).status_code == 302
    item = ReportedItem.objects.get(case_id=populated.case_id, host="t.me")
    notice = notice_draft(actor=STAFF, case=item.case, items=[item])
    # The survivor gives Telegram their own email for this notice: the log must not carry it either.
    survivor = Actor(kind="survivor", case_id=item.case_id)
    notice = notice_approve(
        actor=STAFF, notice=notice_contact_choose(actor=survivor, notice=notice, use_own_email=True)
    )
    notice_send(actor=STAFF, notice=notice)  # delivered on commit, in process
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.SENT
    # The notice to Telegram; the survivor, who chose email, may also get the neutral news email.
    to_platform = [m for m in smtp_server.inbox.messages if b"News on your case" not in m[2]]
    assert len(to_platform) == 1

    needles = [*populated.needles, Needle("reported URL", telegram), Needle("URL path", f"/{populated.marker}/12")]
    needles += [Needle("URL path", "/" + url.split("/", 3)[3]) for url in populated.urls if url.count("/") >= 3]
    for cookie in ("sessionid", "csrftoken"):
        if cookie in populated.client.cookies:
            needles.append(Needle(f"{cookie} cookie", populated.client.cookies[cookie].value))
    assert any(n.kind == "sessionid cookie" for n in needles)

    assert populated.client.post("/case/withdraw/", {"confirm": "on"}).status_code == 200

    out, err = capfd.readouterr()
    loggers = {record.split(" ", 1)[0] for record in debug_logs.records}
    # The capture is live: the tasks' own log lines (with their arguments and results) are in it.
    assert "celery.app.trace" in loggers and len(debug_logs.records) >= 10, sorted(loggers)
    texts = [("log", record) for record in debug_logs.records] + [("stdout", out), ("stderr", err)]
    hits = find(needles, texts)
    assert hits == [], "secrets in logs:\n" + "\n".join(
        f"- {h.needle.kind} in {h.where}: ...{h.excerpt}..." for h in hits
    )
