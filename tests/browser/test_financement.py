"""« Financement » in Debian's Chromium: a shared scenario link (a merger, with its hypotheses) opened on a
fresh server shows the scenario, and the address the page settles on reopens the same scenario in another
browser session. Screenshot at 1440×900 in test-artifacts/, no console error."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

import pytest
from openpyxl import load_workbook

from observatory import config
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app
from tests.funding_fixtures import ALPHA, BETA, make_funding_db

pytestmark = pytest.mark.browser
PORT = int(os.environ.get("OBSERVATOIRE_FINANCEMENT_PORT", "8621"))  # the range given to this page's work
SHARED = f"financement?echelle=departement&departement=75&grille=aci-2022-avenant2&scenario=fusion&fusion={ALPHA},{BETA}"


def _expect_merger(page) -> None:
    page.get_by_role("heading", name="Financement des CPTS").first.wait_for(timeout=30000)
    page.get_by_text("Fusion de 2 CPTS").first.wait_for(timeout=30000)
    page.get_by_text("Population des CPTS concernées conservée : 100 000 habitants").first.wait_for(timeout=30000)
    chosen = page.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "CPTS Alpha" in chosen and "CPTS Bêta" in chosen
    assert page.get_by_role("radio", name="Fusionner des CPTS").is_checked()


def test_a_shared_scenario_link_reopens_the_same_merger(tmp_path):
    db = make_funding_db(tmp_path / "observatoire.duckdb")
    env = {config.ENV_DB: str(db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env, port=PORT) as base:
        with browser_page(width=1440, height=900) as (page, log):
            page.goto(f"{base}/{SHARED}")  # a deep link on a fresh server
            wait_for_app(page)
            _expect_merger(page)
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.wait_for(timeout=30000)
            assert chart.locator("canvas, svg").count() > 0  # the threshold chart is drawn
            body = page.inner_text("body")
            assert "Traceback" not in body and "Où les seuils mordent" in body
            settled = page.url
            query = parse_qs(urlparse(settled).query)
            assert query["scenario"] == ["fusion"] and query["fusion"] == [f"{ALPHA},{BETA}"]
            assert query["departement"] == ["75"] and query["grille"] == ["aci-2022-avenant2"]
            screenshot(page, "financement-fusion")
            # The workbook of the scenario: its parameters (with the link) and its tables.
            with page.expect_download(timeout=30000) as download:
                page.get_by_role("button", name="Classeur XLSX (toutes les tables)").click()
            assert download.value.suggested_filename.endswith(".xlsx")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            book = load_workbook(saved)
            assert {"Scénario", "CPTS", "Scénario avant-après", "Couverture avant-après"} <= set(book.sheetnames)
            parameters = {row[0].value: row[1].value for row in book["Scénario"].iter_rows(min_row=2)}
            assert "fusion=" in parameters["Lien du scénario"] and "démonstration" in parameters["Registre"]
            after = [r for r in book["Scénario avant-après"].iter_rows(values_only=True) if r[0] == "Après"]
            assert after and after[0][3] == "Taille 3"
            assert log.unexpected() == []
        with browser_page(width=1440, height=900) as (page, log):  # another person opens the shared address
            page.goto(settled)
            wait_for_app(page)
            _expect_merger(page)
            assert log.unexpected() == []
