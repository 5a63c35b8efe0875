"""Synthèse régionale : pour une région ou la France et une campagne annuelle d'auto-évaluation, le taux de
réponse par département, les niveaux de maturité par taille et par stade, la carte des CPTS par niveau à
côté de la carte de couverture, et les sous-dimensions le plus souvent faibles (enquête annuelle proposée
par la thèse, section 5)."""

import datetime as dt

import streamlit as st

from observatory import access
from observatory.instrument import latest_scoring_version, load_scoring_model
from observatory.regional import campaign_years
from ui import cache, cache_campaigns, cache_couverture, cache_fiche
from ui import synthese_widgets as sw
from ui.frame import page_context
from ui.map_component import show_map
from ui.profile_widgets import ensure_demo_assessments
from ui.user_access import user_data
from ui.widgets import register_banner

context = page_context()
st.title("Synthèse régionale des auto-évaluations")
register_banner(context)
ensure_demo_assessments(context)
model = load_scoring_model(latest_scoring_version())
path, user_path = context.db_path, cache.user_db_path()
token = cache_fiche.user_db_token(user_path)
as_of = context.register_as_of or dt.date.today().isoformat()
caller = user_data(context).caller
# Demo data is public; a real register's synthesis belongs to its région's viewers and to administrators.
if not context.is_demo and caller.role not in ("admin", "regional_viewer"):
    st.info("Synthèse réservée aux lecteurs régionaux (ARS, CPAM) et aux administrateurs pour un registre réel : "
            "connectez-vous (barre latérale), ou choisissez le registre de démonstration.", icon=":material/lock:")
    st.stop()
profiles = cache.auto_evaluation_profiles(path, context.register_id, as_of)
assessments = cache_campaigns.register_assessments(user_path, token, tuple(profiles["cpts_id"].astype(str)))
years = campaign_years(assessments)
if not years:
    st.info("Aucune auto-évaluation soumise pour les CPTS de ce registre : la synthèse apparaîtra avec les premières campagnes.")
    st.stop()

regions = cache.region_table(path)
depts = cache.departement_table(path)
present = set(depts.loc[depts["departement_code"].isin(profiles["main_departement_code"].astype(str)), "region_code"])
choices = [None, *[r for r in regions["region_code"] if r in present]]
if not context.is_demo:  # the caller's own régions (all of them for administrators)
    choices = [r for r in choices if access.sees_region(caller, r)]
    if not choices:
        st.info("Aucune région de ce registre dans le périmètre de votre compte.", icon=":material/lock:")
        st.stop()
names = dict(zip(regions["region_code"], regions["name"], strict=True))
c1, c2 = st.columns(2)
region = c1.selectbox("Périmètre", choices, format_func=lambda r: "France entière" if r is None else names[r],
                      index=choices.index(context.register_region_code) if context.register_region_code in choices else 0,
                      key="synthese_region")
year = c2.selectbox("Campagne", years, format_func=lambda y: f"Campagne {y}", key="synthese_annee")
synthesis = cache_campaigns.regional_synthesis(path, context.register_id, as_of, user_path, token, year, region, model.version)
sw.render_summary(synthesis, context.is_demo)
sw.render_rates(synthesis)
sw.render_levels(synthesis, model)

st.subheader("Carte des CPTS par niveau déclaré, à côté de la couverture")
left, right = st.columns(2)
with left:
    show_map(cache_campaigns.maturity_map(path, context.register_id, as_of, user_path, token, year, region, model.version,
                                          not context.is_demo and caller.role != "admin"),
             key="synthese_carte_niveaux", height=460)
    st.caption(f"Niveau de la dernière auto-évaluation {year} de chaque CPTS (modèle v{model.version}) ; gris clair : pas "
               "d'évaluation cette année. Un niveau déclaré n'est ni un classement ni un critère de financement (thèse, section 5).")
with right:
    level, code = ("france", None) if region is None else ("region", region)
    show_map(cache_couverture.couverture_map(path, context.register_id, as_of, context.register_region_code, level, code, None),
             key="synthese_carte_couverture", height=460)
    st.caption(f"Couverture par stade au {dt.date.fromisoformat(as_of):%d/%m/%Y} (page « Couverture »).")
sw.render_weakest(synthesis)
