"""Chart builders: Vega-Lite specs with the expected encodings, French titles and locale."""

from __future__ import annotations

import pandas as pd
import pytest
import vl_convert as vlc

from observatory import charts
from observatory import coverage as cov
from observatory import indicators as ind
from observatory import queries as q
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, make_analytical_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("charts") / "observatoire.duckdb")
    con = open_readonly(path)
    units = q.territorial_units(con)
    cpts, links = q.list_cpts(con, DEMO_REGISTER_ID), q.cpts_units(con, DEMO_REGISTER_ID)
    snap = cov.coverage_snapshot(units, cpts, links, "2024-06-30")
    entry = ind.catalogue_entry(q.indicator_catalogue(con), "apl_mg")
    data = ind.indicator_frame(
        entry,
        2023,
        q.indicator_values(con, "apl_mg", 2023),
        q.indicator_values(con, "pop_standardisee_mg", 2023),
        units,
    )
    yield {"units": units, "cpts": cpts, "links": links, "snap": snap, "entry": entry, "data": data,
           "stages": q.stages(con)}  # fmt: skip
    con.close()


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_stage_counts_chart(db):
    counts = cov.stage_counts_over_time(db["cpts"])
    published = cov.published_national_figures()
    spec = charts.stage_counts_chart(counts, db["stages"], published).to_dict()
    lines, points = layers(spec)
    assert lines["mark"]["type"] == "line"
    assert lines["encoding"]["x"] == {**lines["encoding"]["x"], "field": "date", "type": "temporal", "title": "Date"}
    assert lines["encoding"]["y"]["field"] == "cpts_count" and lines["encoding"]["y"]["title"] == "Nombre de CPTS"
    color = lines["encoding"]["color"]
    assert color["field"] == "series_label" and color["title"] == "Stade"
    labels = dict(zip(db["stages"]["stage_code"], db["stages"]["label"], strict=True))
    assert color["scale"]["domain"] == [labels[s] for s in cov.NATIONAL_STAGES] + [charts.TOTAL_LABEL]
    assert points["mark"]["shape"] == "diamond"
    assert [t["title"] for t in points["encoding"]["tooltip"]] == [
        "Source", "Date", "Valeur publiée", "Stade compté", "Définition"]  # fmt: skip
    # Points are the published CPTS counts only (not population figures), each with its source.
    point_rows = spec["datasets"][points["data"]["name"]]
    expected = published[published["measure"] == "cpts_count"]
    assert len(point_rows) == len(expected)
    assert {r["source_label"] for r in point_rows} == set(expected["source_label"])
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec["title"] == "Nombre de CPTS par stade"
    # The total line sums the stages at each date.
    line_rows = pd.DataFrame(spec["datasets"][lines["data"]["name"]])
    total = line_rows[line_rows["series_label"] == charts.TOTAL_LABEL]["cpts_count"]
    assert total.max() == 4


def test_stage_counts_chart_renders(db):
    chart = charts.stage_counts_chart(
        cov.stage_counts_over_time(db["cpts"]), db["stages"], cov.published_national_figures()
    )
    svg = vlc.vegalite_to_svg(chart.to_json().replace('"container"', "600"))
    assert "<svg" in svg and "Nombre de CPTS" in svg


def test_coverage_over_time_chart(db):
    series = cov.coverage_over_time(db["units"], db["cpts"], db["links"])
    spec = charts.coverage_over_time_chart(series, cov.published_national_figures()).to_dict()
    line, points = layers(spec)
    assert line["encoding"]["y"]["field"] == "coverage_pct"
    assert line["encoding"]["y"]["title"] == "Population couverte (%)"
    rows = spec["datasets"][points["data"]["name"]]
    published = cov.published_national_figures()
    shares = published[published["measure"] == "population_covered_pct"]
    assert {r["figure_id"] for r in rows} == set(shares["figure_id"]) >= {
        "dgos-2022-06-pct", "fcpts-2024-02-pct", "dgos-2025-11-pct", "senat-2025-05-pct", "fcpts-2024-pct"}
    texts = {r["figure_id"]: r["value_text"] for r in rows}
    assert (texts["dgos-2022-06-pct"], texts["fcpts-2024-02-pct"], texts["senat-2025-05-pct"]) == ("32,8", "environ 84", "82")


def test_indicator_comparison_chart(db):
    territories = ind.indicator_by_territory(db["data"], db["snap"], departement_code="91")
    spec = charts.indicator_comparison_chart(territories, db["entry"], 2023).to_dict()
    bars, text, rule = layers(spec)
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["y"]["field"] == "axis_label"  # the territory label, shortened when long
    assert bars["encoding"]["y"]["sort"] == list(territories["territory_label"])  # short labels: unchanged here
    assert bars["encoding"]["x"]["field"] == "value"
    assert db["entry"]["unit"] in bars["encoding"]["x"]["title"]
    assert text["mark"]["type"] == "text" and text["encoding"]["text"]["field"] == "value_text"
    assert rule["mark"]["type"] == "rule"
    assert spec["datasets"][rule["data"]["name"]][0]["threshold"] == 2.5
    assert spec["title"].endswith("en 2023")


@pytest.mark.parametrize("weight, y_title", [("population", "Habitants"), ("communes", "Communes")])
def test_indicator_distribution_chart(db, weight, y_title):
    classes = ind.classify_indicator(db["entry"], db["data"].units["value"])
    spec = charts.indicator_distribution_chart(db["data"], classes, weight=weight).to_dict()
    bars = layers(spec)[0]
    assert bars["encoding"]["x"]["field"] == "value" and bars["encoding"]["x"]["bin"]
    assert bars["encoding"]["y"]["title"] == y_title
    assert bars["encoding"]["color"]["scale"]["domain"] == classes.labels
    assert bars["encoding"]["color"]["scale"]["range"] == classes.colors
    with pytest.raises(ValueError, match="pondération inconnue"):
        charts.indicator_distribution_chart(db["data"], classes, weight="surface")


def test_size_class_chart(db):
    spec = charts.size_class_chart(db["snap"].cpts).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert [r["cpts_count"] for r in rows] == [2, 2, 0, 0]  # Delta, Gamma < 40,000; Alpha, Bêta 50,000
    assert spec["encoding"]["x"]["title"] == "Taille (population couverte)"


def test_comparison_chart_labels_tell_the_bars_apart():
    """Département 13: fourteen CPTS named « [Démo] CPTS du secteur de Marseille … » read as one on the axis."""
    from observatory.charts import distinct_short_labels

    names = [f"[Démo] CPTS du secteur de Marseille {n}e Arrondissement" for n in range(2, 16)]
    short = distinct_short_labels(names + ["Département – Bouches-du-Rhône (13)", "France"])
    assert len(set(short)) == len(short) and all(len(s) <= 38 for s in short)
    assert short[0] == "[Démo] …de Marseille 2e Arrondissement" and short[-1] == "France"
    same_end = ["CPTS très longue dénomination de la vallée du Nord", "CPTS autre dénomination de la vallée du Nord"]
    assert distinct_short_labels(same_end, 30) == same_end  # shortened they would read alike: kept whole
