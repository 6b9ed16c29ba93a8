"""An owner who exists only through the sync API (SPEC §7): PUT user (no password), project and rewards,
orders (by ORM factories until the order import exists), a token minted by the platform, then an export
made by a real worker, downloaded and emailed, with reward texts in the owner's language."""

from __future__ import annotations

import csv
import email
import email.policy
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from crowdexports import accounts
from crowdexports.bootstrap import Service
from crowdexports.models import Project, Reward
from tests.e2e.conftest import wait_for
from tests.factories import make_order, make_user
from tests.servers.s3 import fetch

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
    with service.runtime.sessions() as session:
        project, backer = session.get_one(Project, PROJECT), make_user(session, "backer")
        make_order(session, project, backer, [(session.get_one(Reward, KETTLE), 2)],
                   created_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
        make_order(session, project, backer, [(session.get_one(Reward, SPOON), 1)],
                   created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

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
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
                for path in sorted(folder.glob("*.eml"))] if folder.exists() else []
    [message] = wait_for(outbox)
    assert message["To"].addresses[0].addr_spec == "olga@example.com"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_payload(decode=True) == content
