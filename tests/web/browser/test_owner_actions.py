"""The owner's Cancel and Retry in Chromium (issue 15): cancel a running export after the confirmation,
retry it, and see each row name the other; axe-core finds no violation on the project's page with its
buttons nor on the confirmation, in either language. No worker runs here: a claimed export stays
`processing` and a retry stays `waiting`."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from crowdexports.exports import lifecycle
from crowdexports.models import Export, Project
from crowdexports.runtime import Service
from tests.web.browser.conftest import sign_in
from tests.web.conftest import make_person

pytestmark = pytest.mark.slow


@pytest.fixture
def running(service: Service) -> tuple[Project, int]:
    with service.runtime.sessions() as session:
        olga = make_person(session, "olga")
        assert olga.project is not None
        export = lifecycle.request(session, project=olga.project, user=olga.user, type_="orders", format_="csv",
                                   columns=None)
        claim = lifecycle.claim(session, export.id, worker="worker-1", lease_seconds=3600, max_attempts=3)
        assert claim is not None
        return olga.project, export.id


def test_the_owner_cancels_then_retries(page: Page, served: str, running: tuple[Project, int],
                                        service: Service) -> None:
    project, export_id = running
    sign_in(page, served, "olga")
    page.goto(f"{served}/web/projects/{project.id}")
    page.get_by_role("link", name=f"Cancel export {export_id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Cancel export {export_id} of project Solar Kettle?")
    page.get_by_role("button", name=f"Cancel export {export_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Export {export_id} is canceled")
    expect(page.locator(f'tr[data-export-id="{export_id}"]')).to_have_attribute("data-status", "canceled")
    page.get_by_role("button", name=f"Retry export {export_id}").click()
    expect(page.get_by_role("status")).to_contain_text("Your export is on its way")
    with service.runtime.sessions() as session:
        retried = session.get_one(Export, export_id + 1)
    assert (retried.retry_of, retried.status) == (export_id, "waiting")
    expect(page.locator(f'tr[data-export-id="{retried.id}"]')).to_contain_text(f"Retry of export {export_id}")
    expect(page.locator(f'tr[data-export-id="{export_id}"]')).to_contain_text(f"Retried as export {retried.id}")


def test_axe_finds_no_violation_on_the_owners_buttons_and_confirmation(page: Page, served: str,
                                                                       running: tuple[Project, int]) -> None:
    project, export_id = running
    sign_in(page, served, "olga")
    for lang_switch in (None, "Français"):
        if lang_switch:
            page.get_by_role("button", name=lang_switch).click()
        for path in (f"/web/projects/{project.id}", f"/web/projects/{project.id}/exports/{export_id}/cancel"):
            page.goto(served + path)
            results = Axe().run(page)
            assert results.violations_count == 0, results.generate_report()
