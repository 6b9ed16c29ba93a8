"""One POST of a delivery (webhooks/sending.py) to a real HTTP receiver on loopback: what it sends, what
it makes of the answers, and that it never raises, hangs past its timeout or follows a redirect."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from crowdexports.models import utcnow
from crowdexports.webhooks import rules, signing
from crowdexports.webhooks.rules import Outcome
from crowdexports.webhooks.sending import post
from tests.webhooks.receiver import HANG, Receiver, running

BODY = b'{"id": 7, "status": "succeeded"}'


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    yield from running(getattr(request, "param", [204]))


def test_a_signed_body_arrives_as_sent(receiver: Receiver) -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, rules.event_id(7, "export.succeeded"), utcnow(), BODY)
    answer = post(receiver.url + "?to=books", BODY, headers, allow_private=True)
    assert (answer.status_code, answer.error) == (204, None)
    [got] = receiver.requests
    assert got.path == "/hooks?to=books" and got.body == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.server.server_address[1]}"
    assert Webhook(secret).verify(got.body, got.headers) == {"id": 7, "status": "succeeded"}


@pytest.mark.parametrize("receiver", [[500, 503, 200]], indirect=True)
def test_server_errors_then_success(receiver: Receiver) -> None:
    outcomes = [rules.outcome(post(receiver.url, BODY, {}, allow_private=True).status_code) for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DELIVERED]


@pytest.mark.parametrize("receiver", [[302]], indirect=True)
def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    answer = post(receiver.url, BODY, {}, allow_private=True)
    assert answer.status_code == 302 and rules.outcome(answer.status_code) is Outcome.REFUSED
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("receiver", [[HANG]], indirect=True)
def test_a_hanging_receiver_times_out(receiver: Receiver) -> None:
    started = time.monotonic()
    answer = post(receiver.url, BODY, {}, allow_private=True, timeout=0.5)
    assert time.monotonic() - started < 5
    assert answer.status_code is None and answer.error is not None and answer.error.startswith("timeout")
    assert rules.outcome(answer.status_code) is Outcome.RETRY


def test_a_receiver_that_is_down_is_a_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    answer = post(f"http://127.0.0.1:{port}/hooks", BODY, {}, allow_private=True, timeout=2)
    assert answer.status_code is None and answer.error is not None and answer.error.startswith("connection error")


def test_loopback_is_refused_without_the_setting(receiver: Receiver) -> None:
    answer = post(receiver.url, BODY, {}, allow_private=False)
    assert answer.status_code is None and answer.error is not None and "loopback" in answer.error
    assert receiver.requests == []
