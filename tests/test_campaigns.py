"""Collective self-assessment: identities, the published split rule on constructed distributions, the
consensus proposal, consensus and plan round-trips through the store, what was planned against what moved."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from observatory import campaigns as cp
from observatory.assessments import AssessmentStore, AssessmentStoreError, ConcurrentEditError
from observatory.campaign_store import CampaignStore
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import InvalidAnswersError, score_assessment
from tests.factories import Clock

MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
RULES = cp.load_campaign_rules()



@pytest.fixture()
def store(user_location):
    """The campaign store on a DuckDB file, then on PostgreSQL (the same tests on both backends)."""
    store = CampaignStore(AssessmentStore(user_location, clock=Clock()))
    yield store
    store.base.db.close()


def person(identity_id: str, profession: str, role: str = "adherent") -> cp.Identity:
    return cp.Identity(identity_id, "c1", identity_id.title(), profession, role, None, datetime(2026, 1, 1))


def analyse(*answers_by_person):
    people = cp.respondents(INSTRUMENT, MODEL, list(answers_by_person))
    return cp.analyse_campaign(INSTRUMENT, MODEL, people, RULES), people


DOC, NURSE, PHARMA = person("docteur", "medecin"), person("infirmiere", "infirmier"), person("pharma", "pharmacien")


# --------------------------------------------------------------------------------------------------
# The split rule on constructed distributions


@pytest.mark.parametrize("values, split", [
    (["q33_oui", "q33_oui", "q33_oui"], False),  # unanimous
    (["q33_oui", "q33_oui", "q33_non"], True),  # Oui vs Non: 100 points apart
    (["q4_total", "q4_partiel", "q4_partiel"], False),  # 25 points apart
    (["q4_total", "q4_modere", "q4_total"], True),  # 50 points apart: the threshold
    (["q33_oui"], False),  # one respondent: never split
])
def test_scored_question_split_at_50_points(values, split):
    qid = values[0].split("_")[0].upper()
    analysis, _ = analyse(*[(p, {qid: v}) for p, v in zip((DOC, NURSE, PHARMA), values, strict=False)])
    spread = analysis.questions[qid]
    assert spread.is_split is split
    assert spread.n_answered == len(values)
    assert spread.counts["Répondants"].sum() == len(values)


@pytest.mark.parametrize("values, split", [
    (["q29_aucun", "q29_aucun", "q29_diagnostic"], False),  # 2 of 3 agree: a majority
    (["q29_aucun", "q29_diagnostic", "q29_les_deux"], True),  # no answer held by more than half
    (["q29_aucun", "q29_diagnostic"], True),  # one each: half is not a majority
])
def test_descriptive_question_split_without_a_majority(values, split):
    analysis, _ = analyse(*[(p, {"Q29": v}) for p, v in zip((DOC, NURSE, PHARMA), values, strict=False)])
    assert analysis.questions["Q29"].is_split is split


def test_professions_disagree_and_subdimension_flag():
    doc2 = person("docteur2", "medecin")
    analysis, _ = analyse((DOC, {"Q22": "q22_oui"}), (doc2, {"Q22": "q22_oui"}), (NURSE, {"Q22": "q22_non"}))
    q22 = analysis.questions["Q22"]
    assert q22.is_split and q22.professions_disagree
    assert "Médecin × 2" in q22.summary and "les professions divergent" in q22.summary.lower()
    assert "systeme_information" in analysis.split_subdimension_ids
    table = cp.subdimension_spread_table(analysis, INSTRUMENT)
    row = table[table["Sous-dimension"] == "Système d'information et communication"].iloc[0]
    assert (row["Plus bas"], row["Plus haut"], row["Avis partagés"]) == ("0,0", "100,0", "oui")
    # same answers, same profession: no disagreement between professions
    same, _ = analyse((DOC, {"Q22": "q22_oui"}), (doc2, {"Q22": "q22_non"}))
    assert same.questions["Q22"].is_split and not same.questions["Q22"].professions_disagree


def test_summary_never_names_respondents():
    analysis, _ = analyse((DOC, {"Q22": "q22_oui"}), (NURSE, {"Q22": "q22_non"}))
    assert "Docteur" not in analysis.questions["Q22"].summary and "Infirmiere" not in analysis.questions["Q22"].summary


def test_single_respondent_is_said():
    analysis, _ = analyse((DOC, {"Q22": "q22_oui"}))
    assert analysis.is_single_respondent and not analysis.split_question_ids


# --------------------------------------------------------------------------------------------------
# Consensus proposal


def test_consensus_proposal_median_majority_and_precisions():
    a = {"Q2": "q2_fonctionnement", "Q4": "q4_total", "Q22": "q22_oui", "Q36": ["q36_dac", "q36_parcours"],
         "Q36_done": ["q36_dac"], "Q12": "q12_51_100", "Q12_territory": 200, "Q29": "q29_aucun"}
    b = {"Q2": "q2_fonctionnement", "Q4": "q4_faible", "Q22": "q22_non", "Q36": ["q36_dac"], "Q36_done": ["q36_dac"],
         "Q12": "q12_51_100", "Q12_territory": 300, "Q29": "q29_aucun"}
    c = {"Q2": "q2_ingenierie", "Q4": "q4_partiel", "Q22": "q22_non", "Q36": ["q36_dac", "q36_sortie_hospitalisation"],
         "Q12": "q12_41_50", "Q29": "q29_diagnostic", "Q28": ["q28_prevention"]}
    _, people = analyse((DOC, a), (NURSE, b), (PHARMA, c))
    proposal = cp.suggest_consensus(INSTRUMENT, MODEL, people)
    assert proposal["Q2"] == "q2_fonctionnement"  # median of 100, 100, 67
    assert proposal["Q4"] == "q4_partiel"  # median of 100, 25, 75
    assert proposal["Q22"] == "q22_non"
    assert proposal["Q36"] == ["q36_dac"]  # ticked by 3 of 3; the others by 1 of 3
    assert proposal["Q36_done"] == ["q36_dac"]  # 2 of the 3 who ticked it say it is done
    assert proposal["Q12_territory"] == 200  # lower median of the numbers given
    assert "Q28" not in proposal  # not applicable to a CPTS in operation
    score_assessment(INSTRUMENT, MODEL, proposal, strict=True)  # the proposal is a valid answer set


# --------------------------------------------------------------------------------------------------
# Store: identities, campaign, responses, consensus and plan round-trips


def _team(store):
    coord = store.add_identity("c1", "Claire Coordinatrice", "coordinateur", "coordination")
    doc = store.add_identity("c1", "Dr Martin", "medecin", "adherent")
    nurse = store.add_identity("c1", "Inès", "infirmier", "bureau")
    return coord, doc, nurse


def test_names_are_cleaned_and_refused_in_french(store):
    ok = store.add_identity("c1", "  Dr   Martin\n", "medecin", "adherent")
    assert ok.display_name == "Dr Martin" and ok.account_id is None
    with pytest.raises(cp.CampaignInputError, match="Nom du répondant refusé : caractère de contrôle bidirectionnel"):
        store.add_identity("c1", "Dr \u202eMartin", "medecin", "adherent")
    with pytest.raises(cp.CampaignInputError, match="obligatoire"):
        store.add_identity("c1", "   ", "medecin", "adherent")
    with pytest.raises(cp.CampaignInputError, match="Profession"):
        store.add_identity("c1", "X", "astronaute", "adherent")


def test_only_a_lead_role_opens_a_campaign(store):
    coord, doc, _ = _team(store)
    with pytest.raises(cp.CampaignInputError, match="coordination"):
        store.open_campaign("c1", "Auto-évaluation 2026", doc)
    campaign = store.open_campaign("c1", "Auto-évaluation 2026", coord, cpts_name="CPTS du Val")
    assert campaign.is_open and campaign.instrument_version == INSTRUMENT.version
    assert store.campaigns("c1") == [campaign]


def test_consensus_round_trip_keeps_individual_answers(store):
    coord, doc, nurse = _team(store)
    campaign = store.open_campaign("c1", "Auto-évaluation 2026", coord, cpts_name="CPTS du Val")
    answers = {
        doc.identity_id: {"Q2": "q2_fonctionnement", "Q14": "q14_recrute", "Q22": "q22_oui", "Q37": "q37_oui"},
        nurse.identity_id: {"Q2": "q2_fonctionnement", "Q14": "q14_recrute", "Q22": "q22_non", "Q37": "q37_oui"},
    }
    draft = store.save_response(campaign.campaign_id, doc.identity_id, {"Q2": "q2_ingenierie"}, None)
    assert draft.status == "draft" and draft.revision == 1
    with pytest.raises(ConcurrentEditError):
        store.save_response(campaign.campaign_id, doc.identity_id, answers[doc.identity_id], 0)
    store.save_response(campaign.campaign_id, doc.identity_id, answers[doc.identity_id], 1, submit=True)
    store.save_response(campaign.campaign_id, nurse.identity_id, answers[nurse.identity_id], None, submit=True)
    submitted = store.responses(campaign.campaign_id, submitted_only=True)
    assert {r.identity_id: r.answers for r in submitted} == answers

    agreed = {"Q2": "q2_fonctionnement", "Q14": "q14_recrute", "Q22": "q22_non", "Q37": "q37_oui"}
    saved = store.save_consensus(campaign.campaign_id, agreed, 0)
    assert saved.consensus == agreed and saved.consensus_revision == 1
    with pytest.raises(InvalidAnswersError):
        store.close_with_consensus(campaign.campaign_id, {"Q2": "nope"}, 1, author=coord)
    assessment = store.close_with_consensus(campaign.campaign_id, agreed, 1, author=coord)
    assert assessment.campaign_id == campaign.campaign_id and assessment.answers == agreed
    assert assessment.score_result == score_assessment(INSTRUMENT, MODEL, agreed, strict=False, today=assessment.submitted_at.date())
    assert "consensus de 2 répondants" in assessment.author
    closed = store.campaign(campaign.campaign_id)
    assert closed.status == "closed" and closed.assessment_id == assessment.assessment_id
    assert store.base.latest_submitted("c1") == assessment
    assert {r.identity_id: r.answers for r in store.responses(campaign.campaign_id)} == answers  # still attached
    with pytest.raises(AssessmentStoreError, match="close"):
        store.save_response(campaign.campaign_id, doc.identity_id, {}, 2)


def test_a_campaign_without_submitted_response_cannot_close(store):
    coord, _, _ = _team(store)
    campaign = store.open_campaign("c1", "Vide", coord)
    with pytest.raises(AssessmentStoreError, match="Aucune réponse"):
        store.close_with_consensus(campaign.campaign_id, {"Q2": "q2_ingenierie"}, 0, author=coord)


def test_plan_round_trip_and_follow_up(store):
    coord, doc, _ = _team(store)
    action = store.add_action("c1", "systeme_information", "Choisir une messagerie sécurisée", "Dr Martin",
                              due_date=date(2026, 9, 30), means="Budget ACI ; =HYPERLINK(\"x\")", origin="faible")
    assert action.means.startswith("Budget ACI")  # kept as text; spreadsheet cells escape it on export
    with pytest.raises(cp.CampaignInputError, match="Responsable de l'action : champ obligatoire"):
        store.add_action("c1", "prevention", "Titre", "  ")
    with pytest.raises(cp.CampaignInputError, match="Statut"):
        store.add_action("c1", "prevention", "Titre", "Moi", status="termine")
    updated = store.update_action(action.action_id, 1, title=action.title, owner="Inès", due_date=None, means=None,
                                  status="fait")
    assert (updated.owner, updated.status, updated.revision, updated.due_date) == ("Inès", "fait", 2, None)
    with pytest.raises(ConcurrentEditError):
        store.update_action(action.action_id, 1, title="x", owner="y", due_date=None, means=None, status="fait")
    assert store.actions("c1") == [updated] and store.action(action.action_id) == updated
    assert store.action("act-inconnue") is None

    before = score_assessment(INSTRUMENT, MODEL, {"Q21": ["q21_aucun"], "Q22": "q22_non", "Q23": "q23_aucun"}, strict=False)
    after = score_assessment(INSTRUMENT, MODEL, {"Q21": ["q21_site"], "Q22": "q22_oui", "Q23": "q23_hds"}, strict=False)
    table = cp.plan_follow_up([updated], before, after, INSTRUMENT, RULES)
    row = table.iloc[0]
    assert (row["Statut"], row["Score avant"], row["Évolution"]) == ("Fait", "0,0", "en hausse")


def test_suggested_actions_weakest_then_split_items():
    result = score_assessment(INSTRUMENT, MODEL, {"Q2": "q2_fonctionnement", "Q14": "q14_non", "Q22": "q22_non",
                                                  "Q37": "q37_oui", "Q38": "q38_oui"}, strict=False)
    analysis, _ = analyse((DOC, {"Q37": "q37_oui"}), (NURSE, {"Q37": "q37_non"}))
    drafts = cp.suggested_actions(INSTRUMENT, result, analysis, RULES)
    weak = [d for d in drafts if d.origin == "faible"]
    assert len(weak) == RULES.weakest_count and all("thèse" in d.means for d in weak)
    assert [d.question_id for d in drafts if d.origin == "avis_partages"] == ["Q37"]
    existing = [cp.Action("a", "c1", None, weak[0].subdimension_id, None, "faible", "x", "y", None, None, "a_faire",
                          datetime(2026, 1, 1), datetime(2026, 1, 1), 1)]
    assert weak[0].subdimension_id not in {d.subdimension_id for d in cp.suggested_actions(INSTRUMENT, result, analysis, RULES, existing)
                                           if d.origin == "faible"}


def test_rows_written_in_the_same_second_keep_their_insertion_order(user_location):
    same_second = datetime(2026, 3, 1, 10, 0)
    store = CampaignStore(AssessmentStore(user_location, clock=lambda: same_second))
    coord, doc, nurse = _team(store)
    opened = [store.open_campaign("c1", title, coord) for title in ("Z", "A", "M")]
    assert [c.title for c in store.all_campaigns()] == ["Z", "A", "M"]
    assert [c.title for c in store.campaigns("c1")] == ["M", "A", "Z"]  # the most recent first
    for who in (nurse, doc, coord):
        store.save_response(opened[0].campaign_id, who.identity_id, {"Q2": "q2_fonctionnement"}, None, submit=True)
    assert [r.identity_id for r in store.responses(opened[0].campaign_id)] == [nurse.identity_id, doc.identity_id,
                                                                             coord.identity_id]
    titles = ["Zut", "Ah", "Mm"]
    for title in titles:
        store.add_action("c1", "prevention", title, "Inès")
    assert [a.title for a in store.actions("c1")] == titles


def test_demo_campaigns_are_deterministic_labelled_and_idempotent(user_location):
    import pandas as pd

    from observatory.demo_assessments import load_demo_into_store
    from observatory.demo_campaigns import ensure_demo_campaigns, generate_demo_campaigns

    register = pd.DataFrame([{"cpts_id": f"d{i}", "name": f"CPTS {i}", "register_id": "demo", "preproject_date": date(2019, 1, 1),
                              "letter_of_intent_date": date(2019, 9, 1), "health_project_date": date(2020, 6, 1),
                              "aci_date": date(2021, 1, 1), "population_count": 50_000, "size_class": 2, "commune_count": 4,
                              "stage_code": "aci"} for i in range(4)])
    base = AssessmentStore(user_location, clock=Clock())
    load_demo_into_store(base, register, date(2024, 3, 31))
    store = CampaignStore(base)
    first = generate_demo_campaigns(store, register, date(2024, 3, 31))
    assert first == generate_demo_campaigns(store, register, date(2024, 3, 31))  # same data twice
    written = ensure_demo_campaigns(store, register, date(2024, 3, 31))
    assert written == 4 and ensure_demo_campaigns(store, register, date(2024, 3, 31)) == 0  # 3 open + last year's
    campaigns = store.all_campaigns()
    assert all(c.is_demo for c in campaigns) and sum(not c.is_open for c in campaigns) == 1
    for c in campaigns:
        assert all(i.display_name.endswith("(démo)") for i in store.identities(c.cpts_id))
        professions = {store.identity(r.identity_id).profession for r in store.responses(c.campaign_id)}
        assert len(professions) >= 3  # several professions answer
    closed = next(c for c in campaigns if not c.is_open)
    assert base.get(closed.assessment_id).campaign_id == closed.campaign_id and len(store.actions(closed.cpts_id)) == 2
    # reloading the demo assessments keeps the demo campaigns' consensus assessments
    load_demo_into_store(base, register, date(2024, 3, 31))
    assert base.get(closed.assessment_id) is not None
