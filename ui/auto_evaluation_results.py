"""Streamlit rendering of the self-assessment's scores and results: live metrics and radar, comparison
with a previous assessment, weakest sub-dimensions, history and exports. Values come from
``observatory`` (scoring, self_assessment, peers, report); this module only lays them out."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

import pandas as pd
import streamlit as st

from observatory.assessments import Assessment, export_csv
from observatory.instrument import Instrument, ScoringModel
from observatory.peers import PeerComparison
from observatory.radar import radar_png
from observatory.radar_spec import radar_spec
from observatory.report import assessment_report_html, report_file_name
from observatory.safe_text import markdown_literal
from observatory.scoring import Comparison, ScoreResult, compare, weakest_subdimensions
from observatory.self_assessment import (
    LEVEL_LABELS,
    LEVELS,
    baseline_index,
    comparison_table,
    movers,
    radar_series,
    score_text,
    signed_text,
    subdimension_table,
)

RADAR_LEVEL_KEY = "auto_evaluation_radar_level"
SHOW_PREVIOUS_KEY = "auto_evaluation_radar_previous"
BASELINE_KEY = "auto_evaluation_baseline"
EXPORT_KEY = "auto_evaluation_export_choice"
EXPORT_NEXT_KEY = "auto_evaluation_export_next"  # set after a submission: selected at the next drawing
DRAFT_CHOICE = "en_cours"
RADAR_SIZE_PX = 500
ROW_PX = 35  # st.dataframe row height: tables are drawn tall enough to show every row


def submission_label(a: Assessment) -> str:
    demo = " — démonstration" if a.is_demo else ""
    return f"Soumise le {a.submitted_at:%d/%m/%Y} — score global {score_text(a.score_result.overall)}{demo}"


def _metric(column, label: str, new: float | None, old: float | None, help_text: str, has_baseline: bool) -> None:
    """A score metric with its difference to the compared assessment (grey, no arrow, when unchanged)."""
    if not has_baseline or new is None or old is None:
        column.metric(label, score_text(new), help=help_text)
        return
    delta = signed_text(new - old)
    unchanged = delta.lstrip("+-") == score_text(0.0)
    column.metric(label, score_text(new), delta, help=help_text, delta_color="off" if unchanged else "normal",
                  delta_arrow="off" if unchanged else "auto")


def render_scores(result: ScoreResult, instrument: Instrument, model: ScoringModel, *, cpts_label: str,
                  peers: PeerComparison, peer_scope: str, baseline: Assessment | None) -> None:
    """Live scores: overall, level, completeness, the three dimensions, the radar and the sub-dimensions."""
    old = baseline.score_result if baseline is not None else None
    st.subheader("Scores en direct")
    c1, c2 = st.columns(2)
    _metric(c1, "Score global", result.overall, old.overall if old else None,
            model.overall_rule or "Sur 100 : moyenne des trois dimensions, calculée seulement si chacune a un score.",
            old is not None)
    weight = ("" if result.scored_weight_pct is None
              else f" ; poids des questions notées renseignées : {score_text(result.scored_weight_pct, 0)} %")
    c2.metric("Complétude", f"{score_text(result.completeness_pct, 0)} %",
              help=f"Questions applicables répondues ; questions notées : {score_text(result.scored_completeness_pct, 0)} %{weight}.")
    band = next((b for b in model.bands if b.id == result.maturity_level_id), None)
    meaning = band.description if band else model.raw["maturity_levels"]["undetermined"]["description"]
    st.markdown(f"Niveau de maturité : **{result.maturity_label}** — {meaning}")
    st.caption(result.maturity_reason + (" Bandes : " + " ; ".join(
        f"{b.label} dès {score_text(b.min, 0)}" for b in model.bands) + "."))
    columns = st.columns(len(instrument.dimensions))
    for column, dim in zip(columns, instrument.dimensions, strict=True):
        d = result.dimensions[dim.id]
        _metric(column, dim.label, d.score, old.dimensions[dim.id].score if old and dim.id in old.dimensions else None,
                f"{d.n_subdimensions_scored} sous-dimension(s) notée(s) sur {d.n_subdimensions}.", old is not None)
    if old is not None:
        st.caption(f"Écarts par rapport à l'évaluation {submission_label(baseline).lower()}.")

    level = st.radio("Axes du radar", LEVELS, format_func=LEVEL_LABELS.get, horizontal=True, key=RADAR_LEVEL_KEY)
    show_previous = baseline is not None and st.checkbox(
        "Superposer l'évaluation comparée", value=False, key=SHOW_PREVIOUS_KEY,
        help="Ajoute au radar le profil de l'évaluation choisie dans « Comparaison ».")
    previous = (f"Évaluation du {baseline.submitted_at:%d/%m/%Y}", old) if show_previous else None
    labels, series = radar_series(result, instrument, level, cpts_label=cpts_label, peers=peers, previous=previous)
    # Same chart as observatory.radar.radar_chart, rebuilt from a cached template (the Altair build costs
    # more than the whole rerun budget; see observatory.radar_spec).
    st.vega_lite_chart(spec=radar_spec(series, labels, f"Profil de maturité — {LEVEL_LABELS[level].lower()}",
                                  size_px=RADAR_SIZE_PX), theme=None, width="content")
    shown = "en pointillés sur le radar" if peers.is_shown else "absente du radar"
    st.caption(f"Pairs, {shown} — {peers.message}. {peer_scope}")
    st.caption(f"Scores calculés en direct avec le modèle de notation v{model.version} (page « Méthode ») sur le "
               f"questionnaire v{instrument.version} de la thèse (annexe 4) ; une question sans réponse ou non "
               "applicable n'est jamais comptée comme zéro.")
    table = subdimension_table(result, instrument, peers)
    st.dataframe(table, hide_index=True, width="stretch", height=ROW_PX * (len(table) + 1) + 3)


def choose_baseline(history: Sequence[Assessment], answers: dict) -> Assessment | None:
    """The submitted assessment to compare with (selectbox; default: the latest one that differs)."""
    if not history:
        return None
    default = baseline_index(history, answers)
    options = list(range(len(history)))[::-1]  # most recent first
    if BASELINE_KEY in st.session_state and st.session_state[BASELINE_KEY] not in options:
        del st.session_state[BASELINE_KEY]
    chosen = st.selectbox("Comparer l'évaluation en cours avec", options, index=options.index(default),
                          format_func=lambda i: submission_label(history[i]), key=BASELINE_KEY)
    return history[chosen]


def render_comparison(result: ScoreResult, baseline: Assessment, instrument: Instrument, model: ScoringModel) -> Comparison:
    comparison = compare(result, baseline.score_result, model)
    if not comparison.same_scoring_version:
        st.warning(f"L'évaluation comparée a été notée avec le modèle v{comparison.scoring_versions[1]}, l'évaluation en "
                   f"cours avec le modèle v{comparison.scoring_versions[0]} : les écarts mêlent réponses et changement de modèle.")
    up, down = movers(comparison, instrument)
    st.markdown(f"**En hausse** : {', '.join(up) if up else 'aucune dimension ni sous-dimension'}.")
    st.markdown(f"**En baisse** : {', '.join(down) if down else 'aucune dimension ni sous-dimension'}.")
    st.caption(f"« Stable » : écart d'au plus {score_text(model.trend_stable_band_points, 0)} points ; « non comparable » : "
               "une des deux valeurs manque.")
    table = comparison_table(comparison, instrument)
    st.dataframe(table, hide_index=True, width="stretch", height=ROW_PX * (len(table) + 1) + 3)
    return comparison


def render_analysis(result: ScoreResult, baseline: Assessment | None, instrument: Instrument, model: ScoringModel,
                    scoring_answers: dict) -> None:
    """Under the questionnaire: the comparison chosen above, the weakest sub-dimensions, what would help most."""
    if baseline is None:
        st.info("Aucune évaluation soumise pour cette CPTS : la comparaison apparaîtra après la première soumission.")
    else:
        render_comparison(result, baseline, instrument, model)
    st.subheader("Les trois sous-dimensions les plus faibles")
    render_weakest(result, instrument)
    st.subheader("Ce qui ferait progresser votre CPTS")
    render_improvements(model, scoring_answers)


def render_sharing(data, history: Sequence[Assessment]) -> None:
    """The coordinator decides, per submitted assessment, whether the CPTS's ARS may see it individually
    (otherwise the ARS sees only aggregates of at least five CPTS)."""
    if not history or not data.can_share(history[-1].cpts_id):
        return
    st.markdown("**Partage avec l'ARS**")
    st.caption("Par défaut, l'ARS ne voit aucune évaluation individuelle de la CPTS, seulement des synthèses d'au moins "
               "cinq CPTS. Cochez celles qu'elle peut consulter (fiche CPTS, synthèse régionale) ; vous pouvez revenir "
               "sur ce choix. Chaque changement est inscrit au journal d'audit.")

    def changed(assessment_id: str, key: str) -> None:
        from observatory.userdb import UserDataError

        try:
            data.set_shared(assessment_id, bool(st.session_state[key]))
        except UserDataError as error:
            st.session_state["auto_evaluation_share_error"] = str(error)

    for a in reversed(history):
        key = f"auto_evaluation_share|{a.assessment_id}"
        st.checkbox(f"Évaluation {submission_label(a).lower()} visible par l'ARS", value=a.shared_with_ars, key=key,
                    on_change=changed, args=(a.assessment_id, key))
    if problem := st.session_state.pop("auto_evaluation_share_error", None):
        st.error(markdown_literal(problem, 1000))


def render_not_allowed(data, choice) -> None:
    """A CPTS the caller may not answer for: who may, and its history when the caller may see it."""
    from observatory.access import AccessDenied

    st.subheader(markdown_literal(choice.cpts_name))
    if not data.caller.is_authenticated:
        st.info("Pour répondre au questionnaire de cette CPTS, connectez-vous (barre latérale) avec un compte de la "
                "CPTS. Sans compte, vous pouvez essayer le questionnaire sur les CPTS du registre de démonstration.",
                icon=":material/lock:")
    else:
        st.info(f"Votre compte ({data.caller.role_label}) ne permet pas de répondre pour cette CPTS : seuls ses "
                "coordinateurs et ses membres répondent.", icon=":material/lock:")
    try:
        history = data.history(choice.cpts_id)
    except AccessDenied:
        return
    st.subheader("Évaluations soumises visibles par votre compte")
    if history:
        st.dataframe(history_frame(history), hide_index=True, width="stretch")
    else:
        st.caption("Aucune : la CPTS n'a partagé aucune évaluation avec son ARS.")


def render_weakest(result: ScoreResult, instrument: Instrument) -> None:
    weakest = weakest_subdimensions(result, instrument, 3)
    if not weakest:
        st.info("Aucune sous-dimension notée pour l'instant : répondez à des questions notées.")
        return
    for w in weakest:
        st.markdown(f"**{w.label}** ({w.dimension_label}, {score_text(w.score)}/100) — {w.advice} *(thèse, {w.section})*")


def render_improvements(model: ScoringModel, answers: dict) -> None:
    """« Ce qui ferait progresser votre CPTS » : the single answer changes that raise the overall score most,
    so that leaders see the model at work rather than a black box."""
    from ui import cache_campaigns  # the page's other caches live in ui.cache

    options, provisional = cache_campaigns.improvement_options(model.version, json.dumps(answers, sort_keys=True,
                                                                                         ensure_ascii=False))
    if not options:
        st.info("Aucun changement d'une seule réponse ne ferait monter le score : répondez d'abord à des questions notées.")
        return
    basis = ("score provisoire (la complétude est encore sous le seuil du score global)" if provisional
             else "score global")
    st.dataframe(pd.DataFrame([{"Question": o.question_id, "Sous-dimension": o.subdimension_label, "Changement": o.change,
                                "Gain (points)": "+" + score_text(o.gain), "Score obtenu": score_text(o.new_score)}
                               for o in options]),
                 hide_index=True, width="stretch", column_config={"Changement": st.column_config.TextColumn(width="medium")})
    st.caption(f"Chaque ligne change une seule réponse, les autres restant telles quelles, et recalcule le {basis} avec le "
               f"modèle v{model.version} ; la meilleure modification par question, la plus forte d'abord. Une question de "
               "contexte ne figure jamais ici : elle ne compte pas dans les scores. Ce n'est pas un objectif à atteindre : "
               "la thèse met en garde contre le pilotage par des indicateurs normés (section 5).")


def history_frame(history: Sequence[Assessment]) -> pd.DataFrame:
    rows = []
    for a in reversed(history):
        r = a.score_result
        rows.append({
            "Soumise le": f"{a.submitted_at:%d/%m/%Y %H:%M}", "Score global": score_text(r.overall),
            "Niveau": r.maturity_label, "Complétude (%)": score_text(r.completeness_pct, 0),
            "Questionnaire": f"v{a.instrument_version}", "Notation": f"v{a.scoring_version}", "Auteur": a.author or "",
            "Origine": "consensus d'une campagne" if a.campaign_id else "un seul répondant",
            "Données": "démonstration" if a.is_demo else "réelles",
            "Visible par l'ARS": "—" if a.is_demo else ("oui" if a.shared_with_ars else "non"),
        })
    return pd.DataFrame(rows)


def render_exports(current: Assessment, history: Sequence[Assessment], instrument: Instrument, model: ScoringModel, *,
                   register_name: str, peer_message: str, chart_for: Callable[[ScoreResult], object]) -> None:
    """CSV of answers and scores, and the printable report (HTML to print as PDF), generated on click."""
    choices = [DRAFT_CHOICE, *[a.assessment_id for a in reversed(history)]]
    by_id = {a.assessment_id: a for a in history}
    if st.session_state.get(EXPORT_NEXT_KEY) in choices:
        st.session_state[EXPORT_KEY] = st.session_state.pop(EXPORT_NEXT_KEY)
    if EXPORT_KEY in st.session_state and st.session_state[EXPORT_KEY] not in choices:
        del st.session_state[EXPORT_KEY]
    chosen_id = st.selectbox("Évaluation à exporter", choices, key=EXPORT_KEY,
                             format_func=lambda i: "Évaluation en cours (réponses affichées, non soumise)" if i == DRAFT_CHOICE
                             else submission_label(by_id[i]))
    chosen = current if chosen_id == DRAFT_CHOICE else by_id[chosen_id]
    stamp = chosen.submitted_at or datetime.now()
    name = chosen.cpts_name or chosen.cpts_id

    def csv_bytes() -> bytes:
        return export_csv(chosen, instrument)

    def report_html() -> str:
        png = radar_png(chart_for(chosen.score_result))
        return assessment_report_html(chosen, instrument, model, radar_png=png, generated_at=datetime.now(),
                                      register_name=register_name, peer_message=peer_message)

    c1, c2 = st.columns(2)
    c1.download_button("Télécharger les réponses et scores (CSV)", csv_bytes,
                       file_name=report_file_name(name, stamp).replace("rapport-", "reponses-").replace(".html", ".csv"),
                       mime="text/csv", on_click="ignore", icon=":material/download:")
    c2.download_button("Télécharger le rapport imprimable (HTML, à imprimer en PDF)", report_html,
                       file_name=report_file_name(name, stamp), mime="text/html", on_click="ignore",
                       icon=":material/print:")
    st.caption("CSV pour Excel (séparateur « ; », virgule décimale). Le rapport tient sur une page A4 : ouvrez-le dans "
               "votre navigateur puis « Imprimer » → « Enregistrer au format PDF ».")
