"""What the ACI grid implies for a set of CPTS, merge and split scenarios, and the alternative allocation,
on tiny inline registers whose amounts are computed by hand from the grid's Tableau 1 (thesis):

Grid 2022, size 2, four missions socles: structure 60 000 + accès 100 000 + parcours 70 000 + prévention
30 000 + crise 87 500 = 347 500 €. Size 3: 75 000 + 125 000 + 90 000 + 35 000 + 112 500 = 437 500 €.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from openpyxl import load_workbook

from observatory import coverage as cov
from observatory import funding
from observatory import funding_allocation as al
from observatory import funding_analysis as fa
from observatory import funding_charts as fch
from observatory import funding_scenario as fs
from observatory import url_params as up
from observatory.exports import csv_bytes, parameters_frame, sheet_title, xlsx_bytes

GRID = "aci-2022-avenant2"
SIZE2_SOCLES, SIZE3_SOCLES = 347_500, 437_500  # by hand, see the module docstring
AS_OF = "2024-03-31"
D = dt.date

# commune_code, population, département
UNITS = [
    ("01001", 30_000, "01"), ("01002", 20_000, "01"),  # A: 50 000 (size 2)
    ("01003", 25_000, "01"), ("01004", 20_000, "01"),  # B: 45 000 (size 2)
    ("01005", 39_000, "01"),  # C: 39 000 (size 1, 2.5 % under 40 000)
    ("01006", 5_000, "01"),  # white zone
    ("02001", 81_000, "02"),  # D: 81 000 (size 3, just above 80 000), pré-projet only
    ("02002", 10_000, "02"),  # E: stage unknown (no date)
]  # fmt: skip
CPTS = [  # cpts_id, units, ACI date (None: pré-projet only), has any date
    ("a", ["01001", "01002"], D(2021, 1, 1), True),
    ("b", ["01003", "01004"], D(2022, 1, 1), True),
    ("c", ["01005"], D(2023, 1, 1), True),
    ("d", ["02001"], None, True),
    ("e", ["02002"], None, False),
]  # fmt: skip
SOCLES = ("acces_soins", "parcours", "prevention", "crise_sanitaire")


def units_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [{"commune_code": c, "name": f"Commune {c}", "departement_code": d, "region_code": "84" if d == "01" else "27",
          "population_count": p} for c, p, d in UNITS]
    )  # fmt: skip


def cpts_frame() -> pd.DataFrame:
    rows = []
    for cpts_id, members, aci, dated in CPTS:
        rows.append({
            "cpts_id": cpts_id, "name": f"CPTS {cpts_id.upper()}",
            "preproject_date": pd.Timestamp(2019, 1, 1) if dated else pd.NaT, "letter_of_intent_date": pd.NaT,
            "health_project_date": pd.NaT, "aci_date": pd.Timestamp(aci) if aci else pd.NaT,
            "main_departement_code": members[0][:2], "notes": None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def links_frame() -> pd.DataFrame:
    return pd.DataFrame([{"cpts_id": c, "commune_code": u} for c, members, _, _ in CPTS for u in members])


MISSIONS = pd.DataFrame(
    [{"cpts_id": c, "mission_code": m, "start_date": pd.Timestamp(2023, 6, 1)} for c in "abc" for m in SOCLES]
    + [{"cpts_id": "a", "mission_code": "qualite_pertinence", "start_date": pd.Timestamp(2025, 1, 1)}]  # not yet
)


def funding_of(cpts=None, links=None, missions="from-register", assumptions=None):
    snapshot = cov.coverage_snapshot(units_frame(), cpts_frame() if cpts is None else cpts,
                                     links_frame() if links is None else links, AS_OF)
    recorded = fa.register_missions(MISSIONS, AS_OF) if missions == "from-register" else missions
    return snapshot, fa.cpts_funding(snapshot.cpts, recorded, assumptions or fa.Assumptions(GRID))


# --- ceilings of every CPTS --------------------------------------------------------------------------------


def test_register_missions_keeps_those_started_at_the_date_in_grid_order():
    recorded = fa.register_missions(MISSIONS, AS_OF)
    assert recorded["a"] == SOCLES  # quality mission starts in 2025: not yet
    assert fa.register_missions(MISSIONS.iloc[0:0], AS_OF) is None  # none recorded: « non renseignées »


def test_only_aci_signatories_have_a_ceiling_computed_from_the_grid():
    _, rows = funding_of()
    by_id = rows.set_index("cpts_id")
    assert by_id.loc["a", "ceiling_eur"] == by_id.loc["b", "ceiling_eur"] == SIZE2_SOCLES
    assert by_id.loc["c", "ceiling_eur"] == 50_000 + 80_000 + 50_000 + 20_000 + 62_500  # size 1
    assert pd.isna(by_id.loc["d", "ceiling_eur"]) and by_id.loc["d", "ceiling_status"] == "sans ACI : pas de plafond"
    assert pd.isna(by_id.loc["e", "ceiling_eur"]) and not by_id.loc["e", "has_aci"]
    assert by_id.loc["a", "per_inhabitant_eur"] == pytest.approx(SIZE2_SOCLES / 50_000)


def test_unknown_stage_counts_as_aci_only_under_the_hypothesis_and_missions_rules():
    _, rows = funding_of(assumptions=fa.Assumptions(GRID, "socles", unknown_stage_as_aci=True))
    e = rows.set_index("cpts_id").loc["e"]
    assert e["has_aci"] and e["ceiling_eur"] == 50_000 + 80_000 + 50_000 + 20_000 + 62_500
    _, all_six = funding_of(assumptions=fa.Assumptions(GRID, "toutes"))
    assert all_six.set_index("cpts_id").loc["a", "ceiling_eur"] == 382_500  # published maximum, size 2
    _, unknown = funding_of(missions=None)  # register without missions, rule « registre »
    assert unknown["ceiling_eur"].isna().all()
    assert set(unknown.loc[unknown["has_aci"], "ceiling_status"]) == {"missions non renseignées dans le registre"}
    with pytest.raises(ValueError, match="règle de missions inconnue"):
        fa.Assumptions(GRID, "quelques")


def test_totals_by_stage_by_component_and_by_grid_agree():
    snapshot, rows = funding_of()
    totals = fa.area_totals(rows, snapshot.links, snapshot.units)
    assert totals.total_eur == 2 * SIZE2_SOCLES + 262_500
    assert totals.covered_population == 50_000 + 45_000 + 39_000 and totals.aci_count == 3
    assert totals.without_aci_count == 2
    stages = fa.by_stage(rows, cov.DEFAULT_STAGE_LABELS)
    assert stages["Plafond total (€)"].sum() == totals.total_eur
    assert stages["CPTS"].sum() == len(rows)
    assert fa.by_component(rows)["Montant total (€)"].sum() == totals.total_eur
    grids = fa.grid_comparison(snapshot.cpts, fa.register_missions(MISSIONS, AS_OF), fa.Assumptions(GRID),
                               set(rows["cpts_id"]), snapshot.links, snapshot.units, AS_OF)
    by_label = grids.set_index("Grille")["Plafond total (€)"]
    assert by_label[funding.load_grids().grids[GRID].label] == totals.total_eur
    seed = funding.load_grids().grids["aci-seed-003"]  # fixed + variable: 365 000 (size 2), 275 000 (size 1)
    assert by_label[seed.label] == 2 * 365_000 + 275_000


def test_size4_bonus_counts_for_a_cpts_whose_members_are_known():
    units = units_frame()
    units.loc[units["commune_code"] == "01001", "population_count"] = 180_000  # A: 200 000, size 4
    snapshot = cov.coverage_snapshot(units, cpts_frame(), links_frame(), AS_OF)
    recorded = fa.register_missions(MISSIONS, AS_OF)
    plain = fa.cpts_funding(snapshot.cpts, recorded, fa.Assumptions(GRID)).set_index("cpts_id")
    bonus = fa.cpts_funding(snapshot.cpts, recorded, fa.Assumptions(GRID, member_counts=(("a", 120),))).set_index("cpts_id")
    assert bonus.loc["a", "ceiling_eur"] - plain.loc["a", "ceiling_eur"] == 130_000
    assert bonus.loc["b", "ceiling_eur"] == plain.loc["b", "ceiling_eur"]


# --- thresholds ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "limit", "side", "other"),
    [(38_000, 40_000, "sous la limite", 2), (39_999, 40_000, "sous la limite", 2), (40_000, 40_000, "au-dessus de la limite", 1),
     (42_000, 40_000, "au-dessus de la limite", 1), (80_000, 80_000, "au-dessus de la limite", 2),
     (175_000, 175_000, "sous la limite", 4), (175_001, 175_000, "au-dessus de la limite", 3),
     (166_250, 175_000, "sous la limite", 4), (183_750, 175_000, "au-dessus de la limite", 3)],
)  # fmt: skip
def test_near_limits_follow_the_grid_wording_within_five_percent(population, limit, side, other):
    rows = pd.DataFrame([{"cpts_id": "x", "name": "X", "population_count": population, "ceiling_eur": 1.0,
                          "missions": SOCLES}])  # fmt: skip
    near = fa.near_limits(rows, GRID)
    assert list(near["limit"]) == [limit] and near.loc[0, "side"] == side and near.loc[0, "other_size_class"] == other
    crossed = funding.funding_ceiling(population, list(SOCLES), GRID)
    assert near.loc[0, "size_class"] == crossed.size_class


@pytest.mark.parametrize("population", [37_999, 42_001, 75_999, 84_001, 166_249, 183_751, 120_000])
def test_populations_further_than_five_percent_are_not_near_a_limit(population):
    rows = pd.DataFrame([{"cpts_id": "x", "name": "X", "population_count": population, "ceiling_eur": 1.0,
                          "missions": SOCLES}])  # fmt: skip
    assert fa.near_limits(rows, GRID).empty


def test_crossing_a_limit_is_priced_with_the_same_missions():
    _, rows = funding_of()
    near = fa.near_limits(rows, GRID).set_index("cpts_id")
    assert list(near.index) == ["c", "d"]  # 39 000 (ACI) and 81 000 (no ACI: not priced)
    assert near.loc["c", "ceiling_change_eur"] == SIZE2_SOCLES - 262_500
    assert math.isnan(near.loc["d", "ceiling_change_eur"])


def test_cliff_curve_jumps_up_at_every_limit():
    curve = fa.cliff_curve(GRID)
    for series, part in curve.groupby("series"):
        for limit in funding.class_limits():
            lower = funding.size_class(limit - 1)
            below = part[part["size_class"] == lower].iloc[-1]  # the largest population of the class below
            above = part[part["size_class"] == lower + 1].iloc[0]  # the smallest of the class above
            assert below["population_count"] in (limit - 1, limit) and above["population_count"] in (limit, limit + 1)
            assert above["per_inhabitant_eur"] > below["per_inhabitant_eur"], (series, limit)
    spec = fch.cliff_chart(curve, funding_of()[1].dropna(subset=["ceiling_eur"]), "a").to_dict()
    rules = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert [row["limit"] for row in spec["datasets"][rules["data"]["name"]]] == list(funding.class_limits())
    scatter = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    dots = spec["datasets"][scatter["data"]["name"]]
    assert {d["cpts_id"] for d in dots} == {"a", "b", "c"} and [d["cpts_id"] for d in dots if d["is_highlight"]] == ["a"]


# --- merge ---------------------------------------------------------------------------------------------------


def test_merging_two_size2_cpts_gives_one_size3_cpts_with_the_hand_computed_ceiling():
    before_snapshot, before = funding_of()
    scenario = fs.apply_merge(cpts_frame(), links_frame(), fa.register_missions(MISSIONS, AS_OF), fs.Merge(("a", "b")))
    after_snapshot, after = funding_of(scenario.cpts, scenario.links, scenario.missions)
    merged = after.set_index("cpts_id").loc[fs.MERGED_ID]
    assert merged["population_count"] == 95_000 and merged["size_class"] == 3
    assert merged["ceiling_eur"] == SIZE3_SOCLES
    table = fs.comparison_table(before, after, scenario).set_index("Situation")
    assert table.loc["Avant – total", "Plafond annuel (€)"] == 2 * SIZE2_SOCLES == 695_000
    assert table.loc["Après – total", "Plafond annuel (€)"] == SIZE3_SOCLES
    assert table.loc["Avant – total", "Population"] == table.loc["Après – total", "Population"] == 95_000
    # Same amounts from the pairwise merger table (a and b share département 01).
    mergers = fa.merger_effects(before, before_snapshot.links, before_snapshot.units, GRID)
    ab = mergers[(mergers["cpts_id_a"] == "a") & (mergers["cpts_id_b"] == "b")].iloc[0]
    assert (ab["ceiling_apart_eur"], ab["ceiling_merged_eur"], ab["loss_eur"]) == (695_000, 437_500, 257_500)
    coverage = fs.coverage_table(cov.key_figures(before_snapshot), cov.key_figures(after_snapshot)).set_index("Mesure")
    assert coverage.loc["Population couverte", "Écart"] == 0 and coverage.loc["CPTS actives dans la zone", "Écart"] == -1


def test_a_merged_cpts_is_as_advanced_as_its_most_advanced_member_and_shared_communes_count_once():
    links = pd.concat([links_frame(), pd.DataFrame([{"cpts_id": "b", "commune_code": "01002"}])], ignore_index=True)
    scenario = fs.apply_merge(cpts_frame(), links, None, fs.Merge(("b", "d")))
    merged = scenario.cpts.set_index("cpts_id").loc[fs.MERGED_ID]
    assert merged["aci_date"] == pd.Timestamp(2022, 1, 1) and merged["preproject_date"] == pd.Timestamp(2019, 1, 1)
    scenario = fs.apply_merge(cpts_frame(), links, None, fs.Merge(("a", "b")))
    assert sorted(scenario.links.loc[scenario.links["cpts_id"] == fs.MERGED_ID, "commune_code"]) == [
        "01001", "01002", "01003", "01004"]  # fmt: skip
    snapshot = cov.coverage_snapshot(units_frame(), cpts_frame(), links, AS_OF)
    rows = fa.cpts_funding(snapshot.cpts, fa.register_missions(MISSIONS, AS_OF), fa.Assumptions(GRID))
    pair = fa.merger_effects(rows, snapshot.links, snapshot.units, GRID).set_index(["cpts_id_a", "cpts_id_b"])
    assert pair.loc[("a", "b"), "merged_population"] == 95_000  # 01002 claimed by both, counted once


@pytest.mark.parametrize(
    ("merge", "message"),
    [(("a",), "au moins deux CPTS"), (("a", "zz"), "absente"), (("a", "a"), "au moins deux CPTS")],
)
def test_impossible_merges_are_refused_in_french(merge, message):
    with pytest.raises(fs.ScenarioError, match=message):
        fs.apply_merge(cpts_frame(), links_frame(), None, fs.Merge(merge))


# --- split ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("destination", [None, "b"])
def test_a_split_conserves_population(destination):
    _, before = funding_of()
    scenario = fs.apply_split(cpts_frame(), links_frame(), fa.register_missions(MISSIONS, AS_OF),
                              fs.Split("a", ("01002",), destination))
    after_snapshot, after = funding_of(scenario.cpts, scenario.links, scenario.missions)
    pop_before = before.set_index("cpts_id").reindex(list(scenario.before_ids))["population_count"].sum()
    pop_after = after.set_index("cpts_id").reindex(list(scenario.after_ids))["population_count"].sum()
    assert pop_before == pop_after
    assert before["population_count"].sum() == after["population_count"].sum()
    a = after.set_index("cpts_id").loc["a"]
    assert a["population_count"] == 30_000 and a["size_class"] == 1
    target = after.set_index("cpts_id").loc[destination or fs.NEW_ID]
    assert target["population_count"] == (20_000 if destination is None else 65_000)
    if destination is None:  # the new CPTS inherits the stage and the missions of its origin
        assert target["has_aci"] and target["missions"] == SOCLES


@pytest.mark.parametrize(
    ("split", "message"),
    [(fs.Split("a", ()), "au moins une commune"), (fs.Split("a", ("01003",)), "au moins une commune"),
     (fs.Split("a", ("01001", "01002")), "zéro commune"), (fs.Split("a", ("01002",), "a"), "différente"),
     (fs.Split("zz", ("01002",)), "absente"), (fs.Split("a", ("01002",), "zz"), "destination absente")],
)  # fmt: skip
def test_impossible_splits_are_refused_in_french(split, message):
    with pytest.raises(fs.ScenarioError, match=message):
        fs.apply_split(cpts_frame(), links_frame(), None, split)


# --- alternative allocation ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(total=hs.integers(0, 50_000_000), weights=hs.lists(hs.floats(0, 1e7, allow_nan=False), min_size=1, max_size=60))
def test_allocation_always_sums_to_the_same_total(total, weights):
    shares = al.allocate(total, pd.Series(weights))
    assert (shares >= 0).all()
    assert int(shares.sum()) == (total if sum(weights) > 0 else 0)


def test_the_alternative_shares_exactly_the_grid_total_and_equalises_amounts_per_inhabitant():
    _, rows = funding_of()
    allocation = al.alternative_allocation(rows)
    assert allocation.total_eur == 2 * SIZE2_SOCLES + 262_500 == int(allocation.table["alternative_eur"].sum())
    per_inhabitant = allocation.table["alternative_per_inhabitant"]
    assert per_inhabitant.max() - per_inhabitant.min() < 0.001  # only euro rounding
    assert allocation.gini_alternative == pytest.approx(0, abs=1e-6)
    assert allocation.gini_grid > 0.01
    assert allocation.winners_count + allocation.losers_count == 3
    assert allocation.table["difference_eur"].sum() == pytest.approx(0)


def test_need_weighting_moves_money_towards_low_access_and_keeps_the_total():
    _, rows = funding_of()
    values = pd.Series({"a": 2.0, "b": 4.0, "c": 4.0})
    need = al.NeedChoice("apl_mg", "APL", "consultations", "higher_is_better", 2023, 1.0, values, 4.0)
    weighted = al.alternative_allocation(rows, need).table.set_index("cpts_id")
    plain = al.alternative_allocation(rows).table.set_index("cpts_id")
    assert weighted["multiplier"].to_dict() == {"a": 2.0, "b": 1.0, "c": 1.0}
    assert weighted.loc["a", "alternative_per_inhabitant"] == pytest.approx(2 * weighted.loc["b", "alternative_per_inhabitant"], rel=1e-4)
    assert weighted.loc["a", "alternative_eur"] > plain.loc["a", "alternative_eur"]
    assert weighted["alternative_eur"].sum() == plain["alternative_eur"].sum()


@pytest.mark.parametrize(
    ("values", "direction", "intensity", "expected"),
    [([2.0, 4.0, None, 0.0], "higher_is_better", 1.0, [2.0, 1.0, 1.0, 1.0]),
     ([2.0, 4.0], "lower_is_better", 1.0, [0.5, 1.0]),
     ([1.0, 16.0], "higher_is_better", 0.5, [2.0, 0.5]),
     ([1.0, 16.0], "higher_is_better", 0.0, [1.0, 1.0])],
)  # fmt: skip
def test_need_multipliers(values, direction, intensity, expected):
    got = al.need_multipliers(pd.Series(values, dtype="float64"), 4.0, direction, intensity)
    assert got.round(6).tolist() == expected


def test_need_values_follow_the_catalogue_aggregation():
    indicator = pd.DataFrame({"commune_code": ["01001", "01002", "01003", "01004"], "value": [2.0, 4.0, 3.0, None],
                              "weight": [1.0, 3.0, 1.0, 1.0]})  # fmt: skip
    values, reference = al.need_values(indicator, links_frame(), ["a", "b"], "weighted_mean")
    assert values["a"] == pytest.approx((2 * 1 + 4 * 3) / 4) and values["b"] == pytest.approx(3.0)
    assert reference == pytest.approx((2 + 12 + 3) / 5)


@pytest.mark.parametrize(
    ("amounts", "population", "expected"),
    [([1.0, 1.0], [10, 30], 0.0), ([0.0, 2.0], [50, 50], 0.5), ([0.0, 0.0, 3.0], [1, 1, 1], 2 / 3)],
)
def test_weighted_gini(amounts, population, expected):
    assert al.weighted_gini(pd.Series(amounts), pd.Series(population)) == pytest.approx(expected)


# --- links and exports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a,b,a, c", ("a", "b")), ("zz", ()), (None, ()), ("a,b" + ",x" * 3000, ()), ("b\x00,a", ()), (["c", "a"], ("a",))],
)  # fmt: skip
def test_choice_list_keeps_only_offered_items(text, expected):
    assert up.choice_list(text, {"a", "b"}) == expected


@given(hs.text(max_size=300))
def test_link_parsers_never_raise(text):
    assert up.integer(text, 0, 100) is None or 0 <= up.integer(text, 0, 100) <= 100
    assert set(up.choice_list(text, {"a", "b"})) <= {"a", "b"}


@pytest.mark.parametrize(("text", "expected"), [("42", 42), ("-1", None), ("101", None), ("4.2", None), ("1e2", None)])
def test_integer_parameter(text, expected):
    assert up.integer(text, 0, 100) == expected


def test_exports_never_let_a_name_become_a_formula():
    frame = pd.DataFrame({"CPTS": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "CPTS sûre"], "Plafond (€)": [1, 2, 3],
                          "Écart (%)": [-1.5, None, 2.25]})  # fmt: skip
    data = csv_bytes(frame)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == ["'=HYPERLINK(\"http://x\")", "1", "-1,5"] and rows[2][0] == "'@SUM(A1)" and rows[3][0] == "CPTS sûre"
    book = load_workbook(io.BytesIO(xlsx_bytes({"Scénario": parameters_frame([("Zone", "=danger")]),
                                                "CPTS/liste?": frame})))
    assert book.sheetnames == ["Scénario", "CPTS liste"]
    # Text stays as written but typed as text (never a formula), with Excel's quote prefix.
    assert book["Scénario"]["B2"].value == "=danger" and book["Scénario"]["B2"].data_type == "s"
    assert book["Scénario"]["B2"].quotePrefix
    sheet = book["CPTS liste"]
    assert [c.value for c in sheet[1]] == ["CPTS", "Plafond (€)", "Écart (%)"]
    assert sheet["A2"].value == "=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == 2 and sheet["C3"].value is None
    assert sheet_title("x" * 40) == "x" * 31
