"""AppTest of the « Auto-évaluation collective » page: a coordinator opens a campaign, three members of
different professions answer, a split item is flagged, the consensus becomes the CPTS's assessment with
the individual answers attached, the plan gets two actions; hostile names are refused or escaped; the demo
campaigns are there for a presenter."""

from __future__ import annotations

import os

import pytest

from observatory import config
from observatory.assessments import AssessmentStore
from observatory.campaign_store import CampaignStore
from observatory.campaigns import load_campaign_rules
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import score_assessment
from observatory.self_assessment import score_text
from tests.apphelpers import all_text, fill_questionnaire, rendered, run_page
from ui.auto_evaluation_widgets import widget_key

PAGE = "pages/campagne.py"
MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
RULES = load_campaign_rules()


def store() -> CampaignStore:
    return CampaignStore(AssessmentStore(os.environ[config.ENV_USER_DB]))


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def click(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    ok(at)


def submit_form(at, label: str, form: str | None = None) -> None:
    """Click a form's submit button (``form``: the form's key, when several forms share the label)."""
    buttons = [b for b in at.button if b.label == label and (form is None or b.form_id == form)]
    assert buttons, f"bouton « {label} » absent ({form})"
    buttons[0].click()
    at.run()
    ok(at)


def full_answers(**overrides) -> dict:
    """A CPTS in operation answering every scored question (so that an overall score exists)."""
    answers = {"Q1": "01/2020", "Q2": "q2_fonctionnement"}
    for q in INSTRUMENT.questions:
        rule = MODEL.rule(q.id)
        if q.id in answers or q.condition and "q2_fonctionnement" not in q.condition.options or not rule.is_scored:
            continue
        if q.kind == "single":
            answers[q.id] = next(o for o in q.option_ids if (rule.points.get(o) if rule.points else 1) is not None)
        elif q.kind == "multiple":
            answers[q.id] = [next(o for o in q.option_ids if o not in q.exclusive_option_ids and not q.option(o).allows_text)]
        elif q.kind == "per_role_text":
            answers[q.id] = {"president": "Médecin généraliste", "tresorier": "Infirmière"}
    answers["Q12"] = "q12_21_30"
    answers["Q12_territory"] = 120
    return {**answers, **overrides}


def add_member(at, form: str, name: str, profession: str, role: str) -> None:
    at.text_input(key=f"{form}_name").input(name)
    at.selectbox(key=f"{form}_prof").set_value(profession)
    at.selectbox(key=f"{form}_role").set_value(role)
    submit_form(at, "Enregistrer ce membre", form)


def answer(at, campaign_id: str, identity_id: str, answers: dict) -> None:
    state = at.session_state["auto_evaluation_edit_states"][f"resp|{campaign_id}|{identity_id}"]
    at.radio(key=widget_key(state, "Q2")).set_value(answers["Q2"])  # Q2 first: it shows Q26-Q27
    at.run()
    fill_questionnaire(at, lambda suffix: widget_key(state, suffix), INSTRUMENT, answers)
    if "Q12_territory" in answers:
        at.number_input(key=widget_key(state, "Q12_territory")).set_value(answers["Q12_territory"])
        at.run()
        ok(at)


def step(at, name: str) -> None:
    at.radio(key="campagne_etape").set_value(name)
    at.run()
    ok(at)


# A thesis case study: a CPTS outside the demo register (the tiny demo register's CPTS all have demo campaigns).
TARGET = "these-B"


def test_campaign_three_professions_split_consensus_and_plan(app_env):
    target = TARGET
    at = run_page(PAGE, {"cpts": target})
    assert "Ouvrez une campagne" in all_text(at)

    # A coordinator, then the campaign.
    add_member(at, f"campagne_lead|{target}", "Claire Coordinatrice", "coordinateur", "coordination")
    coordinator = store().identities(target)[0]
    at.selectbox(key=f"campagne_coord|{target}").set_value(coordinator.identity_id)
    at.text_input(key=f"campagne_titre|{target}").input("Auto-évaluation 2026")
    at.run()
    click(at, "Ouvrir la campagne")
    campaign = store().campaigns(target)[0]
    assert campaign.title == "Auto-évaluation 2026" and "Campagne « Auto-évaluation 2026 » ouverte." in all_text(at)

    # Three members of different professions; Q22 splits them (Oui against Non).
    members = [("Dr Martin", "medecin", "presidence", "q22_oui"), ("Inès Petit", "infirmier", "bureau", "q22_non"),
               ("Paul Roy", "pharmacien", "adherent", "q22_non")]
    for name, profession, role, q22 in members:
        add_member(at, f"campagne_membre|{target}", name, profession, role)
        identity = next(i for i in store().identities(target) if i.display_name == name)
        assert at.selectbox(key=f"campagne_repondant|{campaign.campaign_id}").value == identity.identity_id
        answer(at, campaign.campaign_id, identity.identity_id, full_answers(Q22=q22))
        click(at, "Soumettre mes réponses")
        assert store().response(campaign.campaign_id, identity.identity_id).status == "submitted"
    assert len(store().responses(campaign.campaign_id, submitted_only=True)) == 3

    # Distribution: the split item and the professions.
    step(at, "repartition")
    text = all_text(at)
    assert "3 répondants" in text and "Médecin (1)" in text and "Pharmacien ou pharmacienne (1)" in text
    split = next(df.value for df in at.dataframe if "Répartition" in df.value.columns)
    assert "Q22" in list(split["Question"])
    row = split.set_index("Question").at["Q22", "Répartition"]
    assert "« Oui » : 1 (Médecin)" in row and "Avis partagés (écart de 100 points)" in row
    subs = next(df.value for df in at.dataframe if "Plus haut" in df.value.columns)
    assert subs.set_index("Sous-dimension").at["Système d'information et communication", "Avis partagés"] == "oui"

    # Consensus: the proposal (median: Non) shown with the distribution, validated as the CPTS's assessment.
    step(at, "consensus")
    assert any("⚠" in c.value and "Q22" not in c.value and "Oui" in c.value for c in at.caption)
    click(at, "Valider le consensus et soumettre l'évaluation de la CPTS")
    closed = store().campaign(campaign.campaign_id)
    assessment = store().base.get(closed.assessment_id)
    assert closed.status == "closed" and assessment.campaign_id == campaign.campaign_id
    assert assessment.answers["Q22"] == "q22_non"
    expected = score_assessment(INSTRUMENT, MODEL, assessment.answers, strict=False)
    assert assessment.overall_score == pytest.approx(expected.overall) and expected.overall is not None
    assert f"score global {score_text(expected.overall)}" in all_text(at)
    assert len(store().responses(campaign.campaign_id)) == 3  # individual answers stay attached

    # Plan: one suggested action (weakest sub-dimension) and one free action with a hostile title.
    step(at, "plan")
    source = at.selectbox(key=f"plan_source|{campaign.campaign_id}")
    assert source.options[0].startswith("Renforcer")
    submit_form(at, "Ajouter l'action au plan")
    source.set_value(-1).run()
    k = f"plan|{campaign.campaign_id}|-1|"
    title = next(t for t in at.text_input if t.key and t.key.startswith(k) and t.key.endswith("|title"))
    title.input("=HYPERLINK(\"http://x\") **gras**")  # typed and submitted in the same run, as a form does
    submit_form(at, "Ajouter l'action au plan")
    actions = store().actions(target)
    assert len(actions) == 2 and actions[0].origin == "faible" and actions[1].origin == "libre"
    assert actions[0].owner == "Claire Coordinatrice" and "thèse" in actions[0].means
    table = next(df.value for df in at.dataframe if "Responsable" in df.value.columns)
    assert list(table["Action"]) == [a.title for a in actions]

    # Exports are offered.
    step(at, "exports")
    labels = [b.label for b in at.get("download_button")]
    assert "Télécharger le classeur (XLSX)" in labels and any("rapport imprimable" in x for x in labels)


def test_a_hostile_name_is_refused_in_french_and_nothing_is_written(app_env):
    target = TARGET
    at = run_page(PAGE, {"cpts": target})
    add_member(at, f"campagne_lead|{target}", "Claire \u202eCoordinatrice", "coordinateur", "coordination")
    assert any("Nom du répondant refusé : caractère de contrôle bidirectionnel" in rendered(e.value) for e in at.error)
    assert store().identities(target) == []


def test_demo_campaign_is_ready_for_a_presenter(app_env):
    at = run_page(PAGE)
    demo = [c for c in store().all_campaigns() if c.is_demo]
    assert demo and any(c.is_open for c in demo) and any(not c.is_open for c in demo)
    open_campaign = next(c for c in demo if c.is_open and any(not x.is_open for x in store().campaigns(c.cpts_id)))
    at = run_page(PAGE, {"cpts": open_campaign.cpts_id})
    assert "démonstration" in all_text(at)
    step(at, "repartition")
    split = next(df.value for df in at.dataframe if "Répartition" in df.value.columns)
    assert {"Q22", "Q30"} <= set(split["Question"])
    step(at, "plan")
    follow = next(df.value for df in at.dataframe if "Évolution" in df.value.columns)
    assert len(follow) == 2 and set(follow["Statut"]) == {"Fait", "En cours"}
