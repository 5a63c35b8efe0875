"""« Couverture » in Debian's Chromium on a fresh server (tiny database), at 1280x720:
- the map is on screen without scrolling, its key figures and legend beside it, the legend and the zoom
  and scale controls over no territory (canvas pixels), a metric scale, place labels from the data,
  tooltips kept inside the map, panning and zooming never rerun the script while a click does;
- the view lives in the link: the département list follows the région, Back and Forward restore the
  view and its controls, the Fiche CPTS and back keeps the département, the search zooms to a commune.
Screenshots: test-artifacts/couverture-1280x720-*.png."""

from __future__ import annotations

import re

import duckdb
import pytest

from observatory import config
from tests.browser import map_probe
from tests.browser.harness import browser_page, screenshot, streamlit_server
from tests.browser.map_probe import wait_until_idle
from ui.couverture_widgets import profile_page

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 720


def _one(db, query: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()[0][0]
    finally:
        con.close()


def _env(db, tmp_path) -> dict[str, str]:
    return {config.ENV_DB: str(db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


# Canvas pixels under the map's controls (zoom buttons, scale): coloured ones would be territory.
PIXELS_UNDER_CONTROLS = """
() => {
    const canvas = document.querySelector('.leaflet-overlay-pane canvas');
    const c = canvas.getBoundingClientRect(), ctx = canvas.getContext('2d');
    const sx = canvas.width / c.width, sy = canvas.height / c.height;
    let coloured = 0, sampled = 0;
    for (const control of document.querySelectorAll('.leaflet-top.leaflet-right > *')) {
        const r = control.getBoundingClientRect();
        const x = Math.max(0, Math.floor((r.left - c.left) * sx)), y = Math.max(0, Math.floor((r.top - c.top) * sy));
        const w = Math.max(1, Math.ceil(r.width * sx)), h = Math.max(1, Math.ceil(r.height * sy));
        const data = ctx.getImageData(x, y, w, h).data;
        for (let i = 0; i < data.length; i += 4) {
            sampled++;
            if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) coloured++;
        }
    }
    return {coloured, sampled};
}
"""

# The area's communes (département view) fitted beside or below the controls: no commune's box under them.
COMMUNES_UNDER_CONTROLS = """
() => {
    const controls = [...document.querySelectorAll('.leaflet-top.leaflet-right > *')].map(e => e.getBoundingClientRect());
    const map = window.map, origin = map.getContainer().getBoundingClientRect();
    let under = 0, communes = 0;
    map.eachLayer(l => {
        if (!l.feature || !l.feature.properties || !l.feature.properties.commune_code || !l._pxBounds) return;
        communes++;
        const a = map.layerPointToContainerPoint(l._pxBounds.min), b = map.layerPointToContainerPoint(l._pxBounds.max);
        for (const r of controls) {
            if (a.x + origin.left < r.right && b.x + origin.left > r.left && a.y + origin.top < r.bottom
                && b.y + origin.top > r.top) { under++; break; }
        }
    });
    return {under, communes};
}
"""

# Hover a commune at the map's bottom-right corner, where a tooltip would overflow the frame.
TOOLTIP_AT_THE_EDGE = """
async () => {
    const map = window.map, size = map.getSize();
    let best = null, bestScore = -Infinity;
    map.eachLayer(l => {
        if (!l.feature || !l.feature.properties || !l.feature.properties.commune_code || !l.getBounds) return;
        const p = map.latLngToContainerPoint(l.getBounds().getCenter());
        if (p.x > size.x || p.y > size.y) return;
        if (p.x + p.y > bestScore) { bestScore = p.x + p.y; best = l; }
    });
    best.openTooltip(best.getBounds().getCenter());
    await new Promise(r => setTimeout(r, 300));
    const tip = document.querySelector('.leaflet-tooltip');
    const t = tip.getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
    return {inside: t.left >= m.left && t.right <= m.right && t.top >= m.top && t.bottom <= m.bottom,
            text: tip.innerText, tip: [t.left, t.top, t.right, t.bottom], map: [m.left, m.top, m.right, m.bottom]};
}
"""


def test_the_map_fits_the_screen_beside_its_figures_and_reads_well(tiny_db, tmp_path):
    cpts_name = _one(tiny_db, "SELECT name FROM cpts WHERE cpts_id = 'demo-0001'")
    with streamlit_server(_env(tiny_db, tmp_path)) as base, browser_page(WIDTH, HEIGHT) as (page, log):
        watcher = map_probe.RerunWatcher().attach(page)
        page.goto(f"{base}/couverture")  # a deep link on a fresh server
        map_probe.wait_for_view(page, lambda v: True)
        wait_until_idle(page)
        page.get_by_role("heading", name="Couverture du territoire par les CPTS").wait_for()
        screenshot(page, "couverture-1280x720-france")

        # On screen without scrolling: the whole map, its key figures and its legend beside it.
        frame_box = box(page, map_probe.MAP_IFRAME)
        assert frame_box["y"] >= 0 and frame_box["y"] + frame_box["height"] <= HEIGHT, frame_box
        assert frame_box["x"] + frame_box["width"] <= WIDTH
        figures, legend = box(page, ".chiffres-cles"), box(page, ".observatoire-legende")
        assert figures["y"] + figures["height"] <= HEIGHT and figures["x"] >= frame_box["x"] + frame_box["width"]
        assert legend["y"] < HEIGHT and legend["x"] >= frame_box["x"] + frame_box["width"]
        assert "Zone blanche" in page.inner_text(".observatoire-legende") and "CPTS actives" in page.inner_text(
            ".chiffres-cles")

        frame = map_probe.map_frames(page)[0]
        assert frame.locator(".observatoire-legend, .observatoire-legende").count() == 0  # no legend on the map
        under = frame.evaluate(PIXELS_UNDER_CONTROLS)
        assert under["sampled"] > 1000 and under["coloured"] == 0, under  # controls over the sea, not France
        scale = frame.inner_text(".leaflet-control-scale-line")
        assert re.fullmatch(r"\d+ k?m", scale), scale  # metric only (Leaflet also shows miles by default)
        labels = frame.locator(".observatoire-label").all_inner_texts()
        assert "Paris" in labels, labels  # the chef-lieu of Île-de-France, from the communes table

        # Panning and zooming: the map moves, the browser asks the server for no rerun.
        before_view, before_reruns = map_probe.map_view(frame), watcher.count
        map_probe.pan_and_zoom(page, 0)
        page.wait_for_timeout(1500)  # streamlit-folium reports view changes after a debounce
        assert map_probe.map_view(frame) != before_view and watcher.count == before_reruns

        # Département 01: its communes fitted beside or below the controls, labelled, tooltips inside.
        page.goto(f"{base}/couverture?echelle=departement&departement=01")
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("departement|01"))
        map_probe.wait_for_map_drawn(page, 1)
        wait_until_idle(page)
        coverage = map_probe.map_frames(page)[0]
        placed = coverage.evaluate(COMMUNES_UNDER_CONTROLS)
        assert placed["communes"] > 5 and placed["under"] == 0, placed
        tooltip = coverage.evaluate(TOOLTIP_AT_THE_EDGE)
        assert tooltip["inside"], tooltip
        assert "Commune" in tooltip["text"] and "Population" in tooltip["text"]
        assert "Alpha" in coverage.locator(".observatoire-label").all_inner_texts()  # the préfecture of 01
        screenshot(page, "couverture-1280x720-departement")

        # A click on a commune reruns: it selects the commune's CPTS, with a link to its profile.
        before_reruns = watcher.count
        map_probe.click_feature(page, coverage, 0, "01001")
        page.get_by_text(f"{cpts_name} — stade").wait_for(timeout=30000)
        assert watcher.count > before_reruns
        wait_until_idle(page)
        if profile_page() is not None:
            assert page.get_by_text(f"Ouvrir la fiche de {cpts_name}").is_visible()
        assert log.unexpected() == []


def _query(page) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(page.url).query))


def _pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox labelled ``label``."""
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option).click()


def test_the_view_lives_in_the_link(tiny_db, tmp_path):
    with streamlit_server(_env(tiny_db, tmp_path)) as base, browser_page(WIDTH, HEIGHT) as (page, log):
        # Every deep link of the navigation opens its page, /accueil included (the default page is at « / »).
        page.goto(f"{base}/accueil")
        page.get_by_role("heading", name="Observatoire des CPTS").first.wait_for(timeout=60000)
        wait_until_idle(page)
        assert "Page not found" not in page.inner_text("body")

        page.goto(f"{base}/couverture")
        map_probe.wait_for_view(page, lambda v: True)
        wait_until_idle(page)
        assert _query(page)["echelle"] == "france"
        page.get_by_role("radio", name="Région", exact=True).click()
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("region|"))
        wait_until_idle(page)
        assert _query(page)["region"] == "84"  # the first metropolitan région by name, not Guadeloupe

        _pick(page, "Région", "Île-de-France")
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("region|11"))
        wait_until_idle(page)
        page.get_by_role("radio", name="Département", exact=True).click()
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("departement|"))
        wait_until_idle(page)
        assert (_query(page)["region"], _query(page)["departement"]) == ("11", "75")  # the list follows the région
        page.get_by_label("Département").first.click()
        assert page.get_by_role("option").all_inner_texts() == ["75 – Paris"]
        page.keyboard.press("Escape")

        # Back and Forward restore the view, its map and its controls.
        page.go_back()
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("region|11"))
        wait_until_idle(page)
        assert _query(page)["echelle"] == "region"
        assert page.get_by_role("radio", name="Région", exact=True).get_attribute("aria-checked") == "true"
        page.go_back()
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("region|84"))
        wait_until_idle(page)
        page.go_forward()
        map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("region|11"))
        wait_until_idle(page)
        assert _query(page)["region"] == "11"

        # A CPTS of département 01, its profile, back to the map from the menu: the département is kept.
        page.goto(f"{base}/couverture?echelle=departement&departement=01&cpts=demo-0001")
        map_probe.wait_for_view(page, lambda v: v["selected"] == "demo-0001")
        wait_until_idle(page)
        if profile_page() is not None:
            page.get_by_role("link", name=re.compile("^Ouvrir la fiche de")).click()
            page.get_by_role("heading", name="Fiche CPTS").first.wait_for(timeout=60000)
            wait_until_idle(page)
            assert _query(page)["cpts"] == "demo-0001"
            page.get_by_role("link", name="Couverture").click()
            map_probe.wait_for_view(page, lambda v: v["fit_key"].startswith("departement|01"))
            wait_until_idle(page)
            assert (_query(page)["echelle"], _query(page)["departement"]) == ("departement", "01")

        # The search: a commune by name opens in its département, outlined and zoomed to.
        page.get_by_placeholder("Rechercher une commune ou une CPTS").fill("charlie")
        page.keyboard.press("Enter")
        code = _one(tiny_db, "SELECT commune_code FROM communes WHERE name = 'Charlie'")
        _, view = map_probe.wait_for_view(page, lambda v: code in v["fit_key"])
        wait_until_idle(page)
        assert _query(page)["commune"] == code
        assert "Commune trouvée : Charlie" in page.inner_text("body")
        screenshot(page, "couverture-1280x720-recherche")
        assert log.unexpected() == []
