"""Streamlit sections of the « Méthode » page that read the model rather than restate it: effective
weights (table and chart, every model version side by side), the anchoring on the thesis's case
studies, and the collective self-assessment's published rules. Values come from ``observatory``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import campaigns, method
from observatory import model_insight as mi
from observatory.campaign_charts import effective_weight_chart
from observatory.instrument import Instrument, ScoringModel
from observatory.self_assessment import score_text
from ui import cache_campaigns

PROFILE_KEY = "methode_weight_profile"
ROLE_COLUMNS = {"scored": "Notées", "context": "Contexte", "descriptive": "Descriptives"}


def render_effective_weights(model: ScoringModel, instrument: Instrument, versions: list[str]) -> None:
    st.header("Poids effectif des questions")
    st.markdown(
        "Le **poids effectif** d'une question est la part du score global qu'elle peut faire bouger à elle seule : "
        "l'écart du score global quand elle passe de 0 à 100 points, les autres réponses restant fixes, quand toutes "
        "les questions notées applicables ont une réponse. Il est **calculé depuis les fichiers du modèle**, pas recopié : "
        "c'est ce que fait le modèle."
    )
    profile = st.radio("Profil de CPTS", list(mi.PROFILES), format_func=mi.PROFILES.get, horizontal=True, key=PROFILE_KEY,
                       help="Q26 et Q27 ne sont posées qu'à une CPTS en fonctionnement : les poids des autres questions en dépendent.")
    table = cache_campaigns.effective_weight_table(tuple(versions), profile)
    shares = {v: cache_campaigns.dimension_shares(v, profile) for v in versions}
    st.markdown("Part de chaque dimension dans le score global : " + " ; ".join(
        f"**v{v}** : " + ", ".join(f"{instrument.dimension(d).label} {score_text(100 * s, 0)} %" for d, s in shares[v].items())
        for v in versions) + ".")
    bound = model.max_question_share_pct
    if bound is not None:
        worst = cache_campaigns.max_question_share(model.version, profile)
        qid, share = max(worst.items(), key=lambda kv: kv[1])
        st.markdown(f"Borne publiée du modèle v{model.version} : aucune question ne fait bouger plus de "
                    f"**{score_text(bound, 0)} %** d'un score global affiché. Au seuil de complétude (le pire cas), la "
                    f"question la plus lourde ({qid}) en fait bouger {score_text(100 * share, 1)} %.")
    st.altair_chart(effective_weight_chart(table, versions, top=15, bound_pct=bound), theme=None, width="content")
    st.dataframe(table, hide_index=True, width="stretch", height=35 * 12)
    st.caption("Tableau complet des 42 questions (triées par poids effectif dans le modèle le plus récent). « Contexte » et "
               "« descriptive » : 0 %. Poids du modèle v1 : une question seule dans sa sous-dimension pesait autant "
               "qu'une sous-dimension entière, d'où Q40 à 16,7 % et Q2 à 1,2 %.")


def render_changes(model: ScoringModel, instrument: Instrument) -> None:
    changed = [(q, model.rule(q.id)) for q in instrument.questions if model.rule(q.id).changes]
    if not changed:
        return
    st.header(f"Ce qui change dans le modèle v{model.version}")
    st.dataframe(pd.DataFrame([{"Question": q.id, "Sous-dimension": instrument.subdimension(q.subdimension).label,
                                "Changement": r.changes, "Décision": method.rule_summary(r)} for q, r in changed]),
                 hide_index=True, width="stretch",
                 column_config={"Changement": st.column_config.TextColumn(width="large")})


def render_case_anchoring(versions: list[str]) -> None:
    st.header("Ancrage sur les études de cas de la thèse")
    st.markdown(
        "La thèse désigne la CPTS A comme la plus développée des cinq CPTS franciliennes étudiées. Ses réponses sont "
        "pré-remplies depuis la monographie de l'annexe 1 ; celles de B à E depuis les seuls tableaux 3 à 7. Les comparer "
        "sur toutes leurs réponses reviendrait à comparer des questionnaires différents : la comparaison juste se fait sur "
        "les **questions notées renseignées pour les cinq**."
    )
    frame, commons = cache_campaigns.case_comparison(tuple(versions))
    st.dataframe(frame, hide_index=True, width="stretch")
    st.caption(" ; ".join(f"v{v} : questions communes {', '.join(c) or 'aucune'}" for v, c in commons.items())
               + ". Scores sans seuil de complétude (ce sont des comparaisons, pas des niveaux). Les tableaux publiés "
               "renseignent trop peu de questions communes pour classer B à E entre elles.")


def render_campaign_rules() -> None:
    rules = campaigns.load_campaign_rules()
    st.header("Auto-évaluation collective : avis partagés et consensus")
    st.markdown(rules.rule_text)
    st.markdown("\n".join(f"- {line}" for line in rules.method_lines))


def band_rule_text(model: ScoringModel) -> str:
    if model.aggregation == "question_weights":
        return (f"Le niveau est **{model.undetermined_label}**, et le score global absent, quand les questions notées "
                f"renseignées représentent moins de {method.number_text(model.min_scored_weight_pct or 0)} % du poids des "
                "questions notées applicables.")
    return (f"Le niveau est **{model.undetermined_label}** quand moins de {method.number_text(model.min_scored_completeness_pct)} % "
            "des questions notées applicables ont une réponse"
            + (", ou quand une dimension n'a aucun score." if model.require_all_dimensions else "."))
