"""The worked example of docs/import-indicateur.md as a test: the DREES APL for under-65s re-exported by
``scripts/export_apl_moins65.py`` into a commune CSV (the workbook's own, older codes), imported with
``python -m observatory import-indicator``, gives the built-in indicator's values at every level: commune,
CPTS territory, white zone, département, région, France. On the tiny raw fixture (old codes merged, an
unknown code), and on the real data when ../shared/data is there (marker real_data)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from observatory import config, coverage, queries
from observatory.db import open_readonly
from observatory.indicator_catalogue import full_catalogue, load_indicator_frame
from observatory.indicators import indicator_by_status, indicator_by_territory
from tests.indicator_fixtures import db_copy, run_import

SCRIPT = config.REPO_ROOT / "scripts" / "export_apl_moins65.py"
WEIGHT_HEADER = "Population standardisée pour la médecine générale"


def _script():
    spec = importlib.util.spec_from_file_location("export_apl_moins65", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options(year: int) -> list[str]:
    """The command of the guide (docs/import-indicateur.md), for one year."""
    return ["--code", "apl_mg_moins65_importe", "--label", "APL aux médecins généralistes de moins de 65 ans (réimport)",
            "--unit", "consultations/visites accessibles par habitant standardisé et par an",
            "--direction", "plus_est_mieux", "--year", str(year), "--vintage", f"APL {year}",
            "--source", "DREES, APL aux médecins généralistes", "--licence", "Licence Ouverte / Etalab 2.0",
            "--aggregation", "moyenne", "--weight-column", WEIGHT_HEADER, "--decimals", "2"]


def import_years(db: Path, workbook: Path, folder: Path, years: list[int]) -> None:
    script = _script()
    for year in years:
        csv = folder / f"apl_moins65_{year}.csv"
        assert script.main(["--year", str(year), "--workbook", str(workbook), "--out", str(csv)]) == 0
        assert run_import(db, csv, options(year)) == 0


def every_level(db: Path, year: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(built-in units, imported units, built-in territories, imported territories) for one year."""
    con = open_readonly(db)
    try:
        catalogue = full_catalogue(queries.indicator_catalogue(con))
        units = queries.territorial_units(con)

        def fetch(code, y):
            return queries.indicator_values(con, code, y)

        built_in = load_indicator_frame(catalogue, "apl_mg_moins65", year, units, fetch)
        imported = load_indicator_frame(catalogue, "apl_mg_moins65_importe", year, units, fetch)
        register = queries.list_registers(con)
        register_id = register.loc[register["kind"] == "demo", "register_id"].iloc[0]
        as_of = pd.Timestamp(register.loc[register["kind"] == "demo", "as_of_date"].iloc[0]).date().isoformat()
        snapshot = coverage.coverage_snapshot(units, queries.list_cpts(con, register_id),
                                              queries.cpts_units(con, register_id), as_of)
        departements = queries.departements(con)
    finally:
        con.close()
    tables = []
    for data in (built_in, imported):
        parts = [indicator_by_status(data, snapshot)]
        # Every région (its CPTS, white zone, région, France) and one département per région (all of them on
        # the tiny fixture): on the real data each call aggregates 35,000 units.
        for region, group in departements.groupby("region_code"):
            parts.append(indicator_by_territory(data, snapshot, region_code=region))
            for code in group["departement_code"].iloc[: (None if len(departements) < 10 else 1)]:
                parts.append(indicator_by_territory(data, snapshot, departement_code=code, region_code=region))
        tables.append(pd.concat(parts, ignore_index=True))
    return built_in.units, imported.units, tables[0], tables[1]


def assert_same(db: Path, year: int) -> set[str]:
    built_units, imported_units, built, imported = every_level(db, year)
    merged = built_units.merge(imported_units, on="commune_code", suffixes=("_built", "_imported"))
    assert len(merged) == len(built_units)
    pd.testing.assert_series_equal(merged["value_built"], merged["value_imported"], check_names=False, rtol=1e-12)
    pd.testing.assert_series_equal(merged["weight_built"], merged["weight_imported"], check_names=False, rtol=1e-12)
    assert list(built["territory_kind"]) == list(imported["territory_kind"])
    pd.testing.assert_series_equal(built["value"], imported["value"], rtol=1e-12)
    pd.testing.assert_series_equal(built["units_with_value"], imported["units_with_value"])
    return set(built["territory_kind"])


def test_reimported_apl_under_65_matches_the_built_in_indicator_at_every_level(tiny_db, tiny_raw_dir, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_IMPORTS_DIR", str(tmp_path / "imports"))
    db = db_copy(tiny_db, tmp_path / "db")
    import_years(db, tiny_raw_dir / "drees-apl" / "apl_generalistes.xlsx", tmp_path, [2022, 2023])
    for year in (2022, 2023):
        kinds = assert_same(db, year)
        assert {"cpts", "zone_blanche", "departement", "region", "france", "couvert"} <= kinds


@pytest.mark.real_data
def test_worked_example_on_the_real_data(real_db_path, tmp_path, monkeypatch):
    workbook = config.raw_data_dir() / "drees-apl" / "apl_generalistes.xlsx"
    monkeypatch.setenv("OBSERVATOIRE_IMPORTS_DIR", str(tmp_path / "imports"))
    db = db_copy(real_db_path, tmp_path / "db")
    import_years(db, workbook, tmp_path, [2023])
    assert {"cpts", "zone_blanche", "departement", "region", "france"} <= assert_same(db, 2023)
