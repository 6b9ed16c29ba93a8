"""Usable by everyone: axe-core finds no violation on any page (both languages), the forms work from the
keyboard alone, everything but the live refresh works with JavaScript off, and the progress bar moves
without a reload with the API's numbers."""

from __future__ import annotations

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from crowdexports.exports import lifecycle
from crowdexports.models import Export, ExportPreset
from crowdexports.runtime import Service
from tests.e2e.test_progress import PAUSE_AT_ROW, Gate
from tests.web.browser.conftest import sign_in
from tests.web.conftest import PASSWORD, Person

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("consumer")]


def _no_violations(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_axe_finds_no_violation_on_any_page(page: Page, served: str, olga: Person, service: Service) -> None:
    assert olga.project is not None
    with service.runtime.sessions() as session:  # a list with every kind of row: waiting, failed, succeeded
        project = session.get_one(type(olga.project), olga.project.id)
        for _ in range(2):
            lifecycle.request(session, project=project, user=olga.user, type_="orders", format_="csv", columns=None)
        preset = ExportPreset(project_id=project.id, name="Monthly", settings={"type": "orders", "format": "xlsx"})
        session.add(preset)  # the presets' list, with "Use" and "Delete", and the form filled from one
        session.commit()
        filled = f"/web/projects/{olga.project.id}?preset={preset.id}"
    page.goto(f"{served}/web/signin")
    _no_violations(page)
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    _no_violations(page)  # with its problem shown
    sign_in(page, served, "olga")
    for lang_switch in (None, "Français"):
        if lang_switch:
            page.get_by_role("button", name=lang_switch).click()
        for path in ("/web/projects", f"/web/projects/{olga.project.id}", filled, "/web/projects/999", "/web/nowhere"):
            page.goto(f"{served}{path}")
            _no_violations(page)
    page.goto(f"{served}/web/projects/{olga.project.id}")
    page.locator("table.columns input[type=checkbox]").first.uncheck()
    page.locator("table.columns input[type=text]").nth(1).fill(" ")
    page.get_by_role("button", name="Demander l’export").click()
    expect(page.get_by_role("alert")).to_be_visible()
    _no_violations(page)  # the form with its problems


def test_the_forms_work_from_the_keyboard_alone(page: Page, served: str, olga: Person, service: Service) -> None:
    assert olga.project is not None
    page.goto(f"{served}/web/signin")
    for _ in range(6):  # the form's first field has the focus (autofocus); else Tab through the header to it
        if page.evaluate("document.activeElement.id") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("olga")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/projects")

    page.goto(f"{served}/web/projects/{olga.project.id}")
    page.get_by_label("CSV (text, for any program)").focus()
    page.keyboard.press("ArrowDown")  # radio buttons move with the arrows: xlsx
    for _ in range(200):  # Tab through every field to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Ask for the export":
            break
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("Your export is on its way")
    with service.runtime.sessions() as session:
        assert session.scalars(select(Export.format)).one() == "xlsx"


def test_sign_in_asking_listing_and_downloading_work_without_javascript(browser: Browser, served: str,
                                                                         olga: Person) -> None:
    assert olga.project is not None
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, served, "olga")
    page.get_by_role("link", name="Solar Kettle").click()
    page.get_by_role("button", name="Ask for the export").click()
    expect(page.get_by_role("status")).to_be_visible()
    row = page.locator("tr[data-export-id]").first
    for _ in range(60):  # no live refresh without JavaScript: the reader reloads
        if row.get_attribute("data-status") == "succeeded":
            break
        page.wait_for_timeout(500)
        page.reload()
    link = row.get_by_role("link", name="Download").get_attribute("href")
    assert link is not None
    downloaded = httpx.get(link, follow_redirects=True)  # scale-out: a redirect to the S3 server
    assert downloaded.status_code == 200 and downloaded.content.startswith(b"\xef\xbb\xbf")
    context.close()


def test_the_progress_bar_moves_without_a_reload_with_the_apis_numbers(
        page: Page, served: str, olga: Person, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    assert olga.project is not None
    gate = Gate()
    gate.install(monkeypatch)
    try:
        sign_in(page, served, "olga")
        page.goto(f"{served}/web/projects/{olga.project.id}")
        page.get_by_role("button", name="Ask for the export").click()
        assert gate.reached.wait(30)
        page.evaluate("window.notReloaded = true")
        bar = page.locator("tr[data-export-id] progress[max]")
        expect(bar).to_have_attribute("value", str(PAUSE_AT_ROW - 1 - (PAUSE_AT_ROW - 1) % 10), timeout=15_000)
        with service.runtime.sessions() as session:
            export = session.scalars(select(Export)).one()
            assert bar.get_attribute("max") == str(export.rows_estimated)
            assert bar.get_attribute("value") == str(export.rows_done)
    finally:
        gate.opened.set()
    expect(page.locator("tr[data-export-id]").first).to_have_attribute("data-status", "succeeded", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
