"""Fault injection on real services: throwaway Redis and PostgreSQL, real workers, real receivers.

The machine's shared PostgreSQL and Redis are never touched: a `Stack` starts its own Redis server
and its own PostgreSQL cluster (initdb into a temporary directory) on free ports, migrates the
schema into it, and points both this process (the web side) and the Celery workers it starts at
them, so restarting either harms nobody else. Faults are real: `kill -9` of the whole worker
process group, Redis and PostgreSQL crashed (SIGKILL, `pg_ctl -m immediate`) and started again,
an SMTP server answering 4xx/5xx or gone, a webhook receiver answering 500 or too slowly.

Each scenario submits reports (a case with one link to a local page carrying a copy of a
registered photo) and sends notices (email and signed webhook), injects its fault, and waits for
everything to settle while running the `resume` sweeps as the beat would. It returns a `Figure`:
reports submitted and completed, notices sent and how many copies the receivers got.

Used by tests/faults/test_faults.py (small counts, asserted) and bench/faults.py (the table).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import hmac
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT.parent / "shared" / "data" / "photos" / "kodak" / "kodim05.png"
WEBHOOK_SECRET = "fault-webhook-secret-0123456789"
ORG_NOTICE_EMAIL = "notices@helpline.example.org"

# Worker timings, short so a fault heals within seconds (production: 150 s limit, 180 s stale
# claim, 3600 s visibility timeout and resume delay). The visibility timeout exceeds the stale
# claim, so a message redelivered after a kill finds its work claimable again.
TIME_LIMIT = 8
CLAIM_STALE = 10
VISIBILITY_TIMEOUT = 12
RESUME_AFTER = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, *, every: Callable[[], None] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if every is not None:
            every()
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ---------------------------------------------------------------------------------------------------
# Throwaway servers


class ThrowawayRedis:
    """A Redis server of our own, without persistence: a restart loses every queued message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                *(exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *("--daemonize", "no", "--dir", tempfile.gettempdir(), "--logfile", ""),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(lambda: _pings(client), 20, "the throwaway Redis to start")

    def crash(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self, down_for: float = 0.0) -> None:
        self.crash()
        time.sleep(down_for)
        self.start()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout), else pg_config's, else PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's initdb is not installed")
    return Path(initdb).parent


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own in a temporary directory, trust auth on 127.0.0.1 only.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user
    (created by the Debian package) and its commands run through `runuser`.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="takedown-faults-pg-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root needs runuser to start PostgreSQL as the postgres user")
            shutil.chown(self.dir, user="postgres")
            self.as_user = [runuser, "-u", "postgres", "--"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/takedown"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, cwd=self.dir)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "takedown")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )

    def crash(self) -> None:
        """Stop at once, as a crash does: no checkpoint, every connection cut (recovery at start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        self.crash()
        time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.crash()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# Receivers: a site to check, an SMTP server, a webhook endpoint


@dataclass
class Site:
    """Pages each carrying one JPEG. A path put in `stall` is held until released (a fetch in flight)."""

    base: str = ""
    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    stall: set[str] = field(default_factory=set)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in state.stall:
                    state.stall.discard(self.path)
                    state.arrived.set()
                    state.release.wait(30)
                content_type, body = state.routes.get(self.path, ("text/plain", b"not found"))
                with contextlib.suppress(OSError):  # the worker may be dead by now
                    self.send_response(200 if self.path in state.routes else 404)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class SmtpInbox:
    """An aiosmtpd handler: accepts, answers a scripted code, or holds a message before or after taking it.

    `hold` = "before": the MAIL command waits until released, nothing of the message sent yet;
    "after": the message is stored as accepted, then the 250 reply to DATA waits (the window in
    which a client killed cannot know the server has it). Message-IDs are kept to count copies.
    """

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.replies: list[str] = []  # scripted replies to DATA, in order; then 250
        self.hold = ""
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def _wait(self) -> None:
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        with self.lock:
            hold = self.hold == "before"
            if hold:
                self.hold = ""
        if hold:
            await self._wait()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            reply = self.replies.pop(0) if self.replies else "250 Message accepted for delivery"
            if not reply.startswith("250"):
                return reply
            self.message_ids.append(str(message_from_bytes(envelope.content).get("Message-ID", "")))
            hold = self.hold == "after"
            if hold:
                self.hold = ""
        if hold:
            await self._wait()
        return reply


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = SmtpInbox()
        self.port = free_port()
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Gone: connections are refused until `start` again."""
        self.inbox.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class Receiver:
    """A webhook endpoint that checks signatures and dedupes by Idempotency-Key, as platforms should.

    `statuses` scripts the answers (500 ...; 0 = answer only after the client's read timeout);
    `hold` keeps the next accepted request's answer until released (the worker waiting on it).
    """

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # idempotency keys, one per request
    accepted: set[str] = field(default_factory=set)
    answered_ok: list[str] = field(default_factory=list)  # keys of requests answered 2xx (copies)
    hold: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    slow_seconds: float = 4.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                timestamp = self.headers.get("X-Takedown-Timestamp", "")
                mac = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
                signed = hmac.compare_digest("sha256=" + mac.hexdigest(), self.headers.get("X-Takedown-Signature", ""))
                key = self.headers.get("Idempotency-Key", "")
                with state.lock:
                    status = state.statuses.pop(0) if state.statuses else 200
                    hold, state.hold = state.hold and status == 200, False
                    state.requests.append(key)
                    if not signed:
                        status = 401
                    elif status == 200:
                        state.accepted.add(key)
                        state.answered_ok.append(key)
                if hold:
                    state.arrived.set()
                    state.release.wait(30)
                if status == 0:
                    time.sleep(state.slow_seconds)
                    status = 503
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/takedown/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# ---------------------------------------------------------------------------------------------------
# The stack


@dataclass
class Figure:
    """What one scenario shows. `lost` counts work that never finished (still queued or pending)."""

    scenario: str
    fault: str
    reports_submitted: int = 0
    reports_completed: int = 0
    reports_matched: int = 0
    notices_sent: int = 0  # email and webhook notices queued by an advocate
    notices_delivered: int = 0  # recorded as sent
    notices_failed_visibly: int = 0  # recorded as delivery failed (a permanent refusal), for the advocate
    copies_received: int = 0  # messages and requests the receivers got
    distinct_received: int = 0  # distinct Message-IDs and accepted Idempotency-Keys
    duplicate_copies: int = 0  # copies beyond the first, all carrying the same Message-ID or key
    lost: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Stack:
    """Own Redis, own PostgreSQL (migrated), a site, an SMTP server, a webhook receiver, workers.

    `activate` points this process's Django connection and Celery app at them (call `deactivate`
    to restore). Each scenario starts from empty tables.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = ThrowawayRedis()
        self.postgres = ThrowawayPostgres()
        self.site = Site()
        self.smtp = SmtpServer()
        self.receiver = Receiver()
        self.workers: list[subprocess.Popen[bytes]] = []
        self._saved_db: dict[str, Any] = {}
        self._saved_celery: tuple[Any, ...] = ()
        self._bundle = ""
        self._image = b""

    # -- lifecycle --------------------------------------------------------------------------------

    def up(self) -> None:
        self.redis.start()
        self.postgres.init()
        self.site.start()
        self.smtp.start()
        self.receiver.start()
        self.activate()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self._bundle, self._image = _bundle_and_copy()

    def down(self) -> None:
        self.kill_workers()
        with contextlib.suppress(Exception):
            self.deactivate()
        self.site.stop()
        self.smtp.stop()
        self.receiver.stop()
        self.redis.crash()
        self.postgres.destroy()

    def activate(self) -> None:
        from django.conf import settings
        from django.db import connections

        from takedown.celery import app

        connection = connections["default"]
        connection.close()
        self._saved_db = {k: connection.settings_dict[k] for k in ("NAME", "HOST", "PORT", "USER", "PASSWORD")}
        connection.settings_dict.update(
            NAME="takedown", HOST="127.0.0.1", PORT=str(self.postgres.port), USER="postgres", PASSWORD=""
        )
        self._saved_celery = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_transport_options)
        app.conf.update(
            task_always_eager=False,
            broker_url=self.redis.url,
            broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        )
        _forget_broker_connections(app)
        self._saved_settings = {
            name: getattr(settings, name)
            for name in ("TASK_CLAIM_STALE_SECONDS", "TASK_RESUME_AFTER_SECONDS", "CHECK_ON_REPORT")
        }
        settings.TASK_CLAIM_STALE_SECONDS = CLAIM_STALE
        settings.TASK_RESUME_AFTER_SECONDS = RESUME_AFTER

    def deactivate(self) -> None:
        from django.conf import settings
        from django.db import connections

        from takedown.celery import app

        connection = connections["default"]
        connection.close()
        connection.settings_dict.update(self._saved_db)
        eager, url, options = self._saved_celery
        app.conf.update(task_always_eager=eager, broker_url=url, broker_transport_options=options)
        _forget_broker_connections(app)
        for name, value in self._saved_settings.items():
            setattr(settings, name, value)

    def reset(self) -> None:
        """Empty tables and queues, fresh receivers' counts; the registry and an organisation again."""
        from django.core.management import call_command

        self.kill_workers()
        redis.Redis.from_url(self.redis.url).flushall()
        call_command("flush", interactive=False, verbosity=0)
        self.smtp.inbox.__init__()  # type: ignore[misc]
        self.receiver.statuses.clear()
        self.receiver.requests.clear()
        self.receiver.accepted.clear()
        self.receiver.answered_ok.clear()
        self.receiver.hold = False
        self.receiver.arrived.clear()
        self.receiver.release.clear()
        self.site.stall.clear()
        self.site.arrived.clear()
        self.site.release.clear()
        _seed(self.receiver.url)

    # -- workers ----------------------------------------------------------------------------------

    def start_worker(self, *, concurrency: int = 1) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": self.postgres.url,
            "CELERY_BROKER_URL": self.redis.url,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "CELERY_UNACKED_MUTEX_EXPIRE": "3",
            "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
            "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 2),
            "TASK_CLAIM_STALE_SECONDS": str(CLAIM_STALE),
            "TASK_RESUME_AFTER_SECONDS": str(RESUME_AFTER),
            "FETCH_ALLOW_LOOPBACK": "true",
            "CHECK_ON_REPORT": "true",
            "FETCH_RETRY_BASE_SECONDS": "0.3",
            "NOTICES_RETRY_BASE_SECONDS": "0.3",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_USE_TLS": "false",
            "NOTICES_FROM_EMAIL": "send@helpline.example.org",
            "NOTICES_ATTACH_PDF": "false",
            "NOTICES_SMTP_TIMEOUT": "3",
            "NOTICES_WEBHOOK_READ_TIMEOUT": "2",
        }
        args = [sys.executable, "-m", "celery", "-A", "takedown", "worker", "-Q", "fetch,render,match,deliver,default"]
        args += ["-c", str(concurrency), "-P", "prefork", "--without-mingle", "--without-gossip"]
        args += ["-n", f"fault-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO"]
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.workers.append(process)
        return process

    def kill_workers(self) -> None:
        """kill -9 every worker process (parent and pool children) started here."""
        for process in self.workers:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def busy_in_database(self, waiting_on_lock: bool) -> bool:
        """Whether a worker's database session is waiting for a row lock (mid-transaction)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
        return bool(row and row[0]) == waiting_on_lock

    # -- work -------------------------------------------------------------------------------------

    def submit_report(self, n: int) -> int:
        """A survivor reports one link (page n carrying a copy of the registered photo); the case id."""
        from django.conf import settings

        from takedown.cases import services as case_services
        from takedown.core.access import Actor
        from takedown.organizations.models import Organization

        page = f"/p/{n}"
        self.site.routes[f"/img/{n}.jpg"] = ("image/jpeg", self._image)
        og = f'<meta property="og:image" content="/img/{n}.jpg">'
        self.site.routes[page] = ("text/html", f"<!doctype html><title>p</title>{og}".encode())
        settings.CHECK_ON_REPORT = True
        try:
            opened = case_services.case_open(
                actor=Actor(kind="survivor"),
                signature_name="Fault Test",
                bundle=case_services.parse_bundle(self._bundle),
                urls=[self.site.base + page],
                organization=Organization.objects.get(slug="fault-helpline"),
            )
        finally:
            settings.CHECK_ON_REPORT = False
        return opened.case.pk

    def send_notice(self, n: int, *, webhook: bool) -> int:
        """An advocate sends an approved notice by email (Telegram's address) or webhook; the notice id."""
        from takedown.cases import services as case_services
        from takedown.core.access import Actor
        from takedown.notices.services import notice_approve, notice_draft, notice_send
        from takedown.organizations.models import Organization

        staff = Actor(kind="staff", mfa_verified=True)
        url = f"https://hashmatch.example/v/{n}" if webhook else f"https://t.me/somechannel/{n}"
        case = case_services.case_open(
            actor=Actor(kind="survivor"),
            signature_name="Alex Example",
            jurisdictions=["EU"] if webhook else ["US"],
            content_kind="authentic",
            urls=[url],
            organization=Organization.objects.get(slug="fault-helpline"),
        ).case
        # A DSA notice names the Member State whose offence it cites (Art. 16(2)(a)).
        notice = notice_draft(
            actor=staff, case=case, items=list(case.items.all()), basis_code=None, member_state="IE" if webhook else ""
        )
        notice = notice_approve(actor=staff, notice=notice)
        notice_send(actor=staff, notice=notice)
        return notice.pk

    def sweep(self) -> None:
        """What the beat does every few minutes: publish again work whose message was lost."""
        from django.conf import settings
        from django.db import connection

        from takedown.core.outbox import outbox_relay
        from takedown.matching.services import checks_resume
        from takedown.notices.services import deliveries_resume

        # The beat runs with the workers' settings: a `case.items_reported` message this relay takes
        # must request the check, as the workers' relay would (not be consumed as "checks are off").
        settings.CHECK_ON_REPORT = True
        try:
            outbox_relay()
            checks_resume()
            deliveries_resume()
        except Exception:  # noqa: BLE001 - the database is down (a restart scenario): the next sweep tries again
            connection.close()
        finally:
            settings.CHECK_ON_REPORT = False

    def settle(self, cases: list[int], notices: list[int], timeout: float) -> None:
        """Wait (sweeping) until every check is done and every notice sent or failed, or time runs out."""
        last_sweep = [0.0]

        def every() -> None:
            if time.monotonic() - last_sweep[0] > 1.0:
                last_sweep[0] = time.monotonic()
                self.sweep()

        with contextlib.suppress(AssertionError):
            wait_until(lambda: self._settled(cases, notices), timeout, "everything to settle", every=every)

    def _settled(self, cases: list[int], notices: list[int]) -> bool:
        from django.db import connection

        from takedown.matching.models import CheckState, ItemCheck
        from takedown.notices.models import Notice, NoticeStatus

        try:
            done = ItemCheck.objects.filter(case_id__in=cases, state=CheckState.DONE).count()
            final = Notice.objects.filter(
                pk__in=notices, status__in=[NoticeStatus.SENT, NoticeStatus.DELIVERY_FAILED]
            ).count()
        except Exception:  # noqa: BLE001 - the database is down (a restart scenario): ask again
            connection.close()
            return False
        return done == len(cases) and final == len(notices)

    def figure(self, scenario: str, fault: str, cases: list[int], notices: list[int], started: float) -> Figure:
        from takedown.matching.models import CheckState, ItemCheck, Verdict
        from takedown.notices.models import Notice, NoticeStatus

        checks = ItemCheck.objects.filter(case_id__in=cases)
        delivered = Notice.objects.filter(pk__in=notices, status=NoticeStatus.SENT).count()
        failed = Notice.objects.filter(pk__in=notices, status=NoticeStatus.DELIVERY_FAILED).count()
        completed = checks.filter(state=CheckState.DONE).values("case_id").distinct().count()
        copies = len(self.smtp.inbox.message_ids) + len(self.receiver.answered_ok)
        distinct = len(set(self.smtp.inbox.message_ids)) + len(self.receiver.accepted)
        return Figure(
            scenario=scenario,
            fault=fault,
            reports_submitted=len(cases),
            reports_completed=completed,
            reports_matched=checks.filter(verdict=Verdict.MATCH).values("case_id").distinct().count(),
            notices_sent=len(notices),
            notices_delivered=delivered,
            notices_failed_visibly=failed,
            copies_received=copies,
            distinct_received=distinct,
            duplicate_copies=copies - distinct,
            lost=(len(cases) - completed) + (len(notices) - delivered - failed),
            seconds=round(time.monotonic() - started, 1),
        )


def _forget_broker_connections(app: Any) -> None:
    # The app caches its producer pool for the broker it first connected to; drop it.
    app.amqp._producer_pool = None
    app._pool = None


def _bundle_and_copy() -> tuple[str, bytes]:
    """A bundle registering the shared photo, and a smaller recompressed copy of it for the pages."""
    from PIL import Image

    from takedown.hashing.bundle import build_bundle, dump_bundle, make_item
    from takedown.hashing.media import hash_file

    media = hash_file(PHOTO)
    bundle = dump_bundle(build_bundle([make_item(media.kind, media.hashes)]))  # type: ignore[arg-type]
    image = Image.open(PHOTO).convert("RGB")
    image = image.resize((image.width // 2, image.height // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return bundle, out.getvalue()


def _seed(receiver_url: str) -> None:
    """The platform registry, the webhook platform and the organisation the scenarios use."""
    from pathlib import Path as _Path

    import yaml
    from django.conf import settings

    from takedown.core.access import Actor
    from takedown.organizations.services import organization_create
    from takedown.registry.models import ChannelKind, Platform, PlatformChannel, PlatformDomain
    from takedown.registry.services import platforms_load

    platforms_load(actor=Actor.system(), data=yaml.safe_load(_Path(settings.NOTICES_PLATFORMS_FILE).read_text("utf-8")))
    platform = Platform.objects.create(
        slug="hashmatch-video", name="HashMatch Video", serves=["EU", "US"], supported_bases=["eu_dsa"]
    )
    PlatformDomain.objects.create(platform=platform, domain="hashmatch.example")
    PlatformChannel.objects.create(
        platform=platform, kind=ChannelKind.API, address=receiver_url, webhook_secret=WEBHOOK_SECRET
    )
    org = organization_create(actor=Actor.system(), name="Fault Helpline", slug="fault-helpline", kind="helpline")
    org.notice_contact_email = ORG_NOTICE_EMAIL
    org.save()


@contextlib.contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    stack = Stack(workdir)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


# ---------------------------------------------------------------------------------------------------
# Scenarios. Each takes the stack and how many reports (or notices) to submit, and returns a Figure.

SETTLE_SECONDS = 120.0


def _kill_and_restart(stack: Stack, arrived: threading.Event, release: threading.Event, what: str) -> None:
    """Wait for the worker to be held mid-task, kill -9 it, let the receiver go, start a fresh one."""
    if not arrived.wait(60):
        raise AssertionError(f"the worker never reached {what}")
    stack.kill_workers()
    release.set()
    time.sleep(0.2)
    arrived.clear()
    release.clear()
    stack.start_worker()


def kill_during_fetch(stack: Stack, reports: int, kills: int) -> Figure:
    """kill -9 the worker while it waits for a page: the site holds the response until the kill."""
    stack.reset()
    started = time.monotonic()
    targets = _spread(reports, kills)
    stack.site.stall.update(f"/p/{i}" for i in targets)
    stack.start_worker()
    cases = [stack.submit_report(i) for i in range(reports)]
    for _ in targets:
        _kill_and_restart(stack, stack.site.arrived, stack.site.release, "a held fetch")
    stack.settle(cases, [], SETTLE_SECONDS)
    return stack.figure(
        "kill -9 mid-fetch", f"{len(targets)} kill(s) while the page was being fetched", cases, [], started
    )


def kill_during_match(stack: Stack, reports: int, kills: int) -> Figure:
    """kill -9 the worker inside the match transaction: it waits on the case row this process locks.

    The reports are in before the worker starts, and each target's case row is locked before the
    worker that will reach it runs, so the kill lands after the match saved its media and before
    it sealed the verdict (the transaction dies with the worker).
    """
    import psycopg

    stack.reset()
    started = time.monotonic()
    cases = [stack.submit_report(i) for i in range(reports)]
    targets = _spread(reports, kills)
    for target in targets:
        with psycopg.connect(stack.postgres.url.replace("postgres://", "postgresql://")) as lock, lock.transaction():
            lock.execute("SELECT id FROM cases_case WHERE id = %s FOR UPDATE", [cases[target]])
            stack.start_worker()
            wait_until(lambda: stack.busy_in_database(True), 90, "the match to wait on the case row")
            stack.kill_workers()
    stack.start_worker()
    stack.settle(cases, [], SETTLE_SECONDS)
    fault = f"{len(targets)} kill(s) inside the match transaction"
    return stack.figure("kill -9 mid-match", fault, cases, [], started)


def kill_during_delivery(stack: Stack, notices: int, kills: int, *, webhook: bool, when: str) -> Figure:
    """kill -9 the worker while it talks to the SMTP server or the webhook receiver.

    when="before": the SMTP server holds the MAIL command (nothing of the message sent yet).
    when="after": the server has taken the message and holds its reply, the window in which the
    worker cannot know it was accepted. A webhook receiver acts on the request, then holds its reply.
    """
    stack.reset()
    started = time.monotonic()
    targets = _spread(notices, kills)
    stack.start_worker()
    sent: list[int] = []
    for i in range(notices):
        if i in targets:
            if webhook:
                stack.receiver.hold = True
            else:
                stack.smtp.inbox.hold = when
        sent.append(stack.send_notice(i, webhook=webhook))
        if i in targets:
            if webhook:
                _kill_and_restart(stack, stack.receiver.arrived, stack.receiver.release, "the webhook call")
            else:
                _kill_and_restart(stack, stack.smtp.inbox.arrived, stack.smtp.inbox.release, "the SMTP exchange")
    stack.settle([], sent, SETTLE_SECONDS)
    if webhook:
        name, fault = "kill -9 mid-webhook", "receiver acted, worker killed before its answer"
    elif when == "before":
        name, fault = "kill -9 mid-email (before DATA)", "killed while the SMTP server held MAIL FROM"
    else:
        name, fault = "kill -9 mid-email (after DATA)", "server took the message, worker killed before the 250"
    return stack.figure(name, f"{len(targets)} kill(s): {fault}", [], sent, started)


def redis_restart(stack: Stack, reports: int, notices: int = 4) -> Figure:
    """Crash Redis (no persistence: every queued message is gone) mid-stream, submit during the outage.

    A third of the reports and notices go in before the crash, a third while Redis is down (their
    messages cannot be published), a third after it is back. Notices alternate email and webhook.
    """
    stack.reset()
    started = time.monotonic()
    stack.start_worker(concurrency=2)
    cases: list[int] = []
    sent: list[int] = []

    def submit(phase: int) -> None:
        cases.extend(stack.submit_report(i) for i in range(reports) if i % 3 == phase)
        sent.extend(stack.send_notice(i, webhook=i % 2 == 1) for i in range(notices) if i * 3 // notices == phase)

    submit(0)
    time.sleep(0.5)
    stack.redis.crash()
    submit(1)
    stack.redis.start()
    submit(2)
    stack.settle(cases, sent, SETTLE_SECONDS)
    fault = "broker crashed (SIGKILL, no persistence) and restarted"
    return stack.figure("Redis restart", fault, cases, sent, started)


def postgres_restart(stack: Stack, reports: int, notices: int = 2) -> Figure:
    """Crash PostgreSQL (immediate stop) while the worker checks and delivers, then start it again."""
    from django.db import connection

    from takedown.matching.models import CheckState, ItemCheck

    stack.reset()
    started = time.monotonic()
    stack.start_worker(concurrency=2)
    cases = [stack.submit_report(i) for i in range(reports)]
    sent = [stack.send_notice(i, webhook=i % 2 == 1) for i in range(notices)]
    wait_until(lambda: ItemCheck.objects.filter(state=CheckState.DONE).exists(), 60, "the first check to finish")
    connection.close()
    stack.postgres.restart(down_for=2.0)
    stack.settle(cases, sent, SETTLE_SECONDS)
    fault = "database crashed (immediate stop) for 2 s mid-run"
    return stack.figure("PostgreSQL restart", fault, cases, sent, started)


def smtp_failures(stack: Stack, notices: int) -> Figure:
    """The SMTP server answers 421, then is gone (connection refused), then recovers; one notice gets 550."""
    stack.reset()
    started = time.monotonic()
    stack.smtp.inbox.replies = ["421 4.3.2 Service not available, try later"] * 2 + ["550 5.1.1 No such mailbox"]
    stack.start_worker()
    sent = [stack.send_notice(0, webhook=False)]
    wait_until(lambda: not stack.smtp.inbox.replies, 60, "the scripted refusals to be used")
    stack.smtp.stop()
    sent += [stack.send_notice(i, webhook=False) for i in range(1, notices)]
    time.sleep(2.0)
    stack.smtp.start()
    stack.settle([], sent, SETTLE_SECONDS)
    fault = "2 x 421, 1 x 550, then connection refused for 2 s"
    return stack.figure("SMTP failing then recovering", fault, [], sent, started)


def webhook_failures(stack: Stack, notices: int) -> Figure:
    """The webhook receiver answers 500 and 503, then too slowly (past the read timeout), then 200."""
    stack.reset()
    started = time.monotonic()
    stack.receiver.statuses = [500, 500, 0, 503, 0]
    stack.start_worker()
    sent = [stack.send_notice(i, webhook=True) for i in range(notices)]
    stack.settle([], sent, SETTLE_SECONDS)
    return stack.figure(
        "webhook failing then recovering", "3 x 5xx, 2 x answer after the read timeout", [], sent, started
    )


def _spread(count: int, picks: int) -> list[int]:
    """`picks` indices spread over range(count), first included."""
    picks = max(1, min(picks, count))
    return sorted({round(i * count / picks) for i in range(picks)})
