"""What one client may hold of a real `serve` (issue 12), with raw sockets on 127.0.0.1: slow bodies
hold no turn, huge headers are refused, the connections of one address are capped; and what its
leaving or its links leave in the log."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crowdexports.auth import accounts, signing
from crowdexports.config import Settings
from crowdexports.runtime import Service
from tests.e2e.conftest import free_port, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow

TOKEN_REQUEST = (b"POST /oauth2/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: %d\r\n\r\n")


@dataclass
class Served:
    host: str
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=10)

    def log_entries(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def serve(settings: Settings, service: Service, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Starts `serve` (one API process, no worker) with the given CROWDEXPORTS_* settings."""
    with ExitStack() as stack:

        def start(**extra: str) -> Served:
            served = Served("127.0.0.1", free_port(), tmp_path / "serve.log")
            env = settings_env(settings, **{f"CROWDEXPORTS_{name.upper()}": value for name, value in extra.items()})
            server = start_cli(["serve", "--no-worker", "--workers", "1", "--port", str(served.port)], env,
                               served.log)

            def stop() -> None:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=30)

            stack.callback(stop)
            wait_for(lambda: _healthy(served.base), timeout=30)
            return served

        yield start


def _answer(connection: socket.socket) -> bytes:
    """What the server sends until it closes the connection (b"" if it closes at once or resets it)."""
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def test_slow_bodies_hold_no_turn(serve: Callable[..., Served]) -> None:
    """4 times API_CONCURRENCY connections sending one byte of a 1,000-byte body: every route still
    answers, a body route too (before, they held every turn until the body deadline)."""
    served = serve(api_concurrency="2", body_timeout_seconds="30")
    slow = [served.connect() for _ in range(8)]
    try:
        for connection in slow:
            connection.sendall(TOKEN_REQUEST % 1000 + b"g")
        with httpx.Client(base_url=served.base, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
            token = http.post("/oauth2/token/", data={"grant_type": "password"})
            assert token.status_code in (400, 401) and token.json()["error"]
    finally:
        for connection in slow:
            connection.close()


def test_the_body_deadline_runs_from_the_request_first_byte(serve: Callable[..., Served]) -> None:
    """Headers sent slowly (within their own deadline) leave the body less time: here none."""
    served = serve(body_timeout_seconds="4", header_timeout_seconds="10")
    with served.connect() as connection:
        connection.sendall(b"POST /oauth2/token/ HTTP/1.1\r\nHost: x\r\n")
        time.sleep(5)  # past the body deadline counted from the first byte
        connection.sendall(b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\ngrant_")
        connection.settimeout(3)
        try:
            answer = connection.recv(65536)
        except TimeoutError:  # no answer yet: the rest, in time for a deadline counted from the headers
            connection.sendall(b"type=password")
            connection.settimeout(10)
            answer = b""
        answer += _answer(connection)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"classification":"RequestTimeoutError"' in answer


def test_connections_beyond_the_cap_of_an_address_are_closed(serve: Callable[..., Served]) -> None:
    served = serve(max_connections_per_address="4")
    idle = [served.connect() for _ in range(4)]  # loopback is an address like any other
    try:
        with served.connect() as fifth:
            try:
                fifth.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            assert _answer(fifth) == b""  # closed without an answer
        idle.pop().close()
        wait_for(lambda: _healthy(served.base), timeout=10)  # a place again, once the server saw the close
    finally:
        for connection in idle:
            connection.close()


def test_oversized_headers_are_refused_with_431(serve: Callable[..., Served]) -> None:
    """The default MAX_HEADER_BYTES (16 KiB): over it is 431 whether the headers come in one read or
    many; the server's memory holds no more than that. Before, 50 MB of header got 200."""
    served = serve()
    with served.connect() as connection:  # complete, in one write
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b'"classification":"RequestHeaderFieldsTooLargeError"' in answer
    with served.connect() as connection:  # 1 MiB in 64 KiB writes: refused, or cut off, long before its end
        try:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            for _ in range(16):
                connection.sendall(b"a" * 65536)
            connection.sendall(b"\r\n\r\n")
        except OSError:
            pass
        answer = _answer(connection)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:200]
    # Headers just under the limit are served.
    headers = {"X-Big": "a" * 15_000}
    assert httpx.get(f"{served.base}/healthz", headers=headers, timeout=10).status_code == 200


def _import_request(service: Service) -> bytes:
    """The headers of an order import by a staff member, into a project that exists."""
    with service.runtime.sessions() as session:
        staff = accounts.create_user(session, username="staffer", email="staffer@example.com", is_staff=True)
        owner = accounts.create_user(session, username="owner", email="owner@example.com")
        project = accounts.create_project(session, owner=owner, name="Solar Kettle")
        client, _, _ = accounts.create_client(session, "tests")
        token = accounts.issue_tokens(session, staff, client, service.runtime.settings)["access_token"]
    return (f"POST /v1/projects/{project.id}/orders/import HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/x-ndjson\r\nAuthorization: Bearer {token}\r\n"
            "Content-Length: 100\r\n\r\n").encode()


def test_a_client_leaving_mid_body_is_one_info_line(serve: Callable[..., Served], service: Service) -> None:
    """Both ways a body is read: before the turn (the token endpoint) and by the route (an order import,
    read once the caller is known to be staff). Before, each logged two ERROR tracebacks."""
    served = serve()
    for request in (TOKEN_REQUEST % 100 + b"grant_type=pass", _import_request(service) + b'{"id": 1'):
        with served.connect() as connection:
            connection.sendall(request)
            time.sleep(0.5)  # the server has begun reading the body

    def disconnects() -> list[dict[str, Any]]:
        return [entry for entry in served.log_entries() if "disconnected" in entry["message"]]

    wait_for(lambda: len(disconnects()) == 2, timeout=10)
    assert httpx.get(f"{served.base}/healthz", timeout=10).status_code == 200  # logged after the disconnects
    lines = disconnects()
    assert [line["level"] for line in lines] == ["info", "info"]
    assert "/oauth2/token/" in lines[0]["message"] and "/orders/import" in lines[1]["message"]
    assert not any("exception" in entry for entry in served.log_entries())
    assert not [entry for entry in served.log_entries() if entry["level"] in ("error", "critical")]


def test_the_access_log_shows_no_download_signature(serve: Callable[..., Served], settings: Settings) -> None:
    served = serve()
    link = signing.download_path(settings.resolved_secret_key, 1, datetime.now(UTC) + timedelta(days=1))
    signature = link.rpartition("signature=")[2]
    assert httpx.get(f"{served.base}{link}", timeout=10).status_code == 404  # no such export: logged all the same
    wait_for(lambda: any("/download?" in entry["message"] for entry in served.log_entries()), timeout=10)
    access = [entry["message"] for entry in served.log_entries() if "/download?" in entry["message"]]
    assert len(access) == 1 and "signature=REDACTED" in access[0], access
    assert signature not in served.log.read_text()
