"""The private parts of libraries the code relies on, one test each (docs/decisions.md, "Private APIs").

pyproject.toml pins these libraries to the minor versions tested; an upgrade that changes one of these
parts fails here first, with a message naming the library, its version and what changed, rather than
somewhere deep in a shutdown, a slow client or a hot read.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from huey import SqliteHuey
from huey.consumer import Consumer, ConsumerStopped
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, create_engine, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import BindParameter
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from crowdexports.api import openapi
from crowdexports.api.protocol import ConnectionsPerAddress, LimitedProtocol


def changed(library: str, what: str) -> str:
    return (f"{library} {version(library)} changed {what}, a private API crowdexports relies on: adapt the code "
            "named in docs/decisions.md (Private APIs) before moving the pin in pyproject.toml")


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- huey: worker/consumer.py calls Consumer._handle_signal for SIGTERM ------------------------------------

@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """Huey's consumer installs handlers for these, and a graceful signal resets SIGINT's: put them back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_huey_handle_signal_sigint_stops_the_consumer_after_its_running_task(
        tmp_path: Path, signal_handlers: None) -> None:
    """Worker._terminate: `_handle_signal(SIGINT, frame)` is Huey's graceful stop, which the consumer's
    `loop(health_check_ts)` (Worker.run's loop) carries out: running tasks finish, then ConsumerStopped."""
    assert parameters(Consumer._handle_signal) == ["self", "signum", "frame"], changed(
        "huey", "Consumer._handle_signal(signum, frame)")
    assert parameters(Consumer.loop) == ["self", "health_check_ts"], changed("huey", "Consumer.loop(health_check_ts)")
    huey = SqliteHuey(filename=str(tmp_path / "queue.db"), results=False)
    started, finished = threading.Event(), threading.Event()

    def sleep_a_little() -> None:
        started.set()
        time.sleep(0.3)
        finished.set()

    slow = huey.task()(sleep_a_little)  # Huey ships no types: not used as a decorator, which strict refuses

    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False, initial_delay=0.01,
                                    max_delay=0.05)
    consumer.start()
    try:
        slow()
        assert started.wait(10)
        consumer._handle_signal(signal.SIGINT, None)
        with pytest.raises(ConsumerStopped):
            for _ in range(100):  # each call waits at most 0.1 s for the stop flag
                consumer.loop(time.monotonic())
        assert finished.is_set(), changed("huey", "what _handle_signal(SIGINT) does: not a graceful stop any more")
    finally:
        consumer.stop()


# --- uvicorn and httptools: api/protocol.py subclasses HttpToolsProtocol ----------------------------------

HOOKS = {  # the methods LimitedProtocol overrides, with the parameters it expects them to have
    "connection_made": ["self", "transport"],
    "data_received": ["self", "data"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
    "on_response_complete": ["self"],
    "connection_lost": ["self", "exc"],
}


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def test_uvicorn_status_line_is_a_table_of_status_lines() -> None:
    """LimitedProtocol._refuse_headers writes its 431 with STATUS_LINE, as uvicorn writes its own."""
    assert STATUS_LINE[431] == b"HTTP/1.1 431 Request Header Fields Too Large\r\n", changed(
        "uvicorn", "httptools_impl.STATUS_LINE")


def test_uvicorn_calls_the_hooks_limited_protocol_overrides_with_the_state_it_reads() -> None:
    """The hooks are still uvicorn's, called in this order, with the attributes LimitedProtocol reads
    (`loop`, `transport`, `client`, `scope`, `app`, `url`, `headers`, `cycle.response_complete`, `pipeline`)."""
    for hook, expected in HOOKS.items():
        assert hook in vars(HttpToolsProtocol), changed("uvicorn", f"HttpToolsProtocol.{hook} (gone)")
        assert parameters(getattr(HttpToolsProtocol, hook)) == expected, changed(
            "uvicorn", f"HttpToolsProtocol.{hook}'s parameters")
    seen: list[tuple[str, Any]] = []

    class Watched(LimitedProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            seen.append(("connection_made", (self.client, self.transport is transport,
                                             type(getattr(self, "pipeline", None)))))

        def data_received(self, data: bytes) -> None:
            seen.append(("data_received", None))
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            seen.append(("on_message_begin", type(getattr(self, "scope", None))))

        def on_headers_complete(self) -> None:
            headers = getattr(self, "headers", None) or [None]
            seen.append(("on_headers_complete", (getattr(self, "url", None), headers[0],
                                                 callable(getattr(self, "app", None)))))
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            seen.append(("on_response_complete", getattr(getattr(self, "cycle", None), "response_complete", None)))
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            seen.append(("connection_lost", None))
            super().connection_lost(exc)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def exchange() -> bytes:
        config = Config(app=app, log_config=None, lifespan="off")
        protocol = Watched(config, ServerState(), {}, header_timeout=5, max_header_bytes=8192,
                           connections=ConnectionsPerAddress(4))
        assert protocol.loop is asyncio.get_running_loop(), changed("uvicorn", "HttpToolsProtocol.loop")
        transport = FakeTransport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        for _ in range(100):
            if any(name == "on_response_complete" for name, _ in seen):
                break
            await asyncio.sleep(0.01)
        protocol.connection_lost(None)
        return bytes(transport.written)

    written = asyncio.run(exchange())
    assert [name for name, _ in seen] == ["connection_made", "data_received", "on_message_begin",
                                          "on_headers_complete", "on_response_complete", "connection_lost"], changed(
        "uvicorn", f"which HttpToolsProtocol hooks are called, or their order: {seen}")
    state = dict(seen)
    assert state["connection_made"] == (("127.0.0.1", 50000), True, deque), changed(
        "uvicorn", "HttpToolsProtocol.client, .transport or .pipeline")
    assert state["on_message_begin"] is dict, changed("uvicorn", "HttpToolsProtocol.scope")
    assert state["on_headers_complete"] == (b"/x", (b"host", b"a"), True), changed(
        "httptools", "HttpToolsProtocol.url, .headers or .app as the parser's callbacks leave them")
    assert state["on_response_complete"] is True, changed("uvicorn", "RequestResponseCycle.response_complete")
    assert written.startswith(b"HTTP/1.1 204 "), changed("uvicorn", "the answer of HttpToolsProtocol")


# --- SQLAlchemy: database/hotsql.py and exports/database_rows.py execute compiled Core statements -----------------

TABLE = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(10)))


# The dialects of an engine that never connects: SQLAlchemy types create_engine, not the dialects' __init__.
@pytest.mark.parametrize("dialect", [create_engine("sqlite://").dialect, create_engine("postgresql+psycopg://").dialect],
                         ids=["sqlite", "postgresql"])
def test_sqlalchemy_compiled_statements_have_the_shape_hotsql_reads(dialect: Dialect) -> None:
    """HotStatement._compile reads `positional`, `positiontup` (the driver's order of the parameters),
    `binds` (name: BindParameter with `.type` and `.value`, a LIMIT's given value) and `string`;
    database_rows.stream_rows reads `positional`, `positiontup` and `string`."""
    statement = (select(TABLE.c.id).where(TABLE.c.name == bindparam("name"), TABLE.c.id > bindparam("after"))
                 .limit(5))
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled.string, str) and "LIMIT" in compiled.string, changed("sqlalchemy", "Compiled.string")
    assert isinstance(getattr(compiled, "positional", None), bool), changed("sqlalchemy", "SQLCompiler.positional")
    binds = getattr(compiled, "binds", None)
    assert isinstance(binds, dict) and all(isinstance(bind, BindParameter) for bind in binds.values()), changed(
        "sqlalchemy", "SQLCompiler.binds (name: BindParameter)")
    if compiled.positional:  # sqlite's qmark: the names in the order of the question marks
        names = list(getattr(compiled, "positiontup", None) or ())
        assert names[:2] == ["name", "after"] and len(names) == compiled.string.count("?"), changed(
            "sqlalchemy", "SQLCompiler.positiontup")
    else:  # psycopg's pyformat: the names of the placeholders
        names = re.findall(r"%\((\w+)\)s", compiled.string)
        assert names[:2] == ["name", "after"], changed("sqlalchemy", "the psycopg dialect's placeholders")
    assert set(names) <= set(binds), changed("sqlalchemy", "SQLCompiler.binds: a parameter of the statement missing")
    assert binds[names[2]].value == 5, changed("sqlalchemy", "a LIMIT's BindParameter.value")
    assert binds["name"].type.dialect_impl(dialect) is not None, changed("sqlalchemy", "TypeEngine.dialect_impl")


# --- FastAPI: api/openapi.py finds each route's error statuses in its dependencies ----------------------

def test_fastapi_routes_keep_their_dependencies_and_responses_as_openapi_reads_them() -> None:
    """openapi.error_statuses walks `APIRoute.dependant` (a Dependant: `.call`, `.dependencies`) and reads
    `param_convertors`; openapi.document adds to `APIRoute.responses`, which include_router copies."""
    assert {"call", "dependencies"} <= set(inspect.signature(Dependant).parameters), changed(
        "fastapi", "Dependant's fields")

    @openapi.answers(418)
    def inner() -> None:
        return None

    @openapi.answers(409)
    def outer(_: None = Depends(inner)) -> None:
        return None

    router = APIRouter()

    @router.get("/things/{thing_id}", dependencies=[Depends(outer)])
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    route = router.routes[0]
    assert isinstance(route, APIRoute) and isinstance(route.dependant, Dependant), changed(
        "fastapi", "APIRoute.dependant")
    assert route.param_convertors, changed("fastapi", "APIRoute.param_convertors")
    assert {409, 418, openapi.ID_IN_PATH} <= openapi.error_statuses(route), changed(
        "fastapi", "how a route's dependencies are kept in its Dependant (.call, .dependencies)")
    openapi.document([router])
    app = FastAPI()
    app.include_router(router)
    responses = app.openapi()["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert {"409", "418", "404"} <= set(responses), changed("fastapi", "APIRoute.responses as include_router copies it")
