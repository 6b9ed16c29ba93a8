"""`crowdexports serve` as deployed (issue 6): several API processes beside the worker, and clients that
connect and never finish a request cut off instead of holding a connection for ever."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from crowdexports.config import Settings
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e.conftest import Owner, free_port, settings_env, start_cli, wait_for

pytestmark = pytest.mark.slow
HANG_GUARD = 60.0  # seconds after which a connection still open fails a test: a guard, not a measure


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live direct children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append((int(entry.name), cmdline))
    return found


def _api_processes(pid: int) -> list[int]:
    return [child for child, cmdline in _children(pid) if "spawn_main" in cmdline]


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def served(settings: Settings, service: Service, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`serve --workers 2` with its worker, short deadlines for slow clients; (base URL, serve's pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(settings, CROWDEXPORTS_PUBLIC_URL=base, CROWDEXPORTS_HEADER_TIMEOUT_SECONDS="1",
                       CROWDEXPORTS_BODY_TIMEOUT_SECONDS="1")
    server = start_cli(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            wait_for(lambda: _healthy(http), timeout=30)
        yield base, server.pid
    finally:
        api = _api_processes(server.pid)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0, (tmp_path / "serve.log").read_text()[-3000:]
        for pid in api:  # the API processes went with it
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_serve_runs_the_asked_api_processes_and_the_worker_beside_them(
        served: tuple[str, int], service: Service, owner: Owner) -> None:
    base, pid = served
    assert len(_api_processes(pid)) == 2
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 30, seed=5)
    with httpx.Client(base_url=base, timeout=10) as http:
        created = http.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                            json={"format": "csv", "type": "orders"})
        assert created.status_code == 201, created.text
        export_id = created.json()["id"]

        def succeeded() -> bool:
            body: dict[str, object] = http.get(f"/v1/exports/{export_id}", headers=owner.headers).json()
            return body["status"] == "succeeded"

        wait_for(succeeded, timeout=30)
        # Many keep-alive connections at once are spread over both processes and all answered.
        clients = [httpx.Client(base_url=base, timeout=10) for _ in range(8)]
        try:
            for client in clients * 5:
                assert client.get(f"/v1/exports/{export_id}", headers=owner.headers).status_code == 200
        finally:
            for client in clients:
                client.close()


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    return connection


def _closed_by_the_server(connection: socket.socket) -> bool:
    """Whether the server closes `connection` (after answering its complete requests, if any) before
    HANG_GUARD seconds, while the client sends nothing more."""
    connection.settimeout(HANG_GUARD)
    with connection:
        try:
            while connection.recv(65536):
                pass
        except TimeoutError:
            return False
    return True


def _closed_while_trickling(connection: socket.socket) -> bool:
    """Whether the server closes `connection` while the client keeps sending a header line every half
    second, never ending the headers (slowloris), before HANG_GUARD seconds of that. The data resets
    uvicorn's own keep-alive timeout, so only the header deadline can close it."""
    connection.settimeout(0.5)
    with connection:
        for _ in range(int(HANG_GUARD / 0.5)):
            try:
                while connection.recv(65536):  # the answer to a complete request before, if any
                    pass
                return True
            except TimeoutError:
                pass
            except ConnectionResetError:  # closed as a header line arrived
                return True
            try:
                connection.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return True
    return False


def test_headers_that_never_end_are_cut_off_at_the_deadline(served: tuple[str, int]) -> None:
    base, _ = served
    idle = _connect(base)  # sends nothing at all
    trickling = _connect(base)
    trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert _closed_while_trickling(trickling)
    assert _closed_by_the_server(idle)
    # After a complete request on a kept-alive connection, the next one's headers have the deadline too.
    again = _connect(base)
    again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert _closed_while_trickling(again)
    with httpx.Client(base_url=base, timeout=10) as http:  # others were served all along
        assert http.get("/healthz").status_code == 200


def test_a_body_that_never_ends_is_answered_408(served: tuple[str, int], owner: Owner) -> None:
    base, _ = served
    connection = _connect(base)
    header = (f"POST /v1/projects/{owner.project.id}/exports HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: {owner.headers['Authorization']}\r\nContent-Type: application/json\r\n"
              "Content-Length: 100\r\n\r\n")
    connection.sendall(header.encode() + b'{"format": ')
    connection.settimeout(HANG_GUARD)  # the answer comes at the 1 s body deadline; without one, never
    answer = b""
    with connection:
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b'"classification":"RequestTimeoutError"' in rest.replace(b" ", b"")


def test_rate_limits_hold_across_api_processes(settings: Settings, owner: Owner, tmp_path: Path) -> None:
    """Two API processes (two `serve`s on the same data dir, as a fleet runs them) and a limit of 6 a
    minute per credential: requests alternating between them get 6 answers in all, then 429."""
    ports = [free_port(), free_port()]
    env = settings_env(settings, CROWDEXPORTS_RATE_LIMIT_API="6/minute", CROWDEXPORTS_LOG_LEVEL="WARNING")
    servers = [start_cli(["serve", "--no-worker", "--workers", "1", "--port", str(port)], env,
                         tmp_path / f"api{port}.log") for port in ports]
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in ports]
        for http in clients:
            wait_for(partial(_healthy, http), timeout=30)
        url = f"/v1/projects/{owner.project.id}/exports"
        statuses = [clients[n % 2].get(url, headers=owner.headers).status_code for n in range(12)]
        assert statuses == [200] * 6 + [429] * 6
        for http in clients:
            http.close()
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            server.wait(timeout=30)


def test_serve_defaults_to_one_api_process_per_core(settings: Settings) -> None:
    from crowdexports.api.server import api_processes

    assert api_processes(settings, None) == (os.cpu_count() or 1)
    assert api_processes(settings.model_copy(update={"api_workers": 3}), None) == 3
    assert api_processes(settings.model_copy(update={"api_workers": 3}), 5) == 5
