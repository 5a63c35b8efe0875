"""The injection reproductions of the hardening issue, in Debian's Chromium on a fresh server:

* a CPTS named ``<img src=x onerror=...>`` in an imported register: hovering its commune on the Fiche
  CPTS map shows the name as text, and no script runs (neither in the map frame nor in the app page);
* ``?cpts=![p](http://127.0.0.1:9/x.png)`` on the Fiche CPTS and the Matrice: the browser requests
  nothing outside the app and shows no outside link or image;
* the server starts without looking up its public address on an outside service.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from observatory import config
from tests.browser.harness import REPO_ROOT, browser_page, free_port, screenshot, streamlit_server, wait_for_app
from tests.browser.map_probe import map_frames, wait_for_map_drawn
from tests.hostile import HOSTILE_CPTS_NAMES, OUTSIDE, hostile_register_db

pytestmark = pytest.mark.browser

PWNED_JS = "() => [window.pwned || null, document.title]"


@pytest.fixture(scope="module")
def hostile(tiny_db, tmp_path_factory):
    return hostile_register_db(tiny_db, tmp_path_factory.mktemp("hostile-browser"))


def test_a_hostile_name_in_a_map_tooltip_is_text(hostile, tmp_path):
    db, register_id, ids = hostile
    env = {config.ENV_DB: str(db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page(width=1280, height=1600) as (page, log):
        page.goto(f"{base}/fiche-cpts?registre={register_id}&cpts={ids['img']}")
        wait_for_app(page)
        page.get_by_role("heading", name=HOSTILE_CPTS_NAMES["img"]).first.wait_for(timeout=30000)
        wait_for_map_drawn(page)
        frame = map_frames(page)[0]
        # Where the hostile CPTS's commune is drawn (SVG or canvas alike): ask Leaflet for a point inside it.
        point = frame.evaluate("""() => {
            let found = null;
            window.map.eachLayer(l => {
                if (!found && l.feature && JSON.stringify(l.feature.properties).includes('lt;img') && l.getBounds) {
                    found = window.map.latLngToContainerPoint(l.getBounds().getCenter());
                }
            });
            return found && {x: found.x, y: found.y};
        }""")
        assert point, "commune de la CPTS introuvable sur la carte"
        box = page.locator('iframe[title="streamlit_folium.st_folium"]').first.bounding_box()
        page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
        page.mouse.move(box["x"] + point["x"] + 2, box["y"] + point["y"] + 1)
        frame.locator(".leaflet-tooltip").first.wait_for(timeout=10000)
        tooltip_text = frame.locator(".leaflet-tooltip").first.inner_text()
        assert HOSTILE_CPTS_NAMES["img"] in tooltip_text  # the name, shown as text
        assert frame.locator(".leaflet-tooltip img").count() == 0  # no element was created from it
        page.wait_for_timeout(500)
        assert frame.evaluate(PWNED_JS) == [None, frame.evaluate("() => document.title")]
        assert page.evaluate(PWNED_JS)[0] is None and page.evaluate("() => document.title") != "pwned"
        header = page.get_by_role("heading", name=HOSTILE_CPTS_NAMES["img"]).first
        assert header.locator("img").count() == 0
        # The register's name holds a Markdown link and a bare URL: shown as text, never as a link.
        assert page.locator('a[href*="127.0.0.1:9"]').count() == 0
        assert "[lien](http://127.0.0.1:9/r)" in page.inner_text("body").replace("\u2060", "")
        screenshot(page, "securite-infobulle")
        assert log.unexpected() == []


@pytest.mark.parametrize("url_path", ["fiche-cpts", "matrice"])
def test_a_markdown_image_in_a_link_fetches_nothing(url_path, tiny_db, tmp_path):
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page(width=1280, height=900) as (page, log):
        page.goto(f"{base}/{url_path}?cpts=![p]({OUTSIDE}/x.png)&registre=[r]({OUTSIDE}/r)")
        wait_for_app(page)
        page.get_by_text("identifiant de CPTS invalide").first.wait_for(timeout=30000)
        page.wait_for_timeout(1000)
        assert page.locator(f'img[src^="{OUTSIDE}"]').count() == 0
        assert page.locator(f'a[href^="{OUTSIDE}"]').count() == 0
        screenshot(page, f"securite-lien-{url_path}")
        assert log.outside_requests == []
        assert log.unexpected() == []


def test_the_server_starts_without_outside_lookups(tiny_db, tmp_path):
    """With the project's configuration (no --server.address given), Streamlit prints its local URL and never
    asks an outside service for its public address (it did: checkip.amazonaws.com at every start)."""
    port = free_port()
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    import os

    log_path = tmp_path / "serveur.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                                   cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)
        output = log_path.read_text()
        assert "localhost" in output and "External URL" not in output and "Network URL" not in output, output
    finally:
        process.terminate()
        process.wait(timeout=10)
