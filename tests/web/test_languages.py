"""English and French: every message of the templates translated, the switch remembered on the session
(not on the user, whose language the platform owns), and the browser's language before sign-in."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crowdexports.web import i18n
from crowdexports.web.rendering import TEMPLATES
from tests.web.conftest import PASSWORD, Person, csrf_of, make_person, sign_in


def test_every_message_of_the_templates_has_a_french_translation() -> None:
    extracted = {message for _, _, message, _, _ in extract_from_dir(
        str(TEMPLATES), method_map=[("**.j2", "jinja2")], options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}})}
    with (i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {message.id for message in catalog if message.id and message.string and not message.fuzzy}
    assert len(extracted) > 60 and extracted <= translated, sorted(extracted - translated)


def test_the_switch_is_remembered_on_the_session_not_on_the_user(signed_in: TestClient, olga: Person,
                                                                 session: Session) -> None:
    assert "My projects" in signed_in.get("/web/projects").text
    token = csrf_of(signed_in.get("/web/projects"))
    switched = signed_in.post("/web/language", data={"csrf": token, "lang": "fr", "next": "/web/projects"},
                              follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/web/projects"
    page = signed_in.get("/web/projects").text
    assert '<html lang="fr">' in page and "Mes projets" in page
    session.refresh(olga.user)
    assert olga.user.lang == "en"  # emails and default headers keep the user's language


def test_a_new_session_starts_in_the_users_language(client: TestClient, session: Session) -> None:
    make_person(session, "francine", lang="fr")
    sign_in(client, "francine")
    assert "Mes projets" in client.get("/web/projects").text


def test_before_sign_in_the_browsers_language_then_the_link_and_the_form_carry_the_choice(
        client: TestClient, olga: Person) -> None:
    assert "Identifiant" in client.get("/web/signin", headers={"Accept-Language": "fr-CA,en;q=0.5"}).text
    assert "Username" in client.get("/web/signin", headers={"Accept-Language": "de, en;q=0.1, fr;q=0.05"}).text
    form = client.get("/web/signin", params={"lang": "fr"})
    assert "Identifiant" in form.text and 'name="lang" value="fr"' in form.text
    client.post("/web/signin", data={"csrf": csrf_of(form), "username": "olga", "password": PASSWORD, "lang": "fr"})
    assert "Mes projets" in client.get("/web/projects").text  # olga's own language is English
