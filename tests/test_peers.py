"""Peers of a CPTS: the join of a register with size classes and stages, and the 5-peer median rule."""

from __future__ import annotations

import statistics
from datetime import date

import pandas as pd
import pytest

from observatory.coverage import cpts_summary
from observatory.instrument import load_instrument, load_scoring_model
from observatory.peers import cpts_profiles, peer_comparison, peer_group, peer_group_of
from observatory.scoring import score_assessment

INSTRUMENT = load_instrument("1")
MODEL = load_scoring_model("1")
AS_OF = "2024-06-30"

# Populations chosen on both sides of the ACI size boundaries (40 000, 80 000, 175 000).
UNITS = pd.DataFrame(
    [
        ("01001", "01", "84", 39_999), ("01002", "01", "84", 40_000), ("01003", "01", "84", 20_000),
        ("01004", "01", "84", 25_000), ("01005", "01", "84", 80_000), ("01006", "01", "84", 10_000),
        ("01007", "01", "84", 30_000), ("01008", "01", "84", 35_000),
    ],
    columns=["commune_code", "departement_code", "region_code", "population_count"],
)


def _cpts(rows):
    columns = ["cpts_id", "register_id", "name", "is_demo", "ars_stage_code", "association_date", "preproject_date",
               "letter_of_intent_date", "health_project_date", "aci_date", "main_departement_code", "notes"]
    frame = pd.DataFrame(
        [{"cpts_id": i, "register_id": "r", "name": f"CPTS {i}", "is_demo": False, "ars_stage_code": None,
          "association_date": None, "preproject_date": pre, "letter_of_intent_date": li, "health_project_date": None,
          "aci_date": aci, "main_departement_code": "01", "notes": None} for i, pre, li, aci in rows],
        columns=columns,
    )
    for col in ("association_date", "preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


CPTS = _cpts([
    ("a", "2019-01-01", "2019-06-01", "2020-01-01"),  # 39 999 inhabitants: size 1, ACI
    ("b", "2019-01-01", "2019-06-01", "2021-01-01"),  # 20 000: size 1, ACI
    ("c", "2019-01-01", "2019-06-01", None),  # 25 000: size 1, lettre d'intention
    ("d", "2019-01-01", "2019-06-01", "2022-01-01"),  # 40 000 + 80 000: size 3, ACI
    ("e", "2019-01-01", "2019-06-01", "2023-01-01"),  # 10 000 + 30 000: size 2 (40 000 exactly), ACI
    ("f", "2019-01-01", None, "2025-01-01"),  # ACI after the date: pré-projet at AS_OF; 35 000: size 1
    ("g", None, None, None),  # no date, no territory (like the thesis case studies)
])
LINKS = pd.DataFrame(
    [("a", "01001"), ("b", "01003"), ("c", "01004"), ("d", "01002"), ("d", "01005"), ("e", "01006"), ("e", "01007"),
     ("f", "01008")],
    columns=["cpts_id", "commune_code"],
)


@pytest.fixture(scope="module")
def profiles():
    return cpts_profiles(CPTS, cpts_summary(CPTS, LINKS, UNITS, AS_OF))


def test_profiles_join_size_class_and_stage(profiles):
    p = profiles.set_index("cpts_id")
    assert p.loc["a", "population_count"] == 39_999 and p.loc["a", "size_class"] == 1
    assert p.loc["d", "population_count"] == 120_000 and p.loc["d", "size_class"] == 3
    assert p.loc["e", "size_class"] == 2  # 40 000 exactly is taille 2
    assert list(p.loc[["a", "b", "c", "f"], "stage_code"]) == ["aci", "aci", "lettre_intention", "pre_projet"]
    # no territory: unknown population and size class, never 0
    assert pd.isna(p.loc["g", "population_count"]) and pd.isna(p.loc["g", "size_class"])
    assert p.loc["g", "commune_count"] == 0 and p.loc["g", "stage_code"] == "inconnu"
    assert list(profiles["cpts_id"]) == list(CPTS["cpts_id"])


@pytest.mark.parametrize(
    ("cpts_id", "expected_peers", "reason"),
    [
        ("a", ("b",), None),  # size 1 ACI: b only (c is at another stage, f another stage)
        ("b", ("a",), None),
        ("c", (), None),  # alone in its cell: a group, but empty
        ("g", (), "taille ACI inconnue"),
        ("zz", (), "CPTS absente du registre affiché"),
    ],
)
def test_peer_group_of_a_register_cpts(profiles, cpts_id, expected_peers, reason):
    group = peer_group_of(profiles, cpts_id)
    assert group.cpts_ids == expected_peers
    if reason is None:
        assert group.unavailable_reason is None
    else:
        assert reason in group.unavailable_reason


def test_peer_group_from_size_and_stage_for_a_cpts_outside_the_register(profiles):
    assert peer_group(profiles, 1, "aci").cpts_ids == ("a", "b")
    assert "taille ACI inconnue" in peer_group(profiles, None, "aci").unavailable_reason
    assert "stade national inconnu" in peer_group(profiles, 1, "inconnu").unavailable_reason
    group = peer_group(profiles, 3, "aci")
    assert group.cpts_ids == ("d",)
    assert group.description == "CPTS de taille 3 (de 80 000 à 175 000 habitants) au stade « ACI signé »"


def _results(n: int, scoring_version: str = "1"):
    out = []
    for k in range(n):
        answers = {"Q2": "q2_fonctionnement", "Q4": INSTRUMENT.question("Q4").option_ids[k % 5], "Q22": "q22_oui",
                   "Q33": "q33_oui" if k % 2 else "q33_non", "Q41": INSTRUMENT.question("Q41").option_ids[(k + 1) % 5]}
        result = score_assessment(INSTRUMENT, MODEL, answers, today=date(2024, 1, 1))
        if scoring_version != "1":
            result = type(result)(**{**result.__dict__, "scoring_version": scoring_version})
        out.append(result)
    return out


@pytest.mark.parametrize(("n", "shown"), [(0, False), (1, False), (4, False), (5, True), (8, True)])
def test_median_shown_only_from_five_peers(profiles, n, shown):
    group = peer_group(profiles, 1, "aci")
    results = _results(n)
    comparison = peer_comparison(group, results, "1", min_peers=5)
    assert comparison.is_shown is shown and comparison.n_submitted == n
    if shown:
        expected = statistics.median(r.subdimensions["niveau_maturite"].score for r in results)
        assert comparison.medians.subdimensions["niveau_maturite"].median == pytest.approx(expected)
        assert comparison.medians.overall.median == pytest.approx(statistics.median(r.overall for r in results))
        assert comparison.message.startswith(f"médiane de {n} pairs (CPTS de taille 1")
    else:
        assert comparison.message == ("médiane des pairs masquée : moins de 5 pairs ont soumis une évaluation notée avec "
                                      "ce modèle (seuil d'anonymat)")
        assert str(n) not in comparison.message


def test_results_scored_with_another_model_version_are_counted_apart(profiles):
    group = peer_group(profiles, 1, "aci")
    comparison = peer_comparison(group, _results(4) + _results(3, scoring_version="2"), "1")
    assert not comparison.is_shown and comparison.n_submitted == 4
    assert "3 évaluation(s) notée(s) avec une autre version du modèle, non comptée(s)" in comparison.message


def test_unavailable_group_says_why(profiles):
    comparison = peer_comparison(peer_group_of(profiles, "g"), _results(6), "1")
    assert not comparison.is_shown and comparison.medians is None
    assert comparison.message.startswith("médiane des pairs indisponible : taille ACI inconnue")
