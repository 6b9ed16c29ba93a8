"""A real S3-compatible HTTP server for the scale-out stack (moto's), and a fault-injecting proxy.

    moto_server() -> S3Server       started on first use, once per test process, stopped at exit
        .endpoint_url               "http://127.0.0.1:PORT"
        .bucket                     a bucket created for this run
        .client                     a plain boto3 client on the server, to look behind the storage's back
    s3_settings(test_id) -> {"storage_url": "s3://<bucket>/<unique prefix>", "s3_endpoint_url": <url>}
        a prefix of its own for every call, so tests never see each other's files
    s3_storage(test_id, temp_root, endpoint_url=None, **knobs) -> S3Storage
        the same, built directly: `endpoint_url` (a FaultProxy's url) and S3Storage's knobs (timeouts...)
    fetch(client, url, **kwargs) -> httpx.Response
        GET a download link as a browser does: on S3 our link answers 302 to a presigned URL, which is
        fetched over the network (a TestClient would send it into the app); locally, the file itself

    FaultProxy(upstream_url)        a threaded HTTP proxy on 127.0.0.1 in front of the server; a context manager
        .url                        point the storage's endpoint_url here
        .fail(status=503, times=1, when=None, code=None)
                                    answer `status` with an S3 XML error (code InternalError for 500,
                                    ServiceUnavailable for 503) instead of forwarding, for the next `times`
                                    matching requests (None: until cleared)
        .delay(seconds, times=1, when=None)
                                    stall that long before forwarding (past the client's read timeout),
                                    or until .release()
        .release()                  end every delay, now and from then on (closing the proxy does it)
        .clear()                    no more faults
        .seen                       every request that reached the proxy, faulted or not: [Seen(method, path, query)]
        .count(when=None)           how many of them match
        predicates for `when`:      upload_part, complete_upload, put_object (or any Seen -> bool)

The server is `python -m moto.server` on a free loopback port, in a subprocess stopped when the
test process exits. CROWDEXPORTS_TEST_S3_ENDPOINT_URL=http://host:port uses a running
S3-compatible server instead (MinIO, Ceph RGW; credentials from the usual AWS_* variables). For moto
the AWS_* variables are set to dummy values here, so neither this process nor its subprocesses
can ever sign with real credentials. A server that cannot be started raises ServerError, which fails
the tests that need it: never a skip.
"""

from __future__ import annotations

import atexit
import functools
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx

from crowdexports.storage.s3 import S3Storage
from tests.servers import ServerError, free_port, log_tail, wait_until

ENV_URL = "CROWDEXPORTS_TEST_S3_ENDPOINT_URL"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "trailer",
              "upgrade", "content-length"}
ERROR_CODES = {500: "InternalError", 503: "ServiceUnavailable"}


class S3Server:
    """An S3-compatible endpoint with one bucket for this run: moto started here, or an external server."""

    def __init__(self, endpoint_url: str, process: subprocess.Popen[bytes] | None = None,
                 log: Path | None = None) -> None:
        self.endpoint_url, self.process, self.log = endpoint_url, process, log
        self.bucket = f"crowdexports-tests-{uuid.uuid4().hex[:12]}"

    @classmethod
    def launch(cls) -> S3Server:
        os.environ.update(DUMMY_CREDENTIALS)  # inherited by every subprocess the tests start
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="crowdexports-moto-")) / "moto.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                       stdout=out, stderr=subprocess.STDOUT)
        server = cls(f"http://127.0.0.1:{port}", process, log)
        try:
            wait_until(server.answers, timeout=30, what=f"moto's S3 server did not answer on port {port}", log=log)
        except BaseException:
            server.stop()
            raise
        return server

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"moto's S3 server exited with {self.process.returncode}{log_tail(self.log)}")
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    @functools.cached_property
    def client(self) -> Any:
        """A plain boto3 client on the server, to look behind the storage's back."""
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")

    def stop(self) -> None:
        """Stop our server and remove its log; nothing to do for an external one."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            shutil.rmtree(self.log.parent, ignore_errors=True)


_server: S3Server | None = None
_lock = threading.Lock()


def moto_server() -> S3Server:
    """The process's S3 server (started on first use) with its bucket; a ServerError if it cannot be had."""
    global _server
    with _lock:
        if _server is None:
            external = os.environ.get(ENV_URL)
            server = S3Server(external) if external else S3Server.launch()
            try:
                server.client.create_bucket(Bucket=server.bucket)
            except Exception as error:
                server.stop()
                raise ServerError(f"cannot create a bucket on the S3 server at {server.endpoint_url}: {error}"
                                  f"{log_tail(server.log)}") from error
            atexit.register(server.stop)
            _server = server
        return _server


def s3_settings(test_id: str) -> dict[str, str]:
    """Settings that put one test's files under a prefix of their own in the run's bucket."""
    server = moto_server()
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "-", test_id).strip("-")[-60:] + "-" + uuid.uuid4().hex[:8]
    return {"storage_url": f"s3://{server.bucket}/{prefix}", "s3_endpoint_url": server.endpoint_url}


def s3_storage(test_id: str, temp_root: Path, *, endpoint_url: str | None = None, **knobs: Any) -> S3Storage:
    """An S3Storage on a fresh prefix of the run's bucket, optionally through a FaultProxy (`endpoint_url`)."""
    config = s3_settings(test_id)
    bucket, _, prefix = config["storage_url"].removeprefix("s3://").partition("/")
    return S3Storage(bucket, prefix, endpoint_url=endpoint_url or config["s3_endpoint_url"], temp_root=temp_root,
                     **knobs)


def fetch(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    """The file behind a download link, following our redirect to the object store if there is one."""
    response = client.get(url, follow_redirects=False, **kwargs)
    if response.status_code == 302:
        return httpx.get(response.headers["location"], headers=kwargs.get("headers"))  # Range, to the store too
    return response


# --- the fault proxy ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it: `query` is the raw query string (`uploadId=...&partNumber=2`)."""

    method: str
    path: str
    query: str


Match = Callable[[Seen], bool]


def upload_part(r: Seen) -> bool:
    return r.method == "PUT" and "partNumber=" in r.query


def complete_upload(r: Seen) -> bool:
    return r.method == "POST" and "uploadId=" in r.query


def put_object(r: Seen) -> bool:
    return r.method == "PUT" and "partNumber=" not in r.query


@dataclass
class _Fault:
    status: int | None  # None: delay, then forward
    seconds: float
    times: int | None
    when: Match | None
    code: str


class FaultProxy:
    """Forwards every request to `upstream` unless a fault says otherwise; see the module docstring."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.seen: list[Seen] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._released = threading.Event()  # ends every delay: a test need not wait out a long stall
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="s3-fault-proxy",
                                        daemon=True)
        self._thread.start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int = 503, *, times: int | None = 1, when: Match | None = None,
             code: str | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault(status, 0.0, times, when, code or ERROR_CODES.get(status, "InjectedError")))

    def delay(self, seconds: float, *, times: int | None = 1, when: Match | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault(None, seconds, times, when, ""))

    def release(self) -> None:
        self._released.set()

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, when: Match | None = None) -> int:
        with self._lock:
            return sum(1 for seen in self.seen if when is None or when(seen))

    def _take(self, seen: Seen) -> _Fault | None:
        """Record the request and consume the first fault that applies to it."""
        with self._lock:
            self.seen.append(seen)
            for fault in self._faults:
                if fault.when is None or fault.when(seen):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect; also answers Expect: 100-continue

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # HTTP trailers, if any
                pass
            return b"".join(chunks)

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, length: str | None = None) -> None:
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", length if length is not None else str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
            try:
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        upstream.putheader(name, value)
                upstream.putheader("Content-Length", str(len(body)))
                upstream.endheaders(body)
                response = upstream.getresponse()
                payload = response.read()
                headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self._send(response.status, headers, payload, length)
            finally:
                upstream.close()

        def _handle(self) -> None:
            try:
                body = self._body()
                path, _, query = self.path.partition("?")
                fault = proxy._take(Seen(self.command, path, query))
                if fault is not None and fault.status is not None:
                    error = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{fault.code}</Code>'
                             "<Message>injected by the test's fault proxy</Message></Error>").encode()
                    self._send(fault.status, [("Content-Type", "application/xml")], error)
                    return
                if fault is not None:
                    proxy._released.wait(fault.seconds)
                self._forward(body)
            except OSError:  # the client gave up (timeout) or the upstream went away
                self.close_connection = True

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler
