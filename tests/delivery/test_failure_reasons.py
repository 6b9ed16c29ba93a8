"""Failure reasons (exports/failures.py): each one the worker records has its plain sentence said again in
the owner's language, the detail kept; the page and the email show them so."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail, storage
from crowdexports.config import Settings
from crowdexports.errors import Conflict, Unavailable
from crowdexports.exports import failures, lifecycle
from crowdexports.exports.emailing import deliver_email
from crowdexports.runtime import Runtime
from tests.web.conftest import make_person

STORAGE_DETAIL = "Could not store the file: the storage service answered 500 InternalError after 3 attempt(s)."


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=session_factory,
                   storage=storage.from_url(settings.resolved_storage_url),
                   mailer=mail.from_url(None, settings.outbox_dir))


@pytest.mark.parametrize(("recorded", "french"), [
    (failures.failure_of(Unavailable(STORAGE_DETAIL)),
     f"Le fichier n’a pas pu être enregistré : le stockage n’a pas répondu. {STORAGE_DETAIL}"),
    (failures.failure_of(ZeroDivisionError("division by zero")),
     "Une erreur de notre côté a empêché de créer le fichier. (ZeroDivisionError: division by zero)"),
    (failures.worker_lost(3), "L’export n’a pas pu être terminé : son traitement s’est arrêté 3 fois."),
    ("the disk is full", "the disk is full"),  # not built here: as it is
])
def test_each_reason_is_said_in_french_with_its_detail_kept(recorded: str, french: str) -> None:
    assert failures.in_language(recorded, "fr") == french
    assert failures.in_language(recorded, "en") == recorded


def test_a_domain_error_is_recorded_as_its_own_sentence() -> None:
    assert failures.failure_of(Conflict("The project was deleted.")) == "The project was deleted."


def test_the_french_email_of_a_failed_export_gives_the_reason_in_french(runtime: Runtime, session: Session) -> None:
    marie = make_person(session, "marie", lang="fr")
    owner, project = marie.user, marie.project
    assert project is not None
    export = lifecycle.request(session, project=project, user=owner, type_="orders", format_="csv", columns=None)
    claim = lifecycle.claim(session, export.id, worker="test", lease_seconds=30, max_attempts=3)
    assert claim is not None and lifecycle.fail(session, claim, failures.failure_of(Unavailable(STORAGE_DETAIL)))
    deliver_email(runtime, export.id)
    [sent] = list(runtime.settings.outbox_dir.glob("*.eml"))
    text = message_from_bytes(sent.read_bytes(), policy=policy.default).get_body(("plain",))
    assert text is not None
    words = " ".join(text.get_content().replace("\xa0", " ").split())  # French spaces, wrapped lines
    assert f"Raison : Le fichier n’a pas pu être enregistré : le stockage n’a pas répondu. {STORAGE_DETAIL}" in words
