"""The « Couverture » page in a real browser on a given database: map draw times, pan/zoom without rerun,
screenshots (test-artifacts/couverture-<nom>-*.png). Prints the measures; the browser test
(tests/browser/test_couverture.py) asserts the same things on the tiny test database.

    .venv/bin/python scripts/browser_couverture.py --db /tmp/copie.duckdb --name reel [--register demo]
        [--departement 13]

Needs Debian's Chromium (make browser-deps). Starts its own Streamlit server on a free port.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config  # noqa: E402
from tests.browser import map_probe  # noqa: E402
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app  # noqa: E402

DRAW_BUDGET_S = 5.0
# Streamlit scrolls inside its own container, so a "full page" screenshot is the viewport: a tall
# viewport shows the whole page (figures, map, table, charts, access to care).
SCREENSHOT_HEIGHT = 5200


def _url(base: str, register: str | None, **params: str) -> str:
    query = dict(params)
    if register:
        query["registre"] = register
    return f"{base}/couverture?" + "&".join(f"{k}={v}" for k, v in query.items())


def open_and_time(page, url: str) -> tuple[float, dict]:
    """Navigate and return the seconds until the coverage map shows polygons (from the navigation)."""
    start = time.monotonic()
    page.goto(url)
    waited, state = map_probe.wait_for_map_drawn(page, 0, timeout_s=120)
    return time.monotonic() - start, state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Page Couverture dans Chromium : temps de dessin, captures")
    parser.add_argument("--db", type=Path, required=True, help="copie de la base analytique")
    parser.add_argument("--name", required=True, help="suffixe des captures (ex. reel, paca)")
    parser.add_argument("--register", default=None)
    parser.add_argument("--departement", default="13")
    parser.add_argument("--region", default=None, help="région à montrer aussi (capture couverture-<nom>-region)")
    args = parser.parse_args(argv)

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        env = {config.ENV_DB: str(args.db), config.ENV_USER_DB: str(Path(tmp) / "evaluations.duckdb")}
        with streamlit_server(env) as base, browser_page(height=SCREENSHOT_HEIGHT) as (page, log):
            watcher = map_probe.RerunWatcher().attach(page)
            france = _url(base, args.register, echelle="france")
            first, state = open_and_time(page, france)
            print(f"France, premier affichage (serveur neuf, caches vides) : carte dessinée en {first:.2f} s {state}")
            wait_for_app(page)
            again, state = open_and_time(page, france)
            verdict = "OK" if again < DRAW_BUDGET_S else "DÉPASSE"
            ok &= again < DRAW_BUDGET_S
            print(f"France, navigation suivante : carte dessinée en {again:.2f} s [{verdict} < {DRAW_BUDGET_S:.0f} s]")
            wait_for_app(page)
            frame = map_probe.map_frames(page)[0]
            print(f"  légende visible : {map_probe.legend_visible(frame)}")
            screenshot(page, f"couverture-{args.name}-france")

            before_view, before_reruns = map_probe.map_view(frame), watcher.count
            map_probe.pan_and_zoom(page, 0)
            page.wait_for_timeout(1500)
            after_view = map_probe.map_view(frame)
            moved = before_view != after_view
            reran = watcher.count - before_reruns
            ok &= moved and reran == 0
            print(f"  déplacement + zoom : vue {before_view} -> {after_view} ; relances demandées : {reran}")

            if args.region:
                seconds, state = open_and_time(page, _url(base, args.register, echelle="region", region=args.region))
                wait_for_app(page)
                print(f"Région {args.region} : carte dessinée en {seconds:.2f} s {state}")
                screenshot(page, f"couverture-{args.name}-region")

            dept = _url(base, args.register, echelle="departement", departement=args.departement)
            seconds, state = open_and_time(page, dept)
            wait_for_app(page)
            print(f"Département {args.departement} : carte dessinée en {seconds:.2f} s {state}")
            _, indicator_state = map_probe.wait_for_map_drawn(page, 1, timeout_s=60)
            print(f"  carte de l'indicateur : {indicator_state}")
            screenshot(page, f"couverture-{args.name}-departement")

            print(f"  (dernière URL : {page.url})")
            problems = log.unexpected()
            ok &= not problems
            print(f"Erreurs de console : {problems or 'aucune'}")
    print("Budgets et contrôles respectés." if ok else "Au moins un contrôle a échoué.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
