"""Read queries on the tiny factory database: named columns, filters, codes as strings, WKB decoding."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from observatory import queries as q
from observatory.db import open_readonly
from observatory.schema import SCHEMA_VERSION
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGION, IMPORTED_REGISTER_ID, UNITS, make_analytical_db


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("queries") / "observatoire.duckdb")
    connection = open_readonly(path)
    yield connection
    connection.close()


COLUMNS = [
    (lambda c: q.list_registers(c), ["register_id", "name", "kind", "is_demo", "region_code", "as_of_date", "cpts_count"]),
    (lambda c: q.list_cpts(c, DEMO_REGISTER_ID), ["cpts_id", "name", "preproject_date", "letter_of_intent_date",
                                                  "health_project_date", "aci_date", "main_departement_code"]),
    (lambda c: q.cpts_units(c, DEMO_REGISTER_ID), ["cpts_id", "commune_code"]),
    (lambda c: q.cpts_missions(c, DEMO_REGISTER_ID), ["cpts_id", "mission_code", "start_date"]),
    (lambda c: q.territorial_units(c), ["commune_code", "name", "unit_type", "departement_code", "region_code",
                                        "epci_code", "epci_name", "population_count"]),
    (lambda c: q.unit_geometries(c, departement_code="91"), ["commune_code", "name", "departement_code",
                                                             "population_count", "geometry"]),
    (lambda c: q.cpts_geometries(c, DEMO_REGISTER_ID), ["cpts_id", "name", "geometry"]),
    (lambda c: q.departement_outlines(c), ["code", "name", "region_code", "zone", "population_count", "geometry"]),
    (lambda c: q.region_outlines(c), ["code", "name", "region_code", "population_count", "geometry"]),
    (lambda c: q.regions(c), ["region_code", "name", "zone", "population_count"]),
    (lambda c: q.departements(c), ["departement_code", "name", "region_code", "zone", "population_count"]),
    (lambda c: q.epci(c), ["epci_code", "name", "epci_type", "population_count"]),
    (lambda c: q.indicator_catalogue(c), ["indicator_code", "label", "unit", "direction", "weight_indicator_code",
                                          "aggregation", "threshold_value", "threshold_label", "decimals", "years"]),
    (lambda c: q.indicator_values(c, "apl_mg", 2023), ["geo_code", "value"]),
    (lambda c: q.stages(c), ["stage_code", "vocabulary", "rank", "label", "color"]),
    (lambda c: q.sources(c), ["source_id", "name", "publisher", "vintage", "licence", "origin", "sha256"]),
    (lambda c: q.data_quality(c), ["source_id", "check_code", "subject_code", "detail"]),
]  # fmt: skip


@pytest.mark.parametrize("call, expected", COLUMNS)
def test_queries_return_named_columns(con, call, expected):
    frame = call(con)
    assert isinstance(frame, pd.DataFrame)
    assert set(expected) <= set(frame.columns)


def test_territorial_units_exclude_the_split_city_and_keep_codes_as_strings(con):
    units = q.territorial_units(con)
    assert len(units) == len(UNITS)
    assert "75056" not in set(units["commune_code"])
    assert {"75101", "75104", "2A001"} <= set(units["commune_code"])
    assert all(isinstance(code, str) for code in units["commune_code"])
    # Summing territorial units gives the total once: the parent city is not added on top.
    assert units["population_count"].sum() == sum(u[5] for u in UNITS)
    assert units.loc[units["commune_code"] == "91006", "epci_name"].item() == "CC du Sud-Test"


@pytest.mark.parametrize(
    "kwargs, expected_count",
    [({}, 18), ({"departement_code": "91"}, 10), ({"region_code": "11"}, 14), ({"departement_code": "2A"}, 4),
     ({"region_code": "11", "departement_code": "2A"}, 0), ({"region_code": "11' OR '1'='1"}, 0)],
)  # fmt: skip
def test_territorial_unit_filters_are_bound_parameters(con, kwargs, expected_count):
    assert len(q.territorial_units(con, **kwargs)) == expected_count


def test_unit_geometries_decode_wkb_to_a_geodataframe(con):
    gdf = q.unit_geometries(con, departement_code="2A")
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf["commune_code"]) == ["2A001", "2A002", "2A003", "2A004"]
    assert gdf.geometry.is_valid.all()
    assert [round(a, 6) for a in shapely.area(gdf.geometry.to_numpy())] == [0.01] * 4  # 0.1° squares
    picked = q.unit_geometries(con, commune_codes=["91001", "75101", "75056"])
    assert set(picked["commune_code"]) == {"91001", "75101"}  # the parent city is not a territorial unit


def test_outlines_and_their_allow_list(con):
    depts = q.departement_outlines(con, region_code="11")
    assert list(depts["code"]) == ["75", "91"]
    assert depts.geometry.notna().all()
    with pytest.raises(ValueError, match="niveau de contour inconnu"):
        q.outlines(con, "communes; DROP TABLE cpts")


def test_registers_and_cpts(con):
    registers = q.list_registers(con).set_index("register_id")
    counts = dict(con.execute("SELECT register_id, count(*) FROM cpts GROUP BY register_id").fetchall())
    assert registers["cpts_count"].to_dict() == counts
    assert registers.loc[IMPORTED_REGISTER_ID, "region_code"] == IMPORTED_REGION
    assert q.get_register(con, "absent") is None
    imported = q.get_register(con, IMPORTED_REGISTER_ID)
    assert imported["as_of_date"] is None and imported["kind"] == "imported"
    cpts = q.list_cpts(con, DEMO_REGISTER_ID)
    assert len(cpts) == 4 and pd.api.types.is_datetime64_any_dtype(cpts["aci_date"])
    units = q.cpts_units(con, IMPORTED_REGISTER_ID)
    assert set(units["cpts_id"]) == {"import-test-i1", "import-test-i2"}


def test_cpts_geometries_filter(con):
    all_cpts = q.cpts_geometries(con, DEMO_REGISTER_ID)
    assert len(all_cpts) == 4
    one = q.cpts_geometries(con, DEMO_REGISTER_ID, ["demo-test-c", "import-test-i1"])
    assert list(one["cpts_id"]) == ["demo-test-c"]  # a CPTS of another register is not returned
    assert shapely.area(one.geometry.iloc[0]) == pytest.approx(0.04)


def test_indicators(con):
    catalogue = q.indicator_catalogue(con).set_index("indicator_code")
    assert list(catalogue.loc["apl_mg", "years"]) == [2022, 2023]
    assert q.indicator_years(con, "apl_mg") == [2022, 2023]
    values = q.indicator_values(con, "apl_mg", 2022, ["2A001", "75101", "99999"])
    assert list(values["geo_code"]) == ["2A001", "75101"]
    assert len(q.indicator_values(con, "apl_mg", 2021)) == 0


def test_build_info_stages_sources(con):
    assert q.build_info(con)["schema_version"] == SCHEMA_VERSION
    stages = q.stages(con)
    assert {"pre_projet", "lettre_intention", "projet_sante", "aci"} <= set(stages["stage_code"])
    assert list(stages["rank"]) == sorted(stages["rank"])
    assert list(q.sources(con, ["drees-apl"])["source_id"]) == ["drees-apl"]
