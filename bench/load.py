"""Load benchmark: survivor pages, the advocate caseload over 10,000 cases, and the platform API.

Issue #9 item 6. The service runs as in production (TAKEDOWN_ENV=production, DEBUG off, hashed
static files served by WhiteNoise, PostgreSQL with persistent connections, Redis cache) under
gunicorn with sync workers on a free loopback port, and `wrk` (Debian package) drives it on
loopback at increasing concurrency. For every page and concurrency: requests per second, p50/p95/
p99 latency, errors (socket errors, statuses >= 400, and any status other than the page's own,
so a session that silently fell back to a sign-in redirect counts as an error), and the CPU the
gunicorn workers, the PostgreSQL backends, Redis and wrk itself used meanwhile.

The production profile redirects plain HTTP to HTTPS and marks cookies Secure. Production runs
behind a TLS-terminating proxy that sets `X-Forwarded-Proto: https` (BEHIND_TLS_PROXY, on by default
in production, makes Django trust it), so the load generator sends that header exactly as the
proxy would: every setting stays as deployed and no TLS cost is measured (the proxy pays it).
Secure cookies are sent back by hand, as the browser behind the proxy would.

It creates its own PostgreSQL database (`takedown_load`, dropped and re-created each run) and uses
Redis database 7 (cache and sessions' rate limits). No Celery worker runs: the measured requests
(GET pages, the API's reads and batch lookup) enqueue no task; the broker is left unset so any
task would run in process and show up in the latency instead of hiding in a queue.

Reproduce with:

    .venv/bin/python bench/load.py            # full: 10,000 cases, 1..32 connections, 10 s each
    .venv/bin/python bench/load.py --quick    # under a minute: fewer cases, 2 levels, 2 s each

The full mode writes the table to docs/benchmarks/load.md; `--json PATH` writes the raw figures.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform as platform_module
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
# Overridable so a CI smoke run cannot drop the database of a full run going on beside it.
DB_NAME = os.environ.get("BENCH_LOAD_DB", "takedown_load")
PHOTO = ROOT.parent / "shared" / "data" / "photos" / "kodak" / "kodim05.png"
STAFF_EMAIL = "advocate@load.example.org"
STAFF_PASSWORD = "load benchmark advocate passphrase"
P95_TARGET_MS = 200.0
HOST = "127.0.0.1"

# wrk drives the load; this script gives each request its path, cookie and headers (rotating
# through the lists so several sessions and filters are exercised), counts every status other than
# the expected one, and prints the summary as one JSON line.
WRK_SCRIPT = r"""
local function lines(s)
  local out = {}
  if s == nil or s == "" then return out end
  for part in string.gmatch(s, "([^\n]+)") do out[#out + 1] = part end
  return out
end
local paths = lines(os.getenv("LOAD_PATHS"))
local cookies = lines(os.getenv("LOAD_COOKIES"))
local method = os.getenv("LOAD_METHOD") or "GET"
local expect = tonumber(os.getenv("LOAD_EXPECT") or "200")
local body = nil
local body_file = os.getenv("LOAD_BODY_FILE") or ""
if body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end
local headers = {}
for _, h in ipairs(lines(os.getenv("LOAD_HEADERS"))) do
  local k, v = h:match("^([^:]+):%s*(.*)$")
  headers[k] = v
end
local n = 0
unexpected = 0
unexpected_status = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  if #cookies > 0 then headers["Cookie"] = cookies[(n % #cookies) + 1] end
  return wrk.format(method, paths[(n % #paths) + 1], headers, body)
end

function response(status, hdrs, b)
  if status ~= expect then
    unexpected = unexpected + 1
    unexpected_status = status
  end
end

function done(summary, latency, requests)
  local bad, last = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    if t:get("unexpected_status") ~= 0 then last = t:get("unexpected_status") end
  end
  local e = summary.errors
  io.write(string.format(
    '\nLOADJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"unexpected":%d,"unexpected_status":%d,' ..
    '"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad, last, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


# --- environment ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def production_env(static_root: Path, secret_key: str, field_key: str) -> dict[str, str]:
    """The production profile, as `.env.example` documents it, on loopback services."""
    out = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "takedown.settings",
        "TAKEDOWN_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secret_key,
        "FIELD_ENCRYPTION_KEYS": field_key,
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "CACHE_KEY_PREFIX": "load",
        "STATIC_ROOT": str(static_root),
        "INTAKE_ORGANIZATION_SLUG": "load-helpline",
        # Reporting a link would fetch it; the seed must never reach the internet.
        "CHECK_ON_REPORT": "false",
        # Capacity, not the per-key limiter, is measured: at 600/min a single key would get 429s
        # after 10 requests a second. The limiter's own cost (a Redis counter) is still paid.
        "PLATFORM_API_RATE_LIMIT_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("CELERY_BROKER_URL", "DEBUG_SQL", "TAKEDOWN_VAR_DIR"):
        out.pop(name, None)
    return out


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk (the HTTP load generator) is not installed; installing the Debian package `wrk`.", flush=True)
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SystemExit("Please install wrk first: sudo apt-get install wrk")
        command = ["sudo", *command]
    subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install wrk")
    return found


def setup_database(env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    static_root = Path(env["STATIC_ROOT"])
    if not (static_root / "staticfiles.json").exists():
        started = time.perf_counter()
        partial = static_root.with_name(static_root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env={**env, "STATIC_ROOT": str(partial)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.rename(static_root)
        print(f"collected static files in {time.perf_counter() - started:.1f} s into {static_root}", flush=True)


def static_root() -> Path:
    """Where the production static files (hashed, compressed) for this source tree are collected.

    collectstatic with the production storage compresses and hashes every file (the admin's, the
    API docs' bundles) and takes minutes on two busy cores; it depends only on the static sources,
    the storage class and the pinned packages, so it is kept in var/ under their digest and reused.
    """
    digest = hashlib.sha256()
    sources = [ROOT / "requirements.txt", ROOT / "takedown" / "core" / "storage.py"]
    sources += sorted(p for p in (ROOT / "static").rglob("*") if p.is_file())
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return ROOT / "var" / "load-static" / digest.hexdigest()[:16]


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


# --- seeding (runs in a subprocess with the production environment) -------------------------------

HOSTS = [
    ("x.com", "x"),
    ("www.reddit.com", "reddit"),
    ("www.tiktok.com", "tiktok"),
    ("www.pornhub.com", "pornhub-aylo"),
    ("www.xvideos.com", "xvideos"),
    ("t.me", "telegram"),
    ("imgbox-example.net", ""),
    ("files.example-host.org", ""),
]


def seed(cases: int, survivors: int) -> dict[str, Any]:
    """An organisation, an advocate with TOTP, `cases` cases with links, survivor cases with PINs.

    Survivor cases (and the few cases with notices) go through the services like real ones. The
    bulk of the caseload is inserted with `bulk_create`: opening 10,000 cases through `case_open`
    would hash 10,000 PINs with PBKDF2 (about half an hour here), and the caseload reads only rows.
    Each bulk case gets its links and the audit events `case_open` would have written, so the
    tables the pages read have production-like sizes.
    """
    import django

    django.setup()
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from takedown.cases import services as case_services
    from takedown.cases.digests import keyed_digest
    from takedown.cases.models import Case, CaseStatus, ItemStatus, OpenedBy, ReportedItem
    from takedown.core.access import Actor
    from takedown.core.models import ActorKind, AuditEvent
    from takedown.hashing.bundle import build_bundle, make_item
    from takedown.hashing.media import hash_file
    from takedown.notices.services import notice_approve, notice_draft, notice_mark_sent
    from takedown.organizations.services import organization_create, staff_create
    from takedown.registry.models import ContentKind
    from takedown.registry.services import platforms_load

    started = time.perf_counter()
    rng = random.Random(9)
    system = Actor.system()
    import yaml
    from django.conf import settings

    platforms_load(actor=system, data=yaml.safe_load(Path(settings.NOTICES_PLATFORMS_FILE).read_text("utf-8")))
    org = organization_create(
        actor=system,
        name="Load Helpline",
        slug="load-helpline",
        kind="helpline",
        notice_contact_email="notices@load.example.org",
    )
    advocate = staff_create(actor=system, organization=org, email=STAFF_EMAIL, password=STAFF_PASSWORD)
    colleague = staff_create(
        actor=system, organization=org, email="colleague@load.example.org", password=STAFF_PASSWORD
    )
    totp_secret = generate_totp_secret()
    TOTP.activate(advocate, totp_secret)
    staff = Actor(kind=ActorKind.STAFF, user_id=advocate.pk, organization_ids=frozenset({org.pk}), mfa_verified=True)
    # A notice no hash match backs needs a second person's approval (four eyes).
    second = Actor(kind=ActorKind.STAFF, user_id=colleague.pk, organization_ids=frozenset({org.pk}), mfa_verified=True)

    # The caseload: bulk rows, one PIN hash shared (nobody signs in to these).
    pin_hash = make_password(case_services.generate_pin())
    now = timezone.now()
    statuses = [CaseStatus.OPEN] * 4 + [CaseStatus.IN_PROGRESS] * 3 + [CaseStatus.RESOLVED] * 2 + [CaseStatus.CLOSED]
    batch = 2000
    made = 0
    while made < cases:
        n = min(batch, cases - made)
        rows = []
        for _ in range(n):
            status = rng.choice(statuses)
            rows.append(
                Case(
                    reference=case_services.generate_reference(),
                    pin_hash=pin_hash,
                    status=status,
                    organization=org,
                    assignee_id=rng.choice([advocate.pk, colleague.pk, None]),
                    opened_by=OpenedBy.SURVIVOR,
                    jurisdictions=[rng.choice(["US", "EU", "UK"])],
                    content_kind=ContentKind.AUTHENTIC,
                    signature_name="Load Example",
                    signed_at=now,
                    risk_sextortion=rng.random() < 0.1,
                    risk_doxxing=rng.random() < 0.05,
                    next_deadline_at=now + (rng.random() * 96 - 24) * timedelta(hours=1)
                    if status == CaseStatus.IN_PROGRESS
                    else None,
                )
            )
        with transaction.atomic():
            created = Case.objects.bulk_create(rows)
            items = []
            events = []
            for case in created:
                for k in range(rng.randint(1, 5)):
                    host, slug = rng.choice(HOSTS)
                    url = f"https://{host}/post/{case.pk}/{k}"
                    items.append(
                        ReportedItem(
                            case=case,
                            url=url,
                            normalized_url=url,
                            url_digest=keyed_digest("url", url),
                            host=host,
                            platform=slug,
                            status=rng.choice(
                                [ItemStatus.LIVE, ItemStatus.LIVE, ItemStatus.REMOVED, ItemStatus.NO_MATCH]
                            ),
                        )
                    )
                for action in ("case.opened", "case.items_reported"):
                    events.append(
                        AuditEvent(
                            actor_kind=ActorKind.SURVIVOR,
                            organization_id=org.pk,
                            action=action,
                            subject_type="case",
                            subject_id=str(case.pk),
                        )
                    )
            ReportedItem.objects.bulk_create(items)
            AuditEvent.objects.bulk_create(events)
        made += n
    with connection.cursor() as cursor:
        # Spread the opening dates over a year so sorting and paging see realistic data.
        cursor.execute(
            "UPDATE cases_case SET created_at = now() - (id % 365) * interval '1 day' - (id % 1440) * interval "
            "'1 minute'"
        )
        cursor.execute("ANALYZE")
    bulk_seconds = time.perf_counter() - started
    print(f"bulk caseload seeded in {bulk_seconds:.1f} s", file=sys.stderr, flush=True)

    # Survivor cases through the services: a bundle of one shared photo, three links, a sent notice.
    media = hash_file(PHOTO)
    bundle = build_bundle([make_item(media.kind, media.hashes)])  # type: ignore[arg-type]
    survivor_logins = []
    detail_ids = []
    for i in range(survivors):
        opened = case_services.case_open(
            actor=Actor(kind=ActorKind.SURVIVOR),
            signature_name="Alex Example",
            jurisdictions=["US"],
            content_kind=ContentKind.AUTHENTIC,
            consent_share_hashes=True,
            bundle=bundle,
            urls=[f"https://x.com/someone/status/{i}", f"https://www.reddit.com/r/x/{i}", f"https://t.me/c/{i}"],
        )
        case = opened.case
        survivor_logins.append({"reference": case.reference, "pin": opened.pin})
        detail_ids.append(case.pk)
        x_items = list(case.items.filter(host="x.com"))
        notice = notice_draft(actor=staff, case=case, items=x_items)
        notice = notice_approve(actor=second, notice=notice)
        notice_mark_sent(actor=staff, notice=notice)
        case_services.case_note_add(actor=staff, case=Case.objects.get(pk=case.pk), body="Called back; notes.")
    detail_ids += list(Case.objects.filter(organization=org).order_by("?").values_list("pk", flat=True)[:20])

    print(f"survivor cases seeded at {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    try:
        api = seed_api(rng)
    except Exception as exc:  # noqa: BLE001 - the API is built alongside; its failure must not stop the rest
        api = {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "staff": {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "totp_secret": totp_secret},
        "survivors": survivor_logins,
        "detail_ids": detail_ids,
        "api": api,
        "counts": {
            "cases": Case.objects.count(),
            "items": ReportedItem.objects.count(),
            "audit_events": AuditEvent.objects.count(),
        },
        "seconds": {"bulk": round(bulk_seconds, 1), "total": round(time.perf_counter() - started, 1)},
    }


def seed_api(rng: random.Random) -> dict[str, Any]:
    """An API account and key for the platform the notices went to, and a lookup batch.

    Returns {"error": why} when the platform API is not mounted at /api/v1/ (it was built alongside).
    """
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/notices/")
    except Resolver404:
        return {"error": "the platform API is not mounted at /api/v1/"}
    from takedown.core.access import Actor
    from takedown.platforms.models import Scope
    from takedown.platforms.services import api_key_create, platform_account_create
    from takedown.registry.models import Platform

    system = Actor.system()
    account = platform_account_create(actor=system, platform=Platform.objects.get(slug="x"), is_vetted=True)
    issued = api_key_create(actor=system, account=account, scopes=[Scope.NOTICES, Scope.LOOKUP], name="load")
    from takedown.cases.models import RegisteredHash

    pdq = [rh.value for rh in RegisteredHash.objects.filter(signal="pdq")[:10]]
    hashes = [{"signal": "pdq", "value": v} for v in pdq]
    # The rest of a batch of 100: random PDQ hashes, which match nothing (the common answer).
    hashes += [{"signal": "pdq", "value": f"{rng.getrandbits(256):064x}"} for _ in range(100 - len(hashes))]
    return {"key": issued_secret(issued), "lookup": {"hashes": hashes}}


def issued_secret(issued: Any) -> str:
    for name in ("secret", "raw", "key", "token"):
        value = getattr(issued, name, None)
        if isinstance(value, str):
            return value
    raise SystemExit(f"cannot find the key's secret in {issued!r}")


# --- the running service --------------------------------------------------------------------------


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    args = [
        str(Path(sys.executable).parent / "gunicorn"),
        "takedown.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--preload",
        # gunicorn 27's control socket has one default path per user: two servers (a smoke run
        # beside a full one, or the deployment's own) would fight over it, and nothing here uses it.
        "--no-control-socket",
    ]
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    import requests

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            r = requests.get(f"http://{HOST}:{port}/healthz", headers=PROXY_HEADERS, timeout=2)
            if r.status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer /healthz in 60 s:\n{log.read_text()[-3000:]}")


def stop_gunicorn(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# What the TLS-terminating proxy adds to every request (see the module docstring).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


class Browser:
    """A cookie-keeping client that sends Secure cookies over loopback HTTP, as behind the proxy.

    `requests` keeps Secure cookies to itself on http:// URLs, which is right in general and wrong
    here, where the proxy's TLS is simulated by a header.
    """

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {**PROXY_HEADERS, "Origin": f"https://{self.base.split('://', 1)[1]}"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        return {**headers, **(extra or {})}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep(self, response: Any) -> None:
        for raw in response.raw.headers.getlist("Set-Cookie"):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(raw)
            for name, morsel in parsed.items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def get(self, path: str) -> Any:
        response = self.session.get(self.base + path, headers=self._headers(), allow_redirects=False, timeout=30)
        self._keep(response)
        return response

    def post(self, path: str, data: dict[str, str]) -> Any:
        form = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        response = self.session.post(
            self.base + path, data=form, headers=self._headers(), allow_redirects=False, timeout=30
        )
        self._keep(response)
        return response


def survivor_cookie(base: str, reference: str, pin: str) -> str:
    browser = Browser(base)
    browser.get("/case/sign-in/")
    response = browser.post("/case/sign-in/", {"reference": reference, "pin": pin})
    if response.status_code != 302 or response.headers.get("Location") != "/case/":
        raise SystemExit(f"survivor sign-in failed: {response.status_code} {response.headers.get('Location')}")
    if browser.get("/case/").status_code != 200:
        raise SystemExit("survivor session does not reach /case/")
    return browser.cookie_header()


def totp(secret: str, now: float) -> str:
    """RFC 6238 code (SHA-1, 6 digits, 30 s), as authenticator apps and allauth compute it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, (int(now) // 30).to_bytes(8, "big"), "sha1").digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def staff_cookie(base: str, email: str, password: str, totp_secret: str) -> str:
    """Sign in like an advocate: allauth's password step, then the TOTP step."""
    browser = Browser(base)
    browser.get("/accounts/login/")
    response = browser.post("/accounts/login/", {"login": email, "password": password})
    if response.headers.get("Location") != "/accounts/2fa/authenticate/":
        raise SystemExit(f"staff password step failed: {response.status_code} {response.headers.get('Location')}")
    now = time.time()
    if 30 - now % 30 < 3:  # allauth takes only this period's code: do not send one about to expire
        time.sleep(30 - now % 30 + 0.1)
    code = totp(totp_secret, time.time())
    response = browser.post("/accounts/2fa/authenticate/", {"code": code})
    if response.status_code != 302:
        raise SystemExit(f"staff TOTP step failed: {response.status_code}")
    if browser.get("/staff/cases/").status_code != 200:
        raise SystemExit("staff session does not reach /staff/cases/")
    return browser.cookie_header()


# --- measuring ------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(p) for p in text]
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (every engineer's processes included)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def postgres_backends() -> list[int]:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)).fetchall()
    return [int(r[0]) for r in rows]


def redis_pids() -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "redis-server":
                    out.append(int(proc.name))
            except OSError:
                continue
    return out


@dataclass
class Scenario:
    name: str
    label: str
    paths: list[str]
    cookies: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: bytes | None = None
    expect: int = 200


@dataclass
class Level:
    connections: int
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int  # socket errors and timeouts
    unexpected: int  # answers with another status than the page's own (>= 400, or a redirect)
    unexpected_status: int
    cpu_gunicorn: float  # cores
    cpu_postgres: float
    cpu_redis: float
    cpu_wrk: float
    machine_busy: float  # fraction of all cores


def run_wrk(
    wrk: str, base: str, scenario: Scenario, connections: int, seconds: float, gunicorn_pid: int, tmp: Path
) -> Level:
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT)
    body_file = ""
    if scenario.body is not None:
        body_path = tmp / f"{scenario.name}.body"
        body_path.write_bytes(scenario.body)
        body_file = str(body_path)
    headers = {**PROXY_HEADERS, **scenario.headers}
    env = {
        **os.environ,
        "LOAD_PATHS": "\n".join(scenario.paths),
        "LOAD_COOKIES": "\n".join(scenario.cookies),
        "LOAD_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
        "LOAD_METHOD": scenario.method,
        "LOAD_EXPECT": str(scenario.expect),
        "LOAD_BODY_FILE": body_file,
    }
    workers = children(gunicorn_pid)
    backends = postgres_backends()
    redis = redis_pids()
    before = {pid: cpu_ticks(pid) for pid in [*workers, *backends, *redis]}
    busy0, total0 = machine_ticks()
    started = time.monotonic()
    process = subprocess.Popen(
        [wrk, "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "10s", "-s", str(script), base + "/"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()  # wrk exits after its duration
    # Reap it here to read its own CPU time (rusage) rather than sample a process that is gone.
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    wrk_ticks = (usage.ru_utime + usage.ru_stime) * CLOCK_TICKS
    busy1, total1 = machine_ticks()
    # Backends opened during the run (a worker's first connection) count from zero.
    backends_after = postgres_backends()
    workers_after = children(gunicorn_pid)

    def used(pids: list[int]) -> float:
        # A process gone by the end (a database connection closed at CONN_MAX_AGE) is left out
        # rather than counted negative; one started during the run counts from zero.
        after = {p: cpu_ticks(p) for p in pids}
        return sum(max(0, t - before.get(p, 0)) for p, t in after.items() if t) / CLOCK_TICKS / wall

    line = next((s for s in output.splitlines() if s.startswith("LOADJSON ")), None)
    if process.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
    data = json.loads(line.removeprefix("LOADJSON "))
    # wrk's own `status` count (>= 400) is a subset of `unexpected` (anything but the page's status).
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return Level(
        connections=connections,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        requests=data["requests"],
        errors=errors,
        unexpected=data["unexpected"],
        unexpected_status=data["unexpected_status"],
        cpu_gunicorn=round(used(sorted(set(workers) | set(workers_after))), 2),
        cpu_postgres=round(used(sorted(set(backends) | set(backends_after))), 2),
        cpu_redis=round(used(redis), 2),
        cpu_wrk=round(wrk_ticks / CLOCK_TICKS / wall, 2),
        machine_busy=round((busy1 - busy0) / max(1, total1 - total0), 2),
    )


def run_level(
    wrk: str, base: str, scenario: Scenario, connections: int, seconds: float, gunicorn_pid: int, tmp: Path
) -> Level:
    level = run_wrk(wrk, base, scenario, connections, seconds, gunicorn_pid, tmp)
    print(
        f"{scenario.name:17} c={connections:3} {level.rps:8.1f} req/s  p50 {level.p50_ms:7.1f}  "
        f"p95 {level.p95_ms:7.1f}  p99 {level.p99_ms:7.1f} ms  socket errors {level.errors}, "
        f"bad status {level.unexpected} ({level.unexpected_status or '-'})  "
        f"cpu workers {level.cpu_gunicorn} pg {level.cpu_postgres} wrk {level.cpu_wrk} "
        f"machine {level.machine_busy:.0%}",
        flush=True,
    )
    return level


@dataclass
class Result:
    scenario: str
    label: str
    levels: list[Level]
    best_rps: float | None
    best_connections: int | None
    saturation: str
    bound: str


def analyse(scenario: Scenario, levels: list[Level]) -> Result:
    """The highest rate with p95 under the target and no errors; where and why it saturates."""
    ok = [lv for lv in levels if lv.p95_ms < P95_TARGET_MS and lv.errors == 0 and lv.unexpected == 0]
    best = max(ok, key=lambda lv: lv.rps) if ok else None
    notes = []
    crossed = next((lv for lv in levels if lv.p95_ms >= P95_TARGET_MS), None)
    peak = levels[0]
    flat = None
    for lv in levels[1:]:
        if lv.rps < peak.rps * 1.10 and flat is None:
            flat = lv
        peak = max(peak, lv, key=lambda x: x.rps)
    if flat is not None:
        notes.append(f"throughput stops rising at {flat.connections} connections")
    if crossed is not None:
        notes.append(f"p95 crosses {P95_TARGET_MS:.0f} ms at {crossed.connections}")
    failing = next((lv for lv in levels if lv.errors or lv.unexpected), None)
    if failing is not None:
        notes.append(f"errors from {failing.connections} connections")
    # What saturates: at the busiest level, where the CPU went. CPU time per request (worker and
    # PostgreSQL milliseconds) is the figure that does not depend on how busy the machine was.
    top = max(levels, key=lambda lv: lv.rps)
    worker_ms = 1000 * top.cpu_gunicorn / top.rps if top.rps else 0.0
    pg_ms = 1000 * top.cpu_postgres / top.rps if top.rps else 0.0
    cores = os.cpu_count() or 1
    used = top.cpu_gunicorn + top.cpu_postgres + top.cpu_redis + top.cpu_wrk
    if top.machine_busy >= 0.9:
        where = f"all {cores} cores busy ({top.machine_busy:.0%})"
    else:
        where = f"cores {top.machine_busy:.0%} busy"
    main_user = "gunicorn workers (Python)" if top.cpu_gunicorn >= top.cpu_postgres else "PostgreSQL"
    bound = (
        f"CPU: {where}; {main_user} use most: workers {top.cpu_gunicorn:.2f}, PostgreSQL "
        f"{top.cpu_postgres:.2f}, Redis {top.cpu_redis:.2f}, wrk {top.cpu_wrk:.2f} cores "
        f"(ours {used:.2f}); per request {worker_ms:.1f} ms worker + {pg_ms:.1f} ms PostgreSQL CPU"
    )
    return Result(
        scenario=scenario.name,
        label=scenario.label,
        levels=levels,
        best_rps=round(best.rps, 1) if best else None,
        best_connections=best.connections if best else None,
        saturation="; ".join(notes) or "not reached at the highest concurrency tried",
        bound=bound,
    )


def machine_state() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform_module.processor(),
        ),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg": [round(x, 2) for x in load],
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "python": platform_module.python_version(),
    }


def per_request(cores: float, rps: float) -> str:
    return f"{1000 * cores / rps:.1f}" if rps else "-"


def markdown(results: list[Result], info: dict[str, Any], not_measured: list[tuple[str, str]]) -> str:
    rows = []
    for result in results:
        for lv in result.levels:
            rows.append(
                f"| {result.label} | {lv.connections} | {lv.rps:.1f} | {lv.p50_ms:.1f} | {lv.p95_ms:.1f} | "
                f"{lv.p99_ms:.1f} | {lv.errors + lv.unexpected} | {lv.cpu_gunicorn:.2f} | {lv.cpu_postgres:.2f} | "
                f"{lv.cpu_wrk:.2f} | {lv.machine_busy:.0%} | {per_request(lv.cpu_gunicorn, lv.rps)} | "
                f"{per_request(lv.cpu_postgres, lv.rps)} |"
            )
    summary = []
    for result in results:
        best = f"{result.best_rps:.1f} req/s at {result.best_connections} conn." if result.best_rps else "none"
        summary.append(f"| {result.label} | {best} | {result.saturation} | {result.bound} |")
    for label, reason in not_measured:
        summary.append(f"| {label} | not measured | {reason} | |")
    before, after = info["machine_before"], info["machine_after"]
    return "\n".join(
        [
            "# Load",
            "",
            "Produced by `bench/load.py` (issue #9 item 6). Reproduce with:",
            "",
            f"    {info['command']}",
            "",
            f"Machine: {before['cpus']} cores ({before['cpu_model']}), {before['memory_gb']} GB; "
            f"Python {before['python']}; load average {before['loadavg']} at the start "
            f"({before['utc']} UTC) and {after['loadavg']} at the end ({after['utc']} UTC). wrk runs on the "
            "same two cores as the service and PostgreSQL, so its CPU is shown too.",
            "",
            f"Service: gunicorn {info['workers']} sync workers (2 x cores + 1), TAKEDOWN_ENV=production, "
            "DEBUG off, PostgreSQL 15 and Redis on loopback, `X-Forwarded-Proto: https` as the TLS proxy "
            f"sends it. Data: {info['counts']['cases']:,} cases, {info['counts']['items']:,} links, "
            f"{info['counts']['audit_events']:,} audit events; {info['survivors']} survivor sessions and one "
            f"advocate session (TOTP). {info['seconds']} s per level after a {info['warmup']} s warm-up; "
            "closed loop (each connection sends its next request when the previous answer arrives).",
            "",
            "## Sustained rate with p95 under 200 ms and no errors",
            "",
            "| page | highest sustained rate | where it saturates | what saturates (at the busiest level) |",
            "| --- | --- | --- | --- |",
            *summary,
            "",
            "## What each request does",
            "",
            "- survivor start pages: `/`, `/start/`, `/start/report/`, `/start/safety/`, `/case/sign-in/` in turn, "
            "anonymous (no session row; a CSRF cookie on the forms).",
            "- survivor case page: `/case/` for signed-in survivors (sessions rotated); each request reads "
            "and rewrites its session row (the idle clock) and reads the case, links, notices and hash count.",
            "- advocate caseload: `/staff/cases/` (25 of the organisation's cases, newest first, with link "
            "counts), and the same with the status, overdue, platform, risk, search, deadline-sort, mine "
            "filters and page 40 in turn.",
            "- advocate case page: `/staff/cases/<id>/` over survivor cases (links, a sent notice, a note) "
            "and random bulk cases; each view appends a `case.viewed` audit event (a committed INSERT).",
            "- API: `GET /api/v1/notices/` and `POST /api/v1/lookup/` with 100 PDQ hashes (10 registered, "
            "90 random) with a real key; each call is authenticated (PostgreSQL), counted by the per-key "
            "limit (Redis; raised for the run so the limiter's 429s do not stand in for capacity) and "
            "audited. The lookup bank here holds only the survivor cases' hashes: lookups against a "
            "million hashes are measured by `bench/api.py` (docs/benchmarks/api.md).",
            "",
            "## Every level",
            "",
            "CPU columns are cores used on average during the level (2.00 = both cores); `machine` is the "
            "whole machine's busy share, other users included. CPU ms/req is the CPU one request cost its "
            "gunicorn worker and the PostgreSQL backends: the figure least affected by other work on the "
            "machine. `errors` counts socket errors, timeouts, statuses >= 400 and any status other than "
            "the page's own (a lost session's redirect to sign in).",
            "",
            "| page | conn. | req/s | p50 ms | p95 ms | p99 ms | errors | workers CPU | PostgreSQL CPU | wrk CPU "
            "| machine | worker CPU ms/req | PostgreSQL CPU ms/req |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )


def scenarios(base: str, seed_data: dict[str, Any], survivor_cookies: list[str], staff: str) -> list[Scenario]:
    detail_paths = [f"/staff/cases/{pk}/" for pk in seed_data["detail_ids"]]
    out = [
        Scenario(
            "start",
            "survivor start pages (anonymous)",
            ["/", "/start/", "/start/report/", "/start/safety/", "/case/sign-in/"],
        ),
        Scenario("survivor_home", "survivor case page /case/ (signed in)", ["/case/"], cookies=survivor_cookies),
        Scenario("caseload", "advocate caseload /staff/cases/, first page", ["/staff/cases/"], cookies=[staff]),
        Scenario(
            "caseload_filters",
            "advocate caseload, filters and pages rotated",
            [
                "/staff/cases/?status=open",
                "/staff/cases/?due=overdue",
                "/staff/cases/?platform=x.com",
                "/staff/cases/?risk=sextortion",
                "/staff/cases/?q=reddit",
                "/staff/cases/?sort=deadline",
                "/staff/cases/?mine=on",
                "/staff/cases/?page=40",
            ],
            cookies=[staff],
        ),
        Scenario("case_detail", "advocate case detail /staff/cases/<id>/", detail_paths, cookies=[staff]),
    ]
    api = seed_data["api"]
    if "key" in api:
        auth = {"Authorization": f"Bearer {api['key']}"}
        out.append(Scenario("api_notices", "API GET /api/v1/notices/", ["/api/v1/notices/"], headers=auth))
        out.append(
            Scenario(
                "api_lookup",
                "API POST /api/v1/lookup/ (100 PDQ hashes)",
                ["/api/v1/lookup/"],
                headers={**auth, "Content-Type": "application/json"},
                method="POST",
                body=json.dumps(api["lookup"]).encode(),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run (CI smoke): fewer cases and levels")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table here (full mode: docs/benchmarks/load.md)")
    parser.add_argument("--keep", action="store_true", help="keep the database and leave the server log")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--cases", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--survivors", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help="comma-separated scenario names (start, survivor_home, ...)")
    args = parser.parse_args()
    if args.phase == "seed":
        print("SEEDJSON " + json.dumps(seed(args.cases, args.survivors)))
        return

    run_started = time.perf_counter()
    command = ".venv/bin/python bench/load.py" + (" --quick" if args.quick else "")
    print(f"reproduce: {command}", flush=True)
    wrk = ensure_wrk()
    cases, survivors = (1000, 2) if args.quick else (10_000, 16)
    levels = (1, 4) if args.quick else (1, 2, 4, 8, 16, 32)
    seconds, warmup = (1.0, 0.0) if args.quick else (10.0, 3.0)
    workers = 2 * (os.cpu_count() or 1) + 1
    info: dict[str, Any] = {"machine_before": machine_state(), "command": command, "workers": workers}
    print(f"machine: {info['machine_before']}", flush=True)

    import redis

    redis.Redis.from_url(REDIS).flushdb()
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="takedown-load-"))
    env = production_env(static_root(), secrets.token_urlsafe(50), Fernet.generate_key().decode())
    t0 = time.perf_counter()
    setup_database(env)
    print(f"database and static files ready in {time.perf_counter() - t0:.1f} s", flush=True)
    seeded = subprocess.run(
        [sys.executable, __file__, "--phase", "seed", "--cases", str(cases), "--survivors", str(survivors)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((s for s in seeded.stdout.splitlines() if s.startswith("SEEDJSON ")), None)
    if seeded.returncode != 0 or line is None:
        raise SystemExit(f"seeding failed:\n{seeded.stdout[-2000:]}\n{seeded.stderr[-4000:]}")
    seed_data = json.loads(line.removeprefix("SEEDJSON "))
    print(f"seeded {seed_data['counts']} in {seed_data['seconds']} s", flush=True)

    port = free_port()
    base = f"http://{HOST}:{port}"
    log = tmp / "gunicorn.log"
    t0 = time.perf_counter()
    server = start_gunicorn(env, port, workers, log)
    print(f"gunicorn ({workers} workers) answering in {time.perf_counter() - t0:.1f} s", flush=True)
    results: list[Result] = []
    not_measured: list[tuple[str, str]] = []
    if "error" in seed_data["api"]:
        not_measured.append(("platform API (GET notices, POST batch lookup)", seed_data["api"]["error"]))
    try:
        t0 = time.perf_counter()
        survivor_cookies = [survivor_cookie(base, s["reference"], s["pin"]) for s in seed_data["survivors"]]
        staff = staff_cookie(base, **seed_data["staff"])
        print(f"signed in {len(survivor_cookies)} survivors and an advocate in {time.perf_counter() - t0:.1f} s")
        chosen = scenarios(base, seed_data, survivor_cookies, staff)
        if args.only:
            chosen = [s for s in chosen if s.name in args.only.split(",")]
        for scenario in chosen:
            try:
                if warmup:
                    run_wrk(wrk, base, scenario, 2, warmup, server.pid, tmp)  # warm caches and connections
                measured = [
                    run_level(wrk, base, scenario, connections, seconds, server.pid, tmp) for connections in levels
                ]
            except SystemExit as exc:  # one page failing to run must not lose the others' figures
                print(f"{scenario.name}: {exc}", flush=True)
                not_measured.append((scenario.label, str(exc).splitlines()[0]))
                continue
            results.append(analyse(scenario, measured))
    finally:
        stop_gunicorn(server)
        if not args.keep:
            drop_database()
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept database {DB_NAME} and {tmp}", flush=True)

    info.update(
        machine_after=machine_state(),
        counts=seed_data["counts"],
        survivors=len(seed_data["survivors"]),
        seconds=seconds,
        warmup=warmup,
    )
    print()
    for result in results:
        best = f"{result.best_rps} req/s at {result.best_connections} conn." if result.best_rps else "none"
        print(f"{result.label}: best {best}; {result.saturation}; bound: {result.bound}")
    for label, reason in not_measured:
        print(f"{label}: not measured ({reason})")
    print(f"total {time.perf_counter() - run_started:.0f} s", flush=True)
    if args.json:
        args.json.write_text(
            json.dumps({"info": info, "results": [asdict(r) for r in results], "not_measured": not_measured}, indent=1)
        )
    out = args.markdown or (None if args.quick or args.only else ROOT / "docs" / "benchmarks" / "load.md")
    if out is not None:
        out.write_text(markdown(results, info, not_measured))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
