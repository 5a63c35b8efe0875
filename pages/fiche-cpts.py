"""Fiche CPTS : identité, stades, territoire, indicateurs, auto-évaluation et plafond de financement ACI
d'une CPTS ; chiffres publiés pour les études de cas de la thèse. Lien partageable : ?cpts=<identifiant>."""

import streamlit as st

from observatory import funding
from observatory import profile as pf
from observatory.readers.cog import SOURCE_ID as POPULATION_SOURCE_ID
from observatory.readers.geometry import SOURCE_ID as GEOMETRY_SOURCE_ID
from ui import cache, cache_fiche, errors
from ui import fiche_widgets as fw
from ui.cache_indicators import members_share
from ui.frame import page_context
from ui.indicator_widgets import render_members_share
from ui.profile_widgets import choose_cpts, ensure_demo_assessments
from ui.user_access import user_data
from ui.widgets import register_banner

context = page_context()
st.title("Fiche CPTS")
register_banner(context)
ensure_demo_assessments(context)

path, user_path = context.db_path, cache.user_db_path()
token = cache_fiche.user_db_token(user_path)
data = user_data(context)
assessed = errors.user_data(data.assessed_cpts, {})  # the CPTS whose assessments this caller may see
chosen = choose_cpts(context, "fiche", preferred_ids=sorted(assessed))
if chosen is None:
    st.stop()

cpts_row = cache_fiche.profile_find_cpts(path, chosen.cpts_id)
# Case studies have no territory (anonymised): no summary, no map, their published figures instead.
summary = None if chosen.is_case_study else cache_fiche.profile_summary_row(path, chosen.register_id, chosen.as_of,
                                                                      chosen.region_code, chosen.cpts_id)
departements = cache.departement_table(path)
figures = cache_fiche.profile_case_study_figures(path) if chosen.is_case_study else None
identity = pf.profile_identity(
    cpts_row,
    chosen.register,
    summary if summary and summary["communes_count"] > 0 else None,
    dict(zip(departements["departement_code"], departements["name"], strict=True)),
    dict(zip(departements["departement_code"], departements["region_code"], strict=True)),
    published_population=pf.published_population(figures, chosen.cpts_id) if figures is not None else None,
)
fw.render_identity(identity)
timeline = cache_fiche.profile_timeline(path, chosen.cpts_id, chosen.as_of)
fw.render_timeline(*timeline)

sources = cache.sources(path)
territory = None if chosen.is_case_study else cache_fiche.profile_territory(path, chosen.register_id, chosen.as_of,
                                                                        chosen.region_code, chosen.cpts_id)
fw.render_territory(path, chosen, territory, sources, [GEOMETRY_SOURCE_ID], [POPULATION_SOURCE_ID])
if territory is not None and data.can_see(chosen.cpts_id):  # from the CPTS's own answers (Q12)
    render_members_share(members_share(path, chosen.register_id, chosen.as_of, chosen.region_code, chosen.cpts_id,
                                       user_path, token))
if figures is not None:
    fw.render_case_study_tables(chosen.cpts_id, figures)

if chosen.is_case_study:
    fw.render_case_study_assessment(*cache_fiche.profile_case_study_view(chosen.cpts_id, chosen.name))
else:
    visible = errors.user_data(lambda: fw.visible_assessment_ids(data, chosen.cpts_id), errors.UNAVAILABLE)
    if visible is errors.UNAVAILABLE:  # the store cannot be read (said above)
        fw.render_assessment_unavailable()
    elif visible is None:
        fw.render_assessment_denied(data.caller)
    else:
        group = cache.auto_evaluation_profiles(path, chosen.register_id, chosen.as_of)
        peer_ids = data.peer_ids(fw.peer_group_ids(group, chosen.cpts_id), chosen.cpts_id)
        fw.render_assessment(chosen, cache_fiche.profile_assessment_view(
            path, chosen.register_id, chosen.as_of, user_path, token, chosen.cpts_id, chosen.name, visible, peer_ids))
        if data.can_see(chosen.cpts_id):  # the whole history is the CPTS's (its ARS sees only what it shared)
            errors.user_data(lambda: fw.render_rescoring(chosen, user_path, token), None)

missions = pf.missions_of(cache_fiche.profile_missions(path, chosen.register_id), chosen.cpts_id)
funding_views = pf.funding_views(identity.population_count, missions, chosen.as_of)
fw.render_funding(
    funding_views,
    missions,
    {code: m.label for code, m in funding.load_grids().missions.items()},
    identity.stage_code,
)
fw.render_workbook(identity, timeline[0], territory, funding_views)
