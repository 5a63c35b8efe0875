"""The « Couverture » map (observatory.coverage_map, geo.insets, geo.encoding): compact outlines, DROM insets,
place labels from the data, the base per register and the views per date, area, selection and search."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import encoding
from geo.insets import fit_inset
from observatory import coverage_map as cm
from observatory import coverage_views as views
from observatory import queries as q
from observatory.coverage_timeline import build_timeline, snapshot_at
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGION, IMPORTED_REGISTER_ID, make_analytical_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    con = open_readonly(make_analytical_db(tmp_path_factory.mktemp("cmap") / "observatoire.duckdb"))
    units = q.territorial_units(con)

    def snapshot(as_of="2024-06-30", register=DEMO_REGISTER_ID, region=None):
        timeline = build_timeline(units, q.list_cpts(con, register), q.cpts_units(con, register), region)
        return timeline, snapshot_at(timeline, as_of)

    yield {"con": con, "snapshot": snapshot, "depts": q.departement_outlines(con), "places": q.places(con),
           "stages": q.stages(con), "cpts_geoms": q.cpts_geometries(con, DEMO_REGISTER_ID),
           "departements": q.departements(con)}
    con.close()


# --- geometry ----------------------------------------------------------------------------------------


def test_encoding_round_trip_and_size():
    square = shapely.Polygon([(2.0, 48.0), (2.1234, 48.0), (2.1234, 48.1), (2.0, 48.1)],
                             [[(2.02, 48.02), (2.05, 48.02), (2.05, 48.05), (2.02, 48.02)]])
    multi = shapely.MultiPolygon([square, shapely.box(3, 47, 3.2, 47.1)])
    decoded = encoding.decode(encoding.encode(multi, 1e4), 1e4)
    assert decoded.equals(shapely.set_precision(multi, 1e-4))
    assert encoding.encode(None) == [] and encoding.encode(shapely.Point(1, 2)) == []
    # Smaller than the same outline in GeoJSON rounded to 4 decimals.
    geojson = json.dumps(shapely.geometry.mapping(shapely.set_precision(multi, 1e-4)))
    assert len(json.dumps(encoding.encode(multi, 1e4), separators=(",", ":"))) < len(geojson) / 1.5


def test_an_inset_keeps_the_shape_inside_its_box():
    island = shapely.box(-61.8, 15.8, -61.0, 16.5)  # Guadeloupe's bounds, roughly
    inset = fit_inset(island.bounds, (-8.3, 49.35, -5.65, 51.15), margin=0.1)
    moved = inset.transform([island])[0]
    west, south, east, north = moved.bounds
    assert -8.3 < west < east < -5.65 and 49.35 < south < north < 51.15
    assert inset.scale > 1  # a small island is enlarged
    with pytest.raises(ValueError, match="encart impossible"):
        fit_inset((0, 0, 0, 1), (0, 0, 1, 1))


def test_the_inset_file_is_valid_and_checked():
    raw = json.loads(cm.INSETS_PATH.read_text(encoding="utf-8"))
    assert cm.validate_inset_file(raw) == []
    assert {i["departement_code"] for i in raw["insets"]} == {"971", "972", "973", "974", "976"}
    broken = {"france_bounds": [0, 0, 1, 1], "insets": [{"departement_code": "971", "box": [5, 5, 6, 6]},
                                                         {"departement_code": "971", "box": [1, 0, 0, 1]}]}
    problems = cm.validate_inset_file(broken)
    assert any("sort de l'emprise" in p for p in problems) and any("en double" in p for p in problems)
    assert any("[ouest, sud, est, nord]" in p for p in problems)


def test_inset_layout_moves_only_drom_departements(db):
    far = db["depts"].iloc[[0]].copy()
    far["code"], far["name"], far["zone"] = "974", "La Réunion-Test", "drom"
    far["geometry"] = far.geometry.translate(xoff=53.0, yoff=-69.0)
    layout = cm.inset_layout(pd.concat([db["depts"], far], ignore_index=True))
    assert list(layout.insets) == ["974"] and layout.titles["974"] == "La Réunion-Test"
    moved = layout.move(["974", "91"], [far.geometry.iloc[0], db["depts"].geometry.iloc[0]])
    west, south, east, north = moved[0].bounds
    box = layout.insets["974"].target
    assert box[0] <= west and east <= box[2] and box[1] <= south and north <= box[3]
    assert moved[1].equals(db["depts"].geometry.iloc[0])  # metropolitan: untouched


# --- labels ---------------------------------------------------------------------------------------------


def test_place_ranks_come_from_chef_lieu_and_population():
    places = pd.DataFrame({
        "name": ["Capitale", "Préfecture", "Grande", "Moyenne", "Bourg", "Hameau", "Marseille 16e Arrondissement"],
        "population_count": [10_000, 2_000, 150_000, 25_000, 4_000, 200, 17_000],
        "chef_lieu": ["region", "departement", None, None, None, None, None],
        "unit_type": ["commune"] * 6 + ["arrondissement_municipal"],
        "centroid_lon": [2.0] * 7, "centroid_lat": [48.0] * 7, "departement_code": ["75"] * 7,
    })  # fmt: skip
    assert cm.place_ranks(places).tolist() == [1, 2, 2, 3, 4, 0, 4]
    labels = cm.place_labels(places, 3)
    assert [label[0] for label in labels] == ["Capitale", "Préfecture", "Grande", "Moyenne"]
    assert [label[4] for label in labels] == ["prefecture", "prefecture", "ville", "ville"]
    assert "Marseille 16e" in [label[0] for label in cm.place_labels(places, 4)]  # an arrondissement, shortly


def test_labels_are_escaped_html():
    places = pd.DataFrame({"name": ["<img src=x onerror=alert(1)>"], "population_count": [500_000],
                           "chef_lieu": [None], "centroid_lon": [2.0], "centroid_lat": [48.0],
                           "departement_code": ["75"]})
    assert cm.place_labels(places, 2)[0][0] == "&lt;img src=x onerror=alert(1)&gt;"


# --- base and views ---------------------------------------------------------------------------------------


def test_base_holds_every_cpts_and_departement_once(db):
    timeline, _ = db["snapshot"]()
    layout = cm.inset_layout(db["depts"])
    data = cm.base_data(db["depts"], db["cpts_geoms"], timeline.summary, db["places"], layout)
    assert sorted(f["id"] for f in data["departements"]) == ["2A", "75", "91"]
    assert sorted(f["id"] for f in data["cpts"]) == ["demo-test-a", "demo-test-b", "demo-test-c", "demo-test-d"]
    props = {f["id"]: f["p"] for f in data["cpts"]}
    assert props["demo-test-b"]["cpts_name"] == "CPTS Bêta" and props["demo-test-b"]["cpts_id"] == "demo-test-b"
    assert [label[0] for label in data["labels"] if label[3] == 1] == ["Ville-Capitale", "Ajaccio-Test"]
    assert data["texts"]["cpts"] == "CPTS" and data["steps"] == cm.BASE_STEPS
    m = cm.base_map(data)
    page = m.get_root().render()
    assert "window.observatoire" in page and "observatoireFurniture" in page
    assert re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", page) == []  # offline
    assert "</script" not in cm.json_for_script({"x": "</script><script>alert(1)</script>"})


def view(db, as_of="2024-06-30", level="france", code=None, register=DEMO_REGISTER_ID, region=None, **kwargs):
    _, snapshot = db["snapshot"](as_of, register, region)
    area = views.area_of(level, code, db["departements"])
    units = q.unit_geometries(db["con"], departement_code=code) if level == "departement" else None
    overlaps = q.unit_geometries(db["con"], commune_codes=cm.overlap_codes(snapshot, area))
    return cm.coverage_view(snapshot, area, db["stages"], cm.inset_layout(db["depts"]), [48, 2, 49, 3], units,
                            overlaps, db["places"], **kwargs)


def test_france_view_shows_the_cpts_active_at_the_date(db):
    early, late = view(db, "2021-03-01"), view(db)
    assert sorted(early["cpts"]) == ["demo-test-a", "demo-test-b"]
    assert sorted(late["cpts"]) == ["demo-test-a", "demo-test-b", "demo-test-c", "demo-test-d"]
    stage = late["stages"][late["cpts"]["demo-test-b"][0]]
    assert stage[0] == "Lettre d&#x27;intention validée"  # escaped: tooltips are HTML
    assert [f["id"] for f in late["overlaps"]] == ["91001"] and early["overlaps"] == []
    assert late["departements"]["91"][0] == "2"  # CPTS with a commune in 91
    assert late["show_cpts"] and late["controls_free"] and late["area_departements"] is None
    script = cm.view_script(late)
    assert script.startswith("window.observatoire.apply(") and script.endswith(");\n")


def test_region_and_departement_views(db):
    region = view(db, level="region", code="94")
    assert region["area_departements"] == ["2A"] and sorted(region["cpts"]) == ["demo-test-d"]
    dept = view(db, level="departement", code="91", selected_cpts_id="demo-test-c")
    assert not dept["show_cpts"] and len(dept["communes"]) == 10
    fills = {f["id"]: f["p"]["fill"] for f in dept["communes"]}
    assert fills["91001"] == cm.OVERLAP_COLOR and fills["91005"] == cm.WHITE_ZONE_COLOR
    assert dept["selected_outline"] and dept["selected"] == "demo-test-c"
    assert {label[0] for label in dept["labels"]} >= {"Ablon-Test"}  # the préfecture of 91


def test_imported_register_marks_other_departements_out_of_register(db):
    result = view(db, register=IMPORTED_REGISTER_ID, region=IMPORTED_REGION)
    assert sorted(result["outside_departements"]) == ["75", "91"]


def test_a_commune_found_is_outlined_and_fitted(db):
    geometry = q.unit_geometries(db["con"], commune_codes=["91003"]).geometry.iloc[0]
    result = view(db, level="departement", code="91", focus_geometry=geometry, fit_key="k")
    assert result["focus"]["g"] and result["fit_key"] == "k"
    south, west, north, east = result["bounds"]
    assert (west, south, east, north) == pytest.approx(geometry.bounds, abs=1e-5)


def test_legend_counts_the_cpts_of_each_stage(db):
    items = cm.coverage_legend(None, db["stages"], {"aci": 2, "lettre_intention": 1}, (7, 1000), (1, 10))
    assert [i.figure for i in items][:4] == ["0 CPTS", "1 CPTS", "0 CPTS", "2 CPTS"]
    assert items[-1].label.startswith("Chevauchement") and items[-1].figure == "1 communes"
    assert cm.coverage_legend("84", db["stages"], {}, (0, 0), (0, 0))[-1].label.startswith("Hors registre")


def test_france_base_payload_is_smaller_than_naive_rounded_geojson(db):
    timeline, _ = db["snapshot"]()
    data = cm.base_data(db["depts"], db["cpts_geoms"], timeline.summary, db["places"], cm.inset_layout(db["depts"]))
    encoded = len(json.dumps(data["departements"] + data["cpts"], separators=(",", ":")))
    frames = [db["depts"].geometry, db["cpts_geoms"].geometry]
    naive = sum(len(json.dumps(shapely.geometry.mapping(g))) for frame in frames for g in frame)
    assert encoded < naive
    assert isinstance(gpd.GeoSeries(np.array([None])), gpd.GeoSeries)
