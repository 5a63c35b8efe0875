"""Every page, opened by deep link on a fresh server in Debian's Chromium: it renders its heading and
the browser logs no error (beyond the two documented harmless 404s of deep links)."""

from __future__ import annotations

import pytest

from observatory import config
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app
from ui.navigation import PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_deep_link_on_fresh_server(spec, tiny_db, tmp_path):
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page() as (page, log):
        page.goto(f"{base}/{spec.url_path}")
        wait_for_app(page)
        page.get_by_role("heading", name=spec.heading).first.wait_for(timeout=30000)
        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in body.split(spec.heading)[0]
        # The frame ran: its register selector is in the sidebar, not Streamlit's legacy page list.
        assert "Registre affiché" in body
        screenshot(page, f"smoke-{spec.url_path}")
        assert log.unexpected() == []


# Streamlit's own interface is English; what the observatory can switch off must be off (the menu, the
# tables' « Download as CSV »), and no page may show these words.
ENGLISH = ("Deploy", "Rerun", "Settings", "Print", "Record a screencast", "Clear cache", "Page not found",
           "Download as CSV", "Made with Streamlit", "Developer options", "About")


def test_no_english_in_the_interface(tiny_db, tmp_path):
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page(1280, 720) as (page, log):
        for spec in PAGES:
            page.goto(f"{base}/{spec.url_path}")
            page.get_by_role("heading", name=spec.heading).first.wait_for(timeout=60000)
            wait_for_app(page)
            body = page.inner_text("body")
            assert not [word for word in ENGLISH if word in body], (spec.url_path, body[:500])
            assert page.locator('[data-testid="stMainMenu"]').count() == 0, spec.url_path  # no English menu
            assert page.locator('[data-testid="stToolbarActions"] button').count() == 0, spec.url_path
        assert log.unexpected() == []
