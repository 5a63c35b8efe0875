"""Map builders: features, ids, French tooltips, colours, offline HTML (no CDN), payload size."""

from __future__ import annotations

import re

import folium
import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import indicators as ind
from observatory import maps
from observatory import queries as q
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGION, IMPORTED_REGISTER_ID, make_analytical_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("maps") / "observatoire.duckdb")
    con = open_readonly(path)
    units = q.territorial_units(con)

    def snapshot(as_of, register=DEMO_REGISTER_ID, region=None):
        return cov.coverage_snapshot(units, q.list_cpts(con, register), q.cpts_units(con, register), as_of, region)

    yield {
        "con": con,
        "units": units,
        "snapshot": snapshot,
        "stages": q.stages(con),
        "depts": q.departement_outlines(con),
        "cpts_geoms": q.cpts_geometries(con, DEMO_REGISTER_ID),
    }
    con.close()


def geojson_layers(m: folium.Map) -> dict[str, folium.GeoJson]:
    return {child.layer_name: child for child in m._children.values() if isinstance(child, folium.GeoJson)}


def tooltip_of(layer: folium.GeoJson) -> folium.GeoJsonTooltip:
    return next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip))


def feature_ids(layer: folium.GeoJson) -> list[str]:
    return [f["id"] for f in layer.data["features"]]


def france_map(db, as_of="2024-06-30", **kwargs):
    snap = db["snapshot"](as_of)
    overlap_codes = snap.units.loc[snap.units["status"] == "chevauchement", "commune_code"]
    overlaps = q.unit_geometries(db["con"], commune_codes=list(overlap_codes))
    return snap, maps.coverage_map_france(snap, db["depts"], db["cpts_geoms"], db["stages"], overlaps, **kwargs)


def assert_offline(m: folium.Map) -> str:
    page = m.get_root().render()
    external = re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", page)
    assert external == [], f"ressources externes : {external}"
    assert "cdn" not in page.lower() and "https://" not in page
    assert '<script src="/app/static/leaflet/leaflet.js"></script>' in page
    assert 'href="/app/static/leaflet/leaflet.css"' in page
    return page


def test_france_map_features_ids_and_tooltips(db):
    snap, m = france_map(db, selected_cpts_id="demo-test-a")
    layers = geojson_layers(m)
    assert list(layers) == ["Départements", "CPTS", "Chevauchements"]
    assert sorted(feature_ids(layers["Départements"])) == ["2A", "75", "91"]
    assert sorted(feature_ids(layers["CPTS"])) == ["demo-test-a", "demo-test-b", "demo-test-c", "demo-test-d"]
    assert feature_ids(layers["Chevauchements"]) == ["91001"]
    tooltip = tooltip_of(layers["CPTS"])
    assert tooltip.aliases == ["CPTS", "Stade", "Population", "Communes", "Départements", "Taille ACI"]
    props = {f["id"]: f["properties"] for f in layers["CPTS"].data["features"]}
    assert props["demo-test-b"]["cpts_name"] == "CPTS Bêta"
    # Tooltip text is HTML-escaped (Leaflet writes it with innerHTML); the reader sees the apostrophe.
    assert props["demo-test-b"]["stage_label"] == "Lettre d&#x27;intention validée"
    assert props["demo-test-b"]["population_text"] == "50\u202f000"
    assert props["demo-test-b"]["communes_text"] == "3"
    assert props["demo-test-b"]["cpts_id"] == "demo-test-b"  # a click maps back to the CPTS
    # Stage colours come from the stages table; the selected CPTS has a thick outline.
    colors = dict(zip(db["stages"]["stage_code"], db["stages"]["color"], strict=True))
    style = layers["CPTS"].style_function
    assert style({"id": "demo-test-a"})["fillColor"] == colors["aci"]
    assert style({"id": "demo-test-a"})["weight"] > style({"id": "demo-test-c"})["weight"]
    assert layers["Départements"].style_function({"id": "91"})["fillColor"] == maps.WHITE_ZONE_COLOR
    assert_offline(m)


@pytest.mark.parametrize("as_of, expected", [("2019-02-28", []), ("2019-06-30", ["demo-test-a"]),
                                             ("2021-06-30", ["demo-test-a", "demo-test-b", "demo-test-c"])])  # fmt: skip
def test_only_cpts_active_at_the_date_are_drawn(db, as_of, expected):
    _, m = france_map(db, as_of)
    layers = geojson_layers(m)
    drawn = sorted(feature_ids(layers["CPTS"])) if "CPTS" in layers else []
    assert drawn == expected


def test_region_only_register_shows_other_departements_out_of_register(db):
    snap = db["snapshot"]("2024-06-30", IMPORTED_REGISTER_ID, IMPORTED_REGION)
    geoms = q.cpts_geometries(db["con"], IMPORTED_REGISTER_ID)
    m = maps.coverage_map_france(snap, db["depts"], geoms, db["stages"])
    base = geojson_layers(m)["Départements"]
    assert base.style_function({"id": "75"})["fillColor"] == maps.OUT_OF_REGISTER_COLOR
    assert base.style_function({"id": "2A"})["fillColor"] == maps.WHITE_ZONE_COLOR
    texts = {f["id"]: f["properties"]["coverage_text"] for f in base.data["features"]}
    assert texts["75"] == "hors registre"
    legend = next(c for c in m._children.values() if isinstance(c, maps.Legend))
    assert (maps.OUT_OF_REGISTER_COLOR, "Hors registre (non renseigné)") in legend.items


def test_region_view_keeps_cpts_with_a_unit_in_the_region(db):
    snap = db["snapshot"]("2024-06-30")
    m = maps.coverage_map_region(snap, "11", db["depts"], db["cpts_geoms"], db["stages"])
    layers = geojson_layers(m)
    assert sorted(feature_ids(layers["Départements"])) == ["75", "91"]
    assert sorted(feature_ids(layers["CPTS"])) == ["demo-test-a", "demo-test-b", "demo-test-c"]


def test_departement_map_colours_communes_by_status(db):
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], departement_code="91")
    m = maps.coverage_map_departement(snap, units, db["stages"], selected_cpts_id="demo-test-c")
    layers = geojson_layers(m)
    communes = layers["Communes"]
    assert len(communes.data["features"]) == 10
    assert tooltip_of(communes).aliases == ["Commune", "CPTS", "Stade", "Population", "Situation"]
    props = {f["id"]: f["properties"] for f in communes.data["features"]}
    assert props["91001"]["cpts_text"] == "CPTS Gamma ; CPTS Bêta"
    assert props["91001"]["status_text"] == "Chevauchement (plusieurs CPTS)"
    assert props["91005"]["cpts_text"] == "aucune"
    style = communes.style_function
    assert style({"id": "91001"})["fillColor"] == maps.OVERLAP_COLOR
    assert style({"id": "91005"})["fillColor"] == maps.WHITE_ZONE_COLOR
    colors = dict(zip(db["stages"]["stage_code"], db["stages"]["color"], strict=True))
    assert style({"id": "91002"})["fillColor"] == colors["aci"]
    assert style({"id": "91002"})["color"] == maps.SELECTED_COLOR  # a commune of the selected CPTS
    assert feature_ids(layers["CPTS sélectionnée"]) == ["demo-test-c"]
    assert_offline(m)


def test_coordinates_are_rounded_to_four_decimals(db):
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], departement_code="91")
    units["geometry"] = units.geometry.translate(xoff=0.123456789, yoff=0.000012345)
    m = maps.coverage_map_departement(snap, units, db["stages"])
    text = str(geojson_layers(m)["Communes"].data["features"])
    numbers = re.findall(r"-?\d+\.\d+", text)
    assert numbers and all(len(n.split(".")[1]) <= 4 for n in numbers)


def test_indicator_map_has_classes_and_legend(db):
    con = db["con"]
    entry = ind.catalogue_entry(q.indicator_catalogue(con), "apl_mg")
    data = ind.indicator_frame(
        entry,
        2023,
        q.indicator_values(con, "apl_mg", 2023),
        q.indicator_values(con, "pop_standardisee_mg", 2023),
        db["units"],
    )
    classes = ind.classify_indicator(entry, data.units["value"])
    units = q.unit_geometries(con, departement_code="91")
    snap = db["snapshot"]("2024-06-30")
    m = maps.indicator_map(data, units, classes, selected_cpts_id="demo-test-c", snapshot=snap)
    layer = geojson_layers(m)["Indicateur"]
    assert len(layer.data["features"]) == 10
    assert tooltip_of(layer).aliases == ["Commune", "CPTS", "Valeur 2023", "Unité", "Population"]
    values = data.units.set_index("commune_code")["value"]
    for feature in layer.data["features"]:
        expected = classes.colors[int(classes.assign(values.loc[[feature["id"]]]).iloc[0])]
        assert layer.style_function(feature)["fillColor"] == expected
    assert_offline(m)
    legend = next(c for c in m._children.values() if isinstance(c, maps.Legend))
    assert [label for _, label in legend.items] == classes.labels
    assert legend.items[0][0] == classes.colors[0]


def test_cpts_profile_map(db):
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], region_code="11")
    m = maps.cpts_profile_map(snap, "demo-test-b", units, db["stages"])
    layer = geojson_layers(m)["Communes"]
    assert len(layer.data["features"]) == 14
    assert layer.style_function({"id": "91001"})["fillColor"] == maps.OVERLAP_COLOR
    assert layer.style_function({"id": "91005"})["fillColor"] == "#f0f0f0"  # not in the CPTS
    with pytest.raises(KeyError, match="CPTS inconnue"):
        maps.cpts_profile_map(snap, "absent", units)
    assert_offline(m)


def test_payload_size_function(db):
    _, m = france_map(db)
    size = maps.map_payload_bytes(m)
    assert maps.map_payload_bytes(m) == size  # measuring does not change the map
    assert size == len(m.get_root().render().encode("utf-8"))
    assert 5_000 < size < 2_000_000


def test_france_view_fits_metropolitan_france_even_with_drom(db):
    snap = db["snapshot"]("2024-06-30")
    far = db["depts"].iloc[[0]].copy()
    far["code"], far["zone"] = "974", "drom"
    far["geometry"] = far.geometry.translate(xoff=53.0, yoff=-69.0)  # around La Réunion
    depts = pd.concat([db["depts"], far], ignore_index=True)
    m = maps.coverage_map_france(snap, depts, db["cpts_geoms"], db["stages"])
    fit = next(c for c in m._children.values() if isinstance(c, folium.map.FitBounds))
    (south, west), (north, east) = fit.bounds
    assert west >= 2.0 and east <= 2.8 and south >= 48.0  # the factory's metropolitan squares only
    assert "974" in feature_ids(geojson_layers(m)["Départements"])  # still drawn


def test_maps_of_a_register_without_cpts(db):
    con = db["con"]
    snap = cov.coverage_snapshot(db["units"], q.list_cpts(con, "absent"), q.cpts_units(con, "absent"), "2024-06-30")
    m = maps.coverage_map_france(snap, db["depts"], q.cpts_geometries(con, "absent"), db["stages"])
    assert list(geojson_layers(m)) == ["Départements"]
    m = maps.coverage_map_departement(snap, q.unit_geometries(con, departement_code="91"), db["stages"])
    communes = geojson_layers(m)["Communes"]
    assert {communes.style_function(f)["fillColor"] for f in communes.data["features"]} == {maps.WHITE_ZONE_COLOR}


def test_france_view_can_be_simplified(db):
    snap = db["snapshot"]("2024-06-30")
    m = maps.coverage_map_france(snap, db["depts"], db["cpts_geoms"], db["stages"], simplify_tolerance=0.01)
    layers = geojson_layers(m)
    assert sorted(feature_ids(layers["Départements"])) == ["2A", "75", "91"]
    assert len(layers["CPTS"].data["features"]) == 4
