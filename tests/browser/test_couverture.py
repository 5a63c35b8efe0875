"""« Couverture » in Debian's Chromium on a fresh server (tiny database): the France and département maps
draw their polygons, legends are visible, panning and zooming never rerun the script while a click does,
no console error. Screenshots: test-artifacts/couverture-france.png, couverture-departement.png."""

from __future__ import annotations

import time

import duckdb
import pytest

from observatory import config
from tests.browser import map_probe
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app
from ui.couverture_widgets import profile_page

pytestmark = pytest.mark.browser

TALL = 5200  # Streamlit scrolls inside its own container: a tall viewport puts the whole page on the screenshot


def _count(db, query: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute(query).fetchall()[0][0])
    finally:
        con.close()


def test_maps_draw_and_pan_zoom_never_rerun(tiny_db, tmp_path, capsys):
    departements = _count(tiny_db, "SELECT count(*) FROM departements WHERE geometry_wkb IS NOT NULL")
    cpts = _count(
        tiny_db,
        "SELECT count(*) FROM cpts_geometries g JOIN cpts c USING (cpts_id) WHERE c.register_id = 'demo'",
    )
    communes = _count(
        tiny_db,
        """SELECT count(*) FROM communes c JOIN commune_geometries g USING (commune_code)
           WHERE c.is_territorial_unit AND c.departement_code = '01'""",
    )
    cpts_name = (
        duckdb.connect(str(tiny_db), read_only=True)
        .execute("SELECT name FROM cpts WHERE cpts_id = 'demo-0001'")
        .fetchall()[0][0]
    )
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page(height=TALL) as (page, log):
        watcher = map_probe.RerunWatcher().attach(page)

        # France, deep link on a fresh server: every département and every CPTS of the demo register.
        start = time.monotonic()
        page.goto(f"{base}/couverture")
        map_probe.wait_for_map_drawn(page, 0)
        first_draw = time.monotonic() - start
        wait_for_app(page)
        page.get_by_role("heading", name="Couverture du territoire par les CPTS").wait_for()
        france = map_probe.map_frames(page)[0]
        state = map_probe.drawn(france)
        assert map_probe.polygons_drawn(state) == departements + cpts, state
        assert map_probe.legend_visible(france)
        assert "Zone blanche" in france.inner_text(".observatoire-legend")
        assert "Démonstration" in page.inner_text("body")
        screenshot(page, "couverture-france")

        # Panning and zooming: the map moves, the browser asks the server for no rerun.
        before_view, before_reruns = map_probe.map_view(france), watcher.count
        map_probe.pan_and_zoom(page, 0)
        page.wait_for_timeout(1500)  # streamlit-folium reports view changes after a debounce
        assert map_probe.map_view(france) != before_view
        assert watcher.count == before_reruns
        assert page.query_selector('[data-testid="stStatusWidget"]') is None

        # A second navigation (caches warm): the France map's draw time after navigation.
        start = time.monotonic()
        page.goto(f"{base}/couverture")
        map_probe.wait_for_map_drawn(page, 0)
        warm_draw = time.monotonic() - start
        wait_for_app(page)
        with capsys.disabled():
            print(f"\nCarte France dessinée {first_draw:.2f} s après la navigation (serveur neuf), "
                  f"{warm_draw:.2f} s à la navigation suivante")  # fmt: skip
        assert warm_draw < 5

        # Département 01: its communes on the coverage map and on the indicator map, both with a legend.
        page.goto(f"{base}/couverture?echelle=departement&departement=01")
        map_probe.wait_for_map_drawn(page, 0)
        map_probe.wait_for_map_drawn(page, 1)
        wait_for_app(page)
        coverage, indicator = map_probe.map_frames(page)[:2]
        assert map_probe.polygons_drawn(map_probe.drawn(coverage)) == communes
        assert map_probe.polygons_drawn(map_probe.drawn(indicator)) == communes
        assert map_probe.legend_visible(coverage) and map_probe.legend_visible(indicator)
        assert "moins de 2,5" in indicator.inner_text(".observatoire-legend")
        screenshot(page, "couverture-departement")

        # A click on a commune does rerun: it selects the commune's CPTS (positive control of the watcher).
        before_reruns = watcher.count
        map_probe.click_feature(page, coverage, 0, "01001")
        page.get_by_text(f"{cpts_name} — stade").wait_for(timeout=30000)
        assert watcher.count > before_reruns
        wait_for_app(page)
        if profile_page() is not None:
            assert page.get_by_text(f"Ouvrir la fiche de {cpts_name}").is_visible()
        assert log.unexpected() == []
