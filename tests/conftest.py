"""Shared fixtures, on the stack that CROWDEXPORTS_TEST_STACK selects (the same tests run on both):

- `embedded` (default): a real SQLite file in a temporary data dir per test, SqliteHuey, local files;
- `scaleout`: a PostgreSQL database of its own per test (a copy of a template migrated once per
  session), RedisHuey with a queue name of its own on one Redis, and a prefix of its own in one S3
  bucket. The servers are started by the tests (tests/servers/).

Every test that builds Settings or a subprocess environment takes the stack from `stack_overrides`
(or from the `settings` built with it), so nothing silently falls back to SQLite on the scale-out run.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.database.migrate import upgrade
from crowdexports.models import Base

if TYPE_CHECKING:  # imported by pytest as plugins (pytest_plugins below)
    from tests.servers.postgres import PostgresServer, TemplateCopies
    from tests.servers.redis import RedisServer

from tests.servers.s3 import s3_settings

pytest_plugins = ["tests.servers.postgres", "tests.servers.redis"]

STACKS = ("embedded", "scaleout")
STACK = os.environ.get("CROWDEXPORTS_TEST_STACK", "embedded")
# The Settings fields a stack decides; stack_env() turns them into CROWDEXPORTS_* for subprocesses.
STACK_FIELDS = ("database_url", "broker_url", "queue_name", "storage_url", "s3_endpoint_url")
_names = itertools.count(1)
BROWSER_TESTS = Path(__file__).parent / "web" / "browser"


def pytest_configure(config: pytest.Config) -> None:
    if STACK not in STACKS:
        raise pytest.UsageError(f"CROWDEXPORTS_TEST_STACK={STACK!r}: use one of {', '.join(STACKS)}")


# Marked slow here, in one place, rather than in each file: modules whose tests need a crowded database,
# reader subprocesses or a concurrency harness of their own, and the matrices of hundreds of requests
# (privacy, sync): seconds each. `make test` runs them on both stacks; `make test-fast` leaves them out
# to stay under a minute on two cores.
HEAVY_MODULES = frozenset(Path(__file__).parent / name for name in (
    "api/test_list_plans.py", "api/test_import_snapshot.py", "api/test_local_ids.py", "files/test_filter_plans.py",
    "files/test_sqlite_reader.py", "files/test_layout_sums.py", "api/test_privacy.py", "web/test_privacy.py",
    "api/test_sync_records.py", "api/test_sync_access.py"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """HEAVY_MODULES' tests marked slow (before `-m` deselects). The browser tests last: Playwright's sync
    API keeps its event loop marked running in the main thread until the session ends, so a later test
    calling asyncio.run() would fail (pytest would otherwise put them among tests/api, grouped by
    pytest-playwright's session-scoped browser parameter)."""
    for item in items:
        if item.path in HEAVY_MODULES:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: BROWSER_TESTS in item.path.parents)  # stable: the others keep their order


def pytest_report_header(config: pytest.Config) -> str:
    if STACK == "embedded":
        return "stack: embedded (SQLite, SqliteHuey, local files, outbox)"
    return "stack: scaleout (PostgreSQL, RedisHuey, S3, outbox unless a test sets SMTP)"


@dataclass
class Stack:
    """The selected stack and its servers; hands out databases and settings to tests and modules."""

    name: str
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    copies: TemplateCopies | None = None  # of the migrated template database

    @property
    def migrated(self) -> bool:
        """Whether `database()` gives a database that has the schema already (a copy of the template)."""
        return self.copies is not None

    @contextmanager
    def database(self, directory: Path, *, empty: bool = False) -> Iterator[str]:
        """A database URL of its own: a SQLite file in `directory` (no schema), or on PostgreSQL a copy
        of the migrated template (`empty`: no schema at all), dropped afterwards."""
        if self.postgres is None or self.copies is None:
            directory.mkdir(parents=True, exist_ok=True)
            yield f"sqlite:///{directory / 'crowdexports.db'}"
            return
        if empty:
            name = f"empty_{os.getpid()}_{next(_names)}"
            self.postgres.create_database(name)
        else:
            name = self.copies.take()
        try:
            yield self.postgres.url(name)
        finally:
            self.copies.give_back(name)

    @contextmanager
    def overrides(self, data_dir: Path) -> Iterator[dict[str, str]]:
        """Settings fields for one test: none on embedded (all defaults live in the data dir); on
        scale-out its own database, its own queue name on the shared Redis, its own S3 prefix."""
        if self.redis is None:
            yield {}
            return
        with self.database(data_dir) as url:
            name = url.rsplit("/", 1)[1]
            yield {"database_url": url, "broker_url": self.redis.url(), "queue_name": name, **s3_settings(name)}


def stack_env(settings: Settings) -> dict[str, str]:
    """CROWDEXPORTS_* variables that put a subprocess or a CLI run on the same stack as `settings`."""
    fields: Mapping[str, object] = settings.model_dump(include=set(STACK_FIELDS), exclude_none=True)
    return {f"CROWDEXPORTS_{name.upper()}": str(value) for name, value in fields.items()}


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Embedded needs nothing. Scale-out starts (or finds) PostgreSQL and Redis and migrates a template
    database once, so each test's database is a quick copy rather than a migration."""
    if STACK == "embedded":
        yield Stack(STACK)
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    redis: RedisServer = request.getfixturevalue("redis_server")
    template = f"template_{os.getpid()}"
    postgres.create_database(template)
    try:
        upgrade(postgres.url(template))
        copies = postgres.template_copies(template, prefix=f"t_{os.getpid()}_")
        try:
            yield Stack(STACK, postgres, redis, copies)
        finally:
            copies.close()
    finally:
        postgres.drop_database(template)


@pytest.fixture
def stack_overrides(stack: Stack, tmp_path: Path) -> Iterator[dict[str, str]]:
    with stack.overrides(tmp_path / "data") as fields:
        yield fields


@pytest.fixture
def settings(tmp_path: Path, stack_overrides: dict[str, Any]) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",
        public_url="http://testserver",
        heartbeat_seconds=0.2,
        email_backoff_seconds=0.05,
        **stack_overrides,
    )


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema, made once: a test's database starts as a copy of it, a file copy
    instead of a create_all (20 ms, for most tests)."""
    path = tmp_path_factory.mktemp("schema") / "crowdexports.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(settings: Settings, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = settings.resolved_database_url
    database = Path(str(make_url(url).database))
    if not stack.migrated and not database.exists():  # a SQLite file, unless the test made it already
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), database)
    engine = make_engine(url)
    if not stack.migrated:
        Base.metadata.create_all(engine)  # nothing to do on a copy of the schema
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
