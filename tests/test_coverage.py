"""Coverage at a date on the factory database, checked against an independent computation (plain SQL
rows + Python loops) and against a few hand-counted figures of the factory's docstring."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import queries as q
from observatory.config import DATA_DIR
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGION, IMPORTED_REGISTER_ID, make_analytical_db

STAGE_COLUMNS = ["pre_projet", "lettre_intention", "projet_sante", "aci"]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("coverage") / "observatoire.duckdb")
    connection = open_readonly(path)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def frames(con):
    return {
        "units": q.territorial_units(con),
        "demo": (q.list_cpts(con, DEMO_REGISTER_ID), q.cpts_units(con, DEMO_REGISTER_ID)),
        "imported": (q.list_cpts(con, IMPORTED_REGISTER_ID), q.cpts_units(con, IMPORTED_REGISTER_ID)),
    }


def snapshot(frames, which, as_of, region=None):
    cpts, links = frames[which]
    return cov.coverage_snapshot(frames["units"], cpts, links, as_of, region)


def independent_figures(con, register_id, as_of: dt.date, area_column=None, area_code=None, register_region=None):
    """The figures recomputed from raw rows with loops, without any code of observatory.coverage."""
    rows = con.execute(
        "SELECT cpts_id, preproject_date, letter_of_intent_date, health_project_date, aci_date FROM cpts"
        " WHERE register_id = ?",
        [register_id],
    ).fetchall()
    stage = {}
    for cpts_id, *dates in rows:
        if all(d is None for d in dates):
            stage[cpts_id] = "inconnu"
            continue
        reached = [code for code, d in zip(STAGE_COLUMNS, dates, strict=True) if d is not None and d <= as_of]
        if reached:
            stage[cpts_id] = reached[-1]
    links = con.execute(
        "SELECT cc.cpts_id, cc.commune_code FROM cpts_communes cc JOIN cpts c USING (cpts_id) WHERE c.register_id = ?",
        [register_id],
    ).fetchall()
    units = con.execute(
        "SELECT commune_code, departement_code, region_code, population_count FROM communes WHERE is_territorial_unit"
    ).fetchall()
    area_of = {code: {"departement": dept, "region": reg} for code, dept, reg, _ in units}
    cpts_of_unit = defaultdict(list)
    for cpts_id, code in links:
        if cpts_id in stage:
            cpts_of_unit[code].append(cpts_id)
    out = defaultdict(int)
    rank = {"inconnu": 0, **{s: i + 1 for i, s in enumerate(STAGE_COLUMNS)}}
    for code, _dept, reg, pop in units:
        if area_column and area_of[code][area_column] != area_code:
            continue
        out["population"] += pop
        n = len(cpts_of_unit[code])
        if n:
            out["covered"] += pop
            best = max((stage[c] for c in cpts_of_unit[code]), key=rank.get)
            out[f"covered_{best}"] += pop
        if n >= 2:
            out["overlap_units"] += 1
            out["overlap_population"] += pop
        if n == 0 and register_region is not None and reg != register_region:
            out["out_of_register"] += pop
        elif n == 0:
            out["white"] += pop
            out["white_units"] += 1
    counted = {
        cid for cid, code in links if cid in stage and (not area_column or area_of[code][area_column] == area_code)
    }
    out["cpts"] = len(counted)
    for s in rank:
        out[f"cpts_{s}"] = sum(1 for cid in counted if stage[cid] == s)
    return out


DATES = [dt.date(2018, 12, 31), dt.date(2019, 3, 1), dt.date(2019, 6, 30), dt.date(2020, 6, 30),
         dt.date(2021, 4, 30), dt.date(2021, 5, 1), dt.date(2022, 12, 31), dt.date(2024, 6, 30)]  # fmt: skip
AREAS = [("france", None, None), ("region", "region", "11"), ("departement", "departement", "91"),
         ("departement", "departement", "75"), ("region", "region", "94")]  # fmt: skip


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize("level, column, code", AREAS)
def test_key_figures_match_an_independent_computation(con, frames, as_of, level, column, code):
    figures = cov.key_figures(snapshot(frames, "demo", as_of), level, code)
    expected = independent_figures(con, DEMO_REGISTER_ID, as_of, column, code)
    assert figures.population_count == expected["population"]
    assert figures.population_covered == expected["covered"]
    assert figures.white_zone_population == expected["white"]
    assert figures.white_zone_units == expected["white_units"]
    assert figures.overlap_units == expected["overlap_units"]
    assert figures.overlap_population == expected["overlap_population"]
    assert figures.cpts_count == expected["cpts"]
    for stage in STAGE_COLUMNS:
        assert figures.cpts_count_by_stage[stage] == expected[f"cpts_{stage}"]
        assert figures.population_covered_by_stage[stage] == expected[f"covered_{stage}"]


@pytest.mark.parametrize(
    "as_of, covered, white, overlaps, cpts",
    [
        ("2019-02-28", 0, 135_800, 0, 0),  # before any first stage date
        ("2019-03-01", 50_000, 85_800, 0, 1),  # Alpha's pré-projet date itself counts (date <= d)
        ("2021-06-30", 118_000, 17_800, 1, 3),  # Alpha, Bêta, Gamma; 91001 shared by Bêta and Gamma
        ("2024-06-30", 124_200, 11_600, 1, 4),  # + Delta (2A001, 2A002)
    ],
)
def test_hand_counted_figures(frames, as_of, covered, white, overlaps, cpts):
    figures = cov.key_figures(snapshot(frames, "demo", as_of))
    assert (figures.population_covered, figures.white_zone_population) == (covered, white)
    assert (figures.overlap_units, figures.cpts_count) == (overlaps, cpts)


def test_population_is_never_counted_twice(frames):
    figures = cov.key_figures(snapshot(frames, "demo", "2024-06-30"))
    assert sum(figures.population_covered_by_stage.values()) == figures.population_covered
    assert figures.population_covered + figures.white_zone_population == figures.population_count
    # 91001 (10,000 inhabitants) is in two CPTS but counted once, at the higher stage (Gamma: ACI).
    status = snapshot(frames, "demo", "2024-06-30").units.set_index("commune_code")
    assert status.loc["91001", "status"] == "chevauchement"
    assert status.loc["91001", "highest_stage"] == "aci"
    assert status.loc["91001", "cpts_ids"] == ("demo-test-c", "demo-test-b")
    assert figures.population_covered_by_stage["aci"] == 20_000 + 30_000 + 10_000 + 8_000 + 6_000 + 4_000


def test_a_cpts_is_not_counted_before_its_first_stage_date(frames):
    cpts, _ = frames["demo"]
    before = cov.cpts_stages(cpts, "2021-04-30").set_index("cpts_id")
    on_the_day = cov.cpts_stages(cpts, "2021-05-01").set_index("cpts_id")
    assert before.loc["demo-test-c", "stage_code"] is None and not before.loc["demo-test-c", "is_active"]
    assert on_the_day.loc["demo-test-c", "stage_code"] == "pre_projet"
    later = cov.cpts_stages(cpts, "2023-01-15").set_index("cpts_id")
    assert later.loc["demo-test-c", "stage_code"] == "aci"
    assert later.loc["demo-test-b", "stage_code"] == "lettre_intention"  # no later date: stays there


def test_highest_reached_stage_wins_even_with_a_missing_earlier_date():
    cpts = pd.DataFrame(
        {"cpts_id": ["x"], "name": ["X"], "preproject_date": [pd.NaT], "letter_of_intent_date": [pd.NaT],
         "health_project_date": [pd.NaT], "aci_date": [pd.Timestamp("2022-01-01")]}
    )  # fmt: skip
    assert cov.cpts_stages(cpts, "2021-12-31")["stage_code"].item() is None
    assert cov.cpts_stages(cpts, "2022-01-01")["stage_code"].item() == "aci"


def test_figures_grow_monotonically_with_the_date_in_the_demo_case(frames):
    cpts, links = frames["demo"]
    dates = cov.monthly_dates(cpts)
    assert dates[0] == pd.Timestamp("2019-01-31") and dates[-1] == pd.Timestamp("2023-01-31")
    history = []
    for date in dates:
        figures = cov.key_figures(cov.coverage_snapshot(frames["units"], cpts, links, date))
        history.append((figures.population_covered, figures.cpts_count, -figures.white_zone_population))
    for before, after in zip(history, history[1:], strict=False):
        assert all(a >= b for a, b in zip(after, before, strict=True)), (before, after)
    assert history[0] != history[-1]  # the dates do change the figures
    series = cov.coverage_over_time(frames["units"], cpts, links, dates)
    assert series["population_covered"].is_monotonic_increasing
    last = cov.key_figures(cov.coverage_snapshot(frames["units"], cpts, links, dates[-1]))
    assert series["population_covered"].iloc[-1] == last.population_covered


def test_region_only_register_marks_the_rest_of_france_out_of_register(con, frames):
    snap = snapshot(frames, "imported", "1990-01-01", IMPORTED_REGION)
    status = snap.units.set_index("commune_code")["status"]
    outside = status[~status.index.str.startswith("2A")]
    assert set(outside) == {"hors_registre"}
    assert status["2A002"] == "zone_blanche"  # inside the région, in no CPTS
    assert status["2A001"] == "couvert" and status["2A004"] == "couvert"
    figures = cov.key_figures(snap)
    expected = independent_figures(con, IMPORTED_REGISTER_ID, dt.date(1990, 1, 1), register_region=IMPORTED_REGION)
    assert figures.white_zone_population == expected["white"] == 1_200
    assert figures.out_of_register_population == expected["out_of_register"]
    # Undated CPTS: stage « inconnu », counted at every date.
    assert figures.cpts_count_by_stage["inconnu"] == 2 and figures.cpts_count == 2
    assert figures.coverage_pct_in_register == pytest.approx(100 * 6_100 / 7_300)


def test_cpts_crossing_a_border_counts_in_both_departements(frames):
    snap = snapshot(frames, "demo", "2024-06-30")
    assert cov.key_figures(snap, "departement", "75").cpts_count == 2  # Alpha, Bêta
    assert cov.key_figures(snap, "departement", "91").cpts_count == 2  # Bêta, Gamma
    table = cov.table_by_area(snap, "departement", {"75": "Ville-Capitale", "91": "Essonne-Test", "2A": "Corse-Test"})
    assert table["CPTS"].sum() == 5 > cov.key_figures(snap).cpts_count
    # ... but population is additive over départements.
    assert table["Population couverte"].sum() == cov.key_figures(snap).population_covered
    assert cov.COUNTING_RULES["cpts_in_area"].startswith("Une CPTS est comptée")


def test_table_by_area_has_french_columns_and_exports(frames):
    snap = snapshot(frames, "demo", "2024-06-30")
    table = cov.table_by_area(snap, "region", {"11": "Région Alpha", "94": "Région Bêta"})
    for column in ["Région", "CPTS", "Population couverte", "Couverture (%)", "Population en zone blanche",
                   "Communes en zone blanche", "Communes en chevauchement", "CPTS – ACI signé"]:  # fmt: skip
        assert column in table.columns
    row = table.set_index("Code").loc["11"]
    assert row["Région"] == "Région Alpha"
    assert row["Population couverte"] == 118_000 and row["Couverture (%)"] == pytest.approx(
        100 * 118_000 / 128_500, abs=0.05
    )
    assert "Population hors registre" not in table.columns
    assert "Région Alpha" in table.to_csv(index=False)
    imported = cov.table_by_area(snapshot(frames, "imported", "2024-01-01", IMPORTED_REGION), "region")
    assert imported.set_index("Code").loc["11", "Population hors registre"] == 128_500
    with pytest.raises(ValueError, match="niveau de tableau inconnu"):
        cov.table_by_area(snap, "commune")


def test_cpts_summary(frames):
    summary = cov.coverage_snapshot(frames["units"], *frames["demo"], "2020-12-31").cpts.set_index("cpts_id")
    beta = summary.loc["demo-test-b"]
    assert (beta["population_count"], beta["communes_count"], beta["departement_codes"]) == (50_000, 3, "75, 91")
    assert beta["stage_code"] == "pre_projet" and beta["size_class"] == 2
    assert summary.loc["demo-test-a", "stage_code"] == "aci"
    assert not summary.loc["demo-test-c", "is_active"]  # starts in May 2021
    assert summary.loc["demo-test-d", "size_class"] == 1
    assert summary["missing_units_count"].sum() == 0
    table = cov.cpts_table(summary.reset_index()).set_index("Identifiant")
    assert table.loc["demo-test-c", "Stade à la date"] == "pas encore engagée"
    assert table.loc["demo-test-a", "Stade à la date"] == "ACI signé"
    assert table.loc["demo-test-b", "Taille ACI"].startswith("Taille 2")
    assert table.loc["demo-test-b", "Communes partagées"] == 0  # Gamma has not started yet: no overlap


def test_stage_counts_over_time(frames):
    cpts, _ = frames["demo"]
    counts = cov.stage_counts_over_time(cpts, ["2022-12-31", "2018-01-01"])
    at = counts[counts["date"] == pd.Timestamp("2022-12-31")].set_index("stage_code")["cpts_count"]
    assert at.to_dict() == {"pre_projet": 1, "lettre_intention": 1, "projet_sante": 1, "aci": 1}
    assert counts[counts["date"] == pd.Timestamp("2018-01-01")]["cpts_count"].sum() == 0
    imported, _ = frames["imported"]
    undated = cov.stage_counts_over_time(imported, ["2000-01-31"])
    assert undated.set_index("stage_code").loc["inconnu", "cpts_count"] == 2


def test_a_register_without_cpts_gives_zeros_not_errors(con, frames):
    cpts, links = q.list_cpts(con, "absent"), q.cpts_units(con, "absent")
    snap = cov.coverage_snapshot(frames["units"], cpts, links, "2024-06-30")
    figures = cov.key_figures(snap)
    assert (figures.cpts_count, figures.population_covered) == (0, 0)
    assert figures.white_zone_population == figures.population_count
    assert figures.mean_population_per_cpts is None
    assert cov.table_by_area(snap, "departement")["CPTS"].sum() == 0
    assert cov.stage_counts_over_time(cpts)["cpts_count"].sum() == 0
    assert cov.coverage_over_time(frames["units"], cpts, links)["population_covered"].sum() == 0


def test_unknown_level_and_missing_code_are_refused(frames):
    snap = snapshot(frames, "demo", "2024-06-30")
    with pytest.raises(ValueError, match="niveau géographique inconnu"):
        cov.key_figures(snap, "canton", "x")
    with pytest.raises(ValueError, match="code de zone manquant"):
        cov.key_figures(snap, "region")


# --- published national figures (data/national_counts.json) ------------------------------------------------


def test_national_counts_file_is_valid_and_complete():
    data = json.loads((DATA_DIR / "national_counts.json").read_text(encoding="utf-8"))
    assert cov.validate_national_counts(data) == []
    figures = cov.published_national_figures()
    assert set(figures["stage"]) <= set(cov.NATIONAL_STAGES) | {"tous"}
    by_id = figures.set_index("figure_id")
    for figure_id in ["dgos-2022-06-population", "dgos-2022-06-pct", "dgos-2022-06-mean", "fcpts-2022-07-total",
                      "paris14-2021-06-aci", "paris14-2024-03-aci", "fcpts-2024-02-total", "fcpts-2024-02-pct",
                      "dgos-2025-11-pct", "senat-2025-10-zone-blanche"]:  # fmt: skip
        assert figure_id in by_id.index
    assert by_id.loc["paris14-2021-06-aci", "date"] == pd.Timestamp("2021-06-30")  # a month: its last day
    assert by_id.loc["fcpts-2024-02-total", "date"] == pd.Timestamp("2024-02-01")


@pytest.mark.parametrize(
    "date_text, total_id", [("2022-07", "fcpts-2022-07-total"), ("2024-02-01", "fcpts-2024-02-total")]
)
def test_published_stage_counts_add_up_to_the_published_total(date_text, total_id):
    figures = cov.published_national_figures()
    same = figures[(figures["date_text"] == date_text) & (figures["measure"] == "cpts_count")]
    parts = same[same["stage"] != "tous"]["value"].sum()
    assert parts == figures.set_index("figure_id").loc[total_id, "value"]


def test_senate_may_2025_stage_counts_are_consistent_with_its_total():
    """« Plus de 800 CPTS validées ou en cours de validation » = 700 ACI + 24 projets + 85 lettres."""
    by_id = cov.published_national_figures().set_index("figure_id")
    parts = sum(by_id.loc[f"senat-2025-05-{s}", "value"] for s in ("aci", "negociation", "lettre"))
    assert by_id.loc["senat-2025-05-total", "qualifier"] == "plus de" and parts >= by_id.loc["senat-2025-05-total", "value"]


def test_figures_left_out_say_why():
    left_out = cov.left_out_national_figures()
    assert left_out and all(item["candidate"] and "non retenu" in item["reason"] for item in left_out)
    assert any("835" in item["candidate"] for item in left_out)


def test_published_payments_are_sourced_money_figures():
    figures = cov.published_national_figures()
    paid = figures[figures["measure"] == "aci_paid_eur"].set_index("figure_id")
    assert paid.loc["senat-2023-paid", "value"] == 121_000_000 and paid.loc["cnam-2024-paid", "value"] == 170_000_000
    assert (paid["unit"] == "euros").all() and paid["definition"].str.contains("versé|investi").all()
    assert list(paid["date"].dt.year) == sorted(paid["date"].dt.year)


def test_national_counts_validation_names_the_problem():
    bad = {"measures": {"cpts_count": "x"}, "stages": {"aci": "x"}, "figures": [
        {"figure_id": "a", "measure": "cpts_count", "stage": "aci", "value": -1, "qualifier": None, "unit": "CPTS",
         "date": "juin 2022", "source_label": "", "source_detail": "d", "definition": "d"}]}  # fmt: skip
    errors = cov.validate_national_counts(bad)
    assert any("date invalide" in e for e in errors)
    assert any("négative" in e for e in errors)
    assert any("source_label" in e for e in errors)
    assert all(e.startswith("national_counts.json, figures[0]") for e in errors)


def test_stage_at_date_agrees_with_the_stage_vocabulary_module(frames):
    from observatory.stages import stage_at

    for cpts, _ in (frames["demo"], frames["imported"]):
        for as_of in ["2018-01-01", "2019-03-01", "2020-06-30", "2021-05-01", "2023-01-15", "2030-01-01"]:
            ours = cov.cpts_stages(cpts, as_of)["stage_code"].tolist()
            assert ours == stage_at(cpts, as_of).tolist(), as_of
