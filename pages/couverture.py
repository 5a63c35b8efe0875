"""Couverture : la carte des CPTS par stade, les zones blanches et les chevauchements, les chiffres clés
d'une zone à une date, leur évolution et les indicateurs territoriaux (APL, indicateurs importés et
calculés) par territoire.

Deep links: ``?echelle=france|region|departement&region=93&departement=13&date=2024-03-31&cpts=<cpts_id>``
(the frame adds ``registre``).
"""

import functools

import streamlit as st

from observatory import exports, url_params
from observatory.coverage import COUNTING_RULES, UNKNOWN_STAGE
from observatory.indicators import catalogue_entry
from observatory.maps import stage_styles
from observatory.safe_text import markdown_literal
from ui import cache
from ui import couverture_widgets as cw
from ui import indicator_widgets as iw
from ui.frame import page_context
from ui.map_component import show_map
from ui.widgets import register_banner, source_caption

# Widget keys of this page and the query parameters they are seeded from.
KEY_SCALE, PARAM_SCALE = "couverture_echelle", "echelle"
KEY_REGION, PARAM_REGION = "couverture_region", "region"
KEY_DEPARTEMENT, PARAM_DEPARTEMENT = "couverture_departement", "departement"
KEY_DATE, PARAM_DATE = "couverture_date", "date"
KEY_CPTS, PARAM_CPTS = "couverture_cpts", "cpts"
KEY_INDICATOR, KEY_YEAR = "couverture_indicateur", "couverture_annee"
KEY_MAP, KEY_INDICATOR_MAP = "couverture_carte", "couverture_carte_indicateur"
KEY_SEEN_REGISTER = "couverture_registre_affiche"  # not a widget: detects a register change
NO_CPTS = ""
MAP_HEIGHT = 560
MAX_CPTS_BARS = 30  # beyond, the comparison chart keeps the areas and the table lists the CPTS

context = page_context()
st.title("Couverture du territoire par les CPTS")
register_banner(context)

path, register_id, register_region = context.db_path, context.register_id, context.register_region_code
register_changed = st.session_state.get(KEY_SEEN_REGISTER, register_id) != register_id
st.session_state[KEY_SEEN_REGISTER] = register_id


def seed(key: str, param: str | None, options: list, default, from_url: bool = True) -> None:
    """Give a widget its first value (from the URL when valid) or repair a value no longer offered."""
    if key in st.session_state and st.session_state[key] in options:
        return
    requested = url_params.choice(st.query_params.get(param), options) if (param and from_url) else None
    st.session_state[key] = requested if requested is not None else default


if register_changed:  # the date and the CPTS of another register mean nothing here; the URL is stale
    for key in (KEY_DATE, KEY_CPTS) + ((KEY_SCALE, KEY_REGION) if register_region else ()):
        st.session_state.pop(key, None)

labels, _ = stage_styles(cache.stage_table(path))
regions = cache.region_table(path)
departements = cache.departement_table(path)
region_names = dict(zip(regions["region_code"], regions["name"], strict=True))
departement_names = dict(zip(departements["departement_code"], departements["name"], strict=True))
cpts, _ = cache.couverture_register(path, register_id)

# --- Scale, area, date -----------------------------------------------------------------------------
# A région-only register opens on its région (the rest of France is « hors registre »).
seed(KEY_SCALE, PARAM_SCALE, list(cw.SCALES), "region" if register_region in region_names else "france",
     from_url=not register_changed)  # fmt: skip
default_region = register_region if register_region in region_names else regions["region_code"].iloc[0]
seed(KEY_REGION, PARAM_REGION, list(region_names), default_region, from_url=not register_changed)
region_departements = departements.loc[departements["region_code"] == st.session_state[KEY_REGION], "departement_code"]
seed(KEY_DEPARTEMENT, PARAM_DEPARTEMENT, list(departement_names), region_departements.iloc[0])
dates = cw.date_options(cpts, context.register_as_of)
if KEY_DATE not in st.session_state and not register_changed:  # ?date=AAAA-MM-JJ or AAAA-MM
    requested_date = url_params.date_option(st.query_params.get(PARAM_DATE), dates)
    if requested_date:
        st.session_state[KEY_DATE] = requested_date
seed(KEY_DATE, None, dates, cw.default_date(dates, context.register_as_of))

scale_column, area_column, date_column = st.columns([2.4, 2, 2.6])
scale = scale_column.radio("Échelle", list(cw.SCALES), format_func=cw.SCALES.get, horizontal=True, key=KEY_SCALE)
if scale == "region":
    area_code = area_column.selectbox(
        "Région", list(region_names), format_func=lambda c: f"{region_names[c]} ({c})", key=KEY_REGION
    )
    area_name = region_names[area_code]
elif scale == "departement":
    area_code = area_column.selectbox(
        "Département", list(departement_names), format_func=lambda c: f"{c} – {departement_names[c]}",
        key=KEY_DEPARTEMENT,
    )  # fmt: skip
    area_name = f"{departement_names[area_code]} ({area_code})"
else:
    area_code, area_name = None, "France entière"
    area_column.markdown("**Zone**  \nFrance entière (métropole et DROM)")
as_of = date_column.select_slider(
    "Date de référence",
    options=dates,
    format_func=cw.format_date,
    key=KEY_DATE,
    help="La carte et les chiffres montrent les CPTS telles qu'elles étaient à cette date (fin de mois ; "
    "la dernière valeur est la date du registre).",
)

figures = cache.couverture_key_figures(path, register_id, as_of, register_region, scale, area_code)
sources = cache.sources(path)

# --- Key figures ----------------------------------------------------------------------------------
st.subheader(f"{area_name} au {cw.format_date(as_of)}")
if register_region is not None:
    st.info(COUNTING_RULES["out_of_register"], icon=":material/map:")
if figures.cpts_count_by_stage.get(UNKNOWN_STAGE, 0):
    st.info(COUNTING_RULES["unknown_stage"], icon=":material/help:")
cw.render_key_figures(figures, labels)
st.caption(
    cw.register_source_text(context.register_name, context.is_demo, context.register_kind, context.register_as_of)
)
source_caption(sources, cw.base_source_ids(), prefix="Populations et contours")
with st.expander("Comment les chiffres sont comptés"):
    for name, rule in COUNTING_RULES.items():
        if name != "out_of_register" or register_region is not None:
            st.markdown(f"- {rule}")

# --- Map and CPTS selection -----------------------------------------------------------------------
st.subheader("Carte")
area_cpts = cache.couverture_area_cpts(path, register_id, as_of, register_region, scale, area_code)
cpts_names = dict(zip(area_cpts["cpts_id"], area_cpts["name"], strict=True))
cpts_options = [NO_CPTS, *area_cpts["cpts_id"]]
seed(KEY_CPTS, PARAM_CPTS, cpts_options, NO_CPTS, from_url=not register_changed)
selected = st.selectbox(
    "CPTS à mettre en évidence (ou cliquez sur la carte)",
    cpts_options,
    format_func=lambda c: "Aucune" if c == NO_CPTS else cpts_names[c],
    key=KEY_CPTS,
)
selected = selected or None
if selected:
    cw.render_selected_cpts(area_cpts[area_cpts["cpts_id"] == selected].iloc[0], labels, register_id)


def select_clicked_cpts(unit_cpts: dict[str, tuple], offered: frozenset[str]) -> None:
    """Map click (streamlit-folium's ``last_active_drawing``) -> the CPTS selectbox, before the rerun."""
    clicked = (st.session_state.get(KEY_MAP) or {}).get("last_active_drawing")
    cpts_id = cw.cpts_id_of_feature(clicked, unit_cpts)
    if cpts_id in offered:
        st.session_state[KEY_CPTS] = cpts_id


show_map(
    cache.couverture_map(path, register_id, as_of, register_region, scale, area_code, selected),
    key=KEY_MAP,
    height=MAP_HEIGHT,
    returned_objects=["last_active_drawing"],  # a click reruns the page; pan and zoom never do
    on_change=functools.partial(
        select_clicked_cpts,
        cache.couverture_click_lookup(path, register_id, as_of, register_region, scale, area_code),
        frozenset(area_cpts["cpts_id"]),
    ),
)
if scale == "departement":
    st.caption(
        "Chaque commune prend la couleur du stade le plus avancé de ses CPTS ; survolez une commune pour son nom, "
        "ses CPTS et sa population. Cliquez sur une commune pour mettre sa CPTS en évidence."
    )
else:
    st.caption(
        "Territoires des CPTS actives à la date (contours fusionnés), sur le fond des départements ; les "
        "communes revendiquées par plusieurs CPTS sont en rouge. Survolez une CPTS pour son stade, sa "
        "population et son nombre de communes ; cliquez pour la mettre en évidence. Pour le détail des "
        "communes, choisissez l'échelle Département."
    )
source_caption(sources, [cw.GEOMETRY_SOURCE_ID], prefix="Contours")

# Page state in the URL, so that a view can be shared (deep link).
wanted = {PARAM_SCALE: scale, PARAM_DATE: as_of}
if scale == "region":
    wanted[PARAM_REGION] = area_code
if scale == "departement":
    wanted[PARAM_DEPARTEMENT] = area_code
if selected:
    wanted[PARAM_CPTS] = selected
cw.sync_query_params(wanted, (PARAM_SCALE, PARAM_REGION, PARAM_DEPARTEMENT, PARAM_DATE, PARAM_CPTS))

# --- Table ----------------------------------------------------------------------------------------
table = cache.couverture_area_table(path, register_id, as_of, register_region, scale, area_code)
table_titles = {
    "france": ("Chiffres par région", "regions"),
    "region": (f"Chiffres par département – {area_name}", f"departements_{area_code}"),
    "departement": (f"CPTS actives dans le département – {area_name}", f"cpts_{area_code}"),
}
title, file_stem = table_titles[scale]
st.subheader(title)
if table.empty:
    st.info("Aucune CPTS active dans cette zone à cette date.")
else:
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Télécharger le tableau (CSV pour Excel)",
        data=exports.csv_bytes(table),
        file_name=f"couverture_{file_stem}_{as_of}.csv",
        mime="text/csv",
        on_click="ignore",
        key="couverture_csv",
    )
    st.caption(
        f"État au {cw.format_date(as_of)}. "
        + (COUNTING_RULES["cpts_population"] if scale == "departement" else COUNTING_RULES["cpts_in_area"])
    )
    source_caption(sources, [cw.POPULATION_SOURCE_ID], prefix="Populations")

# --- Over time ------------------------------------------------------------------------------------
st.subheader("Évolution dans le temps")
end = dates[-1]
published = cache.couverture_published_figures() if scale == "france" else None
# theme=None: the charts carry their own French configuration; Streamlit's theme squeezes layered charts.
st.vega_lite_chart(
    spec=cache.couverture_stage_chart(path, register_id, scale, area_code, end), width="stretch", theme=None
)
st.vega_lite_chart(
    spec=cache.couverture_coverage_chart(path, register_id, scale, area_code, end), width="stretch", theme=None
)
st.caption(
    f"Courbes : calculées sur le registre « {markdown_literal(context.register_name)} » (état à la fin de chaque mois, de "
    f"janvier 2019 au {cw.format_date(end)}), pour les CPTS ayant au moins une commune dans la zone."
)
if published is not None:
    st.caption(
        "Losanges : chiffres nationaux publiés, avec leur propre définition (survolez-les) — nombre de CPTS : "
        f"{cw.published_sources_text(published, 'cpts_count')} ; part de la population couverte : "
        f"{cw.published_sources_text(published, 'population_covered_pct')}."
    )
else:
    st.caption("Les chiffres nationaux publiés ne sont comparés qu'à l'échelle France.")

# --- Territorial indicators ---------------------------------------------------------------------
st.subheader("Indicateurs territoriaux")
catalogue = iw.offered_catalogue(path)
if catalogue.empty:
    st.info("Aucun indicateur territorial n'est chargé dans la base.")
    st.stop()
indicator_labels = iw.choices(catalogue)
# Default: the first indicator with a reference threshold (the catalogue decides, not the page).
with_threshold = catalogue.loc[catalogue["threshold_value"].notna(), "indicator_code"]
seed(
    KEY_INDICATOR,
    None,
    list(indicator_labels),
    (with_threshold.iloc[0] if len(with_threshold) else catalogue["indicator_code"].iloc[0]),
)
indicator_column, year_column = st.columns([3, 1])
indicator_code = indicator_column.selectbox(
    "Indicateur", list(indicator_labels), format_func=indicator_labels.get, key=KEY_INDICATOR,
    help="Indicateurs du catalogue (APL de la DREES), importés (python -m observatory import-indicator) et "
    "calculés à partir d'eux (data/derived_indicators.json).",
)
entry = catalogue_entry(catalogue, indicator_code)
years = sorted((int(y) for y in entry["years"]), reverse=True)
seed(KEY_YEAR, None, years, years[0])
year = year_column.selectbox("Année", years, key=KEY_YEAR)
iw.render_indicator(path, register_id, as_of, register_region, scale, area_code, selected, entry, year,
                    KEY_INDICATOR_MAP, MAP_HEIGHT, MAX_CPTS_BARS)
