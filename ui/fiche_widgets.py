"""Renderers of the « Fiche CPTS » sections: they only display values computed by observatory.profile,
observatory.peers, observatory.self_assessment and observatory.funding (through ui.cache)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from observatory import profile as pf
from observatory import self_assessment as sa
from observatory.funding import size_class_name
from observatory.indicators import format_number
from observatory.safe_text import markdown_literal
from observatory.scoring import ScoreResult
from ui import cache_fiche
from ui.indicator_widgets import render_profile_indicators
from ui.map_component import show_map
from ui.navigation import PAGES
from ui.tables import show_table
from ui.widgets import source_caption

MAP_HEIGHT = 460
AUTO_EVALUATION_SECTION = "Auto-évaluation"


def _date(value) -> str:
    return pf.fr_date(value) or "date inconnue"


def render_identity(identity: pf.ProfileIdentity) -> None:
    st.header(markdown_literal(identity.name))
    if identity.is_demo:
        st.markdown(":orange-badge[démonstration] CPTS fictive du registre de démonstration.")
    when = f"au {identity.as_of:%d/%m/%Y}" if identity.as_of else "à la date du registre"
    st.markdown(f"**Stade {when} :** {identity.stage_label}")
    population = format_number(identity.population_count, 0) if identity.population_count is not None else "inconnue"
    cols = st.columns(3)
    cols[0].metric("Population couverte", population)
    cols[1].metric("Communes", format_number(identity.communes_count, 0) if identity.has_territory else "non publiées")
    cols[2].metric("Taille ACI", size_class_name(identity.size_class, "inconnue"),
                   help=identity.size_class_label)
    lines = [
        f"- **Registre** : {markdown_literal(identity.register_name)}",
        f"- **{pf.ars_stage_heading(identity.region_code)}** : {identity.ars_stage_label or 'non renseigné'}",
    ]
    if identity.national_equivalent_label:
        lines.append(f"- **Stade national correspondant** (d'après le stade ARS, aucune date publiée) : "
                     f"{identity.national_equivalent_label}")
    lines += [
        f"- **Taille ACI** : {identity.size_class_label}",
        f"- **Population** : {identity.population_source}",
        f"- **Département(s)** : {', '.join(identity.departements) or 'non renseigné'}",
    ]
    if identity.association_date:
        lines.append(f"- **Création de l'association** : {_date(identity.association_date)}")
    if identity.notes:
        lines.append(f"- **Remarques** : {markdown_literal(identity.notes, max_length=1000)}")
    st.markdown("\n".join(lines))


def render_timeline(timeline: pd.DataFrame, chart) -> None:
    st.subheader("Stades et dates")
    cols = st.columns([3, 2])
    if chart is not None:
        cols[0].altair_chart(chart, theme=None, width="stretch")
    else:
        cols[0].info("Aucune date de stade n'est connue pour cette CPTS (stade « non renseigné »).")
    show_table(timeline.rename(columns={"event_label": "Étape", "date_text": "Date"})[["Étape", "Date"]],
               where=cols[1], height="content")


def render_territory(path: str, chosen, territory: pf.TerritoryProfile | None, sources: pd.DataFrame,
                     geometry_source_ids: Sequence[str], population_source_ids: Sequence[str]) -> None:
    st.subheader("Territoire")
    if territory is None and chosen.is_case_study:
        st.info("Territoire non publié : la thèse anonymise ses études de cas (CPTS A à E), sans liste de "
                "communes ni contour. Pas de carte ni d'indicateurs calculés ; voir plus bas les chiffres publiés.")
        return
    if territory is None:
        st.info("Aucune commune n'est rattachée à cette CPTS dans le registre : pas de carte ni d'indicateurs.")
        return
    drawn = cache_fiche.profile_map(path, chosen.register_id, chosen.as_of, chosen.region_code, chosen.cpts_id)
    map_column, legend_column = st.columns([5, 2], gap="small")
    with map_column:
        show_map(drawn[0], key=f"fiche_map_{chosen.cpts_id}", height=MAP_HEIGHT)
    legend_column.html(drawn[1])
    st.caption("Communes de la CPTS (couleur de son stade) et communes voisines (en gris). Une commune partagée "
               "avec une autre CPTS est en rouge.")
    source_caption(sources, list(geometry_source_ids) + list(population_source_ids), prefix="Contours et populations")

    st.markdown("**Population**")
    show_table(pf.territory_population_table(territory.population), height="content")
    st.caption(pf.AGE_STRUCTURE_NOTE)
    source_caption(sources, list(population_source_ids))
    render_profile_indicators(path, territory)


def auto_evaluation_link(chosen) -> None:
    spec = next((p for p in PAGES if p.section == AUTO_EVALUATION_SECTION and p.title == AUTO_EVALUATION_SECTION), None)
    if spec is not None:
        st.page_link(spec.path, label="Remplir l'auto-évaluation de cette CPTS", icon=spec.icon,
                     query_params={"cpts": chosen.cpts_id})


def render_radars(radars) -> None:
    """``radars``: (level, chart) pairs, sub-dimensions then dimensions, side by side."""
    for col, (_, chart) in zip(st.columns([3, 2]), radars, strict=False):
        col.altair_chart(chart, theme=None)


def render_assessment(chosen, view: pf.AssessmentView | None) -> None:
    st.subheader("Auto-évaluation")
    if view is None:
        st.info("Aucune auto-évaluation soumise pour cette CPTS : pas de radar ni d'historique.")
        auto_evaluation_link(chosen)
        return
    latest, result, peers = view.latest, view.result, view.peers
    demo = " — :orange-badge[démonstration] évaluation générée" if latest.is_demo else ""
    st.markdown(f"Dernière évaluation soumise le **{_date(latest.submitted_at)}** (questionnaire v"
                f"{latest.instrument_version}, notation v{latest.scoring_version}){demo}.")
    cols = st.columns(3)
    cols[0].metric("Score global", sa.score_text(result.overall))
    cols[1].metric("Niveau de maturité", result.maturity_label)
    cols[2].metric("Complétude", f"{sa.score_text(result.completeness_pct, 0)} %")
    render_radars(view.radars)
    if peers is not None:
        text = peers.message[0].upper() + peers.message[1:]
        (st.caption if peers.is_shown else st.info)(f"{text}.")
    st.markdown("**Historique des scores**")
    if view.submissions_count == 1:
        st.caption("Une seule évaluation soumise : l'évolution apparaîtra avec la suivante.")
    if view.history_chart is not None:
        st.altair_chart(view.history_chart, theme=None, width="stretch")
    auto_evaluation_link(chosen)


def peer_group_ids(profiles: pd.DataFrame, cpts_id: str) -> tuple[str, ...]:
    """The register's CPTS of the same size class and stage (the caller's rights then filter them)."""
    from observatory.peers import peer_group_of

    return peer_group_of(profiles, cpts_id).cpts_ids


def visible_assessment_ids(data, cpts_id: str) -> tuple[str, ...] | None:
    """Ids of the CPTS's submitted assessments the caller may see, ``None`` when none may be."""
    from observatory.access import AccessDenied

    try:
        return tuple(a.assessment_id for a in data.history(cpts_id))
    except AccessDenied:
        return None  # told apart from « none submitted »: the page says who may see them


def render_assessment_denied(caller) -> None:
    st.subheader("Auto-évaluation")
    who = "" if caller.is_authenticated else " Connectez-vous (barre latérale) avec un compte de la CPTS ou de son ARS."
    st.info("Les auto-évaluations de cette CPTS sont visibles par ses coordinateurs et ses membres, et par son ARS "
            f"quand la CPTS les partage.{who}", icon=":material/lock:")


def render_assessment_unavailable() -> None:
    st.subheader("Auto-évaluation")
    st.info("Les auto-évaluations ne peuvent pas être lues pour l'instant (voir le message en haut de la page).")


def render_rescoring(chosen, user_path: str, token: tuple[int, ...]) -> None:
    """On request, the CPTS's history recomputed with the current model, beside the frozen scores."""
    from observatory.instrument import latest_scoring_version
    from ui import cache_campaigns

    history = cache_fiche.profile_history(user_path, token, chosen.cpts_id)
    latest = latest_scoring_version()
    if not history:
        return
    older = sorted({a.scoring_version for a in history if a.scoring_version != latest})
    label = f"Recalculer l'historique avec le modèle de notation v{latest}"
    if not st.toggle(label, key=f"fiche_rescore|{chosen.cpts_id}",
                     help="Les scores soumis restent figés avec leur version ; le recalcul s'affiche à côté, jamais à leur place."):
        if older:
            st.caption(f"Historique noté avec plusieurs versions du modèle (v{', v'.join(older)} et v{latest}) : chaque "
                       "point du graphique porte sa version ; les lignes ne relient jamais deux versions.")
        return
    st.dataframe(cache_campaigns.rescored_history(user_path, token, chosen.cpts_id, latest), hide_index=True, width="stretch",
                 column_config={"Hypothèses du recalcul": st.column_config.TextColumn(width="large")})
    st.caption(f"Colonnes « origine » : scores figés à la soumission. Colonnes « recalculé » : mêmes réponses notées avec le "
               f"modèle v{latest} (page « Méthode »), avec les hypothèses indiquées quand une précision du questionnaire v2 manque.")


def render_case_study_assessment(result: ScoreResult | None, radars) -> None:
    st.subheader("Auto-évaluation (réponses publiées)")
    if result is None:
        st.info("Aucune réponse publiée pour cette étude de cas.")
        return
    st.markdown(
        f"Réponses déduites de la thèse (tableaux 3 à 7 ; monographie de l'annexe 1 pour la CPTS A ; enquête du 1er trimestre 2021) : "
        f"{len(result.answered_question_ids)} question(s) renseignée(s) sur {len(result.applicable_question_ids)}, "
        f"complétude {sa.score_text(result.completeness_pct, 0)} % ; niveau de maturité : **{result.maturity_label}** "
        f"({result.maturity_reason}) Scores partiels, sans comparaison aux pairs (étude de cas hors registre)."
    )
    render_radars(radars)


def render_funding(views: list[pf.FundingView], missions: tuple[str, ...] | None, mission_labels: dict[str, str],
                   stage_code: str | None, title: str | None = "Financement ACI : plafond annuel") -> None:
    if title:  # the « Financement » page gives its own heading
        st.subheader(title)
    if missions is None:
        st.markdown("**Missions contractualisées** : non renseignées dans ce registre.")
    elif not missions:
        st.markdown("**Missions contractualisées** : aucune à la date du registre.")
    else:
        st.markdown("**Missions contractualisées** : " + ", ".join(mission_labels.get(m, m) for m in missions) + ".")
    if stage_code is not None and stage_code not in ("aci", "inconnu"):
        st.caption("L'ACI n'est pas signé à la date du registre : ces montants sont ceux que les grilles prévoient "
                   "une fois l'accord signé.")
    for view in views:
        in_force = " — **grille en vigueur à la date du registre**" if view.is_in_force else ""
        st.markdown(f"##### {view.grid_label}{in_force}")
        st.markdown(view.status)
        show_table(view.components, height="content")
        st.caption(f"Source : {view.source} ({view.source_date}) ; grille appliquée à partir du "
                   f"{view.valid_from:%d/%m/%Y}.")
        with st.expander("Règle de calcul et hypothèses de cette grille"):
            st.markdown("\n".join(f"- {note}" for note in view.notes))


def render_case_study_tables(cpts_id: str, figures: pd.DataFrame) -> None:
    st.subheader("Chiffres publiés par la thèse")
    st.caption("CPTS anonymisée : chiffres tels que publiés dans la thèse (section 4), à côté de la référence "
               "Île-de-France quand le tableau la donne.")
    for table in pf.case_study_tables():
        frame = pf.case_study_table(figures, cpts_id, table)
        if frame.empty:
            continue
        st.markdown(f"**{table.table_ref} : {table.title}**")
        show_table(frame, height="content")
        note = f"{table.source_note} ; " if table.source_note else ""
        st.caption(f"{note}thèse, {table.table_ref}.")


def render_workbook(identity: pf.ProfileIdentity, timeline: pd.DataFrame, territory: pf.TerritoryProfile | None,
                    funding: list[pf.FundingView]) -> None:
    """Every table of the profile in one XLSX workbook (built when the button is clicked)."""
    from observatory import exports

    def workbook() -> bytes:
        return exports.xlsx_bytes(*pf.profile_workbook_sheets(identity, timeline, territory, funding))

    st.download_button("Tableaux de la fiche (XLSX)", data=workbook, file_name=f"fiche_{identity.cpts_id}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore",
                       key="fiche_xlsx", icon=":material/download:")
