"""Benchmark of the coverage page's domain layer on the real analytical database.

Prints timings (queries, coverage computation for France, the per-register timeline, map builds) and map
payload sizes (the one definition: ``ui.map_component.payload_bytes``) for the France base and view, the
most populated région and the 5 départements with the most territorial units (the heaviest commune
views), against the budgets: France map (base + view) ≤ 1 MB, any département view < 1.5 MB.

    .venv/bin/python scripts/bench_coverage.py [--db data/observatoire.duckdb] [--register demo] [--date 2024-06-30]

Exit code 0 when every budget holds, 1 when one is exceeded, 2 when the database is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from observatory import config, coverage_map, coverage_views, maps  # noqa: E402
from observatory import coverage as cov  # noqa: E402
from observatory import indicators as ind  # noqa: E402
from observatory import queries as q  # noqa: E402
from observatory.coverage_timeline import build_timeline, snapshot_at  # noqa: E402
from observatory.db import DatabaseMissingError, open_readonly  # noqa: E402

FRANCE_BUDGET_BYTES = 1_000_000
DEPARTEMENT_BUDGET_BYTES = 1_500_000
timings: list[tuple[str, float]] = []


@contextmanager
def timed(label: str):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    timings.append((label, elapsed))
    print(f"  {label:<58} {elapsed:7.2f} s", flush=True)


def mb(size: int) -> str:
    return f"{size / 1e6:.2f} Mo"


def measure(label: str, build, budget: int | None, extra: int = 0) -> bool:
    """Build a map (folium) or a view (dict), then its payload as the component receives it."""
    from ui.map_component import payload_bytes, prepare_map

    with timed(f"carte {label} : construction"):
        built = build()
    with timed(f"carte {label} : rendu pour le composant"):
        if isinstance(built, dict):
            size = payload_bytes({"feature_group": coverage_map.view_script(built)})
        else:
            size = payload_bytes(prepare_map(built).__dict__)
    size += extra
    verdict = "" if budget is None else ("OK" if size <= budget else f"DÉPASSE le budget de {mb(budget)}")
    print(f"  -> {label} : {mb(size)} {verdict}", flush=True)
    return budget is None or size <= budget


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai de la page Couverture")
    parser.add_argument("--db", type=Path, default=None, help="base analytique (défaut : data/observatoire.duckdb)")
    parser.add_argument("--register", default=None, help="registre (défaut : le premier registre de démonstration)")
    parser.add_argument("--date", default=None, help="date de référence (défaut : date du registre)")
    args = parser.parse_args(argv)

    path = args.db or config.database_path()
    try:
        con = open_readonly(path)
    except DatabaseMissingError as exc:
        print(exc)
        return 2
    print(f"Base : {path}")

    with timed("requêtes : registres, unités, CPTS"):
        registers = q.list_registers(con)
        if args.register is None and registers.empty:
            # A database without any register still has département and indicator maps to measure.
            print("  (aucun registre dans la base : cartes mesurées sans CPTS)")
            register_id, register = "", {"region_code": None, "as_of_date": None}
        else:
            register_id = args.register or registers["register_id"].iloc[0]
            register = q.get_register(con, register_id)
        if register is None:
            print(f"Registre introuvable : {register_id}")
            return 2
        units = q.territorial_units(con)
        cpts = q.list_cpts(con, register_id)
        links = q.cpts_units(con, register_id)
        stages = q.stages(con)
    as_of = args.date or register["as_of_date"] or cov.latest_stage_date(cpts) or pd.Timestamp.today().normalize()
    print(f"Registre : {register_id} ({len(cpts)} CPTS, {len(links)} liens), {len(units)} unités, date {as_of}")

    with timed("couverture France (unit_status + cpts_summary)"):
        snap = cov.coverage_snapshot(units, cpts, links, as_of, register["region_code"])
    with timed("chiffres clés France"):
        figures = cov.key_figures(snap)
    with timed("tableau par département"):
        table = cov.table_by_area(snap, "departement", q.departements(con))
    with timed("séries mensuelles (stades + population couverte)"):
        cov.stage_counts_over_time(cpts)
        cov.coverage_over_time(units, cpts, links)
    print(
        f"  France : {figures.cpts_count} CPTS actives, couverture {figures.coverage_pct or 0:.1f} %,"
        f" zone blanche {figures.white_zone_population:,} hab., {figures.overlap_units} communes en chevauchement,"
        f" {len(table)} départements"
    )

    with timed("chronologie du registre (partie indépendante de la date)"):
        timeline = build_timeline(units, cpts, links)
    with timed("couverture à une date depuis la chronologie"):
        snapshot_at(timeline, as_of)
    with timed("requêtes géométries France (départements, CPTS, chevauchements, lieux)"):
        depts = q.departement_outlines(con)
        cpts_geoms = q.cpts_geometries(con, register_id)
        overlap_codes = snap.units.loc[snap.units["status"] == cov.OVERLAP, "commune_code"].tolist()
        overlaps = q.unit_geometries(con, commune_codes=overlap_codes)
        places = q.places(con)
        departements = q.departements(con)
        layout = coverage_map.inset_layout(depts)
    with timed("fond de carte du registre (données)"):
        base_data = coverage_map.base_data(depts, cpts_geoms, timeline.summary, places, layout)
    from ui.map_component import payload_bytes, prepare_map

    base_size = payload_bytes(prepare_map(coverage_map.base_map(base_data)).__dict__)
    print(f"  -> fond de carte (une fois par registre) : {mb(base_size)}")

    def view(level, code, geoms=None):
        area = coverage_views.area_of(level, code, departements)
        bounds = coverage_map.bounds_of(depts[depts["code"].isin(area.departement_codes)].geometry.to_numpy())
        return coverage_map.coverage_view(snap, area, stages, layout, bounds, geoms, overlaps, places)

    ok = measure("France (fond + vue)", lambda: view("france", None), FRANCE_BUDGET_BYTES, extra=base_size)

    most_populated = units.groupby("region_code")["population_count"].sum().idxmax()
    most_units = units.groupby("region_code").size().idxmax()
    for region_code, why in ((most_populated, "la plus peuplée"), (most_units, "le plus de communes")):
        ok &= measure(f"vue région {region_code} ({why})", partial(view, "region", region_code), FRANCE_BUDGET_BYTES)

    catalogue = q.indicator_catalogue(con)
    indicator = None
    if "apl_mg" in set(catalogue["indicator_code"]):
        entry = ind.catalogue_entry(catalogue, "apl_mg")
        year = max(q.indicator_years(con, "apl_mg"))
        with timed("indicateur apl_mg France (valeurs + poids)"):
            weights = q.indicator_values(con, entry["weight_indicator_code"], year)
            indicator = ind.indicator_frame(entry, year, q.indicator_values(con, "apl_mg", year), weights, units)
            classes = ind.classify_indicator(entry, indicator.units["value"])

    biggest = units.groupby("departement_code").size().sort_values(ascending=False).head(5)
    for dept_code, count in biggest.items():
        print(f"Département {dept_code} : {count} unités")
        with timed(f"requête contours communes {dept_code}"):
            geoms = q.unit_geometries(con, departement_code=dept_code)
        ok &= measure(f"vue département {dept_code}", partial(view, "departement", dept_code, geoms),
                      DEPARTEMENT_BUDGET_BYTES)
        if indicator is not None:
            ok &= measure(
                f"indicateur {dept_code}",
                partial(maps.indicator_map, indicator, geoms, classes),
                DEPARTEMENT_BUDGET_BYTES,
            )
            with timed(f"indicateur par territoire {dept_code}"):
                ind.indicator_by_territory(indicator, snap, departement_code=dept_code)
    con.close()
    print("Budgets respectés." if ok else "Au moins un budget est dépassé.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
