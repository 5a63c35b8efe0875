"""Exports of the Couverture view: the map as a PNG image with its legend, register, date and sources
(observatory.map_image, rendered offline by vl-convert) and the CPTS perimeters as GeoJSON."""

from __future__ import annotations

import io
import json

import pytest
import shapely

from observatory import coverage_map as cm
from observatory import coverage_views as views
from observatory import exports, map_image
from observatory import queries as q
from observatory.coverage_timeline import build_timeline, snapshot_at
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, make_analytical_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    con = open_readonly(make_analytical_db(tmp_path_factory.mktemp("exports") / "observatoire.duckdb"))
    timeline = build_timeline(q.territorial_units(con), q.list_cpts(con, DEMO_REGISTER_ID),
                              q.cpts_units(con, DEMO_REGISTER_ID))
    yield {"con": con, "snapshot": snapshot_at(timeline, "2024-06-30"), "depts": q.departement_outlines(con),
           "cpts_geoms": q.cpts_geometries(con, DEMO_REGISTER_ID), "stages": q.stages(con),
           "departements": q.departements(con)}
    con.close()


def layers(db, level="france", code=None):
    area = views.area_of(level, code, db["departements"])
    units = q.unit_geometries(db["con"], departement_code=code) if level == "departement" else None
    overlaps = q.unit_geometries(db["con"], commune_codes=cm.overlap_codes(db["snapshot"], area))
    return map_image.coverage_image_layers(db["snapshot"], area, db["depts"], db["cpts_geoms"],
                                           cm.inset_layout(db["depts"]), db["stages"], units, overlaps)


def test_image_layers_and_legend_agree(db):
    drawn, legend = layers(db)
    depts, cpts, overlaps = drawn
    assert set(depts["category"]) == {"Zone blanche (aucune CPTS)"}
    assert sorted(cpts["category"]) == ["ACI signé", "ACI signé", "Lettre d'intention validée", "Pré-projet"]
    assert list(overlaps["commune_code"]) == ["91001"]
    labels = [item.label for item in legend]
    assert set(cpts["category"]) | set(depts["category"]) | set(overlaps["category"]) <= set(labels)
    communes, _ = layers(db, "departement", "91")
    assert len(communes[0]) == 10 and "Chevauchement (plusieurs CPTS)" in set(communes[0]["category"])


def test_png_has_the_legend_the_register_the_date_and_the_sources(db):
    drawn, legend = layers(db)
    footer = ["Registre : Test (CPTS fictives, démonstration). Date de référence : 30/06/2024.",
              "Populations et contours : COG 2026 (INSEE, 2026)"]
    spec = map_image.map_image_spec(drawn, legend, "Couverture du territoire par les CPTS – France entière",
                                    ["État au 30/06/2024"], footer)
    text = json.dumps(spec, ensure_ascii=False)
    assert "Couverture du territoire" in text and "30/06/2024" in text and "COG 2026" in text
    assert spec["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["domain"] == [i.label for i in legend]
    assert "http" not in json.dumps(spec["vconcat"])  # data inline: nothing fetched
    png = map_image.png_bytes(spec)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image  # noqa: PLC0415  (Pillow comes with matplotlib/altair's stack; only the test reads it)

    width, height = Image.open(io.BytesIO(png)).size
    assert width >= map_image.IMAGE_WIDTH * map_image.PNG_SCALE * 0.9 and height > map_image.IMAGE_HEIGHT


def test_geojson_perimeters(db):
    active = views.active_cpts_in_area(db["snapshot"], "departement", "91")
    data = exports.cpts_geojson_bytes(active, db["cpts_geoms"], {"aci": "ACI signé"}, "2024-06-30",
                                      "Registre test =HYPERLINK()", True, ["COG 2026"])
    collection = json.loads(data.decode("utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["metadata"]["demonstration"] is True
    assert collection["metadata"]["registre"] == "Registre test =HYPERLINK()"  # data, not a formula
    features = {f["id"]: f for f in collection["features"]}
    assert sorted(features) == ["demo-test-b", "demo-test-c"]
    c = features["demo-test-c"]
    assert c["properties"]["stade"] == "ACI signé" and c["properties"]["date_de_reference"] == "2024-06-30"
    assert shapely.geometry.shape(c["geometry"]).area > 0


def test_profile_workbook_has_every_table_and_its_notes():
    import datetime as dt

    import pandas as pd
    from openpyxl import load_workbook

    from observatory import profile as pf

    identity = pf.ProfileIdentity(
        cpts_id="c1", name="=CPTS Test", register_id="demo", register_name="Démo", register_kind="demo", is_demo=True,
        as_of=dt.date(2024, 3, 31), stage_code="aci", stage_label="ACI signé", ars_stage_code=None,
        ars_stage_label=None, national_equivalent_label=None, association_date=None, population_count=12_463,
        population_source="somme des communes", size_class=1, size_class_label="Taille 1", communes_count=3,
        departements=("01 – Ain",), main_departement_code="01", region_code="84", notes=None)  # fmt: skip
    timeline = pd.DataFrame({"event_label": ["ACI signé"], "date_text": ["01/02/2022"]})
    sheets, notes = pf.profile_workbook_sheets(identity, timeline, None, [])
    assert list(sheets) == ["Identité", "Stades"] and "CPTS fictive du registre de démonstration." in notes["Identité"]
    book = load_workbook(io.BytesIO(exports.xlsx_bytes(sheets, notes)))
    values = [c.value for c in book["Identité"]["B"]]
    assert "=CPTS Test" in values and book["Identité"]["B2"].data_type == "s"  # text, never a formula
    assert 12_463 in values  # a number stays a number
