"""What the self-assessment page computes without Streamlit: starting answers, case-study sources, radar
series (and the fast radar spec, identical to the Altair chart), comparison tables, idempotent demo loading."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from observatory.assessments import AssessmentStore
from observatory.demo_assessments import ensure_demo_in_store, load_case_study_answers
from observatory.instrument import load_instrument, load_scoring_model
from observatory.peers import PeerGroup, peer_comparison
from observatory.radar import RadarSeries, radar_chart
from observatory.radar_spec import inline_datasets, radar_spec
from observatory.scoring import compare, score_assessment
from observatory.self_assessment import (
    baseline_index,
    case_ids_by_cpts_id,
    case_study_notes,
    case_study_register,
    comparison_table,
    live_assessment,
    movers,
    radar_series,
    score_text,
    starting_point,
    subdimension_table,
)

INSTRUMENT = load_instrument("1")
MODEL = load_scoring_model("1")
NOW = datetime(2025, 1, 10, 14, 5)
BASE = {"Q2": "q2_fonctionnement", "Q4": "q4_modere", "Q22": "q22_non", "Q33": "q33_oui", "Q41": "q41_neutre"}


def _assessment(answers, when=NOW, name="CPTS X"):
    result = score_assessment(INSTRUMENT, MODEL, answers)
    a = live_assessment("x", name, "r", answers, result, is_demo=False, author=None, now=when)
    return type(a)(**{**a.__dict__, "status": "submitted", "submitted_at": when})


@pytest.mark.parametrize(("value", "decimals", "text"), [(None, 1, "—"), (0.0, 1, "0,0"), (66.6667, 1, "66,7"), (95.2, 0, "95")])
def test_score_text_is_french_and_never_zero_for_missing(value, decimals, text):
    assert score_text(value, decimals) == text


def test_starting_point_prefers_draft_then_latest_then_case_study(tmp_path):
    store = AssessmentStore(tmp_path / "ev.duckdb", clock=lambda: NOW)
    assert starting_point(None, None, None, "1").kind == "empty"
    case = starting_point(None, None, {"Q2": "q2_ingenierie"}, "1")
    assert case.kind == "case_study" and case.answers == {"Q2": "q2_ingenierie"} and case.draft_revision is None
    latest = _assessment(BASE)
    sp = starting_point(None, latest, {"Q2": "q2_ingenierie"}, "1")
    assert sp.kind == "latest" and sp.answers == BASE and "10/01/2025 à 14:05" in sp.origin
    assert starting_point(None, latest, None, "2").kind == "latest"  # v1 answers are valid v2 answers
    newer = dataclasses.replace(latest, instrument_version="2")
    assert starting_point(None, newer, None, "1").kind == "empty"  # v1 cannot read v2's precisions: not copied
    draft = store.save_draft("x", {"Q4": "q4_total"}, None, author="Mme B")
    sp = starting_point(draft, latest, None, "1")
    assert sp.kind == "draft" and sp.draft_revision == 1 and sp.answers == {"Q4": "q4_total"} and "« Mme B »" in sp.origin


def test_case_studies_map_to_their_answers_and_sources():
    ids = case_ids_by_cpts_id()
    assert ids == {f"these-{c}": c for c in "ABCDE"}
    assert case_study_register()["register_id"] == "these-idf-2021"
    answers, notes = load_case_study_answers(), case_study_notes()
    for case in "ABCDE":
        answered = {q for q, n in notes[case].items() if n.is_answered}
        assert answered == {k for k in answers[case] if not k.endswith("_other")}
        assert all(n.source for n in notes[case].values())
    assert notes["E"]["Q15"].text.startswith("Non pré-remplie : Tableau 7")
    assert notes["A"]["Q15"].text.startswith("Source : Annexe 1")
    assert notes["A"]["Q5"].is_approximation


def test_radar_series_cpts_peers_and_previous():
    result = score_assessment(INSTRUMENT, MODEL, BASE)
    group = PeerGroup(1, "aci", ("a", "b", "c", "d", "e"))
    peers = [score_assessment(INSTRUMENT, MODEL, {**BASE, "Q4": o}) for o in INSTRUMENT.question("Q4").option_ids]
    shown = peer_comparison(group, peers, "1")
    hidden = peer_comparison(group, peers[:4], "1")
    labels, series = radar_series(result, INSTRUMENT, "subdimensions", cpts_label="CPTS X", peers=shown,
                                  previous=("Évaluation du 01/01/2024", peers[0]))
    assert labels == [s.label for s in INSTRUMENT.subdimensions]
    assert [(s.name, s.style) for s in series] == [("CPTS X", "filled"), ("Médiane des pairs (n = 5)", "dashed"),
                                                   ("Évaluation du 01/01/2024", "line")]
    assert series[0].values[0] == result.subdimensions["niveau_maturite"].score
    assert series[0].values[1] is None  # identité professionnelle: descriptive only, a gap, not 0
    labels, series = radar_series(result, INSTRUMENT, "dimensions", cpts_label="CPTS X", peers=hidden)
    assert labels == ["Structure", "Processus", "Résultats"] and len(series) == 1
    table = subdimension_table(result, INSTRUMENT, shown)
    assert len(table) == 19 and "Médiane des pairs" in table.columns
    assert table.loc[1, "Questions notées répondues"] == "non notée"
    assert "Médiane des pairs" not in subdimension_table(result, INSTRUMENT, hidden).columns


def _random_series(rng: random.Random, n_axes: int, styles=("filled", "dashed")):
    return [RadarSeries(f"S{k}", [None if rng.random() < 0.2 else round(rng.uniform(0, 100), 3) for _ in range(n_axes)], style)
            for k, style in enumerate(styles)]


@pytest.mark.parametrize("seed", range(6))
def test_fast_radar_spec_is_the_altair_chart(seed):
    rng = random.Random(seed)
    labels = [s.label for s in INSTRUMENT.subdimensions] if seed % 2 else ["Structure", "Processus", "Résultats"]
    for _ in range(3):  # the second and third calls reuse the cached template with other data
        series = _random_series(rng, len(labels), ("filled", "dashed", "line")[: 1 + seed % 3])
        fast = radar_spec(series, labels, "Profil", size_px=480)
        reference = inline_datasets(radar_chart(series, labels, "Profil", size_px=480).to_dict())
        assert json.dumps(fast, sort_keys=True) == json.dumps(reference, sort_keys=True)


def test_fast_radar_spec_with_an_empty_series():
    series = [RadarSeries("Vide", [None, None, None]), RadarSeries("Médiane", [10.0, 20.0, 30.0], "dashed")]
    fast = radar_spec(series, ["a", "b", "c"], "Profil")
    assert json.dumps(fast, sort_keys=True) == json.dumps(inline_datasets(radar_chart(series, ["a", "b", "c"], "Profil").to_dict()),
                                                           sort_keys=True)


def test_baseline_is_the_latest_submission_that_differs():
    first, second = _assessment(BASE, NOW), _assessment({**BASE, "Q4": "q4_total"}, NOW + timedelta(days=365))
    assert baseline_index([], BASE) is None
    assert baseline_index([first, second], {**BASE, "Q22": "q22_oui"}) == 1
    assert baseline_index([first, second], second.answers) == 0  # unchanged re-opening: compare with the one before
    assert baseline_index([second], second.answers) == 0


def test_comparison_table_and_movers():
    old = score_assessment(INSTRUMENT, MODEL, BASE)
    new = score_assessment(INSTRUMENT, MODEL, {**BASE, "Q4": "q4_total", "Q22": "q22_oui", "Q33": "q33_non"})
    comparison = compare(new, old, MODEL)
    table = comparison_table(comparison, INSTRUMENT).set_index("Libellé")
    assert len(table) == 1 + 3 + 19
    row = table.loc["Niveau de maturité"]
    assert (row["Avant"], row["Maintenant"], row["Évolution"]) == (score_text(old.subdimensions["niveau_maturite"].score),
                                                                     score_text(new.subdimensions["niveau_maturite"].score), "en hausse")
    assert table.loc["Identité professionnelle", "Évolution"] == "non comparable"
    up, down = movers(comparison, INSTRUMENT)
    assert any(u.startswith("Niveau de maturité (+") for u in up)
    assert any(u.startswith("Système d'information et communication (+") for u in up)
    assert any(d.startswith("Accès aux soins – Médecin traitant (-") for d in down)


def _demo_register(n: int = 12) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append({"cpts_id": f"d{i:02d}", "name": f"CPTS {i}", "register_id": "demo", "preproject_date": date(2019, 1, 1),
                     "letter_of_intent_date": date(2019, 9, 1), "health_project_date": date(2020, 6, 1),
                     "aci_date": date(2021, 1, 1) if i % 3 else None, "population_count": 30_000 + 10_000 * (i % 2),
                     "size_class": 1 + i % 2, "commune_count": 5})
    return pd.DataFrame(rows)


def test_demo_loading_is_idempotent_and_keeps_user_submissions(tmp_path):
    store = AssessmentStore(tmp_path / "ev.duckdb")
    register = _demo_register()
    written = ensure_demo_in_store(store, register, date(2024, 3, 31), INSTRUMENT, MODEL)
    assert written > 0 and len(store.demo_assessment_ids()) == written
    # A user submits on a demo CPTS (flagged demo, as the page does); loading again writes nothing.
    store.save_draft("d01", BASE, None, is_demo=True, instrument_version=INSTRUMENT.version)
    store.submit("d01", 1, instrument=INSTRUMENT, model=MODEL)
    assert ensure_demo_in_store(store, register, date(2024, 3, 31), INSTRUMENT, MODEL) == 0
    assert len(store.history("d01")) == len([i for i in store.demo_assessment_ids() if i.startswith("demo-d01-")]) + 1
