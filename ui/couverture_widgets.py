"""Pieces of the « Couverture » page: date and selection helpers (pure), CSV export, and the Streamlit
renderers of its key figures and of the selected CPTS.

The pure helpers take domain values (frames of :mod:`observatory.coverage`, ISO date strings) and return
values, so the tests exercise them without a browser; the ``render_*`` functions only display.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from observatory.coverage import (
    COUNTING_RULES,
    NATIONAL_STAGES,
    UNKNOWN_STAGE,
    CoverageSnapshot,
    KeyFigures,
    latest_stage_date,
    monthly_dates,
    to_timestamp,
)
from observatory.funding import size_class_labels
from observatory.indicators import format_number
from observatory.readers.cog import SOURCE_ID as POPULATION_SOURCE_ID
from observatory.readers.geometry import SOURCE_ID as GEOMETRY_SOURCE_ID
from observatory.safe_text import markdown_literal
from ui.navigation import PAGES, PageSpec

# The time control starts in January 2019, the year of the interprofessional agreement (ACI) that funds CPTS.
DATE_START = "2019-01-01"
SCALES: dict[str, str] = {"france": "France", "region": "Région", "departement": "Département"}
PROFILE_URL_PATH = "fiche-cpts"


# ---------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------


def date_options(cpts: pd.DataFrame, as_of: str | None, start: str = DATE_START) -> list[str]:
    """ISO dates offered by the time control: every month end from ``start`` up to the latest date of the
    register (its ``as_of`` date or its latest stage date, whichever is later), plus those two dates
    themselves, so that the register's own date is always a choice (the default)."""
    start_ts = to_timestamp(start)
    known = [to_timestamp(d) for d in (as_of, latest_stage_date(cpts)) if d is not None]
    end = max(known) if known else pd.Timestamp.today().normalize()
    months = [d for d in monthly_dates(cpts, start_ts, end) if d <= end]
    extra = [d for d in known if d >= start_ts]
    options = sorted(set(months) | set(extra)) or [start_ts + pd.offsets.MonthEnd(0)]
    return [d.date().isoformat() for d in options]


def default_date(options: list[str], as_of: str | None) -> str:
    """The register's date when offered, else the latest option."""
    if as_of is not None and to_timestamp(as_of).date().isoformat() in options:
        return to_timestamp(as_of).date().isoformat()
    return options[-1]


def format_date(iso: str) -> str:
    return f"{pd.Timestamp(iso):%d/%m/%Y}"


# ---------------------------------------------------------------------------------------------------
# Areas and CPTS selection
# ---------------------------------------------------------------------------------------------------

AREA_COLUMNS = {"france": None, "region": "region_code", "departement": "departement_code"}


def cpts_ids_in_area(snapshot: CoverageSnapshot, level: str, code: str | None) -> set[str]:
    """Every CPTS of the register (started or not) with at least one unit in the area."""
    column = AREA_COLUMNS[level]
    links = snapshot.links if column is None else snapshot.links[snapshot.links[column] == code]
    return set(links["cpts_id"])


def active_cpts_in_area(snapshot: CoverageSnapshot, level: str, code: str | None) -> pd.DataFrame:
    """Rows of ``snapshot.cpts`` active at the snapshot date with a unit in the area, sorted by name."""
    ids = cpts_ids_in_area(snapshot, level, code)
    rows = snapshot.cpts[snapshot.cpts["is_active"] & snapshot.cpts["cpts_id"].isin(ids)]
    return rows.sort_values(["name", "cpts_id"]).reset_index(drop=True)


def cpts_id_of_feature(feature: Mapping | None, unit_cpts: Mapping[str, tuple]) -> str | None:
    """The CPTS designated by a clicked map feature (streamlit-folium's ``last_active_drawing``).

    A CPTS polygon carries its ``cpts_id``; a commune (département view, overlap layer) designates its
    most advanced CPTS (``unit_cpts``: commune_code -> cpts_ids, most advanced first); a département of
    the France view designates none.
    """
    if not isinstance(feature, Mapping):
        return None
    properties = feature.get("properties") or {}
    if properties.get("cpts_id"):
        return str(properties["cpts_id"])
    commune = properties.get("commune_code")
    if commune:
        ids = unit_cpts.get(str(commune)) or ()
        return str(ids[0]) if len(ids) else None
    return None


def unit_cpts_lookup(snapshot: CoverageSnapshot, level: str, code: str | None) -> dict[str, tuple]:
    """commune_code -> its CPTS (most advanced first) for the communes a click can return: those of the
    département (département view) or the overlap communes drawn on the France and région maps."""
    units = snapshot.units
    if level == "departement":
        units = units[units["departement_code"] == code]
    else:
        units = units[units["cpts_count"] >= 2]
    return dict(zip(units["commune_code"], units["cpts_ids"], strict=True))


def profile_page() -> PageSpec | None:
    """The « Fiche CPTS » page when the app declares it (it is built separately)."""
    return next((p for p in PAGES if p.url_path == PROFILE_URL_PATH), None)


# ---------------------------------------------------------------------------------------------------
# Formatting and export
# ---------------------------------------------------------------------------------------------------


def fmt_int(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 0)


def fmt_pct(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 1) + " %"


def share(part: float, whole: float) -> float | None:
    return part / whole * 100 if whole else None


def base_source_ids() -> list[str]:
    """Sources of every coverage figure besides the register: populations (COG) and contours."""
    return [POPULATION_SOURCE_ID, GEOMETRY_SOURCE_ID]


def register_source_text(register_name: str, is_demo: bool, kind: str, as_of: str | None) -> str:
    """Caption text (Markdown) naming the register; its name may come from an import, so it is escaped."""
    register_name = markdown_literal(register_name)
    state = f", état au {format_date(as_of)}" if as_of else ""
    if is_demo:
        return f"Registre : {register_name}{state} (CPTS fictives, démonstration)."
    if kind == "imported":
        return f"Registre importé : {register_name}{state}."
    return f"Registre : {register_name}{state}."


def stage_labels_in_order(labels: Mapping[str, str], with_unknown: bool) -> list[tuple[str, str]]:
    codes = list(NATIONAL_STAGES) + ([UNKNOWN_STAGE] if with_unknown else [])
    return [(code, labels.get(code, code)) for code in codes]


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


def published_sources_text(published: pd.DataFrame, measure: str) -> str:
    """« DGOS, juin 2022 (2022-06) ; Présentation ... (2021-06, 2022-12) » for the figures of one measure."""
    rows = published[published["measure"] == measure].sort_values("date")
    dates = rows.groupby("source_label", sort=False)["date_text"].agg(lambda d: ", ".join(dict.fromkeys(d)))
    return " ; ".join(f"{label} ({when})" for label, when in dates.items())


# ---------------------------------------------------------------------------------------------------
# Renderers
# ---------------------------------------------------------------------------------------------------


def sync_query_params(wanted: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Write the page's state into the URL (deep link): each of ``names`` set to its ``wanted`` value, or
    removed when not wanted. Only changes are written (each write is a message to the browser)."""
    for name in names:
        if name in wanted and st.query_params.get(name) != wanted[name]:
            st.query_params[name] = wanted[name]
        elif name not in wanted and name in st.query_params:
            del st.query_params[name]


def _metric(column, label: str, value: str, caption: str | None = None, help: str | None = None) -> None:
    column.metric(label, value, help=help)
    if caption:
        column.caption(caption)


def render_key_figures(figures: KeyFigures, labels: Mapping[str, str]) -> None:
    """Key figures of an area as ``st.metric``: a headline row (CPTS, population covered, white zone,
    overlaps, « hors registre ») and a row per stage (CPTS and population covered at that stage). Values
    stay short (counts, percentages) so they fit; exact populations are in the caption under each.
    Percentages are over the population known to the register (all of it, unless the register covers
    one région only)."""
    with_unknown = figures.cpts_count_by_stage.get(UNKNOWN_STAGE, 0) > 0
    stages = stage_labels_in_order(labels, with_unknown)
    in_register = figures.population_count - figures.out_of_register_population
    headline = [
        ("CPTS actives", fmt_int(figures.cpts_count), None, COUNTING_RULES["cpts_in_area"]),
        ("Population couverte", fmt_pct(share(figures.population_covered, in_register)),
         f"{fmt_int(figures.population_covered)} hab.", COUNTING_RULES["population_once"]),
        ("Zone blanche", fmt_pct(share(figures.white_zone_population, in_register)),
         f"{fmt_int(figures.white_zone_population)} hab. ; {fmt_int(figures.white_zone_units)} communes",
         "Part de la population vivant dans une commune couverte par aucune CPTS à la date."),
        ("Chevauchements", fmt_int(figures.overlap_units),
         f"communes ; {fmt_int(figures.overlap_population)} hab.",
         "Communes revendiquées par plusieurs CPTS actives à la date."),
    ]  # fmt: skip
    if figures.out_of_register_units:
        headline.append(
            ("Hors registre", fmt_int(figures.out_of_register_units),
             f"communes ; {fmt_int(figures.out_of_register_population)} hab.", COUNTING_RULES["out_of_register"])
        )  # fmt: skip
    for column, (label, value, caption, help) in zip(st.columns(len(headline)), headline, strict=True):
        _metric(column, label, value, caption, help)

    where = " (part de la population du territoire du registre)" if figures.out_of_register_units else ""
    st.markdown(f"**Par stade au {figures.as_of:%d/%m/%Y}** : nombre de CPTS et population couverte{where}")
    for column, (code, label) in zip(st.columns(len(stages)), stages, strict=True):
        count = figures.population_covered_by_stage.get(code, 0)
        _metric(
            column,
            label,
            fmt_int(figures.cpts_count_by_stage.get(code, 0)),
            f"{fmt_int(count)} hab. couverts ({fmt_pct(share(count, in_register))})",
            help=f"CPTS au stade « {label} » à la date, et habitants dont la CPTS la plus avancée est à ce stade.",
        )
    st.caption(
        f"Zone affichée : {fmt_int(figures.units_count)} communes (ou arrondissements municipaux), "
        f"{fmt_int(figures.population_count)} habitants."
    )


def render_selected_cpts(row: pd.Series, labels: Mapping[str, str], register_id: str) -> None:
    """The selected CPTS: stage, population, communes, and a link to its profile when that page exists."""
    stage = labels.get(row["stage_code"], row["stage_code"]) if isinstance(row["stage_code"], str) else "—"
    size = size_class_labels().get(int(row["size_class"]), "") if pd.notna(row["size_class"]) else "n.d."
    st.markdown(
        f"**{markdown_literal(row['name'])}** — stade : {stage} ; population : {fmt_int(row['population_count'])} hab. ; "
        f"communes : {fmt_int(row['communes_count'])} ; départements : {row['departement_codes'] or 'n.d.'} ; "
        f"taille ACI : {size} ; communes partagées avec une autre CPTS : {fmt_int(row['overlap_communes_count'])}."
    )
    spec = profile_page()
    if spec is not None:
        st.page_link(
            spec.path,
            label=f"Ouvrir la fiche de {markdown_literal(row['name'])}",
            icon=":material/description:",
            query_params={"cpts": str(row["cpts_id"]), "registre": register_id},
        )
    else:
        st.caption("La fiche détaillée des CPTS n'est pas encore disponible : la CPTS est surlignée sur la carte.")
