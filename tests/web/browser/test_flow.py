"""End to end in Chromium: an owner signs in, asks for a csv of three renamed columns, watches it reach
`succeeded` without reloading, downloads it and reads it back; another owner's project is the page of a
missing one. The screenshots of README's "The page" are taken here (written there by `make screenshots`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crowdexports.runtime import Service
from tests.e2e.conftest import expected_row_count
from tests.web.browser.conftest import sign_in
from tests.web.conftest import Person, make_person

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("consumer")]


@pytest.fixture
def boris(service: Service) -> Person:
    with service.runtime.sessions() as session:
        return make_person(session, "boris", project="Wind Spoon")


def _rename(page: Page, label: str, header: str, position: int) -> None:
    row = page.locator("table.columns tr").filter(has=page.get_by_label(label, exact=True))
    row.get_by_role("textbox").fill(header)
    row.get_by_role("spinbutton").fill(str(position))


def test_an_owner_asks_for_a_csv_watches_it_succeed_and_downloads_it(page: Page, served: str, olga: Person,
                                                                     service: Service, screenshots: Path) -> None:
    assert olga.project is not None
    page.goto(f"{served}/web/projects")  # no session: the sign-in page
    expect(page).to_have_url(f"{served}/web/signin?next=/web/projects")
    page.screenshot(path=str(screenshots / "signin.png"))
    sign_in(page, served, "olga")
    expect(page.get_by_role("cell", name="120")).to_be_visible()
    page.screenshot(path=str(screenshots / "my-projects.png"))
    page.get_by_role("link", name="Solar Kettle").click()

    page.locator("table.columns input[type=checkbox]").evaluate_all("boxes => boxes.forEach(b => b.checked = false)")
    for label, header, position in (("Order total", "Paid", 3), ("Order ID", "Order", 1), ("Email", "Mail", 2)):
        page.get_by_label(label, exact=True).check()
        _rename(page, label, header, position)
    page.get_by_role("button", name="Ask for the export").click()
    expect(page.get_by_role("status")).to_contain_text("Your export is on its way")
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again
    row = page.locator("tr[data-export-id]").first
    expect(row).to_have_attribute("data-status", "succeeded", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the list in place
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    page.locator("#exports").screenshot(path=str(screenshots / "exports.png"))
    page.screenshot(path=str(screenshots / "project.png"), full_page=True)

    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Order", "Mail", "Paid"]
    assert len(rows) == expected_row_count(service, olga.project.id) + 1


def test_another_owners_project_is_the_page_of_a_missing_one(page: Page, served: str, olga: Person,
                                                             boris: Person) -> None:
    assert boris.project is not None
    sign_in(page, served, "olga")
    answer = page.goto(f"{served}/web/projects/{boris.project.id}")
    assert answer is not None and answer.status == 404
    others = page.locator("main").inner_text()
    missing_answer = page.goto(f"{served}/web/projects/123456789")
    assert missing_answer is not None and missing_answer.status == 404
    assert page.locator("main").inner_text() == others and "Wind Spoon" not in others
