"""API load benchmark (issue 6, SPEC §8): `wrk` against the service as `make run` serves it, beside the
framework's ceiling in the same run, then the throughput targets with PASS/MISS.

    python benchmarks/api_load.py                     # 6 runs of 10 s, and the bare FastAPI route
    python benchmarks/api_load.py --duration 30       # longer runs
    python benchmarks/api_load.py --api-workers 3     # `serve --workers 3` (and 3 bare processes)
    python benchmarks/api_load.py --soak 600          # then 10 minutes at full load: RSS of every process
    python benchmarks/api_load.py --soak 600 --soak-only

Data (bench-data/api/, seeded once and reused while it holds the same data): 1,000 users, 5,000 projects
with owners spread over the users, 100,000 exports over the last year (a few projects have many, most a
few; created_at unique per project, ids ascending with it), every one terminal (mostly succeeded, with a
file key and a link that has not expired, so each resource signs a url; some failed, some canceled), so
the service's in-process worker has nothing to make. The benchmark owner has 8 projects of 250 exports,
a password (argon2, default parameters), an API key and an OAuth client (the Bearer token is asked for
with the password grant in each run). Every run migrates the data dir first, as `make run` does.

The service is `crowdexports serve` (API processes, one per core by default, and the export worker) on the
embedded default; the ceiling is benchmarks/bare_app.py, one `async def` route returning constant JSON
behind the same uvicorn options and process count. Each run is `wrk -t2 -c64 --latency` after a 2 s
warm-up, with benchmarks/api_load.lua drawing each request's path at random: show (GET /v1/exports/{id})
over the owner's 2,000 exports, list (GET /v1/projects/{id}/exports) over the owner's projects, half first
pages and half `since` pages; each with APIKey, Bearer and Basic credentials. Before loading, one request
per endpoint and credential must answer 200 with the expected JSON. A run that got any non-2xx answer or
socket error (timeouts included: wrk's is 2 s) is INVALID: its figures are not the service's.

`--soak` then loads the service for that long (30 s chunks rotating over the six runs) and samples every
10 s the RSS of every process of the service (serve and all its descendants).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
CLI = [sys.executable, "-m", "crowdexports.cli"]
LUA = BENCHMARKS / "api_load.lua"
BARE_APP = BENCHMARKS / "bare_app.py"

SEED_VERSION = 1  # bump when the seeded data changes: an older data dir is then seeded afresh
USERS, PROJECTS, EXPORTS = 1_000, 5_000, 100_000
OWNER = "bench-owner"
OWNER_PROJECTS, OWNER_EXPORTS_PER_PROJECT = 8, 250
PAGE = 20  # the list's default (and largest) page
LIST_PATHS = 1_000  # half first pages, half `since` pages

THREADS, CONNECTIONS = 2, 64
WARMUP_SECONDS = 2
RATE_LIMIT_API = "1000000000/minute"
SHOW_RPS, SHOW_P99_MS, LIST_RPS = 1_500, 150.0, 800
BASIC_WITHIN = 0.20  # HTTP Basic's req/s at least (1 - this) x APIKey's
SOAK_CHUNK_SECONDS, SOAK_SAMPLE_SECONDS = 30, 10
FLAT_FRACTION, FLAT_MIB = 0.10, 10.0  # soak: growth under the larger of 10 % of the start RSS and 10 MiB
STOP_SECONDS = 30
# Where the data goes: the embedded default under the data dir, whatever the caller's environment says.
DATA_LOCATIONS = ("CROWDEXPORTS_DATABASE_URL", "CROWDEXPORTS_BROKER_URL", "CROWDEXPORTS_STORAGE_URL",
                  "CROWDEXPORTS_SMTP_URL", "CROWDEXPORTS_DATA_DIR", "CROWDEXPORTS_PUBLIC_URL")
SET_HERE = (*DATA_LOCATIONS, "CROWDEXPORTS_LOG_LEVEL", "CROWDEXPORTS_RATE_LIMIT_API")
CREDENTIALS = ("APIKey", "Bearer", "Basic")
ENDPOINTS = {"show": "GET /v1/exports/{id}", "list": "GET /v1/projects/{id}/exports"}
RUNS = [(endpoint, credential) for endpoint in ENDPOINTS for credential in CREDENTIALS]
SOAK_RUNS = [(endpoint, credential) for credential in CREDENTIALS for endpoint in ENDPOINTS]  # show and list in turn
BARE = "bare FastAPI route (ceiling)"


@dataclass(frozen=True)
class Credentials:
    """The benchmark owner's secrets, kept in bench.json beside the database (the API key is shown once)."""

    username: str
    password: str
    api_key: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Load:
    """One wrk run's figures."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    failures: dict[str, int]  # the non-zero ones of: non-2xx answers, connect/read/write/timeout socket errors

    @property
    def errors(self) -> int:
        return sum(self.failures.values())


def _describe(failures: dict[str, int]) -> str:
    total = sum(failures.values())
    if not total:
        return "0"
    return f"{total:,} INVALID (" + ", ".join(f"{count:,} {kind}" for kind, count in failures.items()) + ")"


# --- seeding -----------------------------------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """A CLI command run as the operator would; its JSON answer when it gives one. Fails loudly."""
    done = subprocess.run([*CLI, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"crowdexports {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    if "--json" not in args:
        return {}
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _reusable(data_dir: Path) -> Credentials | None:
    """The saved credentials if the data dir holds this version's complete seed, else None."""
    meta, database = data_dir / "bench.json", data_dir / "crowdexports.db"
    if not meta.exists() or not database.exists():
        return None
    saved = json.loads(meta.read_text())
    if saved.get("version") != SEED_VERSION:
        return None
    with closing(sqlite3.connect(database)) as connection:
        counts = tuple(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                       for table in ("users", "projects", "exports"))
    return Credentials(**saved["credentials"]) if counts == (USERS, PROJECTS, EXPORTS) else None


def _fresh_dir(data_dir: Path) -> None:
    """An empty data dir; an old one is removed only if it is a crowdexports data dir (never anything else)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / "crowdexports.db").exists() and not (data_dir / "bench.json").exists():
            raise SystemExit(f"{data_dir} is not empty and not a crowdexports data dir: give another --data-dir")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)


def _seed(data_dir: Path, env: dict[str, str]) -> Credentials:
    """The schema by `crowdexports migrate`, the owner's credentials by the CLI, the rest in bulk."""
    _fresh_dir(data_dir)
    started = time.perf_counter()
    _cli(env, "migrate")
    password = secrets.token_urlsafe(16)
    owner = _cli(env, "users", "create", "--username", OWNER, "--email", f"{OWNER}@example.com", "--password",
                 password, "--first-name", "Bench", "--last-name", "Owner", "--lang", "fr", "--json")
    _bulk_seed(data_dir / "crowdexports.db", int(owner["id"]))
    api_key = _cli(env, "apikeys", "create", "--username", OWNER, "--json")["api_key"]
    client = _cli(env, "clients", "create", "--name", "bench", "--json")
    credentials = Credentials(OWNER, password, api_key, client["client_id"], client["client_secret"])
    tmp = data_dir / "bench.json.tmp"  # written last: its presence says the seed is complete
    tmp.write_text(json.dumps({"version": SEED_VERSION, "credentials": asdict(credentials)}, indent=2))
    tmp.chmod(0o600)
    tmp.replace(data_dir / "bench.json")
    print(f"seeded {data_dir} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return credentials


FIRST_NAMES = ("Zoé", "Léa", "Hugo", "Jürgen", "María", "Chloé", "Yuki", "Noam", "Amira", "Olivia", "Liam", "Émile")
LAST_NAMES = ("Durand", "Müller", "García", "Rossi", "Tanaka", "Cohen", "Haddad", "Smith", "Lefèvre", "O'Brien")
LANGS = ("fr",) * 5 + ("en",) * 3 + ("de", "es", "it")
PROJECT_WORDS = (("Solar", "Tiny", "Open", "Wild", "Nordic", "Urban", "Café", "Lumière"),
                 ("Kettle", "Comic", "Garden", "Atlas", "Bakery", "Festival", "Vinyl", "Bicyclette"))
CURRENCIES = ("EUR",) * 7 + ("USD", "GBP", "CHF", "CAD", "JPY")
TIMEZONES = ("Europe/Paris",) * 6 + ("Europe/Berlin", "Europe/London", "America/Montreal", "Asia/Tokyo")
CHOSEN_COLUMNS = {"order.id": "Order", "order.created_at": "Date", "order.status": "Status", "order.total": "Paid"}
FAILURES = ("The database went away while the rows were read; the export was retried 3 times.",
            "Storage refused the file: 503 Slow Down (after 3 attempts).",
            "The worker stopped 3 times during this export (lease lost).")


def _bulk_seed(database: Path, owner_id: int) -> None:
    """Users, projects and exports with SQLAlchemy Core executemany over the models' tables (columns
    left out take the models' defaults, so a column added later needs nothing here)."""
    from sqlalchemy import insert

    from crowdexports.database.engine import make_engine
    from crowdexports.models import Export, Project, User

    rng = random.Random(6)
    now = datetime.now(UTC)
    user_ids = list(range(owner_id + 1, owner_id + USERS))
    users: list[dict[str, Any]] = []
    for user_id in user_ids:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append({"id": user_id, "username": f"owner{user_id}", "email": f"owner{user_id}@example.com",
                      "first_name": first, "last_name": last, "name": f"{first} {last}", "lang": rng.choice(LANGS),
                      "is_staff": False, "password_hash": None,
                      "created_at": now - timedelta(days=rng.uniform(400, 1500))})
    owner_projects = set(rng.sample(range(1, PROJECTS + 1), OWNER_PROJECTS))
    projects: list[dict[str, Any]] = []
    for project_id in range(1, PROJECTS + 1):
        name = f"{rng.choice(PROJECT_WORDS[0])} {rng.choice(PROJECT_WORDS[1])} {project_id}"
        projects.append({"id": project_id, "owner_id": owner_id if project_id in owner_projects else
                         rng.choice(user_ids), "name": name, "slug": name.lower().replace(" ", "-"),
                         "currency": rng.choice(CURRENCIES), "timezone": rng.choice(TIMEZONES),
                         "lang": rng.choice(LANGS), "created_at": now - timedelta(days=rng.uniform(366, 400))})
    owners = {project["id"]: project["owner_id"] for project in projects}
    names = {project["id"]: project["name"] for project in projects}
    # A few projects have many exports, most have a few (Pareto weights); the owner's have a fixed count.
    others = [project_id for project_id in owners if project_id not in owner_projects]
    project_of = [project_id for project_id in owner_projects for _ in range(OWNER_EXPORTS_PER_PROJECT)]
    project_of += rng.choices(others, [rng.paretovariate(1.2) for _ in others], k=EXPORTS - len(project_of))
    rng.shuffle(project_of)
    # Distinct instants over the last year (hence unique per project), ids in their order.
    start, span = now - timedelta(days=365), 365 * 86400 * 10**6 - 60 * 10**6
    offsets: set[int] = set()
    while len(offsets) < EXPORTS:
        offsets.add(rng.randrange(span))
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(insert(User.__table__), users)
        connection.execute(insert(Project.__table__), projects)
        batch = []
        for export_id, (offset, project_id) in enumerate(zip(sorted(offsets), project_of, strict=True), 1):
            created_at = start + timedelta(microseconds=offset)
            batch.append(_export_row(rng, export_id, project_id, owners[project_id], names[project_id],
                                     created_at, now))
            if len(batch) == 10_000 or export_id == EXPORTS:
                connection.execute(insert(Export.__table__), batch)
                batch = []
    engine.dispose()


def _export_row(rng: random.Random, export_id: int, project_id: int, owner_id: int, project_name: str,
                created_at: datetime, now: datetime) -> dict[str, Any]:
    """A terminal export as the worker leaves it: succeeded (90 %), failed (6 %) or canceled (4 %)."""
    from crowdexports.exports.filenames import export_file_name

    format_ = "csv" if rng.random() < 0.6 else "xlsx"
    draw = rng.random()
    status = "succeeded" if draw < 0.90 else "failed" if draw < 0.96 else "canceled"
    started_at = created_at + timedelta(seconds=rng.uniform(0.05, 1.5))
    rows = min(int(rng.lognormvariate(6, 1.5)), 2_000_000)
    finished_at = started_at + timedelta(seconds=0.2 + rows / (40_000 if format_ == "csv" else 12_000))
    row: dict[str, Any] = {
        "id": export_id, "project_id": project_id, "user_id": owner_id, "type": "orders", "format": format_,
        "columns": CHOSEN_COLUMNS if rng.random() < 0.1 else None,
        "options": {"format": {"dialect": "excel_eu" if rng.random() < 0.15 else "rfc4180"} if format_ == "csv" else {},
                    "type": {}},
        "status": status, "created_at": created_at, "dispatched_at": created_at + timedelta(milliseconds=3),
        "started_at": started_at, "finished_at": finished_at, "attempt": 1, "error": None,
        "rows_done": 0, "rows_estimated": None, "storage_key": None, "file_name": None, "size": None,
        "row_count": None, "expires_at": None, "email_status": "sent", "email_attempts": 1,
        "emailed_at": finished_at + timedelta(seconds=0.4),
    }
    if status == "succeeded":
        file_name = export_file_name(project_name, project_id, export_id, "orders", created_at, format_)
        row.update(rows_done=rows, rows_estimated=rows, row_count=rows, file_name=file_name,
                   size=rows * (170 if format_ == "csv" else 75) + 2_000,
                   storage_key=f"exports/{export_id}/1-{rng.getrandbits(128):032x}/{file_name}",
                   expires_at=now + timedelta(days=3650))  # far ahead: the resource signs a url, as in real life
    elif status == "failed":
        row.update(attempt=3, error=rng.choice(FAILURES))
    else:
        row.update(email_status="none", email_attempts=0, emailed_at=None,
                   finished_at=created_at + timedelta(seconds=rng.uniform(1, 120)))
    return row


# --- what the load asks for --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The owner's rows the requests point at: export ids, and each project's created_at as `since`
    cursors (unix seconds, six decimals), newest first."""

    export_ids: list[int]
    succeeded_id: int
    cursors: dict[int, list[str]]


def _cursor(stored: str) -> str:
    """Unix seconds with six decimals of a created_at as SQLite holds it (naive UTC text), without floats."""
    delta = datetime.fromisoformat(stored).replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return f"{delta.days * 86400 + delta.seconds}.{delta.microseconds:06d}"


def _targets(database: Path, username: str) -> Targets:
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT e.id, e.project_id, e.created_at, e.status FROM exports e JOIN projects p ON p.id = e.project_id"
            " JOIN users u ON u.id = p.owner_id WHERE u.username = ? ORDER BY e.created_at DESC", (username,)
        ).fetchall()
    cursors: dict[int, list[str]] = {}
    for _, project_id, created_at, _ in rows:
        cursors.setdefault(project_id, []).append(_cursor(created_at))
    succeeded = next(export_id for export_id, _, _, status in rows if status == "succeeded")
    return Targets([row[0] for row in rows], succeeded, cursors)


def _since_path(project_id: int, cursors: list[str], rng: random.Random) -> str:
    """A `since` page that is full: the cursor has at least a page of older exports."""
    return f"/v1/projects/{project_id}/exports?since={rng.choice(cursors[:-PAGE])}"


def _write_paths(work: Path, targets: Targets) -> dict[str, Path]:
    """One file of paths per endpoint for the Lua script (and "/" for the bare app)."""
    rng = random.Random(1)
    projects = sorted(targets.cursors)
    lists = [f"/v1/projects/{rng.choice(projects)}/exports" for _ in range(LIST_PATHS // 2)]
    lists += [_since_path(project_id, targets.cursors[project_id], rng)
              for project_id in (rng.choice(projects) for _ in range(LIST_PATHS // 2))]
    files = {"show": [f"/v1/exports/{export_id}" for export_id in targets.export_ids], "list": lists, "bare": ["/"]}
    paths = {}
    for name, lines in files.items():
        paths[name] = work / f"paths-{name}.txt"
        paths[name].write_text("".join(line + "\n" for line in lines))
    return paths


# --- processes ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str, authorization: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def _process(name: str, command: list[str], env: dict[str, str], log: Path,
             ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own session (Ctrl-C reaches it only through us), until `ready_url` answers 200;
    stopped on the way out whatever happened: SIGINT, then SIGKILL of its group after STOP_SECONDS."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
            with suppress(OSError):
                if _get(ready_url)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{ready_url} did not answer 200 within 120 s; see {log}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {STOP_SECONDS} s: killing it", file=sys.stderr)
        with suppress(ProcessLookupError):  # the group's stragglers, if any
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _descendants(root: int) -> list[int]:
    """`root` and every process below it, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            children.setdefault(int(stat.rpartition(")")[2].split()[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children.get(pid, [])
    return sorted(found)


def _rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), None)
    except OSError:
        return None


def _label(pid: int, root: int, processes: int) -> str:
    if pid == root:
        return "serve: export worker + supervisor" if processes > 1 else "serve: API + export worker"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"
    if "resource_tracker" in command:
        return "multiprocessing resource tracker"
    if "multiprocessing" in command:
        return "API process (uvicorn worker)"
    return command.strip()[:40]


# --- wrk ---------------------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # to milliseconds
TIME = r"([\d.]+)(us|ms|s|m|h)"


def _ms(match: re.Match[str] | None, what: str, output: str) -> float:
    if match is None:
        raise SystemExit(f"no {what} in wrk's output:\n{output}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> Load:
    """wrk's summary: requests, duration, req/s, the 50 % and 99 % latencies of --latency's distribution,
    socket errors and "Non-2xx or 3xx responses" (wrk prints those two lines only when not zero)."""
    total = re.search(rf"(\d+) requests in {TIME}", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rps is None:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    counts = zip(("non-2xx", "connect", "read", "write", "timeout"),
                 (non_2xx.groups() if non_2xx else ("0",)) + (sockets.groups() if sockets else ("0",) * 4), strict=True)
    return Load(int(total.group(1)), _ms(re.search(rf"requests in {TIME}", output), "duration", output) / 1e3,
                float(rps.group(1)), _ms(re.search(rf"^\s+50%\s+{TIME}", output, re.M), "p50", output),
                _ms(re.search(rf"^\s+99%\s+{TIME}", output, re.M), "p99", output),
                {kind: int(count) for kind, count in counts if int(count)})


def _wrk_command(base: str, paths: Path, seconds: int, authorization: str | None) -> list[str]:
    header = ["-H", f"Authorization: {authorization}"] if authorization else []
    return ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(LUA), *header,
            base, "--", str(paths)]


def _wrk(base: str, paths: Path, seconds: int, authorization: str | None) -> Load:
    command = _wrk_command(base, paths, seconds, authorization)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def _measure(base: str, paths: Path, seconds: int, authorization: str | None, name: str) -> Load:
    """A warm-up, then the measured run."""
    print(f"{name}: {WARMUP_SECONDS} s warm-up, {seconds} s measured…", file=sys.stderr)
    _wrk(base, paths, WARMUP_SECONDS, authorization)
    return _wrk(base, paths, seconds, authorization)


# --- the service -------------------------------------------------------------------------------------------


def _service_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment (tuning knobs such as CROWDEXPORTS_API_CONCURRENCY pass through) on the
    embedded default in the data dir, logging warnings only, and the API rate limit raised."""
    env = {key: value for key, value in os.environ.items() if key not in DATA_LOCATIONS}
    env.update({"CROWDEXPORTS_DATA_DIR": str(data_dir), "CROWDEXPORTS_LOG_LEVEL": "WARNING",
                "CROWDEXPORTS_RATE_LIMIT_API": RATE_LIMIT_API})
    return env


def _basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def _bearer_token(base: str, credentials: Credentials) -> str:
    """The password grant, the client authenticated with HTTP Basic (form-encoded first, RFC 6749 §2.3.1)."""
    client = _basic(urllib.parse.quote_plus(credentials.client_id), urllib.parse.quote_plus(credentials.client_secret))
    body = urllib.parse.urlencode({"grant_type": "password", "username": credentials.username,
                                   "password": credentials.password}).encode()
    request = urllib.request.Request(f"{base}/oauth2/token/", data=body, method="POST", headers={
        "Authorization": f"Basic {client}", "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            token: str = json.loads(response.read())["access_token"]
            return token
    except urllib.error.HTTPError as error:
        raise SystemExit(f"POST /oauth2/token/ answered {error.code}: {error.read()[:2000]!r}") from None


def _check(base: str, path: str, authorization: str, expected: str) -> None:
    """One request must answer 200 with the JSON expected; else stop with the body (the load would only
    measure errors)."""
    status, body = _get(base + path, authorization)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status != 200 or answer is None or not _expected(answer, expected, path):
        raise SystemExit(f"GET {path} with {authorization.split()[0]} answered {status}, not {expected}:\n"
                         f"{body[:3000].decode(errors='replace')}")


def _expected(answer: Any, expected: str, path: str) -> bool:
    if expected == "export":
        return isinstance(answer, dict) and path.endswith(f"/{answer.get('id')}") and bool(answer.get("url"))
    exports = answer.get("exports") if isinstance(answer, dict) else None
    meta = answer.get("meta") if isinstance(answer, dict) else None
    return isinstance(exports, list) and len(exports) == PAGE and isinstance(meta, dict) and meta.get("limit") == PAGE


def _authorizations(base: str, credentials: Credentials) -> dict[str, str]:
    return {"APIKey": f"APIKey {credentials.api_key}", "Bearer": f"Bearer {_bearer_token(base, credentials)}",
            "Basic": f"Basic {_basic(credentials.username, credentials.password)}"}


def _check_all(base: str, authorizations: dict[str, str], targets: Targets) -> None:
    project_id = next(iter(targets.cursors))
    for authorization in authorizations.values():
        _check(base, f"/v1/exports/{targets.succeeded_id}", authorization, "export")
        _check(base, f"/v1/projects/{project_id}/exports", authorization, "a full page")
        _check(base, _since_path(project_id, targets.cursors[project_id], random.Random(2)), authorization,
               "a full page")


# --- soak --------------------------------------------------------------------------------------------------


@dataclass
class Memory:
    """One process's RSS over the soak, in KiB."""

    label: str
    start: int
    peak: int
    end: int
    alive: bool = True

    @property
    def growth_mib(self) -> float:
        return (self.end - self.start) / 1024

    @property
    def flat(self) -> bool:
        return self.growth_mib < max(FLAT_FRACTION * self.start / 1024, FLAT_MIB)


@dataclass(frozen=True)
class Sample:
    """Every process's RSS (KiB) at `seconds` into the soak, while `running` loaded the service."""

    seconds: float
    running: str
    rss: dict[int, int]


@dataclass
class Soak:
    seconds: int
    requests: int = 0
    measured: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    memory: dict[int, Memory] = field(default_factory=dict)
    timeline: list[Sample] = field(default_factory=list)

    def sample(self, root: int, processes: int, seconds: float, running: str) -> None:
        seen: dict[int, int] = {}
        for pid in _descendants(root):
            rss = _rss_kib(pid)
            if rss is None:
                continue
            seen[pid] = rss
            if pid not in self.memory:
                self.memory[pid] = Memory(_label(pid, root, processes), rss, rss, rss)
            memory = self.memory[pid]
            memory.peak, memory.end = max(memory.peak, rss), rss
        for pid, memory in self.memory.items():
            memory.alive = pid in seen
        self.timeline.append(Sample(seconds, running, seen))


def _soak(base: str, paths: dict[str, Path], authorizations: dict[str, str], seconds: int, root: int,
          processes: int) -> Soak:
    """Full load for `seconds`, in chunks rotating over the six runs; RSS of every process of the service
    at the start (after a warm-up), every SOAK_SAMPLE_SECONDS, and at the end."""
    print(f"soak: {WARMUP_SECONDS} s warm-up, then {seconds} s at full load…", file=sys.stderr)
    _wrk(base, paths["show"], WARMUP_SECONDS, authorizations["APIKey"])
    soak = Soak(seconds)
    soak.sample(root, processes, 0.0, "(warm-up done)")
    started = time.monotonic()
    next_sample = started + SOAK_SAMPLE_SECONDS
    chunk = 0
    while (left := seconds - (time.monotonic() - started)) >= 1:
        endpoint, credential = SOAK_RUNS[chunk % len(SOAK_RUNS)]
        command = _wrk_command(base, paths[endpoint], min(SOAK_CHUNK_SECONDS, round(left)), authorizations[credential])
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as wrk:
            while wrk.poll() is None:
                time.sleep(max(0.0, min(next_sample - time.monotonic(), 0.5)))
                if time.monotonic() >= next_sample:
                    soak.sample(root, processes, next_sample - started, f"{endpoint} {credential}")
                    next_sample += SOAK_SAMPLE_SECONDS
            output, errors = wrk.communicate()
        if wrk.returncode != 0:
            raise SystemExit(f"wrk failed ({wrk.returncode}):\n{output}{errors}")
        load = parse_wrk(output)
        soak.requests, soak.measured = soak.requests + load.requests, soak.measured + load.seconds
        soak.failures.update(load.failures)
        chunk += 1
    soak.sample(root, processes, time.monotonic() - started, "(end)")
    return soak


# --- report ------------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Report:
    """The table, then each target with PASS or MISS; a run with errors fails its targets (INVALID)."""

    def __init__(self, loads: dict[str, Load]) -> None:
        self.loads = loads
        self.verdicts: list[bool] = []

    @staticmethod
    def name(endpoint: str, credential: str) -> str:
        return f"{endpoint:<5}{ENDPOINTS[endpoint]:<31}{credential}"

    def table(self) -> None:
        print(f"\n{'run':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>11}  errors")
        for name, load in self.loads.items():
            print(f"{name:<44}{load.rps:>9,.0f}{load.p50_ms:>9.1f}{load.p99_ms:>9.1f}{load.requests:>11,}  "
                  f"{_describe(load.failures)}")

    def check(self, text: str, errors: int, ok: bool) -> None:
        """A target met by a run with errors is still a MISS: its figures are not the service's."""
        self.verdicts.append(ok and not errors)
        print(f"    {text}{f' (INVALID: {errors:,} errors)' if errors else ''}  {_verdict(ok and not errors)}")

    def targets(self) -> None:
        print(f"\ntargets (SPEC §8, issue 6; wrk -t{THREADS} -c{CONNECTIONS} on this machine):")
        print(f"  show >= {SHOW_RPS:,} req/s and p99 <= {SHOW_P99_MS:.0f} ms, every credential:")
        for credential in CREDENTIALS:
            load = self.loads[self.name("show", credential)]
            self.check(f"{credential:<7}{load.rps:>7,.0f} req/s", load.errors, load.rps >= SHOW_RPS)
            self.check(f"{credential:<7}p99 {load.p99_ms:.1f} ms", load.errors, load.p99_ms <= SHOW_P99_MS)
        print(f"  list >= {LIST_RPS:,} req/s, every credential:")
        for credential in CREDENTIALS:
            load = self.loads[self.name("list", credential)]
            self.check(f"{credential:<7}{load.rps:>7,.0f} req/s", load.errors, load.rps >= LIST_RPS)
        print(f"  HTTP Basic within {BASIC_WITHIN:.0%} of APIKey (req/s at least {1 - BASIC_WITHIN:.0%} of APIKey's):")
        for endpoint in ENDPOINTS:
            basic, api_key = self.loads[self.name(endpoint, "Basic")], self.loads[self.name(endpoint, "APIKey")]
            self.check(f"{endpoint}: Basic {basic.rps:,.0f} / APIKey {api_key.rps:,.0f} req/s = "
                       f"{basic.rps / api_key.rps:.0%}", basic.errors + api_key.errors,
                       basic.rps >= (1 - BASIC_WITHIN) * api_key.rps)
        bare = self.loads.get(BARE)
        if bare is not None:
            print(f"  share of the framework's ceiling ({bare.rps:,.0f} req/s), for information:")
            for name, load in self.loads.items():
                if name != BARE:
                    print(f"    {name:<44}{load.rps / bare.rps:>5.0%}")
        passed = sum(self.verdicts)
        print(f"\n{passed} PASS, {len(self.verdicts) - passed} MISS")

    @staticmethod
    def soak(soak: Soak) -> None:
        rps = soak.requests / soak.measured if soak.measured else 0.0
        print(f"\nsoak: {soak.seconds} s at full load (wrk -t{THREADS} -c{CONNECTIONS} in {SOAK_CHUNK_SECONDS} s "
              f"chunks, show and list in turn, APIKey, Bearer then Basic), RSS (VmRSS) of every process of the "
              f"service at the start, every {SOAK_SAMPLE_SECONDS} s and at the end ({len(soak.timeline)} samples)")
        print(f"  {soak.requests:,} requests, {rps:,.0f} req/s, errors: {_describe(dict(soak.failures))}")
        print(f"  memory is flat when it grows less than the larger of {FLAT_FRACTION:.0%} of the start RSS "
              f"and {FLAT_MIB:.0f} MiB, in every process:")
        print(f"  {'pid':>7}  {'process':<36}{'start MiB':>10}{'max MiB':>9}{'end MiB':>9}{'growth MiB':>12}")
        for pid, memory in sorted(soak.memory.items()):
            gone = "" if memory.alive else "  (exited)"
            print(f"  {pid:>7}  {memory.label:<36}{memory.start / 1024:>10.1f}{memory.peak / 1024:>9.1f}"
                  f"{memory.end / 1024:>9.1f}{memory.growth_mib:>+12.1f}  {_verdict(memory.flat)}{gone}")
        flat = all(memory.flat for memory in soak.memory.values())
        print(f"  memory flat in every process: {_verdict(flat)}")
        Report.timeline(soak)

    @staticmethod
    def timeline(soak: Soak) -> None:
        """Every sample, one row each: where memory grew, and under which load."""
        pids = sorted(soak.memory)
        print(f"\n  RSS MiB over the soak, by pid ({', '.join(f'{pid}: {soak.memory[pid].label}' for pid in pids)}):")
        print(f"  {'s':>6}  {'running':<14}" + "".join(f"{pid:>9}" for pid in pids))
        for sample in soak.timeline:
            cells = "".join(f"{sample.rss[pid] / 1024:>9.1f}" if pid in sample.rss else f"{'-':>9}" for pid in pids)
            print(f"  {sample.seconds:>6.0f}  {sample.running:<14}{cells}")


def _loads_text(values: Iterable[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


# --- main --------------------------------------------------------------------------------------------------


def _processes(api_workers: int | None, env: dict[str, str]) -> int:
    """API processes, as `serve` counts them (api/server.py api_processes)."""
    return api_workers or int(env.get("CROWDEXPORTS_API_WORKERS") or 0) or os.cpu_count() or 1


def run(args: argparse.Namespace) -> None:
    load_start = os.getloadavg()
    data_dir: Path = args.data_dir.resolve()
    env = _service_env(data_dir)
    credentials = _reusable(data_dir)
    reused = credentials is not None
    if credentials is None:
        print(f"seeding {data_dir}…", file=sys.stderr)
        credentials = _seed(data_dir, env)
    else:
        print(f"reusing {data_dir}", file=sys.stderr)
    _cli(env, "migrate")  # the data may be from an older release
    targets = _targets(data_dir / "crowdexports.db", credentials.username)
    paths = _write_paths(data_dir, targets)
    processes = _processes(args.api_workers, env)
    loads: dict[str, Load] = {}
    if not args.soak_only:
        port = _free_port()
        bare = [sys.executable, str(BARE_APP), "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)]
        with _process("the bare app", bare, env, data_dir / "bare.log", f"http://127.0.0.1:{port}/"):
            loads[BARE] = _measure(f"http://127.0.0.1:{port}", paths["bare"], args.duration, None, BARE)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if args.api_workers:
        serve += ["--workers", str(args.api_workers)]
    soak = None
    service_env = {**env, "CROWDEXPORTS_PUBLIC_URL": base}
    with _process("crowdexports serve", [*CLI, *serve], service_env, data_dir / "serve.log",
                  f"{base}/healthz") as service:
        started_processes = [(pid, _label(pid, service.pid, processes)) for pid in _descendants(service.pid)]
        authorizations = _authorizations(base, credentials)
        _check_all(base, authorizations, targets)
        if not args.soak_only:
            for endpoint, credential in RUNS:
                name = Report.name(endpoint, credential)
                loads[name] = _measure(base, paths[endpoint], args.duration, authorizations[credential], name)
        if args.soak:
            soak = _soak(base, paths, authorizations, args.soak, service.pid, processes)
    _header(load_start, serve, processes, started_processes, reused, targets,
            None if args.soak_only else args.duration)
    report = Report(loads)
    if loads:
        report.table()
        report.targets()
    if soak is not None:
        report.soak(soak)


def _header(load_start: tuple[float, ...], serve: Sequence[str], processes: int,
            started_processes: list[tuple[int, str]], reused: bool, targets: Targets,
            duration: int | None) -> None:
    """What was measured and how; `duration` is None when only the soak ran."""
    print(f"\nAPI load benchmark on the embedded default (SQLite, SQLite queue, local files): {os.cpu_count()} "
          f"CPUs, Python {sys.version.split()[0]}, load average (1/5/15 min) {_loads_text(load_start)} at start, "
          f"{_loads_text(os.getloadavg())} at end (wrk and the server share the machine)")
    count = f"{processes} process{'es' if processes > 1 else ''}"
    print(f"service: crowdexports {shlex.join(serve)} ({count} for the API; the process tree at start: "
          + ", ".join(f"{pid} {label}" for pid, label in started_processes) + ")")
    print(f"  env CROWDEXPORTS_LOG_LEVEL=WARNING; CROWDEXPORTS_RATE_LIMIT_API={RATE_LIMIT_API}: the per-credential "
          "rate limit is raised so that it counts every request (its cost is measured) but never refuses one")
    passed = sorted(key for key in os.environ if key.startswith("CROWDEXPORTS_") and key not in SET_HERE)
    if passed:
        print("  settings from the environment: "
              + ", ".join(f"{key}={'(hidden)' if 'SECRET' in key else os.environ[key]}" for key in passed))
    print(f"data ({'reused' if reused else 'seeded now'}): {USERS:,} users, {PROJECTS:,} projects, {EXPORTS:,} "
          f"exports (90% succeeded with a signed url, 6% failed, 4% canceled); the benchmark owner has "
          f"{len(targets.cursors)} projects and {len(targets.export_ids):,} exports")
    if duration is not None:
        print(f"ceiling: benchmarks/bare_app.py, one async def route returning constant JSON, {count}, the same "
              "uvicorn options")
        print(f"load: wrk -t{THREADS} -c{CONNECTIONS} -d{duration}s --latency -s benchmarks/api_load.lua, after a "
              f"{WARMUP_SECONDS} s warm-up; show: a random export of the owner's; list: a random project of the "
              f"owner's, half first pages, half ?since= pages (full pages of {PAGE})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, metavar="SECONDS", help="of each measured run")
    parser.add_argument("--api-workers", type=int, metavar="N", help="pass --workers N to serve (default: "
                        "serve's own: one API process per core); the bare app runs as many processes")
    parser.add_argument("--soak", type=int, default=0, metavar="SECONDS",
                        help="then load the service this long, sampling every process's RSS (e.g. 600)")
    parser.add_argument("--soak-only", action="store_true", help="the soak alone, without the runs")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "bench-data" / "api")
    args = parser.parse_args()
    if args.duration < 1 or args.soak < 0 or (args.api_workers is not None and args.api_workers < 1):
        parser.error("--duration and --api-workers must be at least 1, --soak not negative")
    if args.soak_only and not args.soak:
        parser.error("--soak-only needs --soak SECONDS")
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk (Debian), or `make bench-api` as root")
    # SIGTERM stops the benchmark as Ctrl-C does: through the `finally`s that stop the servers it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    run(args)


if __name__ == "__main__":
    main()
