"""The map's search (observatory.place_search): forgiving about accents, case, hyphens and « St »; ranked;
what is typed is only compared."""

from __future__ import annotations

import pandas as pd
import pytest

from observatory.place_search import normalise, search, with_search_keys

PLACES = with_search_keys(pd.DataFrame({
    "commune_code": ["42218", "93066", "97411", "94038", "13055", "13216", "35238"],
    "name": ["Saint-Étienne", "Saint-Denis", "Saint-Denis", "L'Haÿ-les-Roses", "Marseille",
             "Marseille 16e Arrondissement", "Rennes"],
    "unit_type": ["commune"] * 5 + ["arrondissement_municipal", "commune"],
    "departement_code": ["42", "93", "974", "94", "13", "13", "35"],
    "population_count": [172_000, 113_000, 153_000, 31_000, 870_000, 16_000, 227_000],
}))  # fmt: skip
CPTS = pd.DataFrame({"cpts_id": ["c1", "c2"], "name": ["CPTS du Pays de Rennes", "CPTS Marseille Nord"],
                     "population_count": [0, 0], "departement_code": ["35", "13"]})


@pytest.mark.parametrize(("typed", "expected"), [("st etienne", "saint etienne"), ("L’HAY les roses", "l hay les roses"),
                                                 ("  Saint-Denis ", "saint denis")])
def test_normalise(typed, expected):
    assert normalise(typed) == expected


def test_exact_names_first_then_prefixes_then_words_communes_before_cpts():
    found = search("marseille", PLACES, CPTS)
    assert [(m.kind, m.code) for m in found] == [("commune", "13055"), ("commune", "13216"), ("cpts", "c2")]
    assert found[0].label.startswith("Marseille (13) – commune") and found[0].departement_code == "13"
    assert found[1].label.startswith("Marseille 16e Arrondissement (13) – arrondissement")


def test_homonyms_are_both_offered_most_populated_first():
    assert [m.code for m in search("saint denis", PLACES, CPTS)] == ["97411", "93066"]


def test_every_word_must_start_a_word_of_the_name():
    assert [m.code for m in search("pays rennes", PLACES, CPTS)] == ["c1"]
    assert search("ennes", PLACES, CPTS) == []  # inside a word: not a match


@pytest.mark.parametrize("typed", ["", "a", None, "' OR 1=1 --", "<script>", ".*", "x" * 5000])
def test_hostile_or_short_input_finds_nothing_and_never_raises(typed):
    assert search(typed, PLACES, CPTS) == []
