"""The demo register generator, on a small synthetic France built here (square communes on a grid)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.shapes import from_wkb
from observatory.registers.demo import (
    _aci_dates,
    calibration_report,
    generate_demo_register,
    load_demo_params,
)
from observatory.schema import TABLES_BY_NAME
from observatory.stages import national_stage_codes, national_stage_of_ars, stage_at
from observatory.store import create_schema, insert_frame

CELL = 0.05  # degrees
MISSING_SHAPE = "01055"  # a commune without a shape (as the 8 communes created in 2025)
ISLAND = "2A099"  # a commune away from the others (as Île-de-Bréhat)
CITY = "02500"  # a city cut into arrondissements (as Paris, Lyon, Marseille)
MISSIONS = {"acces_soins", "parcours", "prevention", "crise_sanitaire", "qualite_pertinence", "accompagnement_ps"}
SOCLE = {"acces_soins", "parcours", "prevention", "crise_sanitaire"}


def _square(x: int, y: int):
    return shapely.box(2 + x * CELL, 46 + y * CELL, 2 + (x + 1) * CELL, 46 + (y + 1) * CELL)


def synthetic_france() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Three départements of 10 x 10 communes; four EPCI each, one EPCI across 01 and 02; a city of four
    arrondissements in 02; one commune without shape; one island."""
    rows, shapes = [], {}
    layout = {"01": (0, 0, "84"), "02": (10, 0, "32"), "2A": (0, 10, "94")}
    for dept, (x0, y0, region) in layout.items():
        for i in range(100):
            dx, dy = i % 10, i // 10
            code = f"{dept}{i + 1:03d}"
            quadrant = (dx >= 5) + 2 * (dy >= 5)
            epci = f"2000{dept}0{quadrant}"
            if dept == "02" and quadrant in (0, 2):
                epci = f"2000010{quadrant + 1}"  # western 02 shares an EPCI with eastern 01
            population = 300 + (dx * 370 + dy * 530 + i * 97) % 4200
            if (dx, dy) == (2, 2):
                population = 45_000  # a town, so densities differ
            rows.append(
                {"commune_code": code, "name": f"Commune {code}", "unit_type": "commune", "parent_commune_code": None,
                 "departement_code": dept, "region_code": region, "epci_code": epci,
                 "population_count": population, "is_territorial_unit": True}
            )
            shapes[code] = _square(x0 + dx, y0 + dy)
    by_code = {r["commune_code"]: r for r in rows}
    # four cells of 02 become the arrondissements of a city (their parent is not a territorial unit)
    for k, code in enumerate(["02078", "02079", "02088", "02089"]):
        row = by_code.pop(code)
        arr = f"0290{k + 1}"
        row.update(commune_code=arr, name=f"Ville {k + 1}e Arrondissement", unit_type="arrondissement_municipal",
                   parent_commune_code=CITY, population_count=[20_000, 45_000, 60_000, 70_000][k])
        by_code[arr] = row
        shapes[arr] = shapes.pop(code)
    city_row = dict(by_code["02901"], commune_code=CITY, name="Ville", unit_type="commune", parent_commune_code=None,
                    population_count=195_000, is_territorial_unit=False)
    by_code[CITY] = city_row
    shapes[ISLAND] = shapely.box(1.2, 46.6, 1.2 + CELL, 46.6 + CELL)
    communes = pd.DataFrame(sorted(by_code.values(), key=lambda r: r["commune_code"]))
    centroids = {c: shapely.point_on_surface(s) for c, s in shapes.items()}
    communes["centroid_lon"] = [centroids[c].x if c in centroids else np.nan for c in communes["commune_code"]]
    communes["centroid_lat"] = [centroids[c].y if c in centroids else np.nan for c in communes["commune_code"]]
    communes["area_km2"] = None
    communes["geometry_source"] = "test"
    communes["chef_lieu"] = None
    communes = communes[TABLES_BY_NAME["communes"].column_names]
    del shapes[MISSING_SHAPE]
    geometries = pd.Series(shapes).sort_index()
    units = communes[communes["is_territorial_unit"]]
    epci = units.groupby("epci_code", as_index=False)["population_count"].sum()
    epci["name"] = "EPCI " + epci["epci_code"]
    epci["epci_type"] = "CC"
    return communes, geometries, epci[TABLES_BY_NAME["epci"].column_names]


@pytest.fixture(scope="module")
def france():
    return synthetic_france()


@pytest.fixture(scope="module")
def demo(france):
    return generate_demo_register(*france)


@pytest.fixture(scope="module")
def params():
    return load_demo_params()


FRAMES = {
    "register": "registers",
    "cpts": "cpts",
    "cpts_communes": "cpts_communes",
    "cpts_missions": "cpts_missions",
    "cpts_geometries": "cpts_geometries",
}


def test_running_twice_gives_identical_frames(france, demo):
    again = generate_demo_register(*france)
    for attribute in FRAMES:
        pd.testing.assert_frame_equal(getattr(demo, attribute), getattr(again, attribute))


@pytest.mark.parametrize(("attribute", "table"), FRAMES.items())
def test_frames_have_exactly_the_schema_columns(demo, attribute, table):
    assert list(getattr(demo, attribute).columns) == TABLES_BY_NAME[table].column_names


def test_frames_load_into_the_schema(demo):
    con = duckdb.connect()
    create_schema(con)
    for attribute, table in FRAMES.items():
        insert_frame(con, table, getattr(demo, attribute))
    stored = con.execute("SELECT cpts_id, aci_date FROM cpts ORDER BY cpts_id").df()
    assert len(stored) == len(demo.cpts)
    expected = demo.cpts.sort_values("cpts_id")["aci_date"].dt.date.tolist()
    assert [None if pd.isna(v) else v for v in stored["aci_date"].dt.date] == [
        None if pd.isna(v) else v for v in expected
    ]
    assert con.execute("SELECT count(*) FROM registers WHERE as_of_date = DATE '2024-03-31'").fetchone()[0] == 1


def test_register_row(demo):
    row = demo.register.iloc[0]
    assert (row["register_id"], row["kind"], bool(row["is_demo"])) == ("demo", "demo", True)
    assert row["region_code"] is None and pd.Timestamp(row["as_of_date"]) == pd.Timestamp("2024-03-31")
    assert "fictif" in row["description"] and "communes" in row["description"]


def test_cpts_ids_names_and_flags(demo):
    cpts = demo.cpts
    assert len(cpts) >= 5
    assert cpts["cpts_id"].is_unique and cpts["cpts_id"].str.fullmatch(r"demo-\d{4}").all()
    assert cpts["name"].is_unique and cpts["name"].str.contains("Démo").all()
    assert cpts["is_demo"].all() and (cpts["register_id"] == "demo").all()
    assert cpts["main_departement_code"].isin(["01", "02", "2A"]).all()


def test_every_territory_is_made_of_known_units(france, demo):
    communes, _, _ = france
    units = set(communes.loc[communes["is_territorial_unit"], "commune_code"])
    members = demo.cpts_communes.groupby("cpts_id")["commune_code"].apply(set)
    assert set(members.index) == set(demo.cpts["cpts_id"])
    assert all(len(m) > 0 for m in members)
    assert set(demo.cpts_communes["commune_code"]) <= units
    assert CITY not in set(demo.cpts_communes["commune_code"])
    assert not demo.cpts_communes.duplicated().any()


def test_main_departement_holds_most_of_the_population(france, demo):
    communes, _, _ = france
    joined = demo.cpts_communes.merge(communes, on="commune_code")
    by_dept = joined.groupby(["cpts_id", "departement_code"])["population_count"].sum().reset_index()
    top = by_dept.sort_values(["cpts_id", "population_count"], ascending=[True, False]).groupby("cpts_id").head(1)
    expected = top.set_index("cpts_id")["departement_code"]
    assert demo.cpts.set_index("cpts_id")["main_departement_code"].equals(expected.reindex(demo.cpts["cpts_id"]))


def test_territories_are_contiguous(demo):
    """Shapes of every CPTS without the island or the shapeless commune dissolve into one polygon."""
    special = set(demo.cpts_communes.loc[demo.cpts_communes["commune_code"] == ISLAND, "cpts_id"])
    shapes = dict(zip(demo.cpts_geometries["cpts_id"], from_wkb(demo.cpts_geometries["geometry_wkb"]), strict=False))
    assert set(shapes) == set(demo.cpts["cpts_id"])
    for cpts_id, shape in shapes.items():
        assert shape.is_valid and not shape.is_empty
        if cpts_id not in special:
            assert shape.geom_type == "Polygon", cpts_id


def test_overlaps_are_the_only_units_in_two_cpts(france, demo, params):
    counts = demo.cpts_communes.groupby("commune_code")["cpts_id"].nunique()
    shared = counts[counts > 1]
    assert counts.max() <= 2
    assert 1 <= len(shared) <= params["overlaps"]["unit_count"]
    communes, _, _ = france
    population = communes.set_index("commune_code")["population_count"]
    assert (population.reindex(shared.index) <= params["overlaps"]["max_unit_population"]).all()
    # without overlaps the territories are disjoint
    no_overlap = load_demo_params()
    no_overlap["overlaps"]["unit_count"] = 0
    disjoint = generate_demo_register(*france, params=no_overlap)
    assert not disjoint.cpts_communes["commune_code"].duplicated().any()


def test_white_zones_leave_part_of_the_population_out(france, demo):
    communes, _, _ = france
    units = communes[communes["is_territorial_unit"]]
    covered = units["commune_code"].isin(demo.cpts_communes["commune_code"])
    white_share = units.loc[~covered, "population_count"].sum() / units["population_count"].sum()
    assert 0 < white_share < 0.5


DATE_ORDER = ["association_date", "preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"]


def test_dates_are_ordered_and_not_after_the_register_date(demo, params):
    cpts = demo.cpts
    as_of = pd.Timestamp("2024-03-31")
    for earlier, later in zip(DATE_ORDER, DATE_ORDER[1:], strict=False):
        both = cpts[earlier].notna() & cpts[later].notna()
        assert (cpts.loc[both, earlier] <= cpts.loc[both, later]).all(), (earlier, later)
        # a later stage is never reached without the earlier one
        assert not (cpts[later].notna() & cpts[earlier].isna()).any(), (earlier, later)
    for column in DATE_ORDER:
        assert (cpts[column].dropna() <= as_of).all(), column
    assert cpts["preproject_date"].notna().all()
    assert (cpts["preproject_date"] >= pd.Timestamp(params["delays_months"]["first_preproject_date"])).all()
    assert (cpts["aci_date"].dropna() >= pd.Timestamp("2019-06-20")).all()


def test_stage_mix_and_ars_stage_at_the_register_date(demo):
    stage_now = stage_at(demo.cpts, "2024-03-31")
    assert stage_now.notna().all() and set(stage_now) <= set(national_stage_codes())
    assert (stage_now == "aci").mean() >= 0.5
    derived = demo.cpts["ars_stage_code"].map(national_stage_of_ars)
    expected = stage_now.replace({"projet_sante": "lettre_intention"})  # ingénierie covers both
    assert derived.tolist() == expected.tolist()


def test_missions_of_aci_signatories(demo):
    missions = demo.cpts_missions.merge(demo.cpts[["cpts_id", "aci_date"]], on="cpts_id")
    assert set(missions["mission_code"]) <= MISSIONS
    assert missions["aci_date"].notna().all()
    assert (missions["start_date"] >= missions["aci_date"]).all()
    assert (missions["start_date"] <= pd.Timestamp("2024-03-31")).all()
    crisis = missions[missions["mission_code"] == "crise_sanitaire"]
    assert (crisis["start_date"] >= pd.Timestamp("2022-01-01")).all()
    signed = set(demo.cpts.loc[demo.cpts["aci_date"].notna(), "cpts_id"])
    for code in SOCLE:
        assert set(missions.loc[missions["mission_code"] == code, "cpts_id"]) == signed, code
    assert not demo.cpts_missions.duplicated(["cpts_id", "mission_code"]).any()


def test_aci_dates_follow_the_published_curve(params):
    points = params["aci_curve"]["points"]
    last = points[-1]["count"]
    dates = _aci_dates(last, points)
    assert dates.is_monotonic_increasing
    for point in points:
        reached = int((dates <= pd.Timestamp(point["date"])).sum())
        assert abs(reached - point["count"]) <= 1, point
    halved = _aci_dates(last // 2, points)
    assert abs(int((halved <= pd.Timestamp("2022-12-31")).sum()) - 369 * (last // 2) / last) <= 1


def test_calibration_report_computes_every_target(france, demo, params):
    communes, _, _ = france
    report = calibration_report(demo, communes)
    assert report["target_id"].tolist() == [t["target_id"] for t in params["targets"]]
    values = report.set_index("target_id")
    assert values.loc["total-2024-03", "demo_value"] == len(demo.cpts)
    signed = (demo.cpts["aci_date"] <= pd.Timestamp("2024-03-31")).sum()
    assert values.loc["aci-2024-03", "demo_value"] == signed
    assert values.loc["covered-2024-02", "demo_value"] + values.loc["white-2024-02", "demo_value"] == pytest.approx(100)
    sizes = values.loc[[f"taille-{i}-2024-03" for i in range(1, 5)], "demo_value"].sum()
    assert sizes == len(demo.cpts)
    assert values.loc["aci-2022-07", "target_value"] == 305
    assert report["label"].str.len().gt(0).all() and report["source"].str.len().gt(0).all()


def test_parameter_file_is_consistent(params):
    sources = set(params["sources"])
    assert params["register"]["as_of_date"] == "2024-03-31"
    assert set(params["stage_counts_at_as_of"]["counts"]) == set(national_stage_codes())
    assert set(params["stage_counts_at_as_of"]["sources"].values()) <= sources
    points = params["aci_curve"]["points"]
    assert [p["date"] for p in points] == sorted(p["date"] for p in points)
    counts = [p["count"] for p in points]
    assert counts == sorted(counts) and len(set(counts)) == len(counts) and counts[0] == 0
    assert points[-1]["date"] == params["register"]["as_of_date"]
    assert points[-1]["count"] == params["stage_counts_at_as_of"]["counts"]["aci"]
    assert {p["source_id"] for p in points} <= sources
    measures = {"cpts_count", "stage_share_pct", "covered_population_count", "covered_population_pct",
                "white_zone_population_pct", "mean_population_per_cpts", "size_class_count"}
    class_codes = {c["code"] for c in params["size_classes"]["classes"]}
    ids = [t["target_id"] for t in params["targets"]]
    assert len(ids) == len(set(ids))
    for target in params["targets"]:
        assert target["measure"] in measures, target
        assert target["stage"] in set(national_stage_codes()) | {"tous"} | class_codes, target
        assert target["source_id"] in sources, target
        pd.Timestamp(target["date"])
    assert set(params["missions"]["socle"]) | set(params["missions"]["optional"]) == MISSIONS
    for bounds in ("preproject_to_letter", "letter_to_health_project", "health_project_to_aci"):
        low, high = params["delays_months"][bounds]
        assert 0 < low < high
