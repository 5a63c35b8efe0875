"""The stage vocabularies (data/stages.json) and the stage of a CPTS at a date."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from observatory import stages
from observatory.schema import TABLES_BY_NAME

ARS_LABELS = {
    "Initiative connue de l'ARS : Déclaration d'intérêt sans formalisation": "pre_projet",
    "Initiative connue de l'ARS : en début de formalisation": "pre_projet",
    "Ingénierie de projet en cours": "lettre_intention",
    "CPTS en fonctionnement": "aci",
}


def test_frame_has_the_table_columns_and_unique_codes():
    frame = stages.stages_frame()
    assert list(frame.columns) == TABLES_BY_NAME["stages"].column_names
    assert frame["stage_code"].is_unique
    assert set(frame["vocabulary"]) == {"national", "ars"}
    for column in ("stage_code", "vocabulary", "label", "color", "description"):
        assert frame[column].map(lambda v: isinstance(v, str) and v.strip() != "").all(), column


@pytest.mark.parametrize("vocabulary", ["national", "ars"])
def test_ranks_are_contiguous_from_one(vocabulary):
    frame = stages.stages_frame()
    ranks = sorted(frame.loc[(frame["vocabulary"] == vocabulary) & (frame["stage_code"] != "inconnu"), "rank"])
    assert ranks == list(range(1, len(ranks) + 1))


def test_national_vocabulary():
    assert stages.national_stage_codes() == ["pre_projet", "lettre_intention", "projet_sante", "aci"]
    assert stages.national_stage_codes(include_unknown=True)[0] == "inconnu"
    assert [stages.stage_label(c) for c in stages.national_stage_codes()] == [
        "Pré-projet",
        "Lettre d'intention validée",
        "Projet de santé validé (ACI en négociation)",
        "ACI signé",
    ]
    assert stages.stage_label("inconnu") == "Stade non renseigné"
    assert set(stages.stage_date_columns().values()) <= set(TABLES_BY_NAME["cpts"].column_names)


def test_ars_gradation_is_the_thesis_wording_and_maps_to_national_stages():
    frame = stages.stages_frame().set_index("stage_code")
    ars = frame[frame["vocabulary"] == "ars"].sort_values("rank")
    assert list(ars["label"]) == list(ARS_LABELS)
    assert list(ars["national_stage_code"]) == list(ARS_LABELS.values())
    for code in ars.index:
        assert stages.national_stage_of_ars(code) in stages.national_stage_codes()
    national = frame[frame["vocabulary"] == "national"]
    assert (national.drop(index="inconnu")["national_stage_code"] == national.drop(index="inconnu").index).all()


def test_colours_are_hex_and_darken_with_progress():
    frame = stages.stages_frame()
    assert frame["color"].map(lambda c: re.fullmatch(r"#[0-9a-f]{6}", c) is not None).all()

    def luminance(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for vocabulary in ("national", "ars"):
        ordered = frame[(frame["vocabulary"] == vocabulary) & (frame["rank"] > 0)].sort_values("rank")
        values = [luminance(c) for c in ordered["color"]]
        assert values == sorted(values, reverse=True), vocabulary
        assert ordered["color"].is_unique, vocabulary


def test_unknown_code_gives_a_french_error():
    with pytest.raises(KeyError, match="stade inconnu"):
        stages.stage_label("fusionnee")


DATES = pd.DataFrame(
    {
        "preproject_date": ["2019-01-10", "2020-05-01", None, None, "2021-01-01"],
        "letter_of_intent_date": ["2019-06-01", None, None, None, "2021-06-01"],
        "health_project_date": ["2020-03-01", None, None, "2022-01-01", "2022-01-01"],
        "aci_date": ["2020-09-15", None, None, None, "2023-02-01"],
    },
    index=["a", "b", "c", "d", "e"],
).apply(pd.to_datetime)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2018-12-31", [None, None, "inconnu", None, None]),
        ("2019-01-10", ["pre_projet", None, "inconnu", None, None]),
        ("2019-06-01", ["lettre_intention", None, "inconnu", None, None]),
        ("2020-06-30", ["projet_sante", "pre_projet", "inconnu", None, None]),
        ("2020-09-15", ["aci", "pre_projet", "inconnu", None, None]),
        ("2022-01-01", ["aci", "pre_projet", "inconnu", "projet_sante", "projet_sante"]),
        ("2024-03-31", ["aci", "pre_projet", "inconnu", "projet_sante", "aci"]),
    ],
)
def test_stage_at_a_date(as_of, expected):
    result = stages.stage_at(DATES, as_of)
    assert list(result.index) == list(DATES.index)
    assert [None if pd.isna(v) else v for v in result] == expected
    assert [None if pd.isna(v) else v for v in stages.stage_at(DATES, pd.Timestamp(as_of).date())] == expected


def test_stage_at_accepts_a_single_row_and_missing_columns():
    assert stages.stage_at(DATES.loc["e"], dt.date(2021, 7, 1)) == "lettre_intention"
    only_aci = pd.DataFrame({"aci_date": [pd.Timestamp("2021-01-01"), pd.NaT]})
    assert list(stages.stage_at(only_aci, "2022-01-01")) == ["aci", "inconnu"]


def test_stage_at_rejects_an_invalid_date():
    with pytest.raises((TypeError, ValueError)):
        stages.stage_at(DATES, 20240331)
