"""Renderers of territorial indicators (catalogue, imported, derived): the « Couverture » indicator section
(map, threshold figures, comparison chart, table and export) and the « Fiche CPTS » indicator tables with
the members' share. Labels, units, descriptions and sources of imported indicators come from outside: they
are escaped here (``markdown_literal`` for Markdown; the CSV goes through ``observatory.exports``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import coverage_views as views
from observatory import exports, maps
from observatory import profile as pf
from observatory.indicator_catalogue import shown_catalogue
from observatory.indicator_metadata import LEVEL_LABELS
from observatory.indicators import CLASS_METHOD_LABELS, catalogue_entry, format_number
from observatory.safe_text import markdown_literal
from ui import cache_couverture as cc
from ui import cache_indicators as ci
from ui import couverture_widgets as cw
from ui.map_component import show_map
from ui.tables import show_table

KEY_INDICATOR, KEY_YEAR, KEY_INDICATOR_MAP = "couverture_indicateur", "couverture_annee", "couverture_carte_indicateur"

ORIGIN_SUFFIXES = {"imported": " (importé)", "derived": " (calculé)"}
PROFILE_ORIGINS = {"imported": " — importé", "derived": " — calculé"}
LONG_TEXT = 1200  # descriptions are a paragraph


def choices(catalogue: pd.DataFrame) -> dict[str, str]:
    """Code -> selectbox label (plain text: selectbox options are not Markdown)."""
    return {row["indicator_code"]: f"{row['label']}{ORIGIN_SUFFIXES.get(row['origin'], '')}"
            for row in catalogue.to_dict("records")}


def offered_catalogue(path: str) -> pd.DataFrame:
    return shown_catalogue(cc.couverture_indicator_catalogue(path))


def method_text(entry: dict, catalogue: pd.DataFrame) -> str:
    """How the communes' values become a territory's value (plain text)."""
    aggregation = entry["aggregation"]
    if aggregation == "sum":
        return "Valeurs agrégées : somme des valeurs des communes."
    if aggregation == "ratio":
        names = [_label(catalogue, entry[k]) for k in ("numerator_indicator_code", "denominator_indicator_code")]
        scale = format_number(float(entry.get("scale_factor") or 1), 0)
        return (f"Valeurs agrégées : {scale} × somme de « {names[0]} » / somme de « {names[1]} » sur les communes "
                "ayant les deux (un rapport de sommes, non une moyenne des taux communaux).")
    if aggregation == "change":
        return (f"Valeurs agrégées : valeur agrégée de « {_label(catalogue, entry['base_indicator_code'])} » pour "
                "l'année choisie moins celle de l'année précédente disponible.")
    if entry.get("weight_indicator_code"):
        return (f"Valeurs agrégées : moyenne des valeurs des communes pondérée par « "
                f"{_label(catalogue, entry['weight_indicator_code'])} » de la même année.")
    return "Valeurs agrégées : moyenne des valeurs des communes pondérée par leur population municipale."


def _label(catalogue: pd.DataFrame, code: str) -> str:
    rows = catalogue[catalogue["indicator_code"] == code]
    return str(rows.iloc[0]["label"]) if len(rows) else {"population": "population municipale",
                                                         "area_km2": "superficie"}.get(code, code)


def level_note(entry: dict) -> str | None:
    level = entry.get("source_geo_level") or "commune"
    if level == "commune":
        return None
    how = ("effectifs répartis entre leurs communes au prorata de la population" if entry["aggregation"] == "sum"
           else "chaque commune reçoit la valeur de son " + LEVEL_LABELS[level])
    return (f"Valeurs publiées par {LEVEL_LABELS[level]} et attribuées aux communes ({how}) : les chiffres des "
            "CPTS et des zones blanches sont des estimations ; ceux des départements, régions et de la France sont "
            "exacts quand les territoires s'emboîtent.")


def export_table(rows: pd.DataFrame, entry: dict, year: int, provenance: str, vintage: str | None) -> pd.DataFrame:
    """The territory table with the indicator, year, source and vintage on every line (CSV export; its text
    cells are made inert for spreadsheets by ``observatory.exports``)."""
    table = cw.indicator_table(rows, entry)
    table.insert(0, "Indicateur", entry["label"])
    table.insert(1, "Année", year)
    table["Source"] = provenance
    table["Millésime"] = vintage or str(year)
    return table


def render_indicator(path: str, register_id: str, as_of: str, register_region: str | None, scale: str,
                     area_code: str | None, selected: str | None, entry: dict, year: int, map_key: str,
                     map_height: int, max_cpts_bars: int) -> None:
    """The « Couverture » section of one indicator and year."""
    catalogue = cc.couverture_indicator_catalogue(path)
    code = entry["indicator_code"]
    if entry.get("description"):
        st.caption(markdown_literal(entry["description"], LONG_TEXT))
    try:
        rows = cc.couverture_indicator_rows(path, register_id, as_of, register_region, code, year, scale, area_code)
    except ValueError as error:  # e.g. the weight indicator is missing for that year
        st.warning(f"Indicateur indisponible : {markdown_literal(error)}")
        return
    provenance = ci.provenance(path, code, (int(year),))
    if scale == "departement":
        classes = cc.couverture_indicator_classes(path, code, year)
        map_column, legend_column = st.columns([5, 3], gap="small")
        with map_column:
            show_map(cc.couverture_indicator_map(path, register_id, as_of, register_region, code, year, area_code,
                                                 selected), key=map_key, height=map_height)
        data = cc.couverture_indicator(path, code, year)
        in_dept = data.units[data.units["departement_code"] == area_code]
        legend_column.html(maps.legend_html(*maps.indicator_legend(data, classes, bool(in_dept["value"].isna().any()))))
        if classes.method == "thresholds":
            st.caption(f"Classes de la carte : seuils fixés. {markdown_literal(classes.source, LONG_TEXT)}")
        else:
            st.caption(f"Classes de la carte : {CLASS_METHOD_LABELS[classes.method]} des valeurs de toutes les "
                       f"communes de France en {year} (mapclassify), les mêmes pour chaque département.")
        if entry["aggregation"] == "sum" and entry.get("origin") != "catalogue":
            st.caption("Effectif : les communes les plus peuplées ressortent. Pour comparer des territoires de "
                       "tailles différentes, rapportez-le à la population (indicateur dérivé ou import d'un ratio).")
    else:
        st.info(
            "La carte communale de l'indicateur s'affiche à l'échelle Département : choisissez un département. "
            "À l'échelle de la France ou d'une région, des milliers de communes seraient illisibles et trop "
            "lourdes à charger ; le tableau ci-dessous compare les territoires.",
            icon=":material/map:",
        )
    note = level_note(entry)
    if note:
        st.caption(note)
    _threshold_figures(rows, entry, year)
    st.vega_lite_chart(spec=cc.couverture_indicator_chart(path, register_id, as_of, register_region, code, year,
                                                             scale, area_code, max_cpts_bars),
                       width="stretch", theme=None)
    cpts_count = int((rows["territory_kind"] == "cpts").sum())
    if cpts_count > max_cpts_bars:
        st.caption(f"{cpts_count} CPTS dans la zone : leurs valeurs sont dans le tableau ci-dessous.")
    show_table(cw.indicator_table(rows, entry), decimals={f"Valeur ({entry['unit']})": int(entry.get("decimals") or 0)})
    vintage = ci.indicator_vintage(path, code, int(year))
    exported = export_table(rows, entry, year, provenance, vintage)
    stem = f"indicateur_{code}_{year}_{area_code or 'france'}"
    left, right = st.columns(2)
    left.download_button("Valeurs par territoire (CSV pour Excel)", data=exports.csv_bytes(exported),
                         file_name=f"{stem}.csv", mime="text/csv", on_click="ignore", key="couverture_indicateur_csv",
                         icon=":material/download:")
    right.download_button("Valeurs par territoire (XLSX)", key="couverture_indicateur_xlsx", on_click="ignore",
                          data=lambda: exports.xlsx_bytes({str(entry["label"])[:31]: exported},
                                                          {str(entry["label"])[:31]: [f"Source : {provenance}"]}),
                          file_name=f"{stem}.xlsx", icon=":material/download:",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    st.caption(
        f"{markdown_literal(method_text(entry, catalogue), 400)} Territoires des CPTS actives au "
        f"{views.format_date(as_of)} (chacune sur toutes ses communes) ; zone blanche : communes sans CPTS de la zone. "
        f"Unité : {markdown_literal(entry['unit'])}."
    )
    st.caption(f"Source de l'indicateur (année {year}) : {markdown_literal(provenance, 600)}")


def _threshold_figures(rows: pd.DataFrame, entry: dict, year: int) -> None:
    if entry.get("threshold_value") is None or pd.isna(entry.get("threshold_value")):
        st.caption("Pas de seuil de référence pour cet indicateur.")
        return
    st.markdown(f"**Population sous le {markdown_literal(entry.get('threshold_label') or 'seuil')}** ({year})")
    areas = rows[(rows["territory_kind"] != "cpts") & (rows["units_count"] > 0)]  # no empty white zone
    for column, row in zip(st.columns(len(areas)), areas.itertuples(index=False), strict=True):
        column.metric(
            markdown_literal(row.territory_label),
            cw.fmt_pct(row.share_below_threshold_pct),
            help="Part des habitants des communes dont la valeur est sous le seuil, parmi les habitants des "
            "communes ayant une valeur.",
        )
        column.caption(f"{cw.fmt_int(row.population_below_threshold)} hab. sous le seuil")


# ---------------------------------------------------------------------------------------------------
# Fiche CPTS
# ---------------------------------------------------------------------------------------------------


def render_profile_indicators(path: str, territory: pf.TerritoryProfile) -> None:
    """One table per indicator (CPTS, département, région, France, one column per year) with its sources."""
    for entry, table in territory.indicator_tables:
        origin = PROFILE_ORIGINS.get(entry.get("origin"), "")
        st.markdown(f"**{markdown_literal(entry['label'])}** ({markdown_literal(entry['unit'])}){origin}")
        show_table(table, height="content")
        threshold = f" Seuil retenu : {markdown_literal(entry['threshold_label'])}." if entry.get("threshold_label") else ""
        st.caption(f"{markdown_literal(entry['description'], LONG_TEXT)}{threshold}")
        note = level_note(entry)
        if note:
            st.caption(note)
        years = tuple(int(c) for c in table.columns if str(c).isdigit())
        provenance = ci.provenance(path, entry["indicator_code"], years)
        if provenance:
            st.caption(f"Source : {markdown_literal(provenance, 600)}")


def render_members_share(view: ci.MembersShareView | None) -> None:
    """The thesis's proportionality measure, as a range (the questionnaire gives a bracket of members)."""
    if view is None:
        return
    definition = view.definition
    st.markdown(f"**{markdown_literal(definition['label'])}** — calculé")
    if view.share is None:
        st.caption(f"Non calculable : {markdown_literal(view.missing, 400)}. "
                   f"{markdown_literal(definition['description'], LONG_TEXT)}")
        return
    share = view.share
    st.metric(markdown_literal(definition["label"]), share.text(int(definition.get("decimals", 0))),
              help="Membres déclarés (tranche de la question 12) divisés par l'effectif de professionnels importé.")
    st.caption(
        f"{markdown_literal(share.members_text)} membres déclarés à l'auto-évaluation soumise le {view.submitted_on}, "
        f"pour {format_number(share.professionals, 0)} « {markdown_literal(view.count_label)} » sur les communes de la "
        f"CPTS en {share.year}. {markdown_literal(definition['description'], LONG_TEXT)}"
    )


def render_indicator_section(path: str, register_id: str, as_of: str, register_region: str | None, scale: str,
                             area_code: str | None, selected: str | None, map_height: int, max_cpts_bars: int) -> None:
    """Choice of indicator and year, then its map (département scale), figures, chart and table."""
    catalogue = offered_catalogue(path)
    if catalogue.empty:
        st.info("Aucun indicateur territorial n'est chargé dans la base.")
        return
    labels = choices(catalogue)
    # Default: the first indicator with a reference threshold (the catalogue decides, not the page).
    with_threshold = catalogue.loc[catalogue["threshold_value"].notna(), "indicator_code"]
    if st.session_state.get(KEY_INDICATOR) not in labels:
        st.session_state[KEY_INDICATOR] = (with_threshold.iloc[0] if len(with_threshold)
                                           else catalogue["indicator_code"].iloc[0])
    indicator_column, year_column = st.columns([3, 1])
    code = indicator_column.selectbox(
        "Indicateur", list(labels), format_func=labels.get, key=KEY_INDICATOR,
        help="Indicateurs du catalogue (APL de la DREES), importés (python -m observatory import-indicator) et "
        "calculés à partir d'eux (data/derived_indicators.json).",
    )  # fmt: skip
    entry = catalogue_entry(catalogue, code)
    years = sorted((int(y) for y in entry["years"]), reverse=True)
    if st.session_state.get(KEY_YEAR) not in years:
        st.session_state[KEY_YEAR] = years[0]
    year = year_column.selectbox("Année", years, key=KEY_YEAR)
    render_indicator(path, register_id, as_of, register_region, scale, area_code, selected, entry, year,
                     KEY_INDICATOR_MAP, map_height, max_cpts_bars)


def entry_of(path: str, indicator_code: str) -> dict:
    return catalogue_entry(offered_catalogue(path), indicator_code)
