"""Pieces of the « Couverture » page: its controls (bound to the shared view state, so Back and Forward
restore them), the search, the key figures and legend beside the map, the selected CPTS, the exports.
Values come from ``ui.cache_couverture`` and ``observatory``; this module reads widgets and displays."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from observatory import coverage_views as views
from observatory import exports
from observatory import view_state as vs
from observatory.coverage import COUNTING_RULES, UNKNOWN_STAGE, KeyFigures
from observatory.coverage_map import coverage_legend
from observatory.funding import size_class_labels
from observatory.indicators import format_number
from observatory.maps import legend_html
from observatory.readers.cog import SOURCE_ID as POPULATION_SOURCE_ID
from observatory.readers.geometry import SOURCE_ID as GEOMETRY_SOURCE_ID
from observatory.safe_text import markdown_literal
from observatory.view_state import ViewOptions, ViewState
from ui import cache_couverture as cc
from ui import errors
from ui import view_state as view
from ui.navigation import PAGES, PageSpec

PAGE = "couverture"
SCALES = vs.SCALES
PROFILE_URL_PATH = "fiche-cpts"
KEY_SCALE, KEY_REGION, KEY_DEPARTEMENT = "couverture_echelle", "couverture_region", "couverture_departement"
KEY_DATE, KEY_CPTS, KEY_MAP = "couverture_date", "couverture_cpts", "couverture_carte"
KEY_SEARCH, KEY_RESULTS, KEY_SEARCH_TOKEN = "couverture_recherche", "couverture_resultats", "couverture_recherche_n"
NO_CPTS = ""


# ---------------------------------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------------------------------


@errors.guarded_callback
def _changed(options: ViewOptions, field: str, key: str) -> None:
    """A control moved (callback): the state and the link change at once (one history entry)."""
    value = st.session_state[key]
    if field == "region_code":
        view.change(PAGE, options, lambda s: vs.with_region(s, value, options))
    elif field == "departement_code":
        view.change(PAGE, options, lambda s: vs.with_departement(s, value, options))
    else:
        view.change(PAGE, options, lambda s: s.replace(**{field: value or None}))


def render_controls(state: ViewState, options: ViewOptions, region_names: Mapping[str, str],
                    departement_names: Mapping[str, str]) -> None:
    """Scale, région (and the département list that follows it), above the map."""
    scale_col, region_col, dept_col = st.columns([1.35, 1, 1.1], vertical_alignment="bottom")
    scale_col.segmented_control("Échelle", list(SCALES), format_func=SCALES.get, required=True,
                                key=view.bind(KEY_SCALE, state.scale), on_change=_changed,
                                args=(options, "scale", KEY_SCALE))
    if state.scale == "france":
        region_col.markdown("**Zone**  \nFrance entière", help="Métropole et départements d'outre-mer (en encarts).")
    else:
        region_col.selectbox("Région", list(options.region_codes), format_func=lambda c: region_names.get(c, c),
                             key=view.bind(KEY_REGION, state.region_code), on_change=_changed,
                             args=(options, "region_code", KEY_REGION))
    if state.scale == "departement":
        in_region = list(options.departements_of.get(state.region_code, ()))
        dept_col.selectbox("Département", in_region, format_func=lambda c: f"{c} – {departement_names.get(c, c)}",
                           key=view.bind(KEY_DEPARTEMENT, state.departement_code), on_change=_changed,
                           args=(options, "departement_code", KEY_DEPARTEMENT))


def render_date(state: ViewState, options: ViewOptions) -> None:
    """The time control (beside the map)."""
    st.select_slider("Date de référence", options=list(options.dates), format_func=views.format_date,
                     key=view.bind(KEY_DATE, state.as_of), on_change=_changed, args=(options, "as_of", KEY_DATE),
                     help="La carte et les chiffres montrent les CPTS telles qu'elles étaient à cette date (fin de "
                     "mois ; la dernière valeur est la date du registre).")


# ---------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------


def _go_to(path: str, options: ViewOptions, match_kind: str, code: str, departement: str | None) -> None:
    st.session_state[KEY_SEARCH_TOKEN] = st.session_state.get(KEY_SEARCH_TOKEN, 0) + 1
    if match_kind == "commune":
        # A commune is seen in its département, with its neighbours, outlined.
        view.change(PAGE, options, lambda s: vs.with_departement(s.replace(scale="departement", commune_code=code),
                                                                departement, options))
    else:
        view.change(PAGE, options, lambda s: s.replace(cpts_id=code, commune_code=None))


@errors.guarded_callback
def _searched(path: str, register_id: str, options: ViewOptions) -> None:
    matches = cc.couverture_search(path, register_id, st.session_state.get(KEY_SEARCH) or "")
    st.session_state.pop(KEY_RESULTS, None)
    if len(matches) == 1 or (matches and _is_exact(matches[0].label, st.session_state.get(KEY_SEARCH))):
        _go_to(path, options, matches[0].kind, matches[0].code, matches[0].departement_code)


def _is_exact(label: str, query: str | None) -> bool:
    from observatory.place_search import normalise

    return normalise(label.split(" (")[0].split(" – ")[0]) == normalise(query or "")


@errors.guarded_callback
def _picked(path: str, options: ViewOptions, matches: tuple) -> None:
    index = st.session_state.get(KEY_RESULTS)
    if index is not None:
        match = matches[index]
        _go_to(path, options, match.kind, match.code, match.departement_code)


def render_search(path: str, register_id: str, options: ViewOptions, state: ViewState) -> None:
    """A commune or a CPTS by name: the map zooms to it and outlines it."""
    st.text_input("Rechercher une commune ou une CPTS", key=KEY_SEARCH, label_visibility="collapsed",
                  placeholder="Rechercher une commune ou une CPTS", on_change=_searched, args=(path, register_id, options),
                  help="Une commune s'ouvre dans son département, entourée ; une CPTS est mise en évidence.")
    query = st.session_state.get(KEY_SEARCH) or ""
    matches = tuple(cc.couverture_search(path, register_id, query)) if query else ()
    if query and not matches:
        st.caption("Aucune commune ni CPTS de ce nom.")
    elif len(matches) > 1:
        st.selectbox("Résultats", range(len(matches)), format_func=lambda i: matches[i].label, index=None,
                     key=KEY_RESULTS, placeholder=f"{len(matches)} résultats : choisissez", on_change=_picked,
                     args=(path, options, matches), label_visibility="collapsed")


def fit_key(state: ViewState) -> str:
    return views.fit_key(state, st.session_state.get(KEY_SEARCH_TOKEN, 0))


# ---------------------------------------------------------------------------------------------------
# Beside the map: key figures and legend
# ---------------------------------------------------------------------------------------------------


def fmt_int(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 0)


def fmt_pct(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 1) + " %"


def share(part: float, whole: float) -> float | None:
    return part / whole * 100 if whole else None


def key_figure_rows(figures: KeyFigures) -> list[tuple[str, str, str]]:
    """(label, value, what it counts) of the headline figures: CPTS, population covered, white zone, overlaps
    and, for a région-only register, « hors registre ». Percentages are over the population known to the
    register."""
    in_register = figures.population_count - figures.out_of_register_population
    rows = [
        ("CPTS actives", fmt_int(figures.cpts_count), COUNTING_RULES["cpts_in_area"]),
        ("Couverture", f"{fmt_pct(share(figures.population_covered, in_register))} · "
         f"{fmt_int(figures.population_covered)} hab.", COUNTING_RULES["population_once"]),
        ("Zone blanche", f"{fmt_pct(share(figures.white_zone_population, in_register))} · "
         f"{fmt_int(figures.white_zone_population)} hab.",
         "Part de la population vivant dans une commune couverte par aucune CPTS à la date."),
        ("Chevauchements", f"{fmt_int(figures.overlap_units)} communes ({fmt_int(figures.overlap_population)} hab.)",
         "Communes revendiquées par plusieurs CPTS actives à la date."),
    ]  # fmt: skip
    if figures.out_of_register_units:
        rows.append(("Hors registre", f"{fmt_int(figures.out_of_register_units)} communes · "
                     f"{fmt_int(figures.out_of_register_population)} hab.", COUNTING_RULES["out_of_register"]))
    return rows


FIGURES_CSS = (".chiffres-cles{width:100%;border-collapse:collapse;font:13.5px/1.3 sans-serif;color:#222;}"
               ".chiffres-cles th{text-align:left;font-weight:normal;color:#555;padding:2px 8px 2px 0;vertical-align:top;"
               "white-space:nowrap;}.chiffres-cles td{font-weight:600;padding:2px 0;font-variant-numeric:tabular-nums;}")


def render_key_figures(figures: KeyFigures) -> None:
    """The headline figures, compact (a table beside the map); each row's counting rule on hover."""
    from observatory.safe_text import html_literal

    rows = "".join(f'<tr title="{html_literal(rule)}"><th scope="row">{html_literal(label)}</th>'
                   f"<td>{html_literal(value)}</td></tr>" for label, value, rule in key_figure_rows(figures))
    st.html(f'<style>{FIGURES_CSS}</style><table class="chiffres-cles" aria-label="Chiffres clés">{rows}</table>')


def render_legend(register_region: str | None, stages: pd.DataFrame, figures: KeyFigures) -> None:
    """The map's legend (beside it, never on it), each stage with its number of CPTS at the date."""
    items = coverage_legend(register_region, stages, figures.cpts_count_by_stage,
                            (figures.white_zone_units, figures.white_zone_population),
                            (figures.overlap_units, figures.overlap_population))
    st.html(legend_html("Légende", items))


# ---------------------------------------------------------------------------------------------------
# Under the map
# ---------------------------------------------------------------------------------------------------


def profile_page() -> PageSpec | None:
    """The « Fiche CPTS » page when the app declares it."""
    return next((p for p in PAGES if p.url_path == PROFILE_URL_PATH), None)


@errors.guarded_callback
def select_clicked_cpts(path: str, options: ViewOptions, state: ViewState) -> None:
    """Map click (streamlit-folium's ``last_active_drawing``) -> the selected CPTS, before the rerun."""
    clicked = (st.session_state.get(KEY_MAP) or {}).get("last_active_drawing")
    # options.default_region is the register's région (None for a national register), as the caches are keyed.
    args = (path, state.register_id, state.as_of, options.default_region, state.scale, state.area_code)
    cpts_id = views.cpts_id_of_feature(clicked, cc.couverture_click_lookup(*args))
    if cpts_id in set(cc.couverture_area_cpts(*args)["cpts_id"]):
        view.change(PAGE, options, lambda s: s.replace(cpts_id=cpts_id))


def on_map_click(path: str, options: ViewOptions, state: ViewState):
    return functools.partial(select_clicked_cpts, path, options, state)


def render_cpts_choice(state: ViewState, options: ViewOptions, area_cpts: pd.DataFrame) -> str | None:
    names = dict(zip(area_cpts["cpts_id"], area_cpts["name"], strict=True))
    offered = [NO_CPTS, *area_cpts["cpts_id"]]
    selected = state.cpts_id if state.cpts_id in names else NO_CPTS
    st.selectbox("CPTS mise en évidence (ou cliquez sur la carte)", offered,
                 format_func=lambda c: "Aucune" if c == NO_CPTS else names[c], key=view.bind(KEY_CPTS, selected),
                 on_change=_changed, args=(options, "cpts_id", KEY_CPTS))
    return selected or None


def render_selected_cpts(row: pd.Series, labels: Mapping[str, str], state: ViewState) -> None:
    """The selected CPTS: stage, population, communes, and a link to its profile (the view goes with it)."""
    stage = labels.get(row["stage_code"], row["stage_code"]) if isinstance(row["stage_code"], str) else "—"
    size = size_class_labels().get(int(row["size_class"]), "") if pd.notna(row["size_class"]) else "n.d."
    st.markdown(
        f"**{markdown_literal(row['name'])}** — stade : {stage} ; population : {fmt_int(row['population_count'])} hab. ; "
        f"communes : {fmt_int(row['communes_count'])} ; départements : {row['departement_codes'] or 'n.d.'} ; "
        f"taille ACI : {size} ; communes partagées avec une autre CPTS : {fmt_int(row['overlap_communes_count'])}."
    )
    spec = profile_page()
    if spec is not None:
        st.page_link(spec.path, label=f"Ouvrir la fiche de {markdown_literal(row['name'])}",
                     icon=":material/description:", query_params=vs.link_query(state, PROFILE_URL_PATH))


def render_commune_found(places: pd.DataFrame, snapshot, commune_code: str) -> None:
    rows = places[places["commune_code"] == commune_code]
    if rows.empty:
        return
    row = rows.iloc[0]
    units = snapshot.units
    mine = units[(units["commune_code"] == commune_code) | (units.get("parent_commune_code") == commune_code)]
    cpts = sorted({name for names in mine["cpts_names"] for name in names.split(" ; ") if name})
    covered = f"CPTS : {markdown_literal(', '.join(cpts))}" if cpts else "couverte par aucune CPTS à cette date"
    st.caption(f"Commune trouvée : **{markdown_literal(row['name'])}** ({row['departement_code']}), "
               f"{fmt_int(row['population_count'])} hab. — {covered}. Elle est entourée en orange sur la carte.")


def register_source_text(register_name: str, is_demo: bool, kind: str, as_of: str | None, plain: bool = False) -> str:
    """Caption text naming the register: Markdown (its name may come from an import, so it is escaped), or
    plain text with ``plain`` (an image's footer, a spreadsheet note)."""
    register_name = register_name if plain else markdown_literal(register_name)
    state = f", état au {views.format_date(as_of)}" if as_of else ""
    if is_demo:
        return f"Registre : {register_name}{state} (CPTS fictives, démonstration)."
    if kind == "imported":
        return f"Registre importé : {register_name}{state}."
    return f"Registre : {register_name}{state}."


def base_source_ids() -> list[str]:
    """Sources of every coverage figure besides the register: populations (COG) and contours."""
    return [POPULATION_SOURCE_ID, GEOMETRY_SOURCE_ID]


def published_sources_text(published: pd.DataFrame, measure: str) -> str:
    """« DGOS, juin 2022 (2022-06) ; Présentation ... (2021-06, 2022-12) » for the figures of one measure."""
    rows = published[published["measure"] == measure].sort_values("date")
    dates = rows.groupby("source_label", sort=False)["date_text"].agg(lambda d: ", ".join(dict.fromkeys(d)))
    return " ; ".join(f"{label} ({when})" for label, when in dates.items())


def indicator_table(rows: pd.DataFrame, entry: dict) -> pd.DataFrame:
    """``indicators.indicator_by_territory`` rows with French headers (display and CSV)."""
    decimals = int(entry.get("decimals") or 0)
    table = pd.DataFrame(
        {
            "Territoire": rows["territory_label"],
            f"Valeur ({entry['unit']})": rows["value"].round(decimals),
            "Population": rows["population_count"],
            "Communes": rows["units_count"],
            "Communes avec une valeur": rows["units_with_value"],
        }
    )
    if entry.get("threshold_value") is not None:
        table["Population sous le seuil"] = rows["population_below_threshold"].round(0).astype("Int64")
        table["Part sous le seuil (%)"] = rows["share_below_threshold_pct"].round(1)
    return table.reset_index(drop=True)


def stage_labels_in_order(labels: Mapping[str, str], with_unknown: bool) -> list[tuple[str, str]]:
    from observatory.coverage import NATIONAL_STAGES

    codes = list(NATIONAL_STAGES) + ([UNKNOWN_STAGE] if with_unknown else [])
    return [(code, labels.get(code, code)) for code in codes]


# ---------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------


def render_table_downloads(table: pd.DataFrame, stem: str, sheet: str, notes: list[str]) -> None:
    left, right = st.columns(2)
    left.download_button("Tableau (CSV pour Excel)", data=exports.csv_bytes(table), file_name=f"{stem}.csv",
                         mime="text/csv", on_click="ignore", key="couverture_csv", icon=":material/download:")
    right.download_button("Tableau (XLSX)", data=lambda: exports.xlsx_bytes({sheet: table}, {sheet: notes}),
                          file_name=f"{stem}.xlsx", on_click="ignore", key="couverture_xlsx",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          icon=":material/download:")


def render_view_downloads(png, geojson, stem: str) -> None:
    """The view as an image (legend, register, date, sources) and the CPTS perimeters as GeoJSON: built when
    a button is clicked, not at every rerun."""
    left, right = st.columns(2)
    left.download_button("Carte de la vue (PNG)", data=png, file_name=f"{stem}.png", mime="image/png",
                         on_click="ignore", key="couverture_png", icon=":material/image:",
                         help="L'image de la carte avec sa légende, le registre, la date et les sources, à coller "
                         "dans un rapport (préparée en quelques secondes).")
    right.download_button("Périmètres des CPTS (GeoJSON)", data=geojson, file_name=f"{stem}_perimetres.geojson",
                          mime="application/geo+json", on_click="ignore", key="couverture_geojson",
                          icon=":material/polyline:",
                          help="Contours des CPTS actives à la date dans la zone (WGS84), avec stade et population, "
                          "pour un logiciel de cartographie.")
