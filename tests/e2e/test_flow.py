"""API → real Huey consumer → file → storage → email, in one process on the embedded default."""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import hashlib
import io
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from crowdexports.auth import accounts
from crowdexports.exports import lifecycle
from crowdexports.exports.emailing import EmailOutcome, deliver_email
from crowdexports.exports.runner import Outcome, run_export
from crowdexports.models import Export, ExportEvent, Order, Project
from crowdexports.runtime import Service
from crowdexports.seed import seed_orders
from tests.e2e.conftest import Owner, expected_row_count, wait_for
from tests.servers.s3 import fetch

pytestmark = pytest.mark.slow  # a wired service with a real consumer


def _outbox(service: Service) -> list[EmailMessage]:
    folder = service.runtime.settings.outbox_dir
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in files]


def _seed(service: Service, project: Project, count: int) -> None:
    with service.runtime.sessions() as session:
        seed_orders(session, project.id, count, seed=7)


def _wait_terminal(client: TestClient, owner: Owner, export_id: int, timeout: float = 30) -> dict[str, object]:
    def finished() -> dict[str, object] | None:
        body = client.get(f"/v1/exports/{export_id}", headers=owner.headers).json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None
    return wait_for(finished, timeout)


@pytest.mark.parametrize("format_", ["csv", "xlsx"])
@pytest.mark.usefixtures("consumer")
def test_export_is_made_stored_linked_and_emailed_once(service: Service, client: TestClient, owner: Owner,
                                                        format_: str) -> None:
    _seed(service, owner.project, 150)
    created = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                          json={"format": format_, "type": "orders"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "waiting" and created.json()["url"] is None

    body = _wait_terminal(client, owner, created.json()["id"])
    assert body["status"] == "succeeded", body
    expected_rows = expected_row_count(service, owner.project.id)
    assert body["row_count"] == expected_rows

    download = fetch(client, str(body["url"]).removeprefix("http://testserver"))
    assert download.status_code == 200
    content = download.content
    # The proof of the file, checked against our own hash of the bytes downloaded (xlsx: the zip as
    # written to a stream, whose entries carry data descriptors: readers below must still open it).
    digest = hashlib.sha256(content).digest()
    assert body["sha256"] == digest.hex() and body["size"] == len(content)
    head = client.head(str(body["url"]).removeprefix("http://testserver"))
    assert head.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    if format_ == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert len(rows) == expected_rows + 1
    else:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        assert sum(1 for _ in book.worksheets[0].iter_rows()) == expected_rows + 1  # streamed sheets carry no dimension
        assert book.sheetnames[-1] == "Summary"
    summary = body["summary"]
    assert isinstance(summary, list) and len(summary) == 1
    totals = summary[0]
    assert totals["orders"] == 150 and totals["items"] <= expected_rows

    messages = wait_for(lambda: _outbox(service))
    assert len(messages) == 1
    message = messages[0]
    assert message["To"].addresses[0].addr_spec == "owner@example.com"
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_payload(decode=True) == content
    text = message.get_body(("plain",))
    assert text is not None and f"150 orders, {totals['items']:,} items, orders' total " in text.get_content()

    def emailed() -> bool:
        with service.runtime.sessions() as session:
            row = session.get_one(Export, body["id"])
            return row.email_status == "sent" and row.emailed_at is not None

    wait_for(emailed)  # the message is in the outbox a moment before the row says it was sent


@pytest.mark.usefixtures("consumer")
def test_cancel_during_processing_leaves_no_file_and_sends_no_email(service: Service, client: TestClient,
                                                                    owner: Owner) -> None:
    _seed(service, owner.project, 30_000)
    with service.runtime.sessions() as session:
        staff = accounts.create_user(session, username="staff", email="staff@example.com", is_staff=True)
        client_row, _, _ = accounts.create_client(session, "staff tools")
        staff_headers = {"Authorization": "Bearer " + accounts.issue_tokens(
            session, staff, client_row, service.runtime.settings)["access_token"]}
    export_id = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                            json={"format": "xlsx", "type": "orders"}).json()["id"]

    def running() -> bool:
        with service.runtime.sessions() as session:
            row = session.get_one(Export, export_id)
            return row.status == "processing" and row.rows_done > 0
    wait_for(running, timeout=30, interval=0.01)

    canceled = client.post(f"/v1/exports/{export_id}/cancel", headers=staff_headers)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    temp_dir: Path = service.runtime.storage.temp_dir()
    wait_for(lambda: not list(temp_dir.glob(f"export-{export_id}-*")), timeout=3)  # the worker stopped

    with service.runtime.sessions() as session:
        row = session.get_one(Export, export_id)
        kinds = list(session.scalars(select(ExportEvent.kind).where(ExportEvent.export_id == export_id)))
    assert row.status == "canceled" and row.storage_key is None and row.email_status == "none"
    assert "succeeded" not in kinds
    assert service.runtime.storage.keys(f"exports/{export_id}/") == []
    assert _outbox(service) == []
    assert client.post(f"/v1/exports/{export_id}/cancel", headers=staff_headers).status_code == 409


@pytest.mark.usefixtures("consumer")
def test_a_failed_export_tells_the_owner_why(service: Service, client: TestClient, owner: Owner) -> None:
    with service.runtime.sessions() as session:  # a corrupt project row: the export cannot be made
        session.execute(update(Project).where(Project.id == owner.project.id).values(timezone="Mars/Olympus"))
        session.commit()
    export_id = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                            json={"format": "csv", "type": "orders"}).json()["id"]
    body = _wait_terminal(client, owner, export_id)
    assert body["status"] == "failed" and "Mars/Olympus" in str(body["error"])
    assert body["url"] is None
    messages = wait_for(lambda: _outbox(service))
    assert len(messages) == 1 and not list(messages[0].iter_attachments())
    plain = messages[0].get_body(("plain",))
    assert plain is not None and "Solar Kettle" in plain.get_content()


@pytest.mark.usefixtures("consumer")
def test_metrics_count_exports_durations_and_emails(service: Service, client: TestClient, owner: Owner) -> None:
    _seed(service, owner.project, 30)
    export_id = client.post(f"/v1/projects/{owner.project.id}/exports", headers=owner.headers,
                            json={"format": "csv", "type": "orders"}).json()["id"]
    _wait_terminal(client, owner, export_id)
    wait_for(lambda: _outbox(service))
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
               for line in response.text.splitlines() if line and not line.startswith("#")}
    assert samples['crowdexports_exports{status="succeeded"}'] == 1
    assert samples['crowdexports_exports{status="waiting"}'] == 0
    assert samples["crowdexports_export_duration_seconds_count"] == 1
    assert samples['crowdexports_export_duration_seconds_bucket{le="+Inf"}'] == 1
    assert 0 < samples["crowdexports_export_duration_seconds_sum"] < 60
    assert samples["crowdexports_emails_sent_total"] == 1
    assert samples["crowdexports_email_retries_total"] == 0
    assert samples["crowdexports_queue_depth"] >= 0
    assert samples['crowdexports_webhook_deliveries{status="pending"}'] == 0  # no endpoint: nothing queued
    assert samples['crowdexports_webhook_attempts_total{outcome="delivered"}'] == 0


def test_a_project_without_orders_gives_a_header_only_file_and_an_email(service: Service, owner: Owner) -> None:
    with service.runtime.sessions() as session:
        export_id = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                      format_="csv", columns=None).id
    assert run_export(service.runtime, service.tasks.running, export_id) is Outcome.SUCCEEDED
    assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.SENT
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export_id)
    with service.runtime.storage.open(row.storage_key or "") as stored:
        rows = list(csv.reader(io.StringIO(stored.read().decode("utf-8-sig"), newline="")))
    assert row.row_count == 0 and len(rows) == 1 and rows[0][0] == "Order ID"
    plain = _outbox(service)[0].get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "0 rows" in text


def test_a_filtered_export_has_the_filtered_rows_and_its_email_says_the_filters(service: Service,
                                                                               owner: Owner) -> None:
    _seed(service, owner.project, 120)
    filters = {"status": ["payment-completed"], "has_shipping_address": True}
    with service.runtime.sessions() as session:
        kept = {order_id for order_id, status, address in session.execute(
            select(Order.id, Order.status, Order.shipping_address_id).where(Order.project_id == owner.project.id))
            if status == "payment-completed" and address is not None}
        export_id = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                      format_="csv", columns={"order.id": "id"},
                                      options={"format": {}, "type": {"filters": filters}}).id
    assert run_export(service.runtime, service.tasks.running, export_id) is Outcome.SUCCEEDED
    assert deliver_email(service.runtime, export_id)[0] is EmailOutcome.SENT
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export_id)
        with service.runtime.storage.open(row.storage_key or "") as stored:
            rows = list(csv.reader(io.StringIO(stored.read().decode("utf-8-sig"), newline="")))[1:]
    assert kept and {int(order_id) for (order_id,) in rows} == kept and row.row_count == len(rows)
    plain = _outbox(service)[0].get_body(("plain",))
    assert plain is not None
    assert "Filters: Orders with status payment completed, with a shipping address." in plain.get_content()
