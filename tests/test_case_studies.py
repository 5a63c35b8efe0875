"""The thesis case studies (CPTS A-E): transcription of Tableaux 3-7 and the register built from it."""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from observatory.registers.case_studies import load_case_studies, load_case_studies_file
from observatory.schema import TABLES_BY_NAME
from observatory.stages import ars_stage_codes, stage_at
from observatory.store import create_schema, insert_frame

IDS = ["these-A", "these-B", "these-C", "these-D", "these-E"]


@pytest.fixture(scope="module")
def loaded():
    return load_case_studies()


@pytest.fixture(scope="module")
def figures(loaded):
    return loaded[1].set_index(["cpts_id", "figure_code"])


# (cpts_id, figure_code, value_num, value_text) as printed in the thesis
PUBLISHED = [
    ("these-A", "population_count", 57482, "57 482"),
    ("these-B", "population_count", 90372, "90 372"),
    ("these-C", "population_count", 105926, "105 926"),
    ("these-D", "population_count", 274231, "274 231"),
    ("these-E", "population_count", 77450, "77 450"),
    ("idf", "population_count", 12174880, "12 174 880"),
    ("these-B", "density_per_km2", 31270.6, "31 270,6"),
    ("these-B", "area_km2", 2.89, "2,89 km ²"),
    ("these-E", "area_km2", 629.5, "629,5 km ²"),
    ("idf", "area_km2", 12012.3, "12 012,3 km ²"),
    ("these-A", "unemployment_pct", 17.3, "17,30%"),
    ("idf", "unemployment_pct", 12.5, "12,5%"),
    ("these-D", "gp_count", 197, "197"),
    ("idf", "gp_count", 8624, "8 624"),
    ("these-B", "specialist_over_60_pct", 45.3, "45,30%"),
    ("these-E", "ald_17_plus_pct", None, "ND"),
    ("idf", "er_visits_no_admission_per_100", 26, "26"),
    ("these-A", "members_count", 83, "83"),
    ("these-B", "members_count", 12, "12"),
    ("these-C", "members_count", 292, "292"),
    ("these-D", "members_count", 5, "5"),
    ("these-E", "members_count", 90, "90+"),
    ("these-A", "departement", None, "Seine-Saint-Denis (93)"),
    ("these-C", "initiators", None, "Professionnels libéraux"),
    ("these-C", "users_in_governance", None, "Oui"),
]


@pytest.mark.parametrize(("cpts_id", "figure_code", "value_num", "value_text"), PUBLISHED)
def test_published_values(figures, cpts_id, figure_code, value_num, value_text):
    row = figures.loc[(cpts_id, figure_code)]
    assert row["value_text"] == value_text
    if value_num is None:
        assert pd.isna(row["value_num"])
    else:
        assert row["value_num"] == pytest.approx(value_num)


def french_number(text: str) -> float | None:
    """The number a published cell shows: « 31 270,6 » -> 31270.6, « 17,30% » -> 17.3, « 90+ » -> 90."""
    if text in ("ND", "-"):
        return None
    cleaned = re.sub(r"(km ²|%|\+)$", "", text.strip()).strip().replace(" ", "").replace(",", ".")
    return float(cleaned)


def test_numbers_match_their_published_text():
    data = load_case_studies_file()
    numeric_units = {"km²", "habitants", "habitants/km²", "%", "médecins", "patients par médecin généraliste",
                     "passages pour 100 usagers", "adhérents"}
    for table in data["tables"]:
        for row in table["rows"]:
            for column, cell in row["values"].items():
                where = f"{table['table_ref']}, {row['figure_code']}, {column}"
                if row["unit"] in numeric_units:
                    expected = french_number(cell["value_text"])
                    assert (cell["value_num"] is None) == (expected is None), where
                    if expected is not None:
                        assert cell["value_num"] == pytest.approx(expected), where
                else:
                    assert cell["value_num"] is None, where


def test_every_table_is_covered(loaded):
    _, figures = loaded
    assert sorted(figures["table_ref"].unique()) == [f"Tableau {i}" for i in range(3, 8)]
    per_table = figures.groupby("table_ref")["cpts_id"].apply(set)
    for ref in ("Tableau 3", "Tableau 5"):
        assert per_table[ref] == set(IDS) | {"idf"}, ref
    for ref in ("Tableau 4", "Tableau 6", "Tableau 7"):
        assert per_table[ref] == set(IDS), ref
    counts = figures.groupby("table_ref")["figure_code"].nunique().to_dict()
    assert counts == {"Tableau 3": 13, "Tableau 4": 4, "Tableau 5": 12, "Tableau 6": 4, "Tableau 7": 6}
    # every CPTS has a value for every row of a table it appears in
    for ref, group in figures.groupby("table_ref"):
        assert len(group) == group["cpts_id"].nunique() * group["figure_code"].nunique(), ref


def test_frames_match_the_schema_and_ids_are_consistent(loaded):
    register_data, figures = loaded
    assert list(figures.columns) == TABLES_BY_NAME["case_study_figures"].column_names
    assert not figures.duplicated(["cpts_id", "figure_code"]).any()
    assert set(figures["cpts_id"]) == set(IDS) | {"idf"}
    assert register_data.cpts["cpts_id"].tolist() == IDS
    for attribute, table in [("register", "registers"), ("cpts", "cpts"), ("cpts_communes", "cpts_communes"),
                             ("cpts_missions", "cpts_missions"), ("cpts_geometries", "cpts_geometries")]:
        assert list(getattr(register_data, attribute).columns) == TABLES_BY_NAME[table].column_names, attribute
    for attribute in ("cpts_communes", "cpts_missions", "cpts_geometries"):
        assert getattr(register_data, attribute).empty, attribute
    con = duckdb.connect()
    create_schema(con)
    insert_frame(con, "registers", register_data.register)
    insert_frame(con, "cpts", register_data.cpts)
    insert_frame(con, "case_study_figures", figures)
    assert con.execute("SELECT count(*) FROM case_study_figures").fetchone()[0] == len(figures)


def test_register_and_cpts_rows(loaded):
    register_data, _ = loaded
    reg = register_data.register.iloc[0]
    assert (reg["register_id"], reg["kind"], bool(reg["is_demo"]), reg["region_code"]) == (
        "these-idf-2021", "case_study", False, "11"
    )
    assert pd.Timestamp(reg["as_of_date"]) == pd.Timestamp("2021-03-31")
    assert "thèse" in reg["description"]
    cpts = register_data.cpts.set_index("cpts_id")
    assert cpts.loc["these-A", "name"] == "CPTS A (étude de cas de la thèse)"
    assert not cpts["is_demo"].any() and (cpts["register_id"] == "these-idf-2021").all()
    assert cpts["association_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2019-02-01", "2019-11-23", "2020-05-08", "2019-11-05", "2019-10-01"
    ]
    assert cpts["main_departement_code"].tolist() == ["93", "75", "77", "95", "78"]
    assert cpts["ars_stage_code"].tolist() == [
        "ars_fonctionnement", "ars_debut_formalisation", "ars_ingenierie", "ars_ingenierie", "ars_ingenierie"
    ]
    assert set(cpts["ars_stage_code"]) <= set(ars_stage_codes())
    for column in ("preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"):
        assert cpts[column].isna().all(), column  # not published: not invented
    assert (stage_at(register_data.cpts, "2021-03-31") == "inconnu").all()
    assert "en attente de non opposition" in cpts.loc["these-D", "notes"]
    assert "CPTS en fonctionnement" in cpts.loc["these-A", "notes"]


def test_association_dates_are_the_published_day_month_year(loaded):
    register_data, figures = loaded
    texts = figures[figures["figure_code"] == "association_date"].set_index("cpts_id")["value_text"]
    parsed = pd.to_datetime(texts, format="%d/%m/%Y")
    dates = register_data.cpts.set_index("cpts_id")["association_date"]
    assert (parsed.reindex(dates.index) == dates).all()
