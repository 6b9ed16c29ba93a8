"""A throwaway PostgreSQL server for the scale-out stack, and its controls for fault tests.

    postgres_server (session fixture) -> PostgresServer
        .url(database)              "postgresql+psycopg://postgres@127.0.0.1:PORT/<database>"
        .create_database(name, template=None) / .drop_database(name)   (drop forces clients off)
        .template_copies(template, prefix) -> TemplateCopies: .take() -> name, .give_back(name), .close()
                                    fresh copies of a template database, made ahead and dropped behind
        .stop(mode="fast")          the server goes away; "immediate" is a crash (recovery on start)
        .start()                    up again on the same data dir and port, data kept
        .restart(mode="fast")       stop then start
        .running                    whether it accepts connections now
        .controllable               False for a server given by CROWDEXPORTS_TEST_POSTGRES_URL

The server is Debian's (`/usr/lib/postgresql/<version>/bin`: initdb, pg_ctl), on 127.0.0.1 at a free
port, with a data dir in a temporary folder removed at the end and `fsync=off` (tests need no
durability); a server left running by a killed test run is stopped by the next run. As root it runs
as the `postgres` user, which owns the data dir: PostgreSQL refuses to run as root.

CROWDEXPORTS_TEST_POSTGRES_URL=postgresql://user[:password]@host:port/dbname uses a running server
instead (the user must be allowed to create databases); stop/start are then refused.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from tests.servers import ServerError, find_binary, free_port, log_tail, make_base_dir, orphaned_dirs

ENV_URL = "CROWDEXPORTS_TEST_POSTGRES_URL"
DIR_PREFIX = "crowdexports-pg-"
SUPERUSER = "postgres"
# Per-server settings for a test machine: throwaway data (no fsync), room for many test processes.
SERVER_OPTIONS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                  "-c shared_buffers=64MB")


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


class PostgresServer:
    """One PostgreSQL server: ours (started from a data dir we own) or an external one (URL only)."""

    def __init__(self, url: URL, *, bin_dir: Path | None = None, base_dir: Path | None = None) -> None:
        self._url = url
        self.bin_dir, self.base_dir = bin_dir, base_dir
        self.data_dir = base_dir / "data" if base_dir else None
        self.log = base_dir / "server.log" if base_dir else None

    @classmethod
    def external(cls, url: str) -> PostgresServer:
        return cls(make_url(url).set(drivername="postgresql+psycopg"))

    @classmethod
    def launch(cls) -> PostgresServer:
        """initdb into a fresh temporary folder and start the server; a ServerError says what went wrong."""
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version, reverse=True)
        bin_dir = find_binary("pg_ctl", candidates, "postgresql").parent
        for orphan in orphaned_dirs(DIR_PREFIX):  # pg_ctl's server outlives a killed test run: stop it now
            cls(make_url("postgresql+psycopg://"), bin_dir=bin_dir, base_dir=orphan).discard()
        base_dir = make_base_dir(DIR_PREFIX)
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SUPERUSER)
            except KeyError as error:
                raise ServerError("running as root needs the `postgres` user (apt-get install postgresql)") from error
            os.chown(base_dir, account.pw_uid, account.pw_gid)
        url = URL.create("postgresql+psycopg", username=SUPERUSER, host="127.0.0.1", port=free_port(),
                         database="postgres")
        server = cls(url, bin_dir=bin_dir, base_dir=base_dir)
        try:
            server._run("initdb", "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust", "--no-locale",
                        "-E", "UTF8", "--no-sync")
            server.start()
        except BaseException:
            server.discard()
            raise
        return server

    @property
    def controllable(self) -> bool:
        return self.data_dir is not None

    @property
    def port(self) -> int:
        return int(self._url.port or 5432)

    def url(self, database: str | None = None) -> str:
        """A SQLAlchemy URL for `database` (default: the server's admin database), password included."""
        url = self._url if database is None else self._url.set(database=database)
        return url.render_as_string(hide_password=False)

    def _run(self, program: str, *args: str) -> None:
        assert self.bin_dir is not None
        as_owner = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_owner, str(self.bin_dir / program), *args], capture_output=True, text=True,
                              cwd=self.base_dir, timeout=120)
        if done.returncode:
            raise ServerError(f"{program} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                              f"{log_tail(self.log)}")

    def _require_control(self) -> None:
        if not self.controllable:
            raise ServerError(f"the PostgreSQL server given by {ENV_URL} is not ours to stop or start")

    def start(self) -> None:
        self._require_control()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.base_dir} "
                   f"{SERVER_OPTIONS}")
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects clients and shuts down cleanly; `immediate` is a crash."""
        self._require_control()
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    @property
    def running(self) -> bool:
        try:
            with self._connect():
                return True
        except psycopg.OperationalError:
            return False

    def _connect(self, database: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
        url = self._url if database is None else self._url.set(database=database)
        return psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                               dbname=url.database, autocommit=True, connect_timeout=10)

    def create_database(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        with self._connect() as connection:
            connection.execute(query)

    def template_copies(self, template: str, prefix: str) -> TemplateCopies:
        return TemplateCopies(self, template, prefix)

    def drop_database(self, name: str) -> None:
        with self._connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def discard(self) -> None:
        """Stop our server at once and remove its data; nothing to do for an external one."""
        if self.base_dir is None:
            return
        if self.data_dir is not None and (self.data_dir / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except ServerError:
                pass  # already stopped, or never started: the folder goes either way
        shutil.rmtree(self.base_dir, ignore_errors=True)


class TemplateCopies:
    """Databases copied from `template`, one made ahead and each dropped behind on a thread: a copy costs
    ~0.1 s of server work, which then overlaps the tests instead of adding to each."""

    def __init__(self, server: PostgresServer, template: str, prefix: str) -> None:
        self.server, self.template, self.prefix = server, template, prefix
        self._numbers = itertools.count(1)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pg-copies")
        self._next = self._thread.submit(self._create)

    def _create(self) -> str:
        name = f"{self.prefix}{next(self._numbers)}"
        self.server.create_database(name, template=self.template)
        return name

    def take(self) -> str:
        """A fresh copy's name; made here if the one made ahead failed (a fault test stopped the server)."""
        try:
            name = self._next.result()
        except (psycopg.Error, ServerError):
            name = self._create()
        self._next = self._thread.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        self._thread.submit(self._drop_quietly, name)

    def _drop_quietly(self, name: str) -> None:
        try:
            self.server.drop_database(name)
        except psycopg.Error:
            pass  # the server was down: the copy stays until the throwaway server goes

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._next.exception() is None:
            self.server.drop_database(self._next.result())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL: CROWDEXPORTS_TEST_POSTGRES_URL's, else one started here (fails if it cannot)."""
    external = os.environ.get(ENV_URL)
    try:
        server = PostgresServer.external(external) if external else PostgresServer.launch()
    except ServerError as error:
        pytest.fail(f"PostgreSQL for the scale-out stack: {error}", pytrace=False)
    try:
        if not server.running:
            pytest.fail(f"PostgreSQL at {server.url()} does not accept connections{log_tail(server.log)}",
                        pytrace=False)
        yield server
    finally:
        server.discard()
