"""The staff pages in Chromium: staff find a running export among every owner's, cancel it after the
confirmation and see it canceled; the same from the keyboard alone; axe-core finds no violation on the
staff pages in either language. No worker runs here, so a claimed export stays `processing`. The README's
`staff.png` is taken here (written there by `make screenshots`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from crowdexports.exports import lifecycle
from crowdexports.models import Export
from crowdexports.runtime import Service
from tests.web.browser.conftest import sign_in
from tests.web.conftest import PASSWORD, Person, make_person

pytestmark = pytest.mark.slow


@dataclass
class Exports:
    waiting: int
    running: int
    succeeded: int


def _request(session: Session, person: Person) -> Export:
    assert person.project is not None
    return lifecycle.request(session, project=person.project, user=person.user, type_="orders", format_="csv",
                             columns=None)


@pytest.fixture
def exports(service: Service) -> Exports:
    """Exports of two owners, one of each kind a staff member looks at; stella is staff."""
    with service.runtime.sessions() as session:
        olga, boris = make_person(session, "olga"), make_person(session, "boris", project="Wind Spoon")
        make_person(session, "stella", is_staff=True, project=None)
        done = _request(session, boris)
        claim = lifecycle.claim(session, done.id, worker="worker-1", lease_seconds=3600, max_attempts=3)
        assert claim is not None and lifecycle.succeed(
            session, claim, storage_key="none", file_name="orders.csv", size=2048, row_count=40,
            sha256="0" * 64, expires_at=datetime.now(UTC) + timedelta(days=7))
        waiting = _request(session, olga)
        running = _request(session, olga)
        claim = lifecycle.claim(session, running.id, worker="worker-2", lease_seconds=3600, max_attempts=3)
        assert claim is not None
        lifecycle.renew(session, claim, lease_seconds=3600, rows_done=300, rows_estimated=1200)
        return Exports(waiting.id, running.id, done.id)


def _status(service: Service, export_id: int) -> str:
    with service.runtime.sessions() as session:
        return session.get_one(Export, export_id).status


def test_staff_find_a_running_export_and_cancel_it(page: Page, served: str, exports: Exports, service: Service,
                                                   screenshots: Path) -> None:
    sign_in(page, served, "stella")
    page.get_by_role("link", name="All exports").click()
    expect(page.locator("tr[data-export-id]")).to_have_count(3)
    page.screenshot(path=str(screenshots / "staff.png"), full_page=True)
    page.get_by_label("Status").select_option("processing")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr[data-export-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-status", "processing")
    rows.first.get_by_role("link", name=f"Export {exports.running}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Export {exports.running}")
    expect(page.locator("code", has_text="claimed")).to_be_visible()
    page.get_by_role("link", name="Cancel export").click()
    question = f"Cancel export {exports.running} of project Solar Kettle?"
    expect(page.get_by_role("heading", level=1)).to_have_text(question)
    page.get_by_role("button", name=f"Cancel export {exports.running}").click()
    expect(page.get_by_role("status")).to_have_text(f"Export {exports.running} canceled.")
    expect(page.locator(".facts .badge")).to_have_text("canceled")
    expect(page.locator("code", has_text="canceled")).to_be_visible()
    assert _status(service, exports.running) == "canceled" and _status(service, exports.waiting) == "waiting"


def _tab_to(page: Page, text: str) -> None:
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text!r} never had the focus")


def test_filtering_and_cancelling_work_from_the_keyboard_alone(page: Page, served: str, exports: Exports,
                                                              service: Service) -> None:
    page.goto(f"{served}/web/signin")
    page.get_by_label("Username").focus()
    page.keyboard.type("stella")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/projects")
    _tab_to(page, "All exports")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/staff/exports")
    for _ in range(40):  # to the status filter, then "waiting" with the arrow
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "status":
            break
    page.keyboard.press("ArrowDown")
    _tab_to(page, "Filter")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/staff/exports?status=waiting*")
    expect(page.locator("tr[data-export-id]")).to_have_count(1)
    _tab_to(page, f"Export {exports.waiting}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/staff/exports/{exports.waiting}")
    _tab_to(page, "Cancel export")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served}/web/staff/exports/{exports.waiting}/cancel")
    _tab_to(page, f"Cancel export {exports.waiting}")
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_have_text(f"Export {exports.waiting} canceled.")
    assert _status(service, exports.waiting) == "canceled"


def _no_violations(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_axe_finds_no_violation_on_the_staff_pages(page: Page, served: str, exports: Exports) -> None:
    sign_in(page, served, "stella")
    for lang_switch in (None, "Français"):
        if lang_switch:
            page.get_by_role("button", name=lang_switch).click()
        for path in ("/web/staff/exports", "/web/staff/exports?created_from=yesterday&status=lost&project=x",
                     "/web/staff/exports?owner=nobody", f"/web/staff/exports/{exports.running}",
                     f"/web/staff/exports/{exports.succeeded}", f"/web/staff/exports/{exports.running}/cancel",
                     f"/web/staff/exports/{exports.succeeded}/cancel"):
            page.goto(f"{served}{path}")
            _no_violations(page)
