"""Benchmark of the « Couverture » page run through Streamlit's AppTest on a real analytical database.

For each view (France, a région, départements), prints:
- the first run after start: a fresh Python process deep-links to the page (imports and empty caches
  included, as the first visitor of a freshly started server);
- the cold run in this process (caches cleared, modules already imported) and several warm reruns
  (caches filled), against the budgets: warm < 1 s, first run < 5 s;
- the map payload sent to the browser, read from the st_folium component's ``json_args`` (the map's
  script, header and HTML), against the budgets: France < 2 MB, any département < 1.5 MB;
- the time to redraw at another date (not cached yet), for information.

    .venv/bin/python scripts/bench_couverture.py --db /tmp/copie.duckdb [--register demo] [--repeat 5]
        [--region 11] [--departement 62 --departement 13]

It only reads the database; run it on a copy of data/observatoire.duckdb all the same. Exit code 0 when
every budget holds, 1 otherwise, 2 when the database is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

APP = str(REPO / "app.py")
PAGE = "pages/couverture.py"
FRANCE_BUDGET_BYTES = 2_000_000
DEPARTEMENT_BUDGET_BYTES = 1_500_000
WARM_BUDGET_S = 1.0
FIRST_RUN_BUDGET_S = 5.0


def _query(scale: str, code: str | None, register: str | None) -> dict[str, str]:
    query = {"echelle": scale}
    if scale == "region":
        query["region"] = code
    if scale == "departement":
        query["departement"] = code
    if register:
        query["registre"] = register
    return query


def _open(query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE)  # a deep link: the frame then the page, in one run
    return at


def _run(at) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) of one script run. The CPU time tells what the
    run costs when other programs share the machine's cores (then the wall-clock time is longer)."""
    start, cpu = time.perf_counter(), time.process_time()
    at.run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if at.exception:
        raise RuntimeError(f"la page a levé une exception : {[e.value for e in at.exception]}")
    return elapsed, cpu


def _payloads(at) -> list[int]:
    """Bytes of each map sent to the browser (the one definition: ``ui.map_component.payload_bytes``)."""
    from ui.map_component import payload_bytes

    return [payload_bytes(json.loads(el.proto.json_args)) for el in at.get("component_instance")]


def first_run(db: str, query: dict[str, str]) -> tuple[float, float]:
    """Time of the first page run in a fresh process (child mode of this script)."""
    env = {**os.environ, "OBSERVATOIRE_DB": db}
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(query)], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"premier lancement en échec : {out.stdout[-1500:]} {out.stderr[-1500:]}")
    result = json.loads(lines[-1])
    return result["seconds"], result["cpu_seconds"]


def child(query_json: str) -> int:
    at = _open(json.loads(query_json))
    seconds, cpu = _run(at)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}), flush=True)
    return 0


def mb(size: int) -> str:
    return f"{size / 1e6:.2f} Mo"


def bench_view(db: str, label: str, query: dict[str, str], repeat: int, payload_budget: int) -> bool:
    import streamlit as st

    ok = True
    first, first_cpu = first_run(db, query)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = _open(query)
    cold, cold_cpu = _run(at)
    warm_runs = [_run(at) for _ in range(repeat)]
    warm = [wall for wall, _ in warm_runs]
    sizes = _payloads(at)
    # Another date, not cached yet: what a click on the time control costs.
    slider = at.select_slider(key="couverture_date")
    options = list(slider.options)
    other = options[max(0, len(options) - 13)]  # one year before the latest date
    slider.set_value(other if other in options else options[0])
    redraw, redraw_cpu = _run(at)

    verdict_first = "OK" if first < FIRST_RUN_BUDGET_S else "DÉPASSE"
    verdict_warm = "OK" if max(warm) < WARM_BUDGET_S else "DÉPASSE"
    ok &= first < FIRST_RUN_BUDGET_S and max(warm) < WARM_BUDGET_S
    print(f"{label}")
    print(
        f"  premier lancement (processus neuf)     {first:6.2f} s (CPU {first_cpu:5.2f} s)"
        f"  [{verdict_first} < {FIRST_RUN_BUDGET_S:.0f} s]"
    )
    print(f"  à froid (caches vidés)                  {cold:6.2f} s (CPU {cold_cpu:5.2f} s)")
    print(
        f"  à chaud ({repeat} relances)                 médiane {statistics.median(warm):5.2f} s, "
        f"max {max(warm):5.2f} s (CPU max {max(cpu for _, cpu in warm_runs):5.2f} s)"
        f"  [{verdict_warm} < {WARM_BUDGET_S:.0f} s]"
    )
    print(f"  autre date (non encore en cache)        {redraw:6.2f} s (CPU {redraw_cpu:5.2f} s)")
    for name, size in zip(("carte de couverture", "carte de l'indicateur"), sizes, strict=False):
        budget = payload_budget if name == "carte de couverture" or label.startswith("Département") else None
        verdict = "" if budget is None else ("OK" if size < budget else "DÉPASSE")
        if budget is not None:
            ok &= size < budget
            verdict = f"[{verdict} < {mb(budget)}]"
        print(f"  charge utile {name:<26} {mb(size):>9}  {verdict}")
    return ok


def all_departements(db: str, register: str | None) -> bool:
    """Payload of the département maps (coverage and indicator) of EVERY département, without AppTest:
    the page's own cached builders (ui/cache_couverture.py), sized as the component receives them (JSON)."""
    import streamlit as st

    from observatory import queries
    from observatory.db import open_readonly
    from ui import cache, cache_couverture
    from ui.map_component import payload_bytes

    con = open_readonly(db)
    registers = queries.list_registers(con)
    register_id = register or registers.loc[registers["kind"] != "case_study", "register_id"].iloc[0]
    row = queries.get_register(con, register_id)
    catalogue = queries.indicator_catalogue(con)
    con.close()
    as_of = str(row["as_of_date"])[:10]
    with_threshold = catalogue.loc[catalogue["threshold_value"].notna(), "indicator_code"]
    indicator = with_threshold.iloc[0] if len(with_threshold) else catalogue["indicator_code"].iloc[0]
    year = max(int(y) for y in catalogue.set_index("indicator_code").loc[indicator, "years"])
    st.cache_data.clear()
    sizes = []
    start = time.perf_counter()
    for code in cache.departement_table(db)["departement_code"]:
        coverage = cache_couverture.couverture_map(db, register_id, as_of, row["region_code"], "departement", code, None)
        choropleth = cache_couverture.couverture_indicator_map(
            db, register_id, as_of, row["region_code"], indicator, year, code, None
        )
        for kind, prepared in (("couverture", coverage), ("indicateur", choropleth)):
            sizes.append((payload_bytes(prepared.__dict__), kind, code))
    sizes.sort(reverse=True)
    print(f"\nToutes les cartes de département ({len(sizes)} cartes, {time.perf_counter() - start:.0f} s) :")
    for size, kind, code in sizes[:5]:
        print(f"  {kind:<11} {code:<4} {mb(size):>9}")
    ok = sizes[0][0] < DEPARTEMENT_BUDGET_BYTES
    print(f"  la plus lourde : {mb(sizes[0][0])} [{'OK' if ok else 'DÉPASSE'} < {mb(DEPARTEMENT_BUDGET_BYTES)}]")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai de la page Couverture (AppTest)")
    parser.add_argument("--db", type=Path, required=False, help="copie de la base analytique")
    parser.add_argument("--register", default=None, help="registre (défaut : celui que l'application choisit)")
    parser.add_argument(
        "--region", action="append", default=None, help="région(s) à mesurer (défaut : la plus peuplée)"
    )
    parser.add_argument("--departement", action="append", default=None,
                        help="département(s) à mesurer (défaut : celui qui a le plus de communes, et 13)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5, help="relances à chaud par vue")
    parser.add_argument(
        "--all-departements",
        action="store_true",
        help="mesurer aussi la charge utile des cartes de tous les départements",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child)

    from observatory import config, queries
    from observatory.db import DatabaseMissingError, open_readonly

    db = str(args.db or config.database_path())
    try:
        con = open_readonly(db)
    except DatabaseMissingError as exc:
        print(exc)
        return 2
    units = queries.territorial_units(con)
    con.close()
    os.environ["OBSERVATOIRE_DB"] = db
    os.environ.setdefault("OBSERVATOIRE_USER_DB", str(Path(db).with_suffix(".evaluations-bench.duckdb")))
    region_codes = args.region or [units.groupby("region_code")["population_count"].sum().idxmax()]
    departement_codes = args.departement or list(
        dict.fromkeys([units.groupby("departement_code").size().idxmax(), "13"])
    )
    load = os.getloadavg()[0]
    print(f"Base : {db} ; registre : {args.register or '(par défaut)'} ; charge de la machine {load:.1f}"
          f" sur {os.cpu_count()} cœurs\n")  # fmt: skip

    ok = bench_view(db, "France", _query("france", None, args.register), args.repeat, FRANCE_BUDGET_BYTES)
    for code in region_codes:
        ok &= bench_view(db, f"Région {code}", _query("region", code, args.register), args.repeat, FRANCE_BUDGET_BYTES)
    for code in departement_codes:
        count = int((units["departement_code"] == code).sum())
        ok &= bench_view(
            db,
            f"Département {code} ({count} communes)",
            _query("departement", code, args.register),
            args.repeat,
            DEPARTEMENT_BUDGET_BYTES,
        )
    if args.all_departements:
        ok &= all_departements(db, args.register)
    print("\nBudgets respectés." if ok else "\nAu moins un budget est dépassé.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
