"""AppTest of the « Auto-évaluation » page: answers drive the displayed scores and radar (compared with
``score_assessment`` on the same answers), the peer median follows the 5-peer rule, invalid combinations
are refused in French, drafts survive a new session, submissions build the history, conflicts are explicit."""

from __future__ import annotations

import json
import os
import shutil
import statistics
from datetime import datetime

import pytest

from observatory import config, db, queries
from observatory.accounts import ADMIN, COORDINATOR
from observatory.assessments import AssessmentStore
from observatory.coverage import cpts_summary
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.registers.importer import import_register
from observatory.scoring import score_assessment
from observatory.self_assessment import case_study_notes, score_text
from tests.apphelpers import all_text, fill_questionnaire, log_in, rendered, run_page, sign_in
from ui.auto_evaluation_widgets import NONE_TICKED, widget_key

PAGE = "pages/auto-evaluation.py"
MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
SUB_LABELS = {s.id: s.label for s in INSTRUMENT.subdimensions}
DIM_LABELS = {d.id: d.label for d in INSTRUMENT.dimensions}

# A few answers touching the three dimensions (so that an overall score exists) and every widget kind.
ANSWERS = {
    "Q1": "03/2020",
    "Q2": "q2_fonctionnement",
    "Q3": ["q3_medecin_traitant", "q3_prevention"],
    "Q4": "q4_partiel",
    "Q7": 12,
    "Q12": "q12_21_30",
    "Q17": {"president": "Médecin généraliste", "tresorier": "Infirmière"},
    "Q22": "q22_oui",
    "Q33": "q33_oui",
    "Q34": "q34_non",
    "Q40": ["q40_formation"],
    "Q41": "q41_satisfaits",
}


# --------------------------------------------------------------------------------------------------
# Helpers


def store() -> AssessmentStore:
    return AssessmentStore(os.environ[config.ENV_USER_DB])


def edit_state(at, cpts_id: str):
    return at.session_state["auto_evaluation_edit_states"][cpts_id]


def current_cpts(at) -> str:
    return at.query_params["cpts"][0] if isinstance(at.query_params["cpts"], list) else at.query_params["cpts"]


def wkey(at, cpts_id: str, suffix: str) -> str:
    return widget_key(edit_state(at, cpts_id), suffix)


def set_answers(at, cpts_id: str, answers: dict) -> None:
    """Drive each question's widget the way a user would, then rerun once."""
    fill_questionnaire(at, lambda suffix: wkey(at, cpts_id, suffix), INSTRUMENT, answers)


def button(at, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"bouton « {label} » absent : {[b.label for b in at.button]}"
    return matches[0]


def click(at, label: str) -> None:
    button(at, label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


COORDINATORS: dict[str, str] = {}  # cpts_id -> session token of its coordinator


def submit(at) -> None:
    """« Soumettre… » asks for a confirmation stating completeness and level, then « Confirmer la soumission »."""
    click(at, "Soumettre…")
    text = all_text(at)
    assert "question(s) répondue(s) sur" in text and "complétude" in text and "niveau" in text
    assert store is not None and not [b for b in at.button if b.label == "Soumettre"]
    click(at, "Confirmer la soumission")


def add_custom_cpts(at, name: str, population: int | None = None) -> str:
    """An administrator adds a CPTS absent from the register (the form is theirs), then the session continues as
    that CPTS's coordinator (only a CPTS's people answer for it)."""
    log_in(at, sign_in("admin.test", ADMIN))
    at.run()
    next(t for t in at.text_input if t.label == "Nom de la CPTS").input(name)
    next(s for s in at.selectbox if s.label == "Département").select("01")
    next(s for s in at.selectbox if s.label == "Stade d'avancement").select("ars_fonctionnement")
    if population is not None:
        next(n for n in at.number_input if n.label.startswith("Population couverte")).set_value(population)
    click(at, "Ajouter la CPTS")
    cpts_id = current_cpts(at)
    COORDINATORS[cpts_id] = sign_in(f"coord.{cpts_id.split(':')[-1]}", COORDINATOR, cpts_ids=(cpts_id,))
    log_in(at, COORDINATORS[cpts_id])
    at.run()
    assert not at.exception and current_cpts(at) == cpts_id
    return cpts_id


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def subdimension_table(at):
    return next(df.value for df in at.dataframe if "Sous-dimension" in df.value.columns and "Score (0-100)" in df.value.columns)


def radar(at) -> dict:
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def radar_points(spec: dict) -> dict[str, dict[str, float]]:
    """Series name -> {axis label: value} from the chart's point layer."""
    layer = next(layer for layer in spec["layer"] if layer["name"] == "points")
    out: dict[str, dict[str, float]] = {}
    for row in layer["data"]["values"]:
        out.setdefault(row["series"], {})[row["axis_label"]] = row["value"]
    return out


def series_domain(spec: dict) -> list[str]:
    layer = next(layer for layer in spec["layer"] if layer["name"] == "outlines")
    return layer["encoding"]["color"]["scale"]["domain"]


def assert_scores_displayed(at, cpts_name: str, answers: dict) -> None:
    expected = score_assessment(INSTRUMENT, MODEL, answers, strict=False)
    shown = metrics(at)
    assert shown["Score global"] == score_text(expected.overall)
    assert shown["Complétude"] == f"{score_text(expected.completeness_pct, 0)} %"
    for did, label in DIM_LABELS.items():
        assert shown[label] == score_text(expected.dimensions[did].score)
    table = subdimension_table(at).set_index("Sous-dimension")
    for sid, label in SUB_LABELS.items():
        assert table.loc[label, "Score (0-100)"] == score_text(expected.subdimensions[sid].score)
    assert expected.maturity_label in all_text(at)
    points = radar_points(radar(at)).get(cpts_name, {})
    scored = {SUB_LABELS[s]: v.score for s, v in expected.subdimensions.items() if v.score is not None}
    assert points == pytest.approx(scored)


# --------------------------------------------------------------------------------------------------
# Tests


def test_without_a_cpts_the_page_invites_to_choose_one(app_env):
    at = run_page(PAGE)
    assert at.title[0].value == "Auto-évaluation de la CPTS"
    assert "Choisissez une CPTS du registre" in all_text(at)
    assert not at.get("vega_lite_chart")


def test_live_scores_and_radar_follow_the_answers(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS du Test")
    assert cpts_id.startswith("custom:")
    assert "Nouveau questionnaire" in all_text(at)
    assert metrics(at)["Score global"] == "—"  # nothing answered: no score, never 0

    set_answers(at, cpts_id, ANSWERS)
    assert_scores_displayed(at, "CPTS du Test", ANSWERS)

    # One more answer moves the scores, as the scoring function says.
    changed = {**ANSWERS, "Q4": "q4_total"}
    set_answers(at, cpts_id, {"Q4": "q4_total"})
    assert_scores_displayed(at, "CPTS du Test", changed)

    # Withdrawing an answer (« Sans réponse ») removes it from the denominators.
    at.radio(key=wkey(at, cpts_id, "Q34")).set_value("__sans_reponse__")
    at.run()
    assert_scores_displayed(at, "CPTS du Test", {k: v for k, v in changed.items() if k != "Q34"})

    # The radar switches to the three dimensions.
    next(r for r in at.radio if r.label == "Axes du radar").set_value("dimensions")
    at.run()
    expected = score_assessment(INSTRUMENT, MODEL, {k: v for k, v in changed.items() if k != "Q34"}, strict=False)
    points = radar_points(radar(at))["CPTS du Test"]
    assert points == pytest.approx({DIM_LABELS[d]: v.score for d, v in expected.dimensions.items()})
    # No size class for a CPTS outside the register without population: the median is unavailable, and said so.
    assert "médiane des pairs indisponible : taille ACI inconnue" in all_text(at)


def test_conditional_questions_follow_q2(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS conditionnelle")
    keys = {w.key for w in [*at.radio, *at.multiselect]}
    assert wkey(at, cpts_id, "Q26") not in keys and wkey(at, cpts_id, "Q28") not in keys  # Q2 unanswered: hidden
    set_answers(at, cpts_id, {"Q2": "q2_fonctionnement"})
    keys = {w.key for w in [*at.radio, *at.multiselect]}
    assert wkey(at, cpts_id, "Q26") in keys and wkey(at, cpts_id, "Q27") in keys
    assert wkey(at, cpts_id, "Q28") not in keys
    assert "Q28 masquée : posée seulement si CPTS pas encore en fonctionnement (Q2)." in all_text(at)
    set_answers(at, cpts_id, {"Q2": "q2_ingenierie"})
    keys = {w.key for w in [*at.radio, *at.multiselect]}
    assert wkey(at, cpts_id, "Q28") in keys and wkey(at, cpts_id, "Q26") not in keys


def test_invalid_combinations_are_refused_in_french_and_block_submission(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS invalide")
    set_answers(at, cpts_id, ANSWERS)
    # An exclusive option of the questionnaire ticked with another one.
    bad = {"Q8": ["q8_aucun", "q8_departement"], "Q3": ["q3_parcours", NONE_TICKED]}
    at.multiselect(key=wkey(at, cpts_id, "Q8")).set_value(bad["Q8"])
    at.multiselect(key=wkey(at, cpts_id, "Q3")).set_value(bad["Q3"])
    at.run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Q8 : « Non, aucun regroupement territorial particulier » exclut toute autre réponse") for e in errors)
    assert any(e.startswith("Q3 : « Aucune de ces propositions » exclut toute autre réponse") for e in errors)
    # Contradictory answers are not scored (as unanswered), the rest is.
    assert_scores_displayed(at, "CPTS invalide", {k: v for k, v in ANSWERS.items() if k != "Q3"})
    click(at, "Soumettre…")  # refused before the confirmation is even asked
    assert any(e.value.startswith("Soumission refusée") for e in at.error)
    assert store().history(cpts_id) == []


def test_draft_is_saved_and_found_by_a_new_session(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS brouillon")
    set_answers(at, cpts_id, ANSWERS)
    click(at, "Enregistrer le brouillon")
    assert any("Brouillon enregistré" in s.value for s in at.success)
    draft = store().load_draft(cpts_id)
    assert draft is not None and draft.revision == 1
    assert draft.answers == ANSWERS

    fresh = run_page(PAGE, {"cpts": cpts_id}, token=COORDINATORS[cpts_id])  # another session (new AppTest), same user database
    assert "Brouillon enregistré le" in all_text(fresh)
    assert fresh.radio(key=wkey(fresh, cpts_id, "Q4")).value == "q4_partiel"
    assert fresh.multiselect(key=wkey(fresh, cpts_id, "Q3")).value == ANSWERS["Q3"]
    assert fresh.text_input(key=wkey(fresh, cpts_id, "Q1")).value == "03/2020"
    assert fresh.number_input(key=wkey(fresh, cpts_id, "Q7")).value == 12
    assert fresh.text_input(key=wkey(fresh, cpts_id, "Q17|president")).value == "Médecin généraliste"
    assert_scores_displayed(fresh, "CPTS brouillon", ANSWERS)


def test_submission_is_dated_kept_in_history_and_compared(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS soumise")
    # A submission of the previous cycle, a year ago (two submissions within one second would have no order).
    previous = {**ANSWERS, "Q4": "q4_faible", "Q22": "q22_oui"}
    store().import_submitted([{
        "assessment_id": "cycle-precedent", "cpts_id": cpts_id, "cpts_name": "CPTS soumise", "instrument_version": "1",
        "scoring_version": MODEL.version, "answers": previous, "scores": score_assessment(INSTRUMENT, MODEL, previous).to_dict(),
        "submitted_at": datetime(2024, 11, 20, 9, 0),
    }])
    set_answers(at, cpts_id, {**ANSWERS, "Q22": "q22_non"})
    submit(at)
    history = store().history(cpts_id)
    assert [a.assessment_id for a in history][0] == "cycle-precedent" and len(history) == 2
    assert store().load_draft(cpts_id) is None
    submitted = history[1]
    assert submitted.answers == {**ANSWERS, "Q22": "q22_non"}
    assert submitted.overall_score == pytest.approx(score_assessment(INSTRUMENT, MODEL, submitted.answers).overall)
    assert submitted.submitted_at.date() == datetime.now().date()
    assert any("Évaluation soumise" in s.value for s in at.success)
    hist_table = next(df.value for df in at.dataframe if "Soumise le" in df.value.columns)
    assert list(hist_table["Soumise le"]) == [f"{submitted.submitted_at:%d/%m/%Y %H:%M}", "20/11/2024 09:00"]

    # The answers shown are the new submission's: the comparison picks the one before and says what moved.
    comparison = next(df.value for df in at.dataframe if "Évolution" in df.value.columns).set_index("Libellé")
    old, new = history[0].score_result, submitted.score_result
    assert comparison.loc["Niveau de maturité", "Avant"] == score_text(old.subdimensions["niveau_maturite"].score)
    assert comparison.loc["Niveau de maturité", "Maintenant"] == score_text(new.subdimensions["niveau_maturite"].score)
    assert comparison.loc["Niveau de maturité", "Évolution"] == "en hausse"
    assert comparison.loc["Système d'information et communication", "Évolution"] == "en baisse"
    assert comparison.loc["Score global", "Maintenant"] == score_text(new.overall)
    text = all_text(at)
    assert "**En hausse** : " in text and "Niveau de maturité (+" in text
    assert "Système d'information et communication (-" in text


def test_concurrent_saves_are_never_silent(app_env):
    first = run_page(PAGE)
    cpts_id = add_custom_cpts(first, "CPTS partagée")
    set_answers(first, cpts_id, ANSWERS)
    click(first, "Enregistrer le brouillon")

    second = run_page(PAGE, {"cpts": cpts_id}, token=COORDINATORS[cpts_id])  # loads revision 1
    set_answers(first, cpts_id, {"Q4": "q4_total"})
    click(first, "Enregistrer le brouillon")  # revision 2
    set_answers(second, cpts_id, {"Q4": "q4_faible"})
    click(second, "Enregistrer le brouillon")
    conflict = [rendered(e.value) for e in second.error if "depuis que vous l'avez chargé" in rendered(e.value)]
    assert conflict and "révision 2" in conflict[0]
    assert store().load_draft(cpts_id).answers["Q4"] == "q4_total"  # nothing overwritten silently

    click(second, "Recharger")  # back to what the other session saved
    assert second.radio(key=wkey(second, cpts_id, "Q4")).value == "q4_total"
    assert any("rechargé" in s.value for s in second.success)

    set_answers(first, cpts_id, {"Q4": "q4_modere"})
    click(first, "Enregistrer le brouillon")  # revision 3
    set_answers(second, cpts_id, {"Q4": "q4_insuffisant"})
    click(second, "Enregistrer le brouillon")
    assert any("depuis que vous l'avez chargé" in rendered(e.value) for e in second.error)
    click(second, "Écraser quand même")  # explicit last write wins
    draft = store().load_draft(cpts_id)
    assert draft.answers["Q4"] == "q4_insuffisant" and draft.revision == 4
    assert not [e for e in second.error if "depuis que vous l'avez chargé" in rendered(e.value)]


def test_demo_cpts_is_labelled_prefilled_and_its_peer_median_hidden_below_five(app_env):
    at = run_page(PAGE, {"cpts": "demo-0001"})
    text = all_text(at)
    assert "démonstration" in text
    # Demo assessments were loaded for the demo register: the CPTS has a history and is pre-filled with it.
    latest = store().latest_submitted("demo-0001")
    assert latest is not None and latest.is_demo
    assert "Pré-rempli avec l'évaluation soumise le" in text
    assert_scores_displayed(at, latest.cpts_name, latest.answers)
    # Peers: the register's other CPTS of the same size class and stage, computed here independently.
    con = db.open_readonly(str(app_env))
    cpts = queries.list_cpts(con, "demo")
    summary = cpts_summary(cpts, queries.cpts_units(con, "demo"), queries.territorial_units(con), "2024-03-31").set_index("cpts_id")
    me = summary.loc["demo-0001"]
    peer_ids = [i for i, r in summary.iterrows() if i != "demo-0001" and r["size_class"] == me["size_class"]
                and r["stage_code"] == me["stage_code"]]
    submitted = len(store().submitted_for_peers(peer_ids))
    assert submitted < 5
    assert "médiane des pairs masquée : moins de 5 pairs ont soumis" in text
    assert not any(name.startswith("Médiane des pairs") for name in series_domain(radar(at)))


def test_case_studies_are_prefilled_with_their_thesis_sources(app_env):
    at = run_page(PAGE, {"cpts": "these-A"})  # the deep link switches the case-study toggle on
    assert at.toggle[0].value is True
    answers = load_case_study_answers()["A"]
    assert "tableaux 3 à 7, monographie de la CPTS A" in all_text(at)
    assert at.radio(key=wkey(at, "these-A", "Q2")).value == answers["Q2"]
    notes = case_study_notes()["A"]
    captions = [c.value for c in at.caption]
    assert any(notes["Q12"].source in c for c in captions)
    assert any(c.startswith("Non pré-remplie") and notes["Q18"].source in c for c in captions)
    assert any(notes["Q12_territory"].source in c for c in captions)  # a v2 precision's source, under it
    assert_scores_displayed(at, "CPTS A (étude de cas de la thèse)", answers)


# --------------------------------------------------------------------------------------------------
# Peer median shown from five submitted peers: a real register import into a copy of the tiny database


PEER_CODES = ["01001", "01002", "01003", "01006", "01007", "01008", "01009"]


@pytest.fixture()
def peer_register(app_env, tmp_path, monkeypatch):
    """A copy of the tiny database with an imported register of 7 one-commune CPTS, all ACI, all size 1."""
    import streamlit as st

    copy = tmp_path / "observatoire-pairs.duckdb"
    shutil.copyfile(app_env, copy)
    csv = tmp_path / "registre.csv"
    csv.write_text("cpts_nom;code_insee;date_aci\n" + "".join(f"CPTS Pair {i};{c};2021-01-15\n" for i, c in enumerate(PEER_CODES)),
                   encoding="utf-8")
    outcome = import_register(csv, "Registre pairs test", copy, tmp_path / "imports", as_of="2024-06-30")
    assert outcome.written
    monkeypatch.setenv(config.ENV_DB, str(copy))
    st.cache_data.clear()
    st.cache_resource.clear()
    con = db.open_readonly(str(copy))
    ids = queries.list_cpts(con, "import-registre-pairs-test")["cpts_id"].tolist()
    con.close()
    return ids


def _submit_peers(cpts_ids: list[str]) -> list:
    """Submitted assessments with different answers; returns their results."""
    results, records = [], []
    for n, cpts_id in enumerate(cpts_ids):
        answers = {**ANSWERS, "Q4": INSTRUMENT.question("Q4").option_ids[n % 5], "Q22": "q22_oui" if n % 2 else "q22_non",
                   "Q41": INSTRUMENT.question("Q41").option_ids[(n + 2) % 5]}
        result = score_assessment(INSTRUMENT, MODEL, answers)
        results.append(result)
        records.append({"assessment_id": f"test-{cpts_id}", "cpts_id": cpts_id, "cpts_name": cpts_id, "register_id": None,
                        "instrument_version": INSTRUMENT.version, "scoring_version": MODEL.version, "answers": answers,
                        "scores": result.to_dict(), "submitted_at": datetime(2024, 5, 1, 10, 0)})
    store().import_submitted(records)
    return results


def test_peer_median_is_drawn_from_five_peers(peer_register):
    me, peers = peer_register[0], peer_register[1:6]
    results = _submit_peers(peers)
    at = run_page(PAGE, {"registre": "import-registre-pairs-test", "cpts": me},
                  token=sign_in("coord.pair0", COORDINATOR, cpts_ids=(me,)))  # a real CPTS: its people answer
    set_answers(at, me, ANSWERS)
    spec = radar(at)
    assert series_domain(spec) == ["CPTS Pair 0", "Médiane des pairs (n = 5)"]
    name = "Médiane des pairs (n = 5)"
    assert name in series_domain(spec)
    expected = {SUB_LABELS[s]: statistics.median(r.subdimensions[s].score for r in results)
                for s in SUB_LABELS if all(r.subdimensions[s].score is not None for r in results)}
    assert radar_points(spec)[name] == pytest.approx(expected)
    assert "médiane de 5 pairs" in all_text(at)


def test_peer_median_is_hidden_with_four_peers(peer_register):
    me, peers = peer_register[0], peer_register[1:5]
    _submit_peers(peers)
    at = run_page(PAGE, {"registre": "import-registre-pairs-test", "cpts": me},
                  token=sign_in("coord.pair0", COORDINATOR, cpts_ids=(me,)))
    set_answers(at, me, ANSWERS)
    assert "médiane des pairs masquée : moins de 5 pairs ont soumis" in all_text(at)
    assert series_domain(radar(at)) == ["CPTS Pair 0"]
    assert not any(n.startswith("Médiane des pairs") for n in series_domain(radar(at)))


def test_other_precision_help_texts_and_unsaved_answers_kept_across_cpts(app_env):
    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS autre")
    q10 = INSTRUMENT.question("Q10")
    other_key = wkey(at, cpts_id, "Q10_other")
    assert other_key not in {t.key for t in at.text_input}  # « Autre » not ticked: no precision field
    at.multiselect(key=wkey(at, cpts_id, "Q10")).set_value(["q10_autre"])
    at.run()
    at.text_input(key=other_key).input("Plateforme territoriale d'appui")
    at.run()
    # Help text of each question from the questionnaire file, with its thesis section.
    q2 = at.radio(key=wkey(at, cpts_id, "Q2"))
    assert INSTRUMENT.question("Q2").help_text in q2.help and "section 4.2.1" in q2.help
    assert q10.help_text in at.multiselect(key=wkey(at, cpts_id, "Q10")).help
    assert "Modifications non enregistrées" in all_text(at)

    # Look at a demo CPTS, then come back: the unsaved answers are still there.
    at.selectbox(key="auto_evaluation_cpts|demo").select("demo-0002")
    at.run()
    at.selectbox(key="auto_evaluation_cpts|demo").select(cpts_id)
    at.run()
    assert at.multiselect(key=wkey(at, cpts_id, "Q10")).value == ["q10_autre"]
    assert at.text_input(key=wkey(at, cpts_id, "Q10_other")).value == "Plateforme territoriale d'appui"
    click(at, "Enregistrer le brouillon")
    assert store().load_draft(cpts_id).answers == {"Q10": ["q10_autre"], "Q10_other": "Plateforme territoriale d'appui"}
    assert "Modifications non enregistrées" not in all_text(at)


def test_what_would_make_the_cpts_progress(app_env):
    """The sensitivity table lists real single changes, computed by the model, the largest gain first."""
    from observatory.model_insight import improvement_options

    at = run_page(PAGE)
    cpts_id = add_custom_cpts(at, "CPTS Sensible")
    set_answers(at, cpts_id, ANSWERS)
    table = next(df.value for df in at.dataframe if "Changement" in df.value.columns)
    expected, provisional = improvement_options(INSTRUMENT, MODEL, ANSWERS)
    assert list(table["Question"]) == [o.question_id for o in expected]
    assert table.iloc[0]["Gain (points)"] == "+" + score_text(expected[0].gain)
    assert all(MODEL.rule(q).is_scored for q in table["Question"])
    assert ("score provisoire" in all_text(at)) is provisional
    assert "Évaluation à un seul répondant" in all_text(at)  # a single respondent is said to be one
