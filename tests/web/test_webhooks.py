"""The "Webhooks" page (issue 17): an owner's endpoints with their state and latest attempts, registering
one (the API's rules; the secret shown once, on the answer only), deleting one; nobody else's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import WebhookEndpoint
from crowdexports.webhooks import deliveries
from crowdexports.webhooks.sending import Answer
from tests.web.conftest import Person, csrf_of, make_person, project_of, sign_in

URL = "https://books.example/hooks/crowdexports"


def _register(client: TestClient, **fields: Any) -> Response:
    token = csrf_of(client.get("/web/webhooks"))
    return client.post("/web/webhooks", data={"csrf": token, "url": URL, "event": ["export.succeeded"], **fields},
                       follow_redirects=False)


def test_an_owner_registers_an_endpoint_and_sees_its_secret_once(signed_in: TestClient, olga: Person,
                                                                 session: Session) -> None:
    made = _register(signed_in, event=["export.succeeded", "export.canceled"], project_id=str(project_of(olga).id))
    assert made.status_code == 201, made.text
    endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert (endpoint.user_id, endpoint.url, endpoint.events, endpoint.project_id) == (
        olga.user.id, URL, ["export.succeeded", "export.canceled"], project_of(olga).id)
    assert endpoint.secret in made.text and "shown this once" in made.text
    shown = signed_in.get("/web/webhooks").text
    assert URL in shown and "Solar Kettle" in shown and "enabled" in shown and endpoint.secret not in shown
    assert "Nothing sent to it yet." in shown


def test_a_refused_endpoint_says_why_and_makes_nothing(signed_in: TestClient, boris: Person,
                                                       session: Session) -> None:
    for fields, words in (({"url": "https://127.0.0.1/hook"}, "url: "), ({"event": []}, "events: "),
                          ({"url": URL + "\u202e"}, "url: "),
                          ({"project_id": str(project_of(boris).id)}, "not one of yours"),
                          ({"project_id": "abc"}, "project_id: ")):
        refused = _register(signed_in, **fields)
        assert refused.status_code == 400 and words in refused.text, (fields, refused.text[-2000:])
        assert "was not registered" in refused.text
    assert session.scalars(select(WebhookEndpoint)).all() == []


def test_the_latest_attempts_are_listed_and_a_disabled_endpoint_says_why(signed_in: TestClient, olga: Person,
                                                                         session: Session) -> None:
    _register(signed_in)
    endpoint = session.scalars(select(WebhookEndpoint)).one()
    export = lifecycle.request(session, project=project_of(olga), user=olga.user, type_="orders", format_="csv",
                               columns=None)
    now = datetime.now(UTC)
    [delivery_id] = deliveries.enqueue(session, export_id=export.id, project_id=export.project_id,
                                       owner_id=olga.user.id, event="export.succeeded", now=now)
    session.commit()
    delivery = deliveries.claim(session, delivery_id, now)
    assert delivery is not None
    deliveries.record(session, delivery, Answer(503, None, 40), now, now)
    shown = signed_in.get("/web/webhooks").text
    assert "HTTP 503" in shown and "will be tried again" in shown and delivery.event_id in shown
    endpoint.disabled_at, endpoint.disabled_reason = now, "every attempt failed for 3 days; the last: HTTP 503"
    session.commit()
    shown = signed_in.get("/web/webhooks").text
    assert "disabled" in shown and "every attempt failed for 3 days" in shown


def test_only_the_owner_deletes_an_endpoint(client: TestClient, olga: Person, boris: Person,
                                            session: Session) -> None:
    sign_in(client, "olga")
    _register(client)
    endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    client.post("/web/signout", data={"csrf": csrf_of(client.get("/web/webhooks"))})
    sign_in(client, "boris")
    assert URL not in client.get("/web/webhooks").text
    token = csrf_of(client.get("/web/webhooks"))
    assert client.post(f"/web/webhooks/{endpoint_id}/delete", data={"csrf": token}).status_code == 404
    assert client.post("/web/webhooks/x/delete", data={"csrf": token}).status_code == 404
    assert session.scalars(select(WebhookEndpoint.id)).one() == endpoint_id
    client.post("/web/signout", data={"csrf": token})
    sign_in(client, "olga")
    token = csrf_of(client.get("/web/webhooks"))
    assert client.post(f"/web/webhooks/{endpoint_id}/delete", data={"csrf": "0" * 64}).status_code != 303
    deleted = client.post(f"/web/webhooks/{endpoint_id}/delete", data={"csrf": token}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/web/webhooks?notice=deleted"
    session.expire_all()
    assert session.scalars(select(WebhookEndpoint.id)).all() == []
    assert "nothing more is sent to it" in client.get(deleted.headers["location"]).text


def test_a_form_without_the_sessions_token_and_a_visitor_change_nothing(client: TestClient, olga: Person,
                                                                        session: Session) -> None:
    assert client.get("/web/webhooks", follow_redirects=False).status_code == 303
    sign_in(client, "olga")
    forged = client.post("/web/webhooks", data={"csrf": "0" * 64, "url": URL, "event": ["export.failed"]})
    assert forged.status_code != 201
    assert session.scalars(select(WebhookEndpoint)).all() == []


def test_the_page_in_french(client: TestClient, session: Session) -> None:
    make_person(session, "francine", lang="fr")
    sign_in(client, "francine")
    page = client.get("/web/webhooks").text
    assert "Enregistrer une adresse" in page and re.search(r'aria-current="page">Webhooks<', page)
