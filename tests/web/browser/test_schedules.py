"""The "Schedules" section in Chromium: a weekly schedule added from the form, listed in words, paused and
resumed with its buttons; axe-core finds no violation with a schedule and a refused run listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crowdexports.models import ExportSchedule, ExportScheduleRun
from crowdexports.runtime import Service
from tests.web.browser.conftest import sign_in
from tests.web.conftest import Person

pytestmark = pytest.mark.slow


def test_an_owner_adds_pauses_and_resumes_a_schedule(page: Page, served: str, olga: Person,
                                                     service: Service) -> None:
    assert olga.project is not None
    sign_in(page, served, "olga")
    page.goto(f"{served}/web/projects/{olga.project.id}")
    page.get_by_label("How often").select_option("weekly")
    page.get_by_label("At (local time)").fill("07:45")
    page.get_by_label("Weekday (every week)").select_option("friday")
    page.get_by_label("An Excel workbook (xlsx)").check()
    page.get_by_role("button", name="Add the schedule").click()
    expect(page.get_by_text("The schedule is saved")).to_be_visible()
    expect(page.get_by_text("every Friday at 07:45")).to_be_visible()
    with service.runtime.sessions() as session:
        schedule = session.scalars(select(ExportSchedule)).one()
        assert schedule.settings == {"type": "orders", "format": "xlsx"}
        session.add(ExportScheduleRun(schedule_id=schedule.id, slot=datetime(2027, 1, 1, 6, 45, tzinfo=UTC),
                                      error="preset: export preset 9 does not exist"))
        session.commit()
    page.reload()
    expect(page.get_by_text("no export: its settings were refused")).to_be_visible()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("The schedule is paused")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Next run: ")).to_be_visible()
