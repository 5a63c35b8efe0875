"""AppTest of the « Méthode » page: the scoring model explained item by item from its versioned files."""

from __future__ import annotations

import pytest

from observatory import method
from observatory.instrument import load_instrument, load_scoring_model, scoring_versions
from tests.apphelpers import all_text, run_page

PAGE = "pages/methode.py"


@pytest.fixture()
def page(app_env):
    return run_page(PAGE)


def test_heading_version_and_versioning_note(page):
    text = all_text(page)
    assert page.title[0].value == "Méthode de notation"
    versions = scoring_versions()
    model = load_scoring_model(versions[-1])
    assert page.selectbox[0].value == versions[-1]
    assert model.title in text and f"scoring_v{int(versions[-1]) + 1}.json" in text
    assert "chaque évaluation soumise garde la version du questionnaire et du modèle" in text
    assert "Versions disponibles : " + ", ".join("v" + v for v in versions) in text


def test_principles_bands_and_peer_rule_come_from_the_model(page):
    text = all_text(page)
    model = load_scoring_model(scoring_versions()[-1])
    for principle in model.raw["principles"]:
        assert principle["title"] in text and principle["text"] in text
        if principle["section"]:
            assert f"thèse, section {principle['section']}" in text
    for band in model.bands:
        assert band.label in text and band.description in text
    threshold = model.min_scored_weight_pct if model.aggregation == "question_weights" else model.min_scored_completeness_pct
    assert f"moins de {method.number_text(threshold)} %" in text
    assert model.raw["peers"]["description"] in text and "(5 requis)" in text
    assert model.raw["trend"]["description"] in text


def test_every_question_is_explained_with_its_rule(page):
    text = all_text(page)
    model = load_scoring_model(scoring_versions()[-1])
    instrument = load_instrument(model.instrument_version)
    for question in instrument.questions:
        rule = model.rule(question.id)
        assert f"Q{question.number}. {question.text}" in text
        assert rule.rationale in text
        assert method.rule_summary(rule) in text
        for line in method.rule_details(question, rule):
            assert line in text
    for sub in instrument.subdimensions:
        assert sub.what_matters in text and sub.what_matters_section in text
    summary = next(df.value for df in page.dataframe if "Notées" in df.value.columns)
    assert summary["Notées"].sum() == len(model.scored_question_ids)
    assert summary["Notées"].sum() + summary["Contexte"].sum() + summary["Descriptives"].sum() == 42


@pytest.mark.parametrize(
    ("qid", "expected"),
    [
        ("Q2", "« CPTS en fonctionnement » : 100 points"),
        ("Q26", "« Autre, à spécifier » : non notée (enregistrée, exclue du calcul)"),
        ("Q8", "« Non, aucun regroupement territorial particulier » : 0 point ; ne peut pas être cochée avec une autre case"),
        ("Q3", "Comptent 0,5 : « Qualité et pertinence (mission optionnelle) », « Accompagnement des professionnels de santé (mission optionnelle) »"),
        ("Q3", "note est pleine dès 5 sur 6 possibles"),
        ("Q15", "Plusieurs cases cochées : seule la meilleure compte"),
    ],
)
def test_rule_details_table(qid, expected):
    model = load_scoring_model("1")
    instrument = load_instrument("1")
    assert any(expected in line for line in method.rule_details(instrument.question(qid), model.rule(qid)))


def test_descriptive_questions_say_so():
    model = load_scoring_model("1")
    assert method.rule_summary(model.rule("Q1")).startswith("Descriptive")
    assert method.rule_details(load_instrument("1").question("Q1"), model.rule("Q1")) == []


def test_effective_weights_are_published_from_the_model(page):
    from observatory import model_insight as mi

    versions = scoring_versions()
    model = load_scoring_model(versions[-1])
    table = next(df.value for df in page.dataframe if f"Poids effectif v{model.version} (%)" in df.value.columns)
    assert len(table) == 42 and "Poids effectif v1 (%)" in table.columns
    expected = mi.effective_weights(load_instrument(model.instrument_version), model)
    for _, row in table.iterrows():
        assert row[f"Poids effectif v{model.version} (%)"] == round(100 * expected.get(row["Question"], 0.0), 1)
    assert table.set_index("Question").at["Q40", "Poids effectif v1 (%)"] == 16.7
    assert any("Poids effectif" in c.proto.spec for c in page.get("vega_lite_chart"))
    text = all_text(page)
    assert "aucune question ne fait bouger plus de **10 %** d'un score global affiché" in text
    # the other profile (CPTS not yet in operation) changes the weights
    page.radio(key="methode_weight_profile").set_value("avant_fonctionnement").run()
    other = next(df.value for df in page.dataframe if f"Poids effectif v{model.version} (%)" in df.value.columns)
    assert other.set_index("Question").at["Q2", f"Poids effectif v{model.version} (%)"] == 6.3


def test_case_anchoring_and_collective_rules_are_published(page):
    from observatory.campaigns import load_campaign_rules

    table = next(df.value for df in page.dataframe if "CPTS" in df.value.columns)
    row = table.set_index("CPTS").loc["CPTS A"]
    version = scoring_versions()[-1]
    comparable = table.set_index("CPTS")[f"v{version} global (réponses comparables)"]
    assert comparable.loc["CPTS A"] == max(comparable, key=lambda v: float(v.replace(",", ".")))
    assert row[f"v{version} global (réponses comparables)"] == "100,0"
    text = all_text(page)
    assert "trop peu de questions communes pour classer B à E" in text
    assert load_campaign_rules().rule_text in text
