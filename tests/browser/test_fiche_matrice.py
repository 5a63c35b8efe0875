"""The « Fiche CPTS » and the « Matrice » in presentation mode, in Debian's Chromium on a fresh server:
the profile draws its map and charts, the presentation hides the navigation and steps through the
dimensions with the keyboard; screenshots kept in test-artifacts/, no console error."""

from __future__ import annotations

import os

import pytest

from observatory import config
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app
from tests.browser.map_probe import polygons_drawn, wait_for_map_drawn

pytestmark = pytest.mark.browser


def _env(tiny_db, tmp_path) -> dict[str, str]:
    # OBSERVATOIRE_BROWSER_DB: look at the pages on another database (a COPY of the real one), by hand.
    db = os.environ.get("OBSERVATOIRE_BROWSER_DB", str(tiny_db))
    return {config.ENV_DB: db, config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}


def test_profile_page_draws_its_map_and_charts(tiny_db, tmp_path):
    with streamlit_server(_env(tiny_db, tmp_path)) as base, browser_page(height=4400) as (page, log):  # tall: the whole profile in the picture
        page.goto(f"{base}/fiche-cpts")  # a deep link on a fresh server
        wait_for_app(page)
        page.get_by_role("heading", name="Fiche CPTS").first.wait_for(timeout=30000)
        page.get_by_role("heading", name="Auto-évaluation").first.wait_for(timeout=30000)
        _, state = wait_for_map_drawn(page)
        assert polygons_drawn(state) > 0
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.nth(2).wait_for(timeout=30000)  # timeline, two radars, history
        assert charts.count() >= 3
        page.wait_for_timeout(800)  # let the charts finish drawing before the picture
        body = page.inner_text("body")
        assert "Traceback" not in body and "Financement ACI" in body and "Structure par âge" in body
        assert "cpts=" in page.url  # the address carries the CPTS: a shareable link
        screenshot(page, "fiche-cpts")
        assert log.unexpected() == []


def test_matrix_presentation_mode_hides_the_navigation_and_steps_with_the_keyboard(tiny_db, tmp_path):
    with streamlit_server(_env(tiny_db, tmp_path)) as base, browser_page(width=1600, height=1000) as (page, log):
        page.goto(f"{base}/matrice?presentation=1")
        wait_for_app(page)
        page.get_by_role("heading", name="Matrice des contraintes d'action").first.wait_for(timeout=30000)
        page.get_by_text("1/3 · Structure").first.wait_for(timeout=30000)
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no page navigation
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.count() == 0 or (sidebar.first.get_attribute("data-collapsed") == "true"
                                        and not sidebar.first.is_visible())
        matrices = page.locator(".cpts-matrix")
        matrices.nth(1).locator(".cm-el").nth(23).wait_for(timeout=30000)
        assert matrices.count() == 2  # the current row in large type, then the whole matrix
        assert matrices.nth(1).locator(".cm-el").count() == 24  # the 24 elements of Figure 6
        page.get_by_role("heading", name="Matrice des contraintes d'action").first.click()  # focus the page, not a widget
        page.keyboard.press("ArrowRight")
        page.get_by_text("2/3 · Processus").first.wait_for(timeout=30000)
        wait_for_app(page)
        assert page.locator(".cpts-matrix").last.locator("tr.cm-highlight th").first.inner_text() == "Processus"
        assert page.locator(".cpts-matrix").first.locator("th[scope=row]").all_inner_texts() == ["Processus"]
        screenshot(page, "matrice-presentation")
        assert log.unexpected() == []
