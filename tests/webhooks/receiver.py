"""A real HTTP receiver on loopback for webhook tests: answers each POST with the next status of a script
(then the last one again), or hangs (until released), and keeps every request it got (headers, body)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = 0  # a status of the script: never answer (until released, or the receiver stops)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    script: list[int]
    requests: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)  # set: hanging requests end, unanswered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def running(script: list[int], port: int = 0) -> Iterator[Receiver]:
    """A receiver answering with `script` on `port` (0: any free one), stopped when the generator closes
    (a fixture's body)."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            index = min(len(receiver.requests), len(receiver.script)) - 1
            status = receiver.script[index]
            if status == HANG:
                receiver.released.wait(60)
                return
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    receiver = Receiver(server, script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
