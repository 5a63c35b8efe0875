"""Streamlit rendering of the « Synthèse régionale » page: response rates, levels by size class and stage,
the two maps side by side, the sub-dimensions most often weakest. Values: :mod:`observatory.regional`."""

from __future__ import annotations

import streamlit as st

from observatory.campaign_charts import level_distribution_chart
from observatory.instrument import ScoringModel
from observatory.regional import RegionalSynthesis


def render_summary(s: RegionalSynthesis, is_demo: bool) -> None:
    demo = " Données de démonstration : CPTS et évaluations fictives." if is_demo else ""
    st.markdown(
        f"**{s.scope}, campagne {s.year}** : {s.n_cpts} CPTS lancées dans le registre, **{s.n_participating}** ont soumis une "
        f"auto-évaluation dans l'année ; {s.n_assessed} sont notées avec le modèle v{s.scoring_version} et entrent dans les "
        "niveaux et les sous-dimensions"
        + (f" ({s.n_other_version} notée(s) avec une autre version, comptée(s) à part, jamais mélangée(s))" if s.n_other_version else "")
        + f".{demo}")
    st.caption(f"Campagne = année civile de soumission ; dernière évaluation de chaque CPTS dans l'année. Toute statistique qui "
               f"regroupe des CPTS n'est affichée qu'à partir de {s.min_count} CPTS (règle des pairs, page « Méthode »).")


def render_rates(s: RegionalSynthesis) -> None:
    st.subheader("Taux de réponse par département")
    if s.response_rates.empty:
        st.info("Aucune CPTS lancée dans ce périmètre à la date du registre.")
        return
    st.dataframe(s.response_rates, hide_index=True, width="stretch")


def render_levels(s: RegionalSynthesis, model: ScoringModel) -> None:
    st.subheader("Niveaux de maturité par taille et par stade")
    labels = {b.id: b.label for b in model.bands} | {model.undetermined_id: model.undetermined_label}
    c1, c2 = st.columns(2)
    for column, frame, group, title in ((c1, s.levels_by_size, "Taille", "Par taille ACI"), (c2, s.levels_by_stage, "Stade",
                                                                                                "Par stade national")):
        with column:
            if frame.empty:
                st.info(f"{title} : aucun groupe d'au moins {s.min_count} CPTS évaluées.")
            else:
                st.altair_chart(level_distribution_chart(frame, group, title, labels), theme=None, width="stretch")
    if s.masked_groups:
        st.caption("Groupes masqués : " + " ; ".join(s.masked_groups) + ".")


def render_weakest(s: RegionalSynthesis) -> None:
    st.subheader("Sous-dimensions le plus souvent parmi les plus faibles")
    if not s.weakest_shown:
        st.info(f"Masqué : {s.n_participating} CPTS ont répondu, il en faut au moins {s.min_count}.")
        return
    st.dataframe(s.weakest, hide_index=True, width="stretch")
    st.caption(f"Pour chaque CPTS ayant répondu, ses trois sous-dimensions les plus faibles, lues avec le modèle "
               f"v{s.scoring_version} (une évaluation notée avec une autre version est recalculée avec lui, jamais mélangée) ; "
               f"« déjà parmi les plus fréquentes » : la sous-dimension était aussi l'une des trois plus fréquentes lors de la "
               f"campagne {s.year - 1}, lue de la même façon.")
