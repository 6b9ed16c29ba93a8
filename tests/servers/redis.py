"""A throwaway Redis server for the scale-out stack's task queue, and its controls for fault tests.

    redis_server (session fixture) -> RedisServer
        .url(db=0)          "redis://127.0.0.1:PORT/0"
        .stop()             SIGTERM and wait: the server goes away with every key (nothing is saved)
        .kill()             SIGKILL: a crash
        .start()            up again, empty, on the same port
        .restart()          stop then start: "Redis restarted with its data gone"
        .flushall()         drop every key without a restart
        .running            whether it answers PING now
        .controllable       False for a server given by CROWDEXPORTS_TEST_REDIS_URL

redis-server (Debian's, or on PATH) runs as a child process of the tests on 127.0.0.1 at a free port,
with no persistence (`--save '' --appendonly no`). CROWDEXPORTS_TEST_REDIS_URL=redis://host:port/db
uses a running server instead; stop/start are then refused (flushall is not: use a spare db).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.servers import ServerError, find_binary, free_port, log_tail, make_base_dir, orphaned_dirs, wait_until

ENV_URL = "CROWDEXPORTS_TEST_REDIS_URL"
DIR_PREFIX = "crowdexports-redis-"


class RedisServer:
    """One Redis server: ours (a child process) or an external one (URL only)."""

    def __init__(self, url: str, *, binary: Path | None = None, base_dir: Path | None = None) -> None:
        self._url = url
        self.binary, self.base_dir = binary, base_dir
        self.log = base_dir / "server.log" if base_dir else None
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def launch(cls) -> RedisServer:
        binary = find_binary("redis-server", [Path("/usr/bin/redis-server")], "redis-server")
        for orphan in orphaned_dirs(DIR_PREFIX):  # left by a killed test run, maybe with its server
            _kill_orphan(orphan / "redis.pid")
            shutil.rmtree(orphan, ignore_errors=True)
        server = cls(f"redis://127.0.0.1:{free_port()}/0", binary=binary, base_dir=make_base_dir(DIR_PREFIX))
        try:
            server.start()
        except BaseException:
            server.discard()
            raise
        return server

    @property
    def controllable(self) -> bool:
        return self.binary is not None

    @property
    def port(self) -> int:
        return urlsplit(self._url).port or 6379

    def url(self, db: int | None = None) -> str:
        return self._url if db is None else f"{self._url.rsplit('/', 1)[0]}/{db}"

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5)

    def _require_control(self) -> None:
        if not self.controllable:
            raise ServerError(f"the Redis server given by {ENV_URL} is not ours to stop or start")

    def start(self) -> None:
        self._require_control()
        assert self.binary is not None and self.base_dir is not None and self.log is not None
        if self.process is not None and self.process.poll() is None:
            raise ServerError("redis-server is already running")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", str(self.base_dir),
                 "--pidfile", str(self.base_dir / "redis.pid")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        process = self.process
        wait_until(lambda: process.poll() is not None or self.running, timeout=30,
                   what="redis-server did not answer PING", log=self.log)
        if process.poll() is not None:
            raise ServerError(f"redis-server exited with {process.returncode}{log_tail(self.log)}")

    def stop(self) -> None:
        self._end(kill=False)

    def kill(self) -> None:
        self._end(kill=True)

    def _end(self, *, kill: bool) -> None:
        self._require_control()
        if self.process is None or self.process.poll() is not None:
            raise ServerError("redis-server is not running")
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def flushall(self) -> None:
        with self._client() as client:
            client.flushall()

    @property
    def running(self) -> bool:
        try:
            with self._client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def discard(self) -> None:
        """Kill our server and remove its folder; nothing to do for an external one."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _kill_orphan(pid_file: Path) -> None:
    """SIGKILL the redis-server whose pid is in `pid_file`, if that pid is still a redis-server."""
    try:
        pid = int(pid_file.read_text())
        if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass  # no pid file, or the process is gone


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's Redis: CROWDEXPORTS_TEST_REDIS_URL's, else one started here (fails if it cannot)."""
    external = os.environ.get(ENV_URL)
    try:
        server = RedisServer(external) if external else RedisServer.launch()
    except ServerError as error:
        pytest.fail(f"Redis for the scale-out stack: {error}", pytrace=False)
    try:
        if not server.running:
            pytest.fail(f"Redis at {server.url()} does not answer PING", pytrace=False)
        yield server
    finally:
        server.discard()
