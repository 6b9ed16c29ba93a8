"""The export email over real SMTP (aiosmtpd on loopback): retries, permanent refusals, the ambiguous window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crowdexports.config import Settings
from crowdexports.database.migrate import upgrade
from crowdexports.exports import lifecycle
from crowdexports.exports.emailing import EmailOutcome, deliver_email
from crowdexports.exports.runner import Outcome, run_export
from crowdexports.models import Export
from crowdexports.runtime import Service, build_service
from crowdexports.seed import seed_orders
from crowdexports.worker.consumer import Worker
from tests.delivery.smtp_server import DROP_AFTER_BODY, SmtpTestServer, smtp_server
from tests.e2e.conftest import Owner, wait_for

pytestmark = pytest.mark.slow  # a wired service with a real consumer


def _service(settings: Settings, server: SmtpTestServer, **overrides: object) -> Service:
    """The test's settings (so its stack) with real SMTP and `overrides`."""
    fields = {**settings.model_dump(), "smtp_url": server.url, **overrides}
    with_smtp = Settings(_env_file=None, **fields)
    upgrade(with_smtp.resolved_database_url)
    return build_service(with_smtp)


def _succeeded_export(service: Service) -> tuple[Owner, int]:
    owner = Owner(service)
    with service.runtime.sessions() as session:
        seed_orders(session, owner.project.id, 20, seed=5)
        export_id = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                      format_="csv", columns=None).id
    assert run_export(service.runtime, service.tasks.running, export_id) is Outcome.SUCCEEDED
    return owner, export_id


def _row(service: Service, export_id: int) -> Export:
    with service.runtime.sessions() as session:
        return session.get_one(Export, export_id)


def _due_or_settled(service: Service, export_id: int) -> bool:
    """True once the email's retry delay has passed, or once it is no longer pending at all."""
    with service.runtime.sessions() as session:
        return export_id in lifecycle.due_emails(session) or _row(service, export_id).email_status != "pending"


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server(reply_sequence=("421 4.3.2 Service busy", "451 4.3.0 Try later")) as running:
        yield running


def test_transient_replies_are_retried_by_the_worker_then_delivered_once(settings: Settings,
                                                                         server: SmtpTestServer) -> None:
    service = _service(settings, server)
    worker = Worker(service, concurrency=1)
    worker.start()
    try:
        owner = Owner(service)
        with service.runtime.sessions() as session:
            seed_orders(session, owner.project.id, 20, seed=5)
            export_id = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                          format_="csv", columns=None).id
        service.tasks.dispatch_export(export_id)
        wait_for(lambda: _row(service, export_id).email_status == "sent", timeout=20)
    finally:
        worker.stop()
    row = _row(service, export_id)
    assert row.email_attempts == 3 and server.attempts == 3 and len(server.messages) == 1
    delivered = server.messages[0].message
    assert delivered["Message-ID"] == f"<export-{export_id}@testserver>"
    attachment = next(delivered.iter_attachments())
    with service.runtime.storage.open(row.storage_key or "") as stored:
        assert attachment.get_payload(decode=True) == stored.read()


def test_a_permanent_refusal_is_recorded_and_the_file_kept(settings: Settings) -> None:
    with smtp_server(reply_sequence=("RCPT:550 5.1.1 No such user",)) as server:
        service = _service(settings, server)
        _, export_id = _succeeded_export(service)
        assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.FAILED
        assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.NOT_DUE
    row = _row(service, export_id)
    assert row.status == "succeeded" and row.email_status == "failed" and "550" in (row.email_error or "")
    assert server.attempts == 1 and server.messages == []
    assert service.runtime.storage.exists(row.storage_key or "")


def test_retries_give_up_after_the_limit(settings: Settings) -> None:
    with smtp_server(reply_sequence=("451 4.3.0 Try later",) * 5) as server:
        service = _service(settings, server, email_retries=2)
        _, export_id = _succeeded_export(service)
        outcomes = []
        for _ in range(4):
            wait_for(lambda: _due_or_settled(service, export_id), timeout=5)
            outcomes.append(deliver_email(service.runtime, export_id)[0])
    assert outcomes == [EmailOutcome.RETRY, EmailOutcome.RETRY, EmailOutcome.FAILED, EmailOutcome.NOT_DUE]
    assert server.attempts == 3 and "451" in (_row(service, export_id).email_error or "")


def test_connection_dropped_after_the_body_is_never_resent(settings: Settings) -> None:
    with smtp_server(reply_sequence=(DROP_AFTER_BODY,)) as server:
        service = _service(settings, server)
        _, export_id = _succeeded_export(service)
        assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.UNKNOWN
        with service.runtime.sessions() as session:
            assert lifecycle.due_emails(session) == []
            assert lifecycle.recover_stale_sending(session, resend_is_safe=False) == []
        assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.NOT_DUE
    assert server.attempts == 1 and len(server.unanswered) == 1 and server.messages == []
    assert _row(service, export_id).email_status == "unknown"


def test_a_file_over_the_limit_is_linked_not_attached(settings: Settings) -> None:
    with smtp_server() as server:
        service = _service(settings, server, max_attachment_bytes=100)
        _, export_id = _succeeded_export(service)
        assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.SENT
        message = server.wait_for(1)[0].message
    assert list(message.iter_attachments()) == []
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert f"/v1/exports/{export_id}/download?expires=" in text
