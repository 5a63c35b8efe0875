"""Benchmark of imported and derived indicators on the real analytical database (a copy: the database is
never modified): the worked example's export and import (docs/import-indicateur.md), map classes by
mapclassify on the national distribution, and the frames the pages aggregate (stored, imported with its
weight column, derived evolution and density), against the budgets: an import of a national commune file
< 10 s, classes < 1 s, any frame < 2 s.

    .venv/bin/python scripts/bench_indicators.py [--db data/observatoire.duckdb] [--year 2023]

Exit code 0 when every budget holds, 1 when one is exceeded, 2 when the database or the workbook is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config, queries  # noqa: E402
from observatory.db import open_readonly  # noqa: E402
from observatory.indicator_catalogue import full_catalogue, load_indicator_frame  # noqa: E402
from observatory.indicator_import import import_indicator  # noqa: E402
from observatory.indicators import classify_indicator  # noqa: E402

IMPORT_BUDGET_S, CLASSES_BUDGET_S, FRAME_BUDGET_S = 10.0, 1.0, 2.0
failures: list[str] = []


@contextmanager
def timed(label: str, budget: float):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    flag = "" if elapsed <= budget else f"  > budget {budget:.0f} s"
    if flag:
        failures.append(label)
    print(f"  {label:<66} {elapsed:7.2f} s{flag}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=config.database_path())
    parser.add_argument("--year", type=int, default=2023)
    args = parser.parse_args(argv)
    workbook = config.raw_data_dir() / "drees-apl" / "apl_generalistes.xlsx"
    if not args.db.is_file() or not workbook.is_file():
        print(f"Base {args.db} ou classeur {workbook} absent : lancez `make build`.")
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from export_apl_moins65 import export_csv

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        db = folder / "observatoire.duckdb"
        shutil.copyfile(args.db, db)
        csv = folder / f"apl_moins65_{args.year}.csv"
        with timed(f"export du classeur DREES (feuille APL {args.year}) en CSV communal", IMPORT_BUDGET_S):
            csv.write_bytes(export_csv(workbook, args.year))
        print(f"  fichier : {csv.stat().st_size / 1e6:.2f} Mo")
        options = {"code": "bench_apl_moins65", "label": "APL moins de 65 ans (réimport)", "unit": "consultations",
                   "direction": "plus_est_mieux", "year": args.year, "source": "DREES", "licence": "Licence Ouverte",
                   "aggregation": "moyenne", "weight_column": "Population standardisée pour la médecine générale"}
        os.environ["OBSERVATOIRE_IMPORTS_DIR"] = str(folder / "imports")
        with timed("import-indicator (lecture, contrôles, écriture atomique de la base)", IMPORT_BUDGET_S):
            outcome = import_indicator(csv, options, db, folder / "imports")
        if not outcome.written:
            print("  import refusé :", [f.text() for f in outcome.report.errors][:3])
            return 1
        print(f"  {outcome.stats.units_with_value} unités avec une valeur, {len(outcome.report.warnings)} avertissements")
        con = open_readonly(db)
        try:
            catalogue = full_catalogue(queries.indicator_catalogue(con))
            units = queries.territorial_units(con)

            def fetch(code, year):
                return queries.indicator_values(con, code, year)

            frames = {}
            for code, year in (("apl_mg_moins65", args.year), ("bench_apl_moins65", args.year),
                               ("evolution__apl_mg", args.year), ("densite_population", 2026)):
                with timed(f"cadre communal : {code} {year}", FRAME_BUDGET_S):
                    frames[code] = load_indicator_frame(catalogue, code, year, units, fetch)
        finally:
            con.close()
        for code, entry_method in (("bench_apl_moins65", "quantiles"), ("densite_population", "natural_breaks")):
            entry = dict(frames[code].entry, class_method=entry_method)
            classify_indicator(entry, frames[code].units["value"].head(50), classes={})  # first import of mapclassify
            with timed(f"classes ({entry_method}) sur {frames[code].units['value'].notna().sum()} communes : {code}",
                       CLASSES_BUDGET_S):
                classes = classify_indicator(entry, frames[code].units["value"], classes={})
            print(f"  bornes : {classes.breaks}")
    print("Budgets tenus." if not failures else f"Budgets dépassés : {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
