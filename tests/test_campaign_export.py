"""Exports of a campaign: the XLSX workbook (opened with openpyxl: every sheet, scores by version, no
formula even from hostile text) and the printable report extended with the consensus and the plan."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from observatory import campaigns as cp
from observatory.assessments import AssessmentStore
from observatory.campaign_export import SHEETS, campaign_workbook, workbook_file_name
from observatory.campaign_store import CampaignStore
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.model_insight import rescore
from observatory.report import assessment_report_html
from observatory.scoring import score_assessment
from observatory.self_assessment import live_assessment
from tests.factories import Clock

MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
RULES = cp.load_campaign_rules()
HOSTILE = "=HYPERLINK(\"http://evil\",\"clic\")"



@pytest.fixture()
def campaign(user_location):
    """A campaign with hostile text, written to and read back from each backend (DuckDB file, PostgreSQL)."""
    store = CampaignStore(AssessmentStore(user_location, clock=Clock()))
    coord = store.add_identity("c1", "Claire <b>Coord</b>", "coordinateur", "coordination")
    doc = store.add_identity("c1", "+Dr Martin", "medecin", "adherent")
    nurse = store.add_identity("c1", "Inès", "infirmier", "bureau")
    c = store.open_campaign("c1", "Auto-évaluation 2026", coord, cpts_name="CPTS du Val")
    base = {"Q2": "q2_fonctionnement", "Q14": "q14_recrute", "Q37": "q37_oui", "Q36": ["q36_dac"], "Q36_done": ["q36_dac"],
            "Q17": {"president": HOSTILE, "tresorier": "Infirmière"}}
    store.save_response(c.campaign_id, doc.identity_id, {**base, "Q22": "q22_oui"}, None, submit=True)
    store.save_response(c.campaign_id, nurse.identity_id, {**base, "Q22": "q22_non"}, None, submit=True)
    store.add_action("c1", "systeme_information", HOSTILE, "@owner", due_date=date(2026, 10, 1), means="-1+1")
    store.add_action("c1", "prevention", "Journée de dépistage", "Inès", campaign_id=c.campaign_id)
    campaign = store.campaign(c.campaign_id)
    view = cp.campaign_view(INSTRUMENT, MODEL, campaign, store.responses(c.campaign_id), store.identities("c1"), RULES)
    return store, view, store.actions("c1")


def test_workbook_opens_with_openpyxl_and_holds_every_part(campaign):
    _, view, actions = campaign
    data = campaign_workbook(view, actions, INSTRUMENT, MODEL, RULES, generated_at=datetime(2026, 4, 2, 10, 0))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == list(SHEETS)
    for ws in wb.worksheets:  # never a formula, whatever people typed
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    plan = list(wb["Plan d'amélioration"].iter_rows(values_only=True))
    # Text kept as typed, stored as text with Excel's quote prefix: never evaluated, even when edited.
    assert plan[1][0] == HOSTILE and plan[1][1] == "@owner" and plan[1][6] == "-1+1"
    prefixed = {c.coordinate for c in wb["Plan d'amélioration"][2] if c.quotePrefix}
    assert {"A2", "B2", "G2"} <= prefixed
    assert plan[1][2].date() == date(2026, 10, 1)
    people = list(wb["Répondants"].iter_rows(values_only=True))
    assert [r[0] for r in people[1:]] == ["+Dr Martin", "Inès"] and wb["Répondants"]["A2"].quotePrefix
    # scores by version, side by side, each the same answers scored with that version
    scores = {r[1]: r[2:] for r in wb["Scores par version"].iter_rows(values_only=True)}
    header = list(wb["Scores par version"].iter_rows(values_only=True))[0]
    assert header[2:] == ("Modèle v1", "Modèle v2")
    for i, version in enumerate(("1", "2")):
        expected = rescore(view.consensus_answers, INSTRUMENT.version, load_scoring_model(version)).result
        sub = expected.subdimensions["ressources"].score
        assert scores["Ressources"][i] == (None if sub is None else round(sub, 1))
    answers = {r[0]: r for r in wb["Réponses retenues"].iter_rows(values_only=True)}
    assert answers["Q22"][-2] == "oui"  # split flag
    distribution = list(wb["Répartition"].iter_rows(values_only=True))
    assert ("Q22", "Oui", "Médecin", 1) in distribution and ("Q22", "Non", "Infirmier ou infirmière", 1) in distribution
    meta = {r[0]: r[1] for r in wb["Campagne"].iter_rows(values_only=True)}
    assert meta["Répondants (réponses soumises)"] == 2 and meta["Données de démonstration"] == "non"
    assert workbook_file_name("CPTS du Val", "Auto-évaluation 2026", datetime(2026, 4, 2)) == \
        "campagne-cpts-du-val-auto-evaluation-2026-2026-04-02.xlsx"


def test_report_adds_consensus_and_plan_escaped(campaign):
    _, view, actions = campaign
    result = score_assessment(INSTRUMENT, MODEL, view.consensus_answers, strict=False)
    current = live_assessment("c1", "CPTS du Val", None, view.consensus_answers, result, is_demo=False, author="Claire",
                              now=datetime(2026, 4, 2, 10, 0))
    own = [a for a in actions if a.campaign_id == view.campaign.campaign_id]
    html = assessment_report_html(current, INSTRUMENT, MODEL, radar_png=None, generated_at=datetime(2026, 4, 2, 10, 0),
                                  campaign_view=view, actions=own, rules=RULES)
    assert "Campagne « Auto-évaluation 2026 »" in html and "Journée de dépistage" in html
    assert "Questions aux avis partagés (" in html and "Q22" in html
    assert "<b>Coord</b>" not in html and "break-before: page" in html
