"""Budgets of the maps and of the first visits (issue « fast, in place and fit for a projector »), measured
in Debian's Chromium on the built database, each beside a naive baseline. Writes its rows to
``bench-results/map_budgets.json``; ``scripts/bench_all.py`` prints every budget row in one table.

Rows (budget, then the naive baseline measured the same way):
- Couverture's map drawn after navigating to it on a freshly started server (``streamlit run serve.py``,
  warm-up at start), by a browser that opened the app before (Streamlit's own files cached; a browser that
  never did is reported beside) ≤ 3 s — naive: ``streamlit run app.py`` (no warm-up);
- the same, warm (opened from the menu by a visitor already in the app) ≤ 1 s — naive: same server without
  warm-up, warm (a whole page reload, Streamlit's own start in the browser included, is reported beside);
- another date, then another area (région → département), to the redrawn map ≤ 0.5 s — naive: what the
  server spends for the same change when it recomputes the coverage directly and sends a whole new map
  (the first release's way), measured in this process, without the browser's drawing;
- France map payload ≤ 1 MB (the one definition of ``ui.map_component.payload_bytes``: base + France view)
  — naive: every commune of France, outlines as stored, as GeoJSON (ratio printed);
- first open of the Fiche CPTS and of the Auto-évaluation (from a demo CPTS's link) on a freshly started server
  ≤ 2 s: the page's run on the server (AppTest in a fresh process, after the warm-up) and, in a returning
  browser, the Fiche's map drawn and the Auto-évaluation's radar drawn — naive: no warm-up.

    .venv/bin/python scripts/bench_map_budgets.py [--db data/observatoire.duckdb] [--repeat 3] [--port 8644]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench-results"
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # caches used outside a server: no warning per call
logging.getLogger("streamlit").setLevel(logging.ERROR)
MB = 1_000_000


def row(budget: str, limit: float, unit: str, measured: float, naive: float | None, naive_note: str,
        higher_is_worse: bool = True) -> dict:
    ok = measured <= limit if higher_is_worse else measured >= limit
    return {"budget": budget, "limit": limit, "unit": unit, "measured": round(measured, 3),
            "naive": None if naive is None else round(naive, 3), "naive_note": naive_note,
            "ratio": None if not naive or not measured else round(naive / measured, 1), "ok": bool(ok)}


def _url(base: str, page: str, **params: str) -> str:
    return f"{base}/{page}" + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


ANSWERED_CPTS = "demo-0001"  # the Auto-évaluation opened from a CPTS's link, as a CPTS leader does (the bare page
# only asks which CPTS)
RADAR_DRAWN = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'


def _first_map(page, base, page_name: str) -> float:
    """Seconds from navigation to the page's main figure drawn: the Couverture view, the Fiche CPTS's map, the
    Auto-évaluation's radar (its questionnaire comes in the same run)."""
    from tests.browser import map_probe

    start = time.monotonic()
    page.goto(_url(base, page_name, **({"cpts": ANSWERED_CPTS} if page_name == "auto-evaluation" else {})))
    if page_name == "couverture":
        map_probe.wait_for_view(page, lambda v: True, timeout_s=300)
    elif page_name == "auto-evaluation":
        page.wait_for_selector(RADAR_DRAWN, timeout=300_000)
    else:
        map_probe.wait_for_map_drawn(page, 0, timeout_s=300)
    seconds = time.monotonic() - start
    map_probe.wait_until_idle(page)
    return seconds


def browser_figures(db: str, script: str, port: int, repeat: int) -> dict[str, float]:
    """Seconds to the drawn Couverture map on a freshly started server (a returning browser, and a browser
    that never saw the app), warm, after a date change and an area change, and to the Fiche CPTS's first
    open, with the server started from ``script``.

    A returning browser: one that opened the app before (Streamlit's own files in its cache) meets a
    server that has just been started; the server is freshly started again for each first open."""
    from tests.browser import map_probe
    from tests.browser.harness import browser_page, streamlit_server, wait_for_background_warmup

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, browser_page(1280, 720) as (page, _log):
        env = {"OBSERVATOIRE_DB": db, "OBSERVATOIRE_USER_DB": str(Path(tmp) / "evaluations.duckdb")}
        started = time.monotonic()
        with streamlit_server(env, timeout_s=600, port=port, script=script) as base:
            out["server_ready_s"] = time.monotonic() - started
            out["fresh_browser_map_s"] = _first_map(page, base, "couverture")  # a browser that never saw the app
        for page_name, key in (("couverture", "fresh_map_s"), ("fiche-cpts", "fiche_first_open_s"),
                               ("auto-evaluation", "auto_evaluation_first_open_s")):
            with streamlit_server(env, timeout_s=600, port=port, script=script) as base:  # same origin: cached files
                out[key] = _first_map(page, base, page_name)
        with streamlit_server(env, timeout_s=600, port=port, script=script) as base:
            _first_map(page, base, "couverture")
            if script == "serve.py":  # the naive server prepares nothing in the background
                wait_for_background_warmup(base)
            warm, reload = [], []
            for _ in range(repeat):
                # Warm: a visitor already in the app opens Couverture from the menu.
                page.get_by_role("link", name="Accueil").click()
                map_probe.wait_until_idle(page)
                start = time.monotonic()
                page.get_by_role("link", name="Couverture").click()
                map_probe.wait_for_view(page, lambda v: True)
                warm.append(time.monotonic() - start)
                map_probe.wait_until_idle(page)
                # For information: the whole page reloaded (Streamlit's own start in the browser included).
                reload.append(_first_map(page, base, "couverture"))
            out["warm_map_s"] = statistics.median(warm)
            out["reload_map_s"] = statistics.median(reload)
            out["date_change_s"] = statistics.median(_date_changes(page, repeat))
            out["area_change_s"] = statistics.median(_area_changes(page, repeat))
    return out


def first_run(db: str, warm: bool, page: str) -> float:
    """Seconds of ``page``'s first run in a fresh process (AppTest), after the server's warm-up when ``warm``:
    what its first visitor's page costs the server (the browser's own start excluded)."""
    import subprocess

    code = (
        "import os, time, json, logging, sys; logging.disable(logging.WARNING); sys.path.insert(0, '.');"
        "from streamlit.runtime.pages_manager import PagesManager as P; o = P.__init__;"
        "P.__init__ = lambda self, *a, **k: (o(self, *a, **k), setattr(P, 'uses_pages_directory', False))[0];"
        + ("from ui.warmup import warm_up; warm_up();" if warm else "")
        + "from streamlit.testing.v1 import AppTest; at = AppTest.from_file('app.py', default_timeout=600);"
        + (f"at.query_params['cpts'] = '{ANSWERED_CPTS}';" if page == "auto-evaluation" else "")
        + "at.run();"
        f"at.switch_page('pages/{page}.py'); t = time.perf_counter(); at.run();"
        "assert not at.exception, at.exception; print(json.dumps(time.perf_counter() - t))"
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "OBSERVATOIRE_DB": db, "OBSERVATOIRE_USER_DB": str(Path(tmp) / "evaluations.duckdb")}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                             check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _date_changes(page, repeat: int) -> list[float]:
    """The time control moved one step with the keyboard, to the map redrawn at the new date."""
    from tests.browser import map_probe

    seconds = []
    slider = page.get_by_role("slider").first
    for _ in range(repeat):
        frame = map_probe.map_frames(page)[0]
        before = map_probe.drawn_view(frame)["as_of"]
        slider.focus()
        start = time.monotonic()
        page.keyboard.press("ArrowLeft")
        map_probe.wait_for_view(page, lambda v, b=before: v["as_of"] != b)
        seconds.append(time.monotonic() - start)
        map_probe.wait_until_idle(page)
    return seconds


def _area_changes(page, repeat: int) -> list[float]:
    """France → Région → Département → France, each to the map redrawn for the new area."""
    from tests.browser import map_probe

    seconds = []
    for _ in range(repeat):
        for scale, label in (("region", "Région"), ("departement", "Département"), ("france", "France")):
            start = time.monotonic()
            page.get_by_role("radio", name=label, exact=True).click()
            map_probe.wait_for_view(page, lambda v, s=scale: v["fit_key"].startswith(s + "|"))
            seconds.append(time.monotonic() - start)
            map_probe.wait_until_idle(page)
    return seconds


def payloads(db: str) -> tuple[int, int]:
    """(France map as sent: base + France view; naive: every commune, outlines as stored, as GeoJSON)."""
    import shapely

    from observatory import coverage_views, queries
    from observatory import view_state as vs
    from observatory.db import open_readonly
    from ui import cache_couverture as cc
    from ui.map_component import payload_bytes

    con = open_readonly(db)
    registers = queries.list_registers(con)
    row_ = registers[registers["kind"] != "case_study"].iloc[0]
    region = None if str(row_["region_code"]) in ("None", "nan") else str(row_["region_code"])
    as_of = str(row_["as_of_date"])[:10]
    options = cc.couverture_view_options(db, str(row_["register_id"]), as_of, region)
    state = vs.resolve(vs.ViewState(str(row_["register_id"])), options)
    base = cc.couverture_base(db, state.register_id, region)
    update = cc.couverture_view_script(db, state.register_id, state.as_of, region, "france", None, None, None,
                                       coverage_views.fit_key(state, 0))
    ours = payload_bytes({"script": base.script, "header": base.header, "html": base.html, "feature_group": update})
    units = queries.unit_geometries(con)
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c, "properties": {"commune_code": c, "name": n},
         "geometry": shapely.geometry.mapping(g)}
        for c, n, g in zip(units["commune_code"], units["name"], units.geometry, strict=True) if g is not None]}
    naive = len(json.dumps(collection).encode("utf-8"))  # what folium.GeoJson embeds in the map's script
    con.close()
    return ours, naive


def server_change_costs(db: str) -> dict[str, float]:
    """Seconds the server spends on a date change and an area change: ours (timeline snapshot + the view's
    few kilobytes) and naive (direct snapshot + a whole new map built and rendered for the component)."""
    import streamlit as st

    from observatory import coverage, coverage_map, coverage_views, queries
    from observatory.db import open_readonly
    from ui import cache
    from ui import cache_couverture as cc
    from ui.map_component import prepare_map

    con = open_readonly(db)
    registers = queries.list_registers(con)
    reg = registers[registers["kind"] != "case_study"].iloc[0]
    register_id, region = str(reg["register_id"]), None
    units, cpts, links = queries.territorial_units(con), queries.list_cpts(con, register_id), queries.cpts_units(
        con, register_id)
    con.close()
    dates, _ = cc.couverture_dates(db, register_id, str(reg["as_of_date"])[:10])
    cc.couverture_base(db, register_id, region)  # built once per register, as at the server's start
    out = {}
    for name, (date, level, code) in {"date": (dates[-13], "france", None),
                                      "area": (dates[-1], "departement", "13")}.items():
        st.cache_data.clear()
        cc.couverture_base(db, register_id, region)
        cc.couverture_timeline(db, register_id, region)
        start = time.perf_counter()
        cc.couverture_view_script(db, register_id, date, region, level, code, None, None, f"{level}|{code}")
        out[f"{name}_ours_s"] = time.perf_counter() - start
        start = time.perf_counter()
        snapshot = coverage.coverage_snapshot(units, cpts, links, date, region)
        area = coverage_views.area_of(level, code, cache.departement_table(db))
        detail = cc.couverture_unit_geometries(db, code) if level == "departement" else None
        view = coverage_map.coverage_view(snapshot, area, cache.stage_table(db), cc.couverture_layout(db),
                                          cc.couverture_area_bounds(db, level, code), detail, None,
                                          cc.couverture_places(db))
        prepare_map(coverage_map.base_map(cc.couverture_base_data(db, register_id, region), view))
        out[f"{name}_naive_s"] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Budgets des cartes et des premières visites (Chromium)")
    parser.add_argument("--db", type=Path, default=None, help="base analytique (défaut : data/observatoire.duckdb)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=8644, help="premier de deux ports libres")
    args = parser.parse_args(argv)
    from observatory import config

    db = str(args.db or config.database_path())
    if not Path(db).exists():
        print(f"Base absente : {db} (make build)")
        return 2
    os.environ["OBSERVATOIRE_DB"] = db
    load = os.getloadavg()[0]
    print(f"Base : {db} ; charge de la machine {load:.1f} sur {os.cpu_count()} cœurs", flush=True)
    ours_bytes, naive_bytes = payloads(db)
    costs = server_change_costs(db)
    fiche_server, fiche_server_naive = first_run(db, True, "fiche-cpts"), first_run(db, False, "fiche-cpts")
    answers_server, answers_server_naive = (first_run(db, True, "auto-evaluation"),
                                            first_run(db, False, "auto-evaluation"))
    ours = browser_figures(db, "serve.py", args.port, args.repeat)
    naive = browser_figures(db, "app.py", args.port + 1, 1)
    rows = [
        row("Carte Couverture dessinée, serveur neuf (Chromium, navigateur revenant)", 3.0, "s",
            ours["fresh_map_s"], naive["fresh_map_s"], "sans préchauffage (streamlit run app.py)"),
        row("Carte Couverture dessinée, à chaud (Chromium)", 1.0, "s", ours["warm_map_s"], naive["warm_map_s"],
            "sans préchauffage, à chaud"),
        row("Autre date → carte redessinée (Chromium)", 0.5, "s", ours["date_change_s"], costs["date_naive_s"],
            "recalcul direct et carte entière renvoyée (calcul serveur seul)"),
        row("Autre zone → carte redessinée (Chromium)", 0.5, "s", ours["area_change_s"], costs["area_naive_s"],
            "recalcul direct et carte entière renvoyée (calcul serveur seul)"),
        row("Charge utile de la carte France", 1.0, "Mo", ours_bytes / MB, naive_bytes / MB,
            "toutes les communes, contours tels que stockés (GeoJSON)"),
        row("Première ouverture de la Fiche CPTS, serveur neuf : page calculée (serveur)", 2.0, "s", fiche_server,
            fiche_server_naive, "sans préchauffage (évaluations de démonstration écrites au premier clic)"),
        row("Première ouverture de la Fiche CPTS, serveur neuf : carte dessinée (Chromium, navigateur revenant)",
            2.0, "s", ours["fiche_first_open_s"], naive["fiche_first_open_s"], "sans préchauffage"),
        row("Première ouverture de l'Auto-évaluation, serveur neuf : page calculée (serveur)", 2.0, "s",
            answers_server, answers_server_naive, "sans préchauffage (évaluations de démonstration écrites au premier clic)"),
        row("Première ouverture de l'Auto-évaluation, serveur neuf : radar dessiné (Chromium, navigateur revenant)",
            2.0, "s", ours["auto_evaluation_first_open_s"], naive["auto_evaluation_first_open_s"], "sans préchauffage"),
    ]
    details = {"load_average_1min": load, "load_average_after": os.getloadavg()[0], "cpu_count": os.cpu_count(),
               "reload_map_s": ours["reload_map_s"], "fresh_browser_map_s": ours["fresh_browser_map_s"],
               "naive_fresh_browser_map_s": naive["fresh_browser_map_s"], "server_ready_s": ours["server_ready_s"],
               "naive_server_ready_s": naive["server_ready_s"], "server_change_costs_s": costs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "map_budgets.json").write_text(json.dumps({"rows": rows, "details": details}, ensure_ascii=False,
                                                         indent=2), encoding="utf-8")
    for r in rows:
        naive_text = "" if r["naive"] is None else f" ; naïf {r['naive']} {r['unit']} ({r['naive_note']})"
        print(f"{r['budget']} : {r['measured']} {r['unit']} [{'OK' if r['ok'] else 'DÉPASSE'} ≤ {r['limit']}]"
              f"{naive_text}")
    print(f"Serveur prêt en {ours['server_ready_s']:.1f} s avec préchauffage, {naive['server_ready_s']:.1f} s sans.")
    print(f"Pour information : carte dessinée par un navigateur qui n'a jamais ouvert l'application (serveur neuf) "
          f"{ours['fresh_browser_map_s']:.2f} s (sans préchauffage {naive['fresh_browser_map_s']:.2f} s) ; page "
          f"entièrement rechargée à chaud {ours['reload_map_s']:.2f} s.")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
