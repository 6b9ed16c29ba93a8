"""An owner who exists only through the sync API (SPEC §7): PUT user (no password), project and rewards,
orders imported as JSON lines (with their backer embedded), a token minted by the platform, then an
export made by a real worker, downloaded and emailed, with reward texts in the owner's language."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json

import pytest
from fastapi.testclient import TestClient

from crowdexports.auth import accounts
from crowdexports.runtime import Service
from tests.e2e.conftest import wait_for
from tests.servers.s3 import fetch

pytestmark = pytest.mark.slow  # a wired service with a real consumer

OWNER, PROJECT, KETTLE, SPOON = 4242, 8080, 3030, 3031


@pytest.mark.usefixtures("consumer")
def test_a_synced_owner_exports_their_orders_with_a_platform_token(service: Service, client: TestClient) -> None:
    with service.runtime.sessions() as session:
        staff = accounts.create_user(session, username="platform", email="platform@example.com", is_staff=True)
        staff_bearer = {"Authorization": "Bearer " + accounts.issue_tokens(
            session, staff, None, service.runtime.settings)["access_token"]}

    def sync(kind: str, resource_id: int, body: dict[str, object]) -> None:
        response = client.put(f"/v1/{kind}/{resource_id}", json=body, headers=staff_bearer)
        assert response.status_code == 201, response.text

    sync("users", OWNER, {"username": "olga", "email": "olga@example.com", "first_name": "Olga",
                          "last_name": "Owner", "lang": "fr"})
    sync("projects", PROJECT, {"owner_id": OWNER, "name": "Bouilloire solaire", "currency": "KWD",
                               "timezone": "Asia/Kuwait", "lang": "en"})
    sync("rewards", KETTLE, {"project_id": PROJECT, "price": "12.345",
                             "title": {"en": "Early bird", "fr": "<b>Lève-tôt</b> &amp; café"},
                             "description": {"fr": "<p>Une bouilloire</p><p>solaire</p>"}})
    sync("rewards", SPOON, {"project_id": PROJECT, "price": 0.5, "title": {"de": "Nur <i>Deutsch</i>"}})
    backer = {"id": 5151, "username": "bob", "email": "bob@example.com", "first_name": "Bob", "last_name": "Backer",
              "lang": "en", "avatar": "https://example.com/bob.png"}  # a Ulule field we do not keep: ignored
    lines = [{"id": 7001, "user": backer, "created_at": "2026-03-01T09:00:00+00:00", "status": "payment-completed",
              "payment_method": "creditcard", "order_total": "24.690", "order_subtotal": "24.690",
              "order_shipping_total": 0, "items": [{"reward_id": KETTLE, "quantity": 2, "unit_price": "12.345",
                                                    "line_total": "24.690", "line_shipping_total": 0}]},
             {"id": 7002, "user_id": 5151, "created_at": "2026-03-02T12:00:00+03:00", "status": "payment-completed",
              "payment_method": "creditcard", "order_total": 0.5, "order_subtotal": 0.5, "order_shipping_total": 0,
              "items": [{"reward_id": SPOON, "quantity": 1, "unit_price": 0.5, "line_total": 0.5,
                         "line_shipping_total": 0}]}]
    imported = client.post(f"/v1/projects/{PROJECT}/orders/import", headers={
        **staff_bearer, "Content-Type": "application/x-ndjson"},
        content="".join(json.dumps(line) + "\n" for line in lines).encode())
    assert imported.status_code == 200, imported.text

    minted = client.post(f"/v1/users/{OWNER}/tokens", headers=staff_bearer)
    assert minted.status_code == 200, minted.text
    owner = {"Authorization": f"Bearer {minted.json()['access_token']}"}
    columns = {"order.reward.title": "Title", "order.reward.description": "Description",
               "order.reward.price": "Price", "order.reward.total": "Total"}
    created = client.post(f"/v1/projects/{PROJECT}/exports", headers=owner,
                          json={"format": "csv", "type": "orders", "columns": columns})
    assert created.status_code == 201, created.text
    assert created.json()["user"]["id"] == OWNER and created.json()["user"]["email"] == "olga@example.com"

    def finished() -> dict[str, object] | None:
        body = client.get(f"/v1/exports/{created.json()['id']}", headers=owner).json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None
    done = wait_for(finished, timeout=30)
    assert done["status"] == "succeeded", done

    content = fetch(client, str(done["url"]).removeprefix("http://testserver")).content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows == [["Title", "Description", "Price", "Total"],
                    ["Lève-tôt & café", "Une bouilloire\nsolaire", "12.345", "24.690"],  # owner's language: fr
                    ["Nur Deutsch", "", "0.500", "0.500"]]  # no fr, no en (the project's): any language

    def outbox() -> list[email.message.EmailMessage]:
        folder = service.runtime.settings.outbox_dir
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(folder.glob("*.eml"))] if folder.exists() else []
    [message] = wait_for(outbox)
    assert message["To"].addresses[0].addr_spec == "olga@example.com"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_payload(decode=True) == content
