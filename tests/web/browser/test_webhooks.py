"""The "Webhooks" page in Debian's Chromium (issue 17): reached from the menu, an endpoint registered from
the keyboard-usable form with its secret shown once, then deleted; axe-core finds no violation on the way,
in English and in French."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.web.browser.conftest import sign_in
from tests.web.conftest import Person

pytestmark = pytest.mark.slow

URL = "https://books.example/hooks/crowdexports"


def _no_violations(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_an_endpoint_is_registered_and_deleted_from_the_page(page: Page, served: str, olga: Person,
                                                              screenshots: Path) -> None:
    sign_in(page, served, "olga")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    _no_violations(page)
    page.get_by_label("URL (https://…)").fill(URL)
    page.get_by_label("fails").check()
    page.get_by_label("About").select_option(label="Solar Kettle")
    page.get_by_role("button", name="Register", exact=True).click()
    secret = page.get_by_label("Signing secret")
    expect(secret).to_have_value(re.compile(r"^whsec_.+"))
    expect(page.locator(".endpoint-url")).to_have_text(URL)
    _no_violations(page)
    page.screenshot(path=str(screenshots / "webhooks.png"), full_page=True)
    page.goto(f"{served}/web/webhooks")
    expect(page.get_by_label("Signing secret")).to_have_count(0)
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", name="Vos adresses")).to_be_visible()
    _no_violations(page)
    page.get_by_role("button", name=f"Supprimer l’adresse {URL}").click()
    expect(page.get_by_role("status")).to_contain_text("plus rien ne lui est envoyé")
    expect(page.locator(".endpoint-url")).to_have_count(0)
