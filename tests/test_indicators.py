"""Indicator aggregation (catalogue-driven, population-weighted) and map classes, checked by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import indicators as ind
from observatory import queries as q
from observatory.config import DATA_DIR
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, UNITS, apl_value, make_analytical_db, unit_index, weight_value

POPULATION = {u[0]: u[5] for u in UNITS}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("indicators") / "observatoire.duckdb")
    con = open_readonly(path)
    units = q.territorial_units(con)
    catalogue = q.indicator_catalogue(con)
    snap = cov.coverage_snapshot(
        units, q.list_cpts(con, DEMO_REGISTER_ID), q.cpts_units(con, DEMO_REGISTER_ID), "2024-06-30"
    )
    entry = ind.catalogue_entry(catalogue, "apl_mg")
    data = ind.indicator_frame(
        entry,
        2023,
        q.indicator_values(con, "apl_mg", 2023),
        q.indicator_values(con, "pop_standardisee_mg", 2023),
        units,
    )
    yield {"con": con, "units": units, "catalogue": catalogue, "snap": snap, "entry": entry, "data": data}
    con.close()


def hand_weighted_mean(codes, year=2023):
    num = den = 0.0
    for code in codes:
        i = unit_index(code)
        w = weight_value(POPULATION[code], i, year)
        num += apl_value(i, year) * w
        den += w
    return num / den


def hand_below(codes, threshold=2.5, year=2023):
    return sum(POPULATION[c] for c in codes if apl_value(unit_index(c), year) < threshold)


def test_aggregate_weighted_mean_sum_and_groups():
    values = pd.Series([1.0, 3.0, np.nan, 5.0])
    weights = pd.Series([1.0, 3.0, 10.0, 0.0])
    assert ind.aggregate(values, weights) == pytest.approx((1 + 9) / 4)  # NaN value and zero weight ignored
    assert ind.aggregate(values, None) == pytest.approx(3.0)
    assert ind.aggregate(values, aggregation="sum") == pytest.approx(9.0)
    groups = pd.Series(["a", "a", "b", "b"])
    by_group = ind.aggregate(values, weights, groups)
    assert by_group["a"] == pytest.approx(2.5) and np.isnan(by_group["b"])
    assert ind.aggregate(values, groups=groups, aggregation="sum").to_dict() == {"a": 4.0, "b": 5.0}
    assert np.isnan(ind.aggregate(pd.Series([np.nan]), pd.Series([1.0])))
    with pytest.raises(ValueError, match="agrégation inconnue"):
        ind.aggregate(values, aggregation="median")


def test_indicator_by_territory_equals_hand_computation(setup):
    names = {"91": "Essonne-Test", "11": "Région Alpha"}
    table = ind.indicator_by_territory(setup["data"], setup["snap"], departement_code="91", area_names=names)
    rows = table.set_index(["territory_kind", "territory_code"])
    assert list(table["territory_kind"]) == ["cpts", "cpts", "zone_blanche", "departement", "region", "france"]
    gamma = ["91001", "91002", "91003", "91004"]
    beta = ["75103", "75104", "91001"]  # whole territory, across the département border
    white_91 = ["91005", "91006", "91007", "91008", "91009", "91010"]
    dept_91 = [u[0] for u in UNITS if u[4] == "91"]
    region_11 = [u[0] for u in UNITS if u[4] in ("75", "91")]
    everything = [u[0] for u in UNITS]
    for key, codes in [(("cpts", "demo-test-c"), gamma), (("cpts", "demo-test-b"), beta), (("zone_blanche", "91"), white_91),
                       (("departement", "91"), dept_91), (("region", "11"), region_11), (("france", "FR"), everything)]:  # fmt: skip
        row = rows.loc[key]
        assert row["value"] == pytest.approx(hand_weighted_mean(codes)), key
        assert row["population_count"] == sum(POPULATION[c] for c in codes)
        assert row["population_below_threshold"] == hand_below(codes)
        assert row["share_below_threshold_pct"] == pytest.approx(
            100 * hand_below(codes) / sum(POPULATION[c] for c in codes)
        )
    assert rows.loc[("zone_blanche", "91"), "territory_label"] == "Zone blanche – Essonne-Test"
    assert rows.loc[("cpts", "demo-test-c"), "territory_label"] == "CPTS Gamma"


def test_the_catalogue_drives_the_aggregation(setup):
    """A sum indicator, and an indicator unknown to the code, work with no code change."""
    weight_entry = ind.catalogue_entry(setup["catalogue"], "pop_standardisee_mg")
    values = q.indicator_values(setup["con"], "pop_standardisee_mg", 2022)
    data = ind.indicator_frame(weight_entry, 2022, values, None, setup["units"])
    france = ind.indicator_by_territory(data, setup["snap"]).set_index("territory_kind").loc["france"]
    assert france["value"] == pytest.approx(sum(weight_value(u[5], i, 2022) for i, u in enumerate(UNITS)))
    assert np.isnan(france["population_below_threshold"])  # no threshold in the catalogue

    new_row = pd.DataFrame([{
        "indicator_code": "densite_test", "label": "Indicateur nouveau", "unit": "u", "direction": "lower_is_better",
        "source_id": "x", "weight_indicator_code": None, "aggregation": "weighted_mean", "threshold_value": 10.0,
        "threshold_label": "seuil", "decimals": 0, "description": "d",
    }])  # fmt: skip
    entry = ind.catalogue_entry(new_row, "densite_test")
    values = pd.DataFrame({"geo_code": ["2A001", "2A002"], "value": [20.0, 5.0]})
    data = ind.indicator_frame(entry, 2024, values, None, setup["units"])
    # No weight indicator: weighted by the municipal population; units without value are ignored.
    dept = ind.indicator_by_territory(data, setup["snap"], departement_code="2A").set_index("territory_kind")
    assert dept.loc["departement", "value"] == pytest.approx((20 * 5_000 + 5 * 1_200) / 6_200)
    assert dept.loc["departement", "units_with_value"] == 2
    assert dept.loc["departement", "population_below_threshold"] == 1_200


def test_catalogue_errors_are_in_french(setup):
    with pytest.raises(KeyError, match="indicateur inconnu"):
        ind.catalogue_entry(setup["catalogue"], "absent")
    broken = setup["catalogue"].assign(aggregation="median")
    with pytest.raises(ValueError, match="agrégation 'median' inconnue"):
        ind.catalogue_entry(broken, "apl_mg")
    with pytest.raises(ValueError, match="poids pop_standardisee_mg manquant"):
        ind.indicator_frame(
            setup["entry"], 2023, q.indicator_values(setup["con"], "apl_mg", 2023), None, setup["units"]
        )


def test_indicator_by_status(setup):
    table = ind.indicator_by_status(setup["data"], setup["snap"]).set_index("territory_kind")
    white = [
        c
        for c, s in zip(setup["snap"].units["commune_code"], setup["snap"].units["status"], strict=True)
        if s == "zone_blanche"
    ]
    assert table.loc["zone_blanche", "value"] == pytest.approx(hand_weighted_mean(white))


@pytest.mark.parametrize(
    "value, expected_class",
    [(1.0, 0), (2.49, 0), (2.5, 1), (2.99, 1), (3.0, 2), (4.0, 3), (4.99, 3), (5.0, 4), (9.0, 4), (np.nan, None)],
)
def test_threshold_classes_include_their_lower_bound(value, expected_class):
    classes = ind.classify(pd.Series([value]), "thresholds", breaks=[2.5, 3, 4, 5], direction="higher_is_better")
    got = classes.assign(pd.Series([value])).iloc[0]
    assert (None if pd.isna(got) else int(got)) == expected_class


def test_threshold_labels_colours_and_source(setup):
    classes = ind.classify_indicator(setup["entry"], setup["data"].units["value"])
    assert classes.method == "thresholds" and classes.breaks == [2.5, 3.0, 4.0, 5.0]
    assert classes.labels == [
        "moins de 2,5",
        "de 2,5 à moins de 3",
        "de 3 à moins de 4",
        "de 4 à moins de 5",
        "5 ou plus",
    ]
    assert len(classes.colors) == 5 and classes.colors[0] == "#d7191c"  # low APL in red
    assert "DREES" in classes.source
    assert classes.color_of(None) == ind.NO_DATA_COLOR


def test_quantile_classes():
    values = pd.Series(np.arange(1, 101, dtype=float))
    classes = ind.classify(values, "quantiles", k=4, decimals=1)
    assert classes.breaks == [25.8, 50.5, 75.2]
    assert classes.labels[0] == "moins de 25,8" and classes.labels[-1] == "75,2 ou plus"
    counts = classes.assign(values).value_counts().sort_index()
    assert list(counts) == [25, 25, 25, 25]
    # Ties merge quantile classes; when they all collapse, equal intervals still separate distinct values.
    assert ind.classify(pd.Series([1.0, 1.0, 1.0, 2.0, 3.0]), "quantiles", k=5).breaks == [1.4, 2.2]  # linear quantiles
    tied = pd.Series([1.0] * 10 + [2.0])
    classes = ind.classify(tied, "quantiles", k=5)
    assigned = classes.assign(tied)
    assert assigned.iloc[0] != assigned.iloc[-1]
    assert ind.classify(pd.Series([4.0, 4.0]), "quantiles").labels == ["toutes valeurs"]
    with pytest.raises(ValueError, match="nombre de classes invalide"):
        ind.classify(values, "quantiles", k=9)
    with pytest.raises(ValueError, match="méthode de classement inconnue"):
        ind.classify(values, "jenks")


def test_an_indicator_without_classes_falls_back_to_quantiles(setup):
    entry = dict(setup["entry"], indicator_code="nouveau")
    classes = ind.classify_indicator(entry, setup["data"].units["value"], classes={"classes": {}})
    assert classes.method == "quantiles" and 2 <= len(classes.labels) <= 5


@pytest.mark.parametrize("direction", ["higher_is_better", "lower_is_better", "neutral"])
def test_class_colors(direction):
    for n in range(1, 8):
        assert len(ind.class_colors(n, direction)) == n
    high = ind.class_colors(5, "higher_is_better")
    assert ind.class_colors(5, "lower_is_better") == high[::-1]


def test_indicator_classes_file_is_valid_and_matches_the_catalogue():
    data = json.loads((DATA_DIR / "indicator_classes.json").read_text(encoding="utf-8"))
    assert ind.validate_indicator_classes(data) == []
    assert ind.validate_indicator_classes({"classes": {"x": {"breaks": [3, 2], "source": ""}}}) == [
        "indicator_classes.json, classes.x : bornes non strictement croissantes [3, 2]",
        "indicator_classes.json, classes.x : « source » manquante",
    ]
    catalogue_path = DATA_DIR / "indicators.json"
    if catalogue_path.exists():
        codes = {i["indicator_code"] for i in json.loads(catalogue_path.read_text(encoding="utf-8"))["indicators"]}
        assert set(data["classes"]) <= codes


@pytest.mark.parametrize("value, decimals, text", [(3.74, 2, "3,74"), (12345, 0, "12\u202f345"), (None, 1, "n.d."),
                                                   (float("nan"), 1, "n.d."), (0.5, 1, "0,5")])  # fmt: skip
def test_french_number_format(value, decimals, text):
    assert ind.format_number(value, decimals) == text


def test_natural_breaks_by_mapclassify_are_deterministic_and_survive_ties():
    values = pd.Series([1.0] * 40 + [2.0] * 5 + [10.0, 11.0, 12.0, 30.0, 31.0])
    first = ind.classify(values, "natural_breaks", k=5, decimals=0)
    assert first.breaks == ind.classify(values, "natural_breaks", k=5, decimals=0).breaks
    assert first.method == "natural_breaks" and first.source.startswith("seuils naturels (Jenks)")
    assert first.breaks == sorted(first.breaks) and all(1 < b <= 31 for b in first.breaks)
    assert len(set(first.assign(pd.Series([1.0, 30.0])).tolist())) == 2  # the extremes never share a class
    assert ind.classify(pd.Series([4.0] * 10), "natural_breaks", k=5).breaks == []  # one value: one class
    imported = {"indicator_code": "x", "decimals": 1, "direction": "neutral", "class_method": "thresholds",
                "class_breaks": "[2.5, 4.0]"}
    assert ind.classify_indicator(imported, values, classes={}).breaks == [2.5, 4.0]
