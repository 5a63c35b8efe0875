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
