"""The questionnaire and scoring model files: faithful to the thesis and internally consistent."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from observatory.instrument import (
    INSTRUMENT_DIR,
    InstrumentError,
    latest_instrument_version,
    latest_scoring_version,
    load_instrument,
    load_scoring_model,
    parse_instrument,
    parse_scoring_model,
)

THESIS = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "001_8a7bd65e9d18265f.txt"


@pytest.fixture(scope="module")
def instrument():
    return load_instrument("1")


@pytest.fixture(scope="module")
def model():
    return load_scoring_model("1")


def _raw(name: str) -> dict:
    return json.loads((INSTRUMENT_DIR / name).read_text(encoding="utf-8"))


# Tableau 8, last column (questionnaire finalisé), in questionnaire order, with Annexe 4's numbering.
TABLEAU_8 = [
    ("niveau_maturite", "structure", "Niveau de maturité", 1, 4),
    ("identite_professionnelle", "structure", "Identité professionnelle", 5, 5),
    ("population_territoire", "structure", "Population et territoire", 6, 9),
    ("acteurs_territoire", "structure", "Acteurs du territoire", 10, 11),
    ("ressources", "structure", "Ressources", 12, 15),
    ("ethique_valeurs", "structure", "Éthique et valeurs", 16, 16),
    ("gouvernance", "structure", "Gouvernance", 17, 20),
    ("systeme_information", "structure", "Système d'information et communication", 21, 23),
    ("organisation_travail", "structure", "Organisation du travail", 24, 25),
    ("projet_sante", "structure", "Projet de santé", 26, 29),
    ("dynamique_collective", "processus", "Dynamique collective", 30, 31),
    ("acces_medecin_traitant", "processus", "Accès aux soins – Médecin traitant", 32, 33),
    ("acces_soins_non_programmes", "processus", "Accès aux soins – Soins non programmés", 34, 35),
    ("coordination_continuite", "processus", "Coordination et continuité des soins", 36, 36),
    ("prevention", "processus", "Prévention", 37, 37),
    ("plan_situation_sanitaire", "processus", "Plan de réponse à une situation sanitaire exceptionnelle", 38, 38),
    ("integration_accompagnement", "processus", "Intégration et accompagnement", 39, 39),
    ("qualite_pertinence", "resultats", "Qualité et pertinence", 40, 40),
    ("indicateurs", "resultats", "Indicateurs", 41, 42),
]

# Number of answer options per question in Annexe 4 (0: date, number; Q17: 5 roles, counted apart).
ANNEX_OPTION_COUNTS = {
    1: 0, 2: 4, 3: 7, 4: 5, 5: 5, 6: 4, 7: 0, 8: 6, 9: 6, 10: 6, 11: 7, 12: 8, 13: 27, 14: 3, 15: 7, 16: 3, 17: 0,
    18: 6, 19: 6, 20: 11, 21: 7, 22: 2, 23: 3, 24: 5, 25: 2, 26: 4, 27: 5, 28: 8, 29: 4, 30: 5, 31: 6, 32: 6, 33: 2,
    34: 2, 35: 2, 36: 5, 37: 2, 38: 2, 39: 6, 40: 6, 41: 5, 42: 5,
}


def test_42_questions_19_subdimensions_29_10_3(instrument):
    assert instrument.version == "1"
    assert instrument.question_ids == tuple(f"Q{i}" for i in range(1, 43))
    assert len(instrument.subdimensions) == 19
    counts = {d.id: d.question_count for d in instrument.dimensions}
    assert counts == {"structure": 29, "processus": 10, "resultats": 3}
    assert [d.label for d in instrument.dimensions] == ["Structure", "Processus", "Résultats"]


@pytest.mark.parametrize("sub_id, dimension, label, first, last", TABLEAU_8)
def test_subdimensions_follow_tableau_8(instrument, sub_id, dimension, label, first, last):
    sub = instrument.subdimension(sub_id)
    assert sub.label == label
    assert sub.dimension == dimension
    assert sub.question_ids == tuple(f"Q{i}" for i in range(first, last + 1))
    for qid in sub.question_ids:
        assert instrument.question(qid).dimension == dimension


def test_indicateurs_follow_tableau_8_not_the_annex_heading(instrument):
    sub = instrument.subdimension("indicateurs")
    assert sub.dimension == "resultats"
    assert "[Processus] - [Indicateurs]" in (sub.note or "")


@pytest.mark.parametrize("number, count", sorted(ANNEX_OPTION_COUNTS.items()))
def test_option_counts_match_annex_4(instrument, number, count):
    assert len(instrument.question(f"Q{number}").options) == count


@pytest.mark.parametrize(
    "qid, labels",
    [
        ("Q2", ["CPTS en fonctionnement", "Ingénierie de projet en cours",
                "Initiative connue de l'ARS : en début de formalisation",
                "Initiative connue de l'ARS : Déclaration d'intérêt sans formalisation"]),
        ("Q4", ["Total", "Partiel", "Modéré", "Faible", "Insuffisant"]),
        ("Q14", ["Oui, déjà recruté(e)", "Oui, cela est prévu", "Non"]),
        ("Q16", ["Oui, égale entre les différents professionnels", "Oui, mais différente selon les différents professionnels", "Non"]),
        ("Q41", ["Oui, nous sommes très satisfaits", "Oui, nous sommes satisfaits", "Opinion neutre",
                 "Non, nous ne sommes pas satisfaits", "Nous, nous sommes très insatisfaits"]),
        ("Q12", ["[1-5]", "[6-10]", "[11-20]", "[21-30]", "[31-40]", "[41-50]", "[51-100]", "[100 ou plus]"]),
    ],
)
def test_exact_wording_of_some_options(instrument, qid, labels):
    assert [o.label for o in instrument.question(qid).options] == labels


def test_typos_are_kept_and_noted(instrument):
    q41_last = instrument.question("Q41").options[-1]
    assert q41_last.label == "Nous, nous sommes très insatisfaits" and q41_last.wording_note
    assert "réunions de d'informations" in instrument.question("Q15").text
    assert instrument.question("Q15").wording_note


@pytest.mark.parametrize(
    "qid, kind", [("Q1", "date"), ("Q2", "single"), ("Q3", "multiple"), ("Q7", "number"), ("Q17", "per_role_text"),
                  ("Q22", "single"), ("Q40", "multiple")],
)
def test_question_kinds(instrument, qid, kind):
    assert instrument.question(qid).kind == kind


def test_q17_roles(instrument):
    assert [r.label for r in instrument.question("Q17").roles] == [
        "Président(e)", "Vice-président(e)", "Secrétaire générale", "Trésorier(e)", "Autre"]


EXCLUSIVE = {
    "Q8": "Non, aucun regroupement territorial particulier", "Q9": "Non", "Q10": "Aucun de ces dispositifs",
    "Q19": "Aucune de ces propositions", "Q20": "Non, nous n'avons pas structuré notre association en collèges ou équivalents",
    "Q21": "Aucun", "Q28": "Non, pour aucune", "Q31": "Pas de dispositif particulier",
}


def test_exclusive_options(instrument):
    found = {q.id: [q.option(o).label for o in q.exclusive_option_ids] for q in instrument.questions if q.exclusive_option_ids}
    assert found == {qid: [label] for qid, label in EXCLUSIVE.items()}
    for q in instrument.questions:
        if q.kind == "multiple":
            assert q.empty_answer == ("unanswered" if q.exclusive_option_ids else "none_ticked")


def test_other_options_allow_text(instrument):
    for q in instrument.questions:
        for o in q.options:
            if "à spécifier" in o.label:
                assert o.allows_text, (q.id, o.label)


def test_conditions(instrument):
    for qid in ("Q26", "Q27"):
        cond = instrument.question(qid).condition
        assert cond.question == "Q2" and cond.options == {"q2_fonctionnement"} and cond.when_unanswered == "hidden"
    cond = instrument.question("Q28").condition
    assert cond.options == {"q2_ingenierie", "q2_debut_formalisation", "q2_declaration_interet"}
    assert [q.id for q in instrument.questions if q.condition] == ["Q26", "Q27", "Q28"]


def test_every_question_has_help_with_a_thesis_section(instrument):
    for q in instrument.questions:
        assert len(q.help_text) > 40, q.id
        assert re.search(r"\d\.\d|^5$|5 \(|; 5", q.help_section), (q.id, q.help_section)


MATRIX = {
    "structure": {"externes": ["identite_professionnelle"],
                  "internes": ["niveau_maturite", "ressources", "ethique_valeurs", "gouvernance", "systeme_information",
                               "organisation_travail", "projet_sante"],
                  "environnementales": ["population_territoire", "acteurs_territoire"]},
    "processus": {"externes": ["acces_medecin_traitant", "acces_soins_non_programmes", "coordination_continuite", "prevention",
                               "plan_situation_sanitaire", "integration_accompagnement"],
                  "internes": ["dynamique_collective"], "environnementales": []},
    "resultats": {"externes": ["indicateurs"], "internes": ["qualite_pertinence"], "environnementales": []},
}


def test_matrix_cells_follow_figure_6(instrument):
    for row, columns in MATRIX.items():
        for column, subs in columns.items():
            actual = [s.id for s in instrument.subdimensions if s.matrix_row == row and s.matrix_column == column]
            assert actual == subs, (row, column)
    context = {(c["row"], c["label"]) for c in instrument.raw["matrix"]["context_elements"]}
    assert ("processus", "Réglementation") in context and ("resultats", "Politiques de santé") in context


def test_subdimensions_carry_advice(instrument):
    for s in instrument.subdimensions:
        assert s.description and len(s.what_matters) > 60 and s.what_matters_section, s.id


@pytest.mark.skipif(not THESIS.exists(), reason="texte de la thèse absent")
def test_wording_is_verbatim_from_annex_4(instrument):
    annex = THESIS.read_text(encoding="utf-8").split("Annexe 4 - Questionnaire consolidé", 1)[1]
    annex = annex.replace("*", "")
    for q in instrument.questions:
        assert q.text in annex, q.id
        for o in q.options:
            assert o.label in annex, (q.id, o.label)
        for r in q.roles:
            assert r.label in annex, (q.id, r.label)


# --- scoring model file ---------------------------------------------------------------------------

DESCRIPTIVE = {"Q1", "Q5", "Q6", "Q7", "Q9", "Q17", "Q28", "Q29"}


def test_every_question_is_scored_or_descriptive_with_a_rationale(instrument, model):
    assert model.version == "1" and model.instrument_version == "1"
    assert set(model.rules) == set(instrument.question_ids)
    assert {qid for qid, r in model.rules.items() if not r.is_scored} == DESCRIPTIVE
    for r in model.rules.values():
        assert len(r.rationale) > 40, r.question_id


def test_every_scored_option_has_points(instrument, model):
    for qid in model.scored_question_ids:
        q, r = instrument.question(qid), model.rule(qid)
        if r.rule in ("ordinal", "yes_no", "best_of"):
            assert set(r.points) == set(q.option_ids), qid
        else:
            assert set(r.relevant) | q.exclusive_option_ids == set(q.option_ids), qid
        for value in r.points.values():
            assert value is None or 0 <= value <= 100


@pytest.mark.parametrize(
    "qid, expected",
    [
        ("Q4", {"q4_total": 100, "q4_partiel": 75, "q4_modere": 50, "q4_faible": 25, "q4_insuffisant": 0}),
        ("Q14", {"q14_recrute": 100, "q14_prevu": 50, "q14_non": 0}),
        ("Q22", {"q22_oui": 100, "q22_non": 0}),
    ],
)
def test_some_points_tables(model, qid, expected):
    assert dict(model.rule(qid).points) == expected


def test_q16_equal_beats_different_beats_none(model):
    p = model.rule("Q16").points
    assert p["q16_egale"] > p["q16_differente"] > p["q16_non"]


def test_latest_versions():
    assert latest_scoring_version() == "2"
    assert latest_instrument_version() == "2"


def test_questionnaire_v2_is_v1_plus_precisions():
    """v2 keeps the thesis's 42 questions word for word; it only adds the Observatoire's precisions."""
    v1, v2 = _raw("questionnaire_v1.json"), _raw("questionnaire_v2.json")
    for q1, q2 in zip(v1["questions"], v2["questions"], strict=True):
        q2 = {k: v for k, v in q2.items() if k != "precisions"}
        assert q1 == q2, q1["id"]
    assert v1["subdimensions"] == v2["subdimensions"] and v1["dimensions"] == v2["dimensions"]
    inst = load_instrument("2")
    assert inst.accepts_answers_of("1") and not load_instrument("1").accepts_answers_of("2")
    assert inst.precision_keys == {"Q3_done": "Q3", "Q12_members": "Q12", "Q12_territory": "Q12", "Q24_done": "Q24",
                                   "Q36_done": "Q36"}
    for q in inst.questions:
        for p in q.precisions:
            assert "Observatoire" in p.help_text, p.key  # said to be the project's addition, not the thesis's


def test_scoring_v2_rationales_cite_the_thesis_and_say_what_changed():
    model = load_scoring_model("2")
    v1 = load_scoring_model("1")
    for qid, rule in model.rules.items():
        assert re.search(r"\d\.\d|section|annexe|tableau|figure", rule.rationale, re.IGNORECASE), qid
        if rule.role != v1.rule(qid).role:
            assert rule.changes, qid  # a change of role is always explained
    assert sum(r.weight for r in model.rules.values() if r.is_scored) == 100


def test_load_by_version_from_another_folder(tmp_path):
    q = _raw("questionnaire_v1.json")
    s = _raw("scoring_v1.json")
    (tmp_path / "questionnaire_v1.json").write_text(json.dumps(q), encoding="utf-8")
    s2 = copy.deepcopy(s)
    s2["scoring_version"] = "2"
    s2["questions"]["Q4"]["points"]["q4_partiel"] = 80
    (tmp_path / "scoring_v1.json").write_text(json.dumps(s), encoding="utf-8")
    (tmp_path / "scoring_v2.json").write_text(json.dumps(s2), encoding="utf-8")
    assert latest_scoring_version(tmp_path) == "2"
    assert load_scoring_model("1", tmp_path).rule("Q4").points["q4_partiel"] == 75
    assert load_scoring_model("2", tmp_path).rule("Q4").points["q4_partiel"] == 80


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InstrumentError, match="introuvable"):
        load_instrument("9", tmp_path)


def _mutate_questionnaire(doc, how):
    qs = doc["questions"]
    if how == "drop_question":
        qs.pop(5)
    elif how == "duplicate_option":
        qs[3]["options"][1]["id"] = qs[3]["options"][0]["id"]
    elif how == "wrong_subdimension":
        qs[0]["subdimension"] = "gouvernance"
    elif how == "missing_help":
        qs[10]["help"]["text"] = ""
    elif how == "exclusive_on_single":
        qs[1]["options"][0]["exclusive"] = True
    elif how == "bad_condition":
        qs[25]["condition"]["options"] = ["q2_inconnu"]
    elif how == "bad_matrix_column":
        doc["subdimensions"][0]["matrix_cell"]["column"] = "ailleurs"
    elif how == "wrong_count":
        doc["dimensions"][2]["question_count"] = 2
    return doc


@pytest.mark.parametrize(
    "how, fragment",
    [
        ("drop_question", "numérotation"),
        ("duplicate_option", "en double"),
        ("wrong_subdimension", "Q1"),
        ("missing_help", "texte d'aide"),
        ("exclusive_on_single", "option exclusive"),
        ("bad_condition", "options inconnues"),
        ("bad_matrix_column", "matrice"),
        ("wrong_count", "question_count"),
    ],
)
def test_inconsistent_questionnaire_is_rejected(how, fragment):
    doc = _mutate_questionnaire(_raw("questionnaire_v1.json"), how)
    with pytest.raises(InstrumentError, match=re.escape(fragment)) as exc:
        parse_instrument(doc, source="questionnaire_v1.json")
    assert "questionnaire_v1.json" in str(exc.value)


def _mutate_scoring(doc, how):
    qs = doc["questions"]
    if how == "missing_rule":
        del qs["Q30"]
    elif how == "missing_points":
        del qs["Q4"]["points"]["q4_faible"]
    elif how == "points_out_of_range":
        qs["Q4"]["points"]["q4_total"] = 120
    elif how == "exclusive_relevant":
        qs["Q10"]["relevant"].append("q10_aucun")
    elif how == "saturation_too_high":
        qs["Q11"]["saturation"] = 9
    elif how == "bands_gap":
        doc["maturity_levels"]["bands"][1]["min"] = 30
    elif how == "wrong_instrument":
        doc["instrument_version"] = "7"
    elif how == "no_rationale":
        qs["Q1"]["rationale"] = ""
    elif how == "share_on_single":
        qs["Q4"] = {"role": "scored", "rule": "share", "relevant": ["q4_total"], "saturation": 1, "rationale": "x" * 50}
    return doc


@pytest.mark.parametrize(
    "how, fragment",
    [
        ("missing_rule", "Q30"),
        ("missing_points", "q4_faible"),
        ("points_out_of_range", "hors de [0, 100]"),
        ("exclusive_relevant", "exclusive"),
        ("saturation_too_high", "saturation"),
        ("bands_gap", "contiguës"),
        ("wrong_instrument", "instrument_version"),
        ("no_rationale", "justification"),
        ("share_on_single", "cases à cocher"),
    ],
)
def test_inconsistent_scoring_model_is_rejected(instrument, how, fragment):
    doc = _mutate_scoring(_raw("scoring_v1.json"), how)
    with pytest.raises(InstrumentError, match=re.escape(fragment)):
        parse_scoring_model(doc, instrument, source="scoring_v1.json")


def test_raw_is_a_copy(instrument):
    raw = instrument.raw
    raw["questions"].clear()
    assert len(instrument.raw["questions"]) == 42
