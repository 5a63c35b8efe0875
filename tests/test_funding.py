"""ACI funding grids as dated, sourced data, and the ceilings computed from them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatory import config
from observatory.funding import (
    MISSION_CODES,
    FundingError,
    class_limits,
    funding_ceiling,
    grid_for_date,
    load_grids,
    size_class,
    size_class_labels,
    size_class_or_none,
    size_classes,
)

GRID_2022 = "aci-2022-avenant2"
GRID_SEED = "aci-seed-003"


def _raw() -> dict:
    """The grid file read directly, so the published-maximum checks do not go through the module."""
    return json.loads((config.DATA_DIR / "aci_grids.json").read_text(encoding="utf-8"))


def _raw_grid(grid_id: str) -> dict:
    return next(g for g in _raw()["grids"] if g["grid_id"] == grid_id)


def _population_of(klass: int) -> int:
    """A population inside each size class, taken from the file's own bounds."""
    c = next(c for c in _raw()["size_classes"]["classes"] if c["size_class"] == klass)
    return c["population_min"] + 1


# ------------------------------------------------------------------------------------- file consistency


def test_file_declares_both_grids_the_six_missions_and_four_size_classes():
    catalogue = load_grids()
    assert set(catalogue.grids) == {GRID_2022, GRID_SEED}
    assert tuple(catalogue.missions) == MISSION_CODES == (
        "acces_soins", "parcours", "prevention", "crise_sanitaire", "qualite_pertinence", "accompagnement_ps",
    )
    assert all(m.label and m.kind in ("socle", "optionnelle") for m in catalogue.missions.values())
    assert [m.kind for m in catalogue.missions.values()].count("socle") == 4
    assert [c.size_class for c in catalogue.size_classes] == [1, 2, 3, 4]
    for grid in catalogue.grids.values():
        assert grid.source and grid.source_date and grid.notes and grid.ceiling_rule
        assert isinstance(grid.valid_from, date)


@pytest.mark.parametrize("klass", ["1", "2", "3", "4"])
def test_2022_components_add_up_to_the_published_maximum(klass):
    grid = _raw_grid(GRID_2022)
    structure = next(c for c in grid["components"] if c["component_code"] == "structure")
    missions = [c for c in grid["components"] if c["mission_code"]]
    assert len(missions) == 6
    computed = structure["amounts_eur"][klass] + sum(c["amounts_eur"][klass] for c in missions)
    assert computed == grid["published_maximum_eur"][klass]


@pytest.mark.parametrize("klass", ["1", "2", "3", "4"])
def test_seed_parts_add_up_to_the_published_maximum(klass):
    grid = _raw_grid(GRID_SEED)
    parts = {c["component_code"]: c["amounts_eur"][klass] for c in grid["components"]}
    assert parts["part_fixe"] + parts["part_variable"] == grid["published_maximum_eur"][klass]


@pytest.mark.parametrize("grid_id", [GRID_2022, GRID_SEED])
@pytest.mark.parametrize("klass", [1, 2, 3, 4])
def test_ceiling_with_every_mission_is_the_published_maximum(grid_id, klass):
    breakdown = funding_ceiling(_population_of(klass), list(MISSION_CODES), grid_id)
    assert breakdown.size_class == klass
    assert breakdown.total_eur == sum(line.amount_eur for line in breakdown.lines)
    assert breakdown.total_eur == breakdown.published_maximum_eur == _raw_grid(grid_id)["published_maximum_eur"][str(klass)]
    assert breakdown.source == _raw_grid(grid_id)["source"] and breakdown.source_date
    assert all(line.label for line in breakdown.lines)


def test_the_note_on_the_gap_between_the_two_grids_holds():
    """The seed grid's note says: 2022 maximum − seed maximum = 20 % of the 2022 crisis mission."""
    g2022, seed = _raw_grid(GRID_2022), _raw_grid(GRID_SEED)
    crisis = next(c for c in g2022["components"] if c["mission_code"] == "crise_sanitaire")["amounts_eur"]
    for klass in ("1", "2", "3", "4"):
        gap = g2022["published_maximum_eur"][klass] - seed["published_maximum_eur"][klass]
        assert gap * 5 == crisis[klass]
    assert any("20 %" in note for note in seed["notes"])


# ----------------------------------------------------------------------------------------- size class


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (0, 1), (39_999, 1),
        (40_000, 2), (79_999, 2),
        (80_000, 3), (175_000, 3),
        (175_001, 4), (2_100_000, 4),
        (40_000.0, 2),
    ],
)
def test_size_class_boundaries(population, expected):
    assert size_class(population) == expected


@pytest.mark.parametrize("population", [-1, 1.5, float("nan"), "40000", None, True])
def test_impossible_populations_are_refused_in_french(population):
    with pytest.raises(FundingError, match="Population invalide"):
        size_class(population)


# The grid's wording: « < 40 000 », « [40-80 000] », « [80-175 000] », « > 175 000 ».
WORDING = [(39_999, 1), (40_000, 2), (40_001, 2), (79_999, 2), (80_000, 3), (80_001, 3), (174_999, 3),
           (175_000, 3), (175_001, 4)]  # fmt: skip


@pytest.mark.parametrize(("population", "expected"), WORDING)
def test_every_form_of_the_rule_gives_the_grid_wording_at_the_limits(population, expected):
    """Scalar, tolerant and vectorised forms are one rule: they agree at and around each limit."""
    assert size_class(population) == expected
    assert size_class_or_none(population) == expected
    assert size_class_or_none(np.int64(population)) == expected
    assert size_class_or_none(float(population)) == expected
    vector = size_classes(pd.Series([population, None], dtype="float64"))
    assert vector.iloc[0] == expected and pd.isna(vector.iloc[1]) and str(vector.dtype) == "Int64"


@pytest.mark.parametrize("unknown", [None, float("nan"), np.nan, pd.NA])
def test_unknown_population_has_no_size_class(unknown):
    assert size_class_or_none(unknown) is None


def test_limits_and_labels_come_from_the_grid_file():
    raw = _raw()["size_classes"]
    assert class_limits() == tuple(raw["limits"]) == (40_000, 80_000, 175_000)
    labels = size_class_labels()
    assert list(labels) == [1, 2, 3, 4]
    for c in raw["classes"]:
        assert labels[c["size_class"]] == f"{c['label']} ({c['population_label']})"
    # Each published limit is where the class changes: the class below it and the class above it differ.
    for limit in class_limits():
        assert size_class(limit - 1) < size_class(limit + 1)


def test_no_module_restates_the_size_class_limits():
    """One rule in one place: no Python file of the app writes a class limit as a number literal."""
    root = config.REPO_ROOT
    literal = re.compile(r"(?<![\w.])(40_?000|80_?000|175_?00[01])(?![\w.])")
    offenders = []
    for folder in ("observatory", "ui", "pages", "geo"):
        for path in sorted((root / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if literal.search(line.split("#")[0]):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


# ------------------------------------------------------------------------------------------- ceilings


@pytest.mark.parametrize("klass", [1, 2, 3, 4])
@pytest.mark.parametrize("dropped", MISSION_CODES)
def test_2022_a_missing_mission_lowers_the_ceiling_by_its_amount(klass, dropped):
    population = _population_of(klass)
    full = funding_ceiling(population, list(MISSION_CODES), GRID_2022)
    partial = funding_ceiling(population, [m for m in MISSION_CODES if m != dropped], GRID_2022)
    amount = next(c for c in _raw_grid(GRID_2022)["components"] if c["mission_code"] == dropped)["amounts_eur"][str(klass)]
    assert partial.total_eur == full.total_eur - amount < full.total_eur
    assert dropped not in {line.mission_code for line in partial.lines}


def test_2022_before_any_mission_only_the_operating_funding_and_never_the_exceptional_amount():
    population = _population_of(2)
    breakdown = funding_ceiling(population, [], GRID_2022)
    grid = _raw_grid(GRID_2022)
    operating = next(c for c in grid["components"] if c["component_code"] == "fonctionnement_avant_missions")
    assert [line.component_code for line in breakdown.lines] == ["fonctionnement_avant_missions"]
    assert breakdown.total_eur == operating["amounts_eur"]["2"]
    exceptional = {c["component_code"] for c in grid["components"] if c["is_exceptional"]}
    assert exceptional
    for missions in ([], list(MISSION_CODES), ["prevention"]):
        lines = funding_ceiling(population, missions, GRID_2022).lines
        assert not exceptional & {line.component_code for line in lines}


def test_2022_lines_follow_the_grid_order_and_ignore_duplicates():
    breakdown = funding_ceiling(_population_of(1), ["prevention", "acces_soins", "prevention"], GRID_2022)
    assert [line.component_code for line in breakdown.lines] == ["structure", "acces_soins", "prevention"]
    assert breakdown.missions == ("acces_soins", "prevention")


@pytest.mark.parametrize("dropped", ["acces_soins", "parcours", "prevention", "crise_sanitaire"])
def test_seed_grid_without_a_mission_socle_is_not_computable(dropped):
    breakdown = funding_ceiling(_population_of(3), [m for m in MISSION_CODES if m != dropped], GRID_SEED)
    assert breakdown.total_eur is None and not breakdown.is_computable and breakdown.lines == ()
    label = load_grids().missions[dropped].label
    assert any("non calculable" in note and label in note for note in breakdown.notes)


def test_seed_grid_optional_missions_do_not_change_the_ceiling():
    socles = ["acces_soins", "parcours", "prevention", "crise_sanitaire"]
    population = _population_of(4)
    assert funding_ceiling(population, socles, GRID_SEED).total_eur == funding_ceiling(
        population, list(MISSION_CODES), GRID_SEED
    ).total_eur


def test_size4_bonus_counts_only_with_at_least_one_hundred_known_members():
    bonus = next(b for b in _raw_grid(GRID_2022)["bonuses"] if b["bonus_code"] == "taille4_100_membres")
    population = _population_of(4)
    base = funding_ceiling(population, list(MISSION_CODES), GRID_2022)
    assert base.total_eur == base.published_maximum_eur  # the published maximum never includes it
    assert any(str(bonus["min_members"]) in n and "non renseigné" in n for n in base.notes)
    assert funding_ceiling(population, list(MISSION_CODES), GRID_2022, member_count=99).total_eur == base.total_eur
    with_bonus = funding_ceiling(population, list(MISSION_CODES), GRID_2022, member_count=100)
    assert with_bonus.total_eur == base.total_eur + bonus["amount_eur"] == 580_000 + 130_000
    assert with_bonus.lines[-1].component_code == "taille4_100_membres"
    # Not for a size-3 CPTS, nor under the grid that does not describe it.
    size3 = funding_ceiling(_population_of(3), list(MISSION_CODES), GRID_2022, member_count=500)
    assert size3.total_eur == size3.published_maximum_eur
    seed = funding_ceiling(population, list(MISSION_CODES), GRID_SEED, member_count=500)
    assert seed.total_eur == seed.published_maximum_eur


def test_unknown_mission_or_grid_is_an_error_in_french():
    with pytest.raises(FundingError, match="Mission\\(s\\) inconnue\\(s\\) : « telemedecine »"):
        funding_ceiling(50_000, ["acces_soins", "telemedecine"], GRID_2022)
    with pytest.raises(FundingError, match="Grille ACI inconnue « aci-1999 »"):
        funding_ceiling(50_000, [], "aci-1999")


# ---------------------------------------------------------------------------------------------- dates


def test_grid_for_date_picks_the_latest_grid_in_force():
    grids = load_grids().grids
    first, later = grids[GRID_2022].valid_from, grids[GRID_SEED].valid_from
    assert first < later
    with pytest.raises(FundingError, match="Aucune grille ACI connue"):
        grid_for_date(first - timedelta(days=1))
    assert grid_for_date(first).grid_id == GRID_2022
    assert grid_for_date(later - timedelta(days=1)).grid_id == GRID_2022
    assert grid_for_date(later).grid_id == GRID_SEED
    assert grid_for_date(datetime.combine(later, datetime.min.time())).grid_id == GRID_SEED
    assert grid_for_date(later.isoformat()).grid_id == GRID_SEED
    with pytest.raises(FundingError, match="Date invalide"):
        grid_for_date("avril 2024")


# ------------------------------------------------------------------------------------------ validation


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "aci_grids.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def _grid(raw, grid_id):
    return next(g for g in raw["grids"] if g["grid_id"] == grid_id)


def _missing_amount(raw):
    del _grid(raw, GRID_2022)["components"][3]["amounts_eur"]["4"]


def _unknown_mission(raw):
    _grid(raw, GRID_2022)["components"][4]["mission_code"] = "telemedecine"


def _bad_date(raw):
    _grid(raw, GRID_SEED)["valid_from"] = "2024"


def _no_notes(raw):
    _grid(raw, GRID_SEED)["notes"] = []


def _gap_in_size_classes(raw):
    raw["size_classes"]["classes"][1]["population_min"] = 40_001


def _limit_off_the_bounds(raw):
    raw["size_classes"]["limits"][2] = 150_000


def _bad_bonus(raw):
    _grid(raw, GRID_2022)["bonuses"][0]["size_classes"] = [5]


@pytest.mark.parametrize(
    ("break_it", "fragment"),
    [
        (_missing_amount, "aci-2022-avenant2, composante acces_soins"),
        (_unknown_mission, "telemedecine"),
        (_bad_date, "aci-seed-003 : date « valid_from »"),
        (_no_notes, "« notes »"),
        (_gap_in_size_classes, "ne se suivent pas"),
        (_limit_off_the_bounds, "la limite 150000 ne borne ni la taille 3 ni la taille 4"),
        (_bad_bonus, "majoration taille4_100_membres"),
    ],
)
def test_an_inconsistent_grid_file_is_rejected_with_a_french_message(tmp_path, break_it, fragment):
    raw = _raw()
    break_it(raw)
    with pytest.raises(FundingError, match=fragment) as info:
        load_grids(_write(tmp_path, raw))
    assert "aci_grids.json" in str(info.value)
