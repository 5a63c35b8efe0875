"""Map builders: features, ids, French tooltips, colours, offline HTML (no CDN), payload size."""

from __future__ import annotations

import re

import folium
import pytest

from observatory import coverage as cov
from observatory import indicators as ind
from observatory import maps
from observatory import queries as q
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, make_analytical_db


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


def assert_offline(m: folium.Map) -> str:
    page = m.get_root().render()
    external = re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", page)
    assert external == [], f"ressources externes : {external}"
    assert "cdn" not in page.lower() and "https://" not in page
    assert '<script src="/app/static/leaflet/leaflet.js"></script>' in page
    assert 'href="/app/static/leaflet/leaflet.css"' in page
    return page


def test_every_map_has_its_furniture_scale_tooltips_labels_and_a_fit(db):
    """Metric scale and zoom at the top right, tooltips kept inside, labels, fitted beside the controls."""
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], departement_code="91")
    m = maps.cpts_profile_map(snap, "demo-test-c", units, db["stages"], q.places(db["con"]))
    page = assert_offline(m)
    assert "metric: true, imperial: false" in page and "addControls(map_" in page
    assert "L.Tooltip.prototype._setPosition" in page
    assert 'setLabels(map_' in page and '"Ablon-Test"' in page
    assert re.search(r"observatoireFurniture\.fit\(map_\w+, \[48\.\d+,2\.\d+,48\.\d+,2\.\d+\], false\)", page)
    assert "observatoire-legend" not in page  # legends are drawn beside the maps


def test_coordinates_are_rounded_to_four_decimals(db):
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], departement_code="91")
    units["geometry"] = units.geometry.translate(xoff=0.123456789, yoff=0.000012345)
    m = maps.cpts_profile_map(snap, "demo-test-c", units, db["stages"])
    text = str(geojson_layers(m)["Communes"].data["features"])
    numbers = re.findall(r"-?\d+\.\d+", text)
    assert numbers and all(len(n.split(".")[1]) <= 4 for n in numbers)


def test_indicator_map_has_classes_and_a_legend_beside_it(db):
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
    title, items = maps.indicator_legend(data, classes, has_missing=True)
    assert [i.label for i in items] == classes.labels + [ind.NO_DATA_LABEL]
    assert items[0].swatch == classes.colors[0] and title.endswith("(2023)")
    html = maps.legend_html(title, items)
    assert html.count('class="ligne"') == len(items)


def test_cpts_profile_map(db):
    snap = db["snapshot"]("2024-06-30")
    units = q.unit_geometries(db["con"], region_code="11")
    m = maps.cpts_profile_map(snap, "demo-test-b", units, db["stages"])
    layer = geojson_layers(m)["Communes"]
    assert len(layer.data["features"]) == 14
    assert layer.style_function({"id": "91001"})["fillColor"] == maps.OVERLAP_COLOR
    assert layer.style_function({"id": "91005"})["fillColor"] == maps.OTHER_COMMUNES_COLOR  # not in the CPTS
    with pytest.raises(KeyError, match="CPTS inconnue"):
        maps.cpts_profile_map(snap, "absent", units)
    assert_offline(m)
    title, items = maps.cpts_profile_legend(snap, "demo-test-b", db["stages"])
    assert title == "Territoire au 30/06/2024" and items[0].label == "CPTS Bêta (Lettre d'intention validée)"


def test_legend_html_escapes_outside_text():
    html = maps.legend_html("<b>Titre</b>", [maps.LegendItem("#fff", "<img src=x onerror=alert(1)>", "1 & 2")])
    assert "<img" not in html and "&lt;img" in html and "1 &amp; 2" in html and "&lt;b&gt;Titre" in html


def test_payload_size_function(db):
    snap = db["snapshot"]("2024-06-30")
    m = maps.cpts_profile_map(snap, "demo-test-c", q.unit_geometries(db["con"], departement_code="91"))
    size = maps.map_payload_bytes(m)
    assert maps.map_payload_bytes(m) == size  # measuring does not change the map
    assert 5_000 < size < 2_000_000


def test_a_legend_on_the_map_is_still_offered_escaped_and_a_map_can_be_fitted_at_once():
    m = maps.new_map((2.0, 48.0, 3.0, 49.0))
    legend = maps.Legend("<i>Titre</i>", [("#fff", "<b>Stade</b>")])
    legend.add_to(m)
    page = assert_offline(m)
    assert "&lt;b&gt;Stade" in legend.html and "<b>" not in legend.html and "<b>Stade" not in page
    assert "observatoireFurniture.fit(map_" in page and "[48.0,2.0,49.0,3.0]" in page
