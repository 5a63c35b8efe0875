"""Couverture : la carte des CPTS par stade, les zones blanches et les chevauchements, les chiffres clés
d'une zone à une date, leur évolution et les indicateurs territoriaux (APL, indicateurs importés et
calculés) par territoire.

The view (scale, région, département, date, CPTS, commune found) is the shared view state, in the link:
``?registre=demo&echelle=departement&region=93&departement=13&date=2024-03-31&cpts=<id>&commune=13055``.
"""

import functools

import streamlit as st

from observatory import coverage_views as views
from observatory.coverage import COUNTING_RULES, UNKNOWN_STAGE, stage_styles
from observatory.safe_text import markdown_literal
from ui import cache
from ui import cache_couverture as cc
from ui import couverture_widgets as cw
from ui import indicator_widgets as iw
from ui import view_state as view
from ui.frame import page_context
from ui.map_component import show_map
from ui.tables import show_table
from ui.widgets import register_banner, source_caption, source_texts

MAP_HEIGHT = 440
MAX_CPTS_BARS = 30  # beyond, the comparison chart keeps the areas and the table lists the CPTS

context = page_context()
st.title("Couverture du territoire par les CPTS")
register_banner(context)
path, register_id, register_region = context.db_path, context.register_id, context.register_region_code
options = cc.couverture_view_options(path, register_id, context.register_as_of, register_region)
state = view.start(cw.PAGE, options)
scale, code, as_of = state.scale, state.area_code, state.as_of

regions, departements = cache.region_table(path), cache.departement_table(path)
region_names = dict(zip(regions["region_code"], regions["name"], strict=True))
departement_names = dict(zip(departements["departement_code"], departements["name"], strict=True))
stages = cache.stage_table(path)
labels, _ = stage_styles(stages)
area = views.area_of(scale, code, departements)
area_name = views.area_name(scale, code, region_names, departement_names)
cw.render_controls(state, options, region_names, departement_names)

# --- Map, with the key figures and the legend beside it --------------------------------------------
# The map comes first in the run (its few-kilobyte view is all a date or area change sends to it); what is
# beside and under it is computed after.
map_column, side = st.columns([2, 1], gap="small")
with map_column:
    show_map(
        cc.couverture_base(path, register_id, register_region),
        key=cw.KEY_MAP,
        height=MAP_HEIGHT,
        returned_objects=["last_active_drawing"],  # a click reruns the page; pan and zoom never do
        on_change=cw.on_map_click(path, options, state),
        update=cc.couverture_view_script(path, register_id, as_of, register_region, scale, code, state.cpts_id,
                                         state.commune_code, cw.fit_key(state)),
    )
figures = cc.couverture_key_figures(path, register_id, as_of, register_region, scale, code)
with side:
    cw.render_date(state, options)
    cw.render_search(path, register_id, options, state)
    cw.render_key_figures(figures)
    cw.render_legend(register_region, stages, figures)

if state.commune_code:
    cw.render_commune_found(cc.couverture_places(path), cc.couverture_snapshot(path, register_id, as_of, register_region),
                            state.commune_code)
area_cpts = cc.couverture_area_cpts(path, register_id, as_of, register_region, scale, code)
selected = cw.render_cpts_choice(state, options, area_cpts)
if selected:
    cw.render_selected_cpts(area_cpts[area_cpts["cpts_id"] == selected].iloc[0], labels, state)
sources = cache.sources(path)
if scale == "departement" or area.is_overseas:
    st.caption("Chaque commune prend la couleur du stade le plus avancé de ses CPTS ; survolez une commune pour son "
               "nom, ses CPTS et sa population ; cliquez pour mettre sa CPTS en évidence.")
else:
    st.caption("Territoires des CPTS actives à la date (contours fusionnés) sur le fond des départements ; les "
               "communes revendiquées par plusieurs CPTS sont en rouge. Les départements d'outre-mer sont en encarts, "
               "chacun à sa propre échelle (l'échelle graphique vaut pour la métropole). Survolez une CPTS pour son "
               "stade et sa population ; cliquez pour la mettre en évidence ; pour le détail des communes, choisissez "
               "l'échelle Département.")
if register_region is not None:
    st.info(COUNTING_RULES["out_of_register"], icon=":material/map:")
if figures.cpts_count_by_stage.get(UNKNOWN_STAGE, 0):
    st.info(COUNTING_RULES["unknown_stage"], icon=":material/help:")
register_text = cw.register_source_text(context.register_name, context.is_demo, context.register_kind,
                                        context.register_as_of)
st.caption(register_text)
source_caption(sources, cw.base_source_ids(), prefix="Populations et contours")
stem = f"couverture_{code or 'france'}_{as_of}"
footer = (cw.register_source_text(context.register_name, context.is_demo, context.register_kind, context.register_as_of,
                                  plain=True) + f" Date de référence : {views.format_date(as_of)}.",
          "Populations et contours : " + " ; ".join(source_texts(sources, cw.base_source_ids())) + ".")
cw.render_view_downloads(
    functools.partial(cc.couverture_png, path, register_id, as_of, register_region, scale, code,
                      f"Couverture du territoire par les CPTS – {area_name}", (f"État au {views.format_date(as_of)}",),
                      footer),
    functools.partial(cc.couverture_geojson, path, register_id, as_of, register_region, scale, code,
                      context.register_name, context.is_demo),
    stem,
)
with st.expander("Comment les chiffres sont comptés"):
    for name, rule in COUNTING_RULES.items():
        if name != "out_of_register" or register_region is not None:
            st.markdown(f"- {rule}")

# --- Table ----------------------------------------------------------------------------------------
table = cc.couverture_area_table(path, register_id, as_of, register_region, scale, code)
st.subheader(views.AREA_TITLES[scale].format(name=area_name))
if table.empty:
    st.info("Aucune CPTS active dans cette zone à cette date.")
else:
    show_table(table)
    rule = COUNTING_RULES["cpts_population"] if scale == "departement" else COUNTING_RULES["cpts_in_area"]
    cw.render_table_downloads(table, stem, views.AREA_TITLES[scale].format(name=area_name)[:31],
                              [f"État au {views.format_date(as_of)}.", rule, footer[0], footer[1]])
    st.caption(f"État au {views.format_date(as_of)}. {rule}")
    source_caption(sources, [cw.POPULATION_SOURCE_ID], prefix="Populations")

# --- Over time ------------------------------------------------------------------------------------
st.subheader("Évolution dans le temps")
end = options.dates[-1]
# theme=None: the charts carry their own French configuration; Streamlit's theme squeezes layered charts.
st.vega_lite_chart(spec=cc.couverture_stage_chart(path, register_id, scale, code, end), width="stretch", theme=None)
st.vega_lite_chart(spec=cc.couverture_coverage_chart(path, register_id, scale, code, end), width="stretch", theme=None)
st.caption(f"Courbes : calculées sur le registre « {markdown_literal(context.register_name)} » (état à la fin de chaque "
           f"mois, de janvier 2019 au {views.format_date(end)}), pour les CPTS ayant au moins une commune dans la zone.")
if scale == "france":
    published = cc.couverture_published_figures()
    st.caption("Losanges : chiffres nationaux publiés, avec leur propre définition (survolez-les) — nombre de CPTS : "
               f"{cw.published_sources_text(published, 'cpts_count')} ; part de la population couverte : "
               f"{cw.published_sources_text(published, 'population_covered_pct')}.")
else:
    st.caption("Les chiffres nationaux publiés ne sont comparés qu'à l'échelle France.")

# --- Territorial indicators ---------------------------------------------------------------------
st.subheader("Indicateurs territoriaux")
iw.render_indicator_section(path, register_id, as_of, register_region, scale, code, selected, MAP_HEIGHT, MAX_CPTS_BARS)
