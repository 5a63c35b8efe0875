"""Coverage of the territory by the CPTS of a register, at a date (pure pandas, no database, no Streamlit).

Model (docs/architecture.md):
- a CPTS is a set of territorial units (communes; arrondissements in Paris, Lyon, Marseille);
- its stage at date *d* is the highest national stage whose date is <= *d*; it is not counted before its
  first dated stage; a CPTS with no date at all has stage ``inconnu`` and is counted at every date;
- a unit is ``couvert`` (one active CPTS), ``chevauchement`` (two or more), ``zone_blanche`` (none) or
  ``hors_registre`` (none, and outside the région of a région-only register: we do not know).
Coverage, white zones and overlaps are computed here, never stored. Population is never counted twice:
a unit covered by several CPTS counts once, at its highest stage.

Inputs are the frames of :mod:`observatory.queries`: ``territorial_units``, ``list_cpts``, ``cpts_units``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatory.config import DATA_DIR
from observatory.funding import size_class_labels, size_classes
from observatory.stages import UNKNOWN_STAGE, stage_color, stage_date_columns, stage_label

# ---------------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------------

# National stages in order with the `cpts` column holding the date each was reached, and their labels:
# from the stage vocabulary (data/stages.json through observatory.stages), never restated here.
NATIONAL_STAGE_DATE_COLUMNS: tuple[tuple[str, str], ...] = tuple(stage_date_columns().items())
NATIONAL_STAGES: tuple[str, ...] = tuple(code for code, _ in NATIONAL_STAGE_DATE_COLUMNS)
# 'inconnu' ranks below every dated stage: a unit covered by an undated CPTS and an ACI one is "aci".
STAGE_RANK: dict[str, int] = {UNKNOWN_STAGE: 0, **{code: i + 1 for i, code in enumerate(NATIONAL_STAGES)}}
STAGE_ORDER: tuple[str, ...] = NATIONAL_STAGES + (UNKNOWN_STAGE,)
# Display labels when the caller has no `stages` table at hand (the table's labels win in the app).
DEFAULT_STAGE_LABELS: dict[str, str] = {code: stage_label(code) for code in STAGE_ORDER}
DEFAULT_STAGE_COLORS: dict[str, str] = {code: stage_color(code) for code in STAGE_ORDER}


def stage_styles(stages: pd.DataFrame | None) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, colours) per stage code from the `stages` table (national vocabulary), with fallbacks."""
    labels, colors = dict(DEFAULT_STAGE_LABELS), dict(DEFAULT_STAGE_COLORS)
    if stages is not None and len(stages):
        for row in stages.itertuples(index=False):
            if isinstance(row.label, str) and row.label:
                labels[row.stage_code] = row.label
            if isinstance(row.color, str) and row.color:
                colors[row.stage_code] = row.color
    return labels, colors

COVERED, WHITE_ZONE, OVERLAP, OUT_OF_REGISTER = "couvert", "zone_blanche", "chevauchement", "hors_registre"
STATUSES: tuple[str, ...] = (COVERED, OVERLAP, WHITE_ZONE, OUT_OF_REGISTER)
STATUS_LABELS: dict[str, str] = {
    COVERED: "Couvert par une CPTS",
    OVERLAP: "Chevauchement (plusieurs CPTS)",
    WHITE_ZONE: "Zone blanche (aucune CPTS)",
    OUT_OF_REGISTER: "Hors registre (non renseigné)",
}

# Sentences the page shows next to the figures, so the counting rules are never implicit.
COUNTING_RULES: dict[str, str] = {
    "cpts_in_area": (
        "Une CPTS est comptée dans une zone (région, département) dès qu'une de ses communes s'y trouve :"
        " une CPTS à cheval sur deux départements compte dans les deux."
    ),
    "population_once": (
        "La population d'une commune couverte par plusieurs CPTS n'est comptée qu'une fois, au stade le plus"
        " avancé de ces CPTS."
    ),
    "stage_at_date": (
        "Le stade d'une CPTS à une date est le stade le plus avancé atteint à cette date ; une CPTS n'est pas"
        " comptée avant sa première date connue."
    ),
    "unknown_stage": (
        "Les CPTS sans aucune date de stade (registre importé sans dates) ont le stade « inconnu » et sont"
        " comptées à toutes les dates."
    ),
    "out_of_register": (
        "Ce registre ne couvre qu'une région : ailleurs, l'absence de CPTS n'est pas connue et est affichée"
        " « hors registre », jamais comme zone blanche."
    ),
    "cpts_population": (
        "La population d'une CPTS est celle de l'ensemble de ses communes, y compris hors de la zone affichée."
    ),
}


def to_timestamp(as_of: str | dt.date | pd.Timestamp) -> pd.Timestamp:
    """A date as a day-precision Timestamp (what the stage columns are compared with)."""
    ts = pd.Timestamp(as_of)
    if pd.isna(ts):
        raise ValueError(f"date de référence invalide : {as_of!r}")
    return ts.normalize()


# ---------------------------------------------------------------------------------------------------
# Stage of every CPTS at a date
# ---------------------------------------------------------------------------------------------------


def _stage_dates(cpts: pd.DataFrame) -> pd.DataFrame:
    missing = [col for _, col in NATIONAL_STAGE_DATE_COLUMNS if col not in cpts.columns]
    if missing:
        raise ValueError(f"table des CPTS : colonnes de dates manquantes {missing}")
    return pd.DataFrame({code: pd.to_datetime(cpts[col]) for code, col in NATIONAL_STAGE_DATE_COLUMNS})


def cpts_stages(cpts: pd.DataFrame, as_of) -> pd.DataFrame:
    """Stage of each CPTS at ``as_of``: cpts_id, name, stage_code (None: not started yet), stage_rank,
    is_active, has_dates, first_stage_date."""
    ts = to_timestamp(as_of)
    dates = _stage_dates(cpts)
    has_dates = dates.notna().any(axis=1).to_numpy()
    stage = np.full(len(cpts), None, dtype=object)
    # Ascending order and overwrite: the last stage reached wins, even if an earlier date is missing.
    for code in NATIONAL_STAGES:
        reached = (dates[code] <= ts).to_numpy()
        stage[reached] = code
    stage[~has_dates] = UNKNOWN_STAGE
    out = pd.DataFrame(
        {
            "cpts_id": cpts["cpts_id"].to_numpy(),
            "name": cpts["name"].to_numpy() if "name" in cpts.columns else cpts["cpts_id"].to_numpy(),
            "stage_code": pd.Series(stage, dtype=object),  # object: None stays None (not NaN)
            "has_dates": has_dates,
            "first_stage_date": dates.min(axis=1).to_numpy(),
        }
    )
    out["stage_rank"] = out["stage_code"].map(STAGE_RANK).astype("Int64")
    out["is_active"] = out["stage_code"].notna()
    return out


# ---------------------------------------------------------------------------------------------------
# Status of every territorial unit at a date
# ---------------------------------------------------------------------------------------------------

UNIT_COLUMNS = ("commune_code", "name", "departement_code", "region_code", "population_count")


def unit_status(
    units: pd.DataFrame,
    cpts: pd.DataFrame,
    cpts_units: pd.DataFrame,
    as_of,
    register_region: str | None = None,
) -> pd.DataFrame:
    """One row per territorial unit of ``units`` with its CPTS active at ``as_of`` and its status.

    Added columns: cpts_count, cpts_ids (tuple, most advanced stage first), cpts_names (« ; »-joined),
    stage_codes (tuple aligned with cpts_ids), highest_stage (None if uncovered), highest_stage_rank,
    status in {couvert, chevauchement, zone_blanche, hors_registre}.
    A unit outside ``register_region`` but claimed by a CPTS of the register (a CPTS across a regional
    border) is covered: only uncovered units outside the région are "hors registre".
    """
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise ValueError(f"unités territoriales : colonnes manquantes {missing}")
    stages = cpts_stages(cpts, as_of)
    # Object dtype for keys: pandas' Arrow-backed strings are slow to iterate and to `isin` row by row.
    active = stages.loc[stages["is_active"], ["cpts_id", "name", "stage_code", "stage_rank"]].astype(
        {"cpts_id": object, "name": object}
    )
    links = cpts_units[["cpts_id", "commune_code"]].astype(object).merge(active, on="cpts_id", how="inner")
    unit_codes = units["commune_code"].to_numpy(dtype=object)
    links = links[links["commune_code"].isin(set(unit_codes))]
    links = links.sort_values(["commune_code", "stage_rank", "name"], ascending=[True, False, True])

    # One pass over the links, already sorted by unit then most advanced stage first.
    ids: dict[str, list] = {}
    names: dict[str, list] = {}
    stage_codes: dict[str, list] = {}
    best_rank: dict[str, int] = {}
    for code, cid, name, stage, rank in zip(
        links["commune_code"].to_numpy(dtype=object),
        links["cpts_id"].to_numpy(dtype=object),
        links["name"].to_numpy(dtype=object),
        links["stage_code"].to_numpy(dtype=object),
        links["stage_rank"].to_numpy(dtype=object),
        strict=True,
    ):
        if code not in ids:
            ids[code], names[code], stage_codes[code], best_rank[code] = [], [], [], rank
        ids[code].append(cid)
        names[code].append(name)
        stage_codes[code].append(stage)

    out = units.reset_index(drop=True).copy()
    out["cpts_count"] = np.array([len(ids.get(c, ())) for c in unit_codes], dtype="int64")
    out["cpts_ids"] = [tuple(ids.get(c, ())) for c in unit_codes]
    out["cpts_names"] = [" ; ".join(names.get(c, ())) for c in unit_codes]
    out["stage_codes"] = [tuple(stage_codes.get(c, ())) for c in unit_codes]
    out["highest_stage"] = pd.Series(
        [stage_codes[c][0] if c in stage_codes else None for c in unit_codes], dtype=object
    )
    out["highest_stage_rank"] = pd.array([best_rank.get(c) for c in unit_codes], dtype="Int64")

    status = np.where(out["cpts_count"] >= 2, OVERLAP, np.where(out["cpts_count"] == 1, COVERED, WHITE_ZONE))
    if register_region is not None:
        outside = (out["region_code"] != str(register_region)).to_numpy()
        status = np.where((status == WHITE_ZONE) & outside, OUT_OF_REGISTER, status)
    out["status"] = status
    return out


# ---------------------------------------------------------------------------------------------------
# Per-CPTS summary
# ---------------------------------------------------------------------------------------------------


def _joined_codes(links: pd.DataFrame, column: str) -> pd.Series:
    """cpts_id -> sorted distinct codes of ``column`` joined by « , » (e.g. départements "75, 91")."""
    pairs = links[["cpts_id", column]].astype(object).drop_duplicates().sort_values(["cpts_id", column])
    return pairs.groupby("cpts_id")[column].agg(", ".join)


def cpts_summary(cpts: pd.DataFrame, cpts_units: pd.DataFrame, units: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per CPTS of the register (active or not yet at ``as_of``).

    Columns: cpts_id, name, stage_code (None: not started at the date), stage_rank, is_active,
    population_count (its whole territory; ``units`` must hold all its units), communes_count,
    departement_codes (« , »-joined), region_codes, main_departement_code, size_class,
    overlap_communes_count (units shared with another CPTS active at the date), missing_units_count
    (codes of its territory absent from ``units``: a data problem the page can show).
    """
    stages = cpts_stages(cpts, as_of)
    links = cpts_units[["cpts_id", "commune_code"]].merge(
        units[["commune_code", "departement_code", "region_code", "population_count"]],
        on="commune_code",
        how="left",
    )
    known = links[links["departement_code"].notna()]
    grouped = known.groupby("cpts_id")
    population = grouped["population_count"].sum()
    communes = grouped.size()
    depts = _joined_codes(known, "departement_code")
    regions = _joined_codes(known, "region_code")
    missing = links[links["departement_code"].isna()].groupby("cpts_id").size()

    active_ids = set(stages.loc[stages["is_active"], "cpts_id"])
    active_links = known[known["cpts_id"].isin(active_ids)]
    shared_units = active_links.groupby("commune_code").size()
    shared_units = set(shared_units[shared_units > 1].index)
    overlap = active_links[active_links["commune_code"].isin(shared_units)].groupby("cpts_id").size()

    out = stages[["cpts_id", "name", "stage_code", "stage_rank", "is_active", "has_dates", "first_stage_date"]].copy()
    ids = out["cpts_id"]
    out["population_count"] = ids.map(population).fillna(0).astype("int64")
    out["communes_count"] = ids.map(communes).fillna(0).astype("int64")
    out["departement_codes"] = ids.map(depts).astype(object).fillna("")
    out["region_codes"] = ids.map(regions).astype(object).fillna("")
    if "main_departement_code" in cpts.columns:
        out["main_departement_code"] = cpts["main_departement_code"].to_numpy()
    else:
        out["main_departement_code"] = None
    out["size_class"] = size_classes(out["population_count"].where(out["communes_count"] > 0))
    out["overlap_communes_count"] = ids.map(overlap).fillna(0).astype("int64")
    out["missing_units_count"] = ids.map(missing).fillna(0).astype("int64")
    return out


def cpts_table(summary: pd.DataFrame, stage_labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """:func:`cpts_summary` with French column names for display and CSV export (one row per CPTS)."""
    labels = dict(stage_labels) if stage_labels else dict(DEFAULT_STAGE_LABELS)
    size_labels = size_class_labels()
    return pd.DataFrame(
        {
            "Identifiant": summary["cpts_id"],
            "CPTS": summary["name"],
            "Stade à la date": [
                labels.get(s, s) if isinstance(s, str) else "pas encore engagée" for s in summary["stage_code"]
            ],
            "Population": summary["population_count"],
            "Communes": summary["communes_count"],
            "Départements": summary["departement_codes"],
            "Taille ACI": [size_labels.get(int(c), "") if pd.notna(c) else "" for c in summary["size_class"]],
            "Communes partagées": summary["overlap_communes_count"],
        }
    ).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# A snapshot: everything the coverage page needs at one date
# ---------------------------------------------------------------------------------------------------


@dataclass
class CoverageSnapshot:
    """Coverage of a register at a date. ``units`` is :func:`unit_status`, ``cpts`` is :func:`cpts_summary`
    and ``links`` the (cpts_id, commune_code) pairs with the unit's département and région."""

    as_of: pd.Timestamp
    register_region: str | None
    units: pd.DataFrame
    cpts: pd.DataFrame
    links: pd.DataFrame


def coverage_snapshot(
    units: pd.DataFrame,
    cpts: pd.DataFrame,
    cpts_units: pd.DataFrame,
    as_of,
    register_region: str | None = None,
) -> CoverageSnapshot:
    """Compute unit statuses and CPTS summaries once. Pass the units of all France (or at least every
    unit of every CPTS shown) so that CPTS populations are complete; areas are filtered afterwards."""
    status = unit_status(units, cpts, cpts_units, as_of, register_region)
    summary = cpts_summary(cpts, cpts_units, units, as_of)
    links = cpts_units[["cpts_id", "commune_code"]].merge(
        units[["commune_code", "departement_code", "region_code"]], on="commune_code", how="inner"
    )
    return CoverageSnapshot(to_timestamp(as_of), register_region, status, summary, links)


AREA_LEVELS: dict[str, str | None] = {"france": None, "region": "region_code", "departement": "departement_code"}


def _area_column(level: str) -> str | None:
    if level not in AREA_LEVELS:
        raise ValueError(f"niveau géographique inconnu : {level!r} (attendu : {', '.join(AREA_LEVELS)})")
    return AREA_LEVELS[level]


def _figures_by_group(snapshot: CoverageSnapshot, group_col: str | None) -> pd.DataFrame:
    """All key figures per area (one row per area code; a single row 'FR' for France).

    Unit figures come from unit statuses (each unit once); CPTS figures from the (CPTS, area) pairs:
    a CPTS counts in every area holding at least one of its units.
    """
    units = snapshot.units.copy()
    units["_area"] = "FR" if group_col is None else units[group_col]
    pop = units["population_count"].astype("int64")
    is_covered = units["status"].isin([COVERED, OVERLAP])
    frame = pd.DataFrame(
        {
            "_area": units["_area"],
            "units_count": 1,
            "population_count": pop,
            "units_covered": is_covered.astype("int64"),
            "population_covered": pop.where(is_covered, 0),
            "white_zone_units": (units["status"] == WHITE_ZONE).astype("int64"),
            "white_zone_population": pop.where(units["status"] == WHITE_ZONE, 0),
            "overlap_units": (units["status"] == OVERLAP).astype("int64"),
            "overlap_population": pop.where(units["status"] == OVERLAP, 0),
            "out_of_register_units": (units["status"] == OUT_OF_REGISTER).astype("int64"),
            "out_of_register_population": pop.where(units["status"] == OUT_OF_REGISTER, 0),
        }
    )
    for stage in STAGE_ORDER:  # covered population at its highest stage: each unit once
        frame[f"population_covered_{stage}"] = pop.where(units["highest_stage"] == stage, 0)
    figures = frame.groupby("_area", sort=True).sum()

    covered_pct = figures["population_covered"] / figures["population_count"].where(figures["population_count"] > 0)
    figures["coverage_pct"] = covered_pct * 100
    figures["white_zone_pct"] = (
        figures["white_zone_population"] / figures["population_count"].where(figures["population_count"] > 0) * 100
    )
    in_register = figures["population_count"] - figures["out_of_register_population"]
    figures["coverage_pct_in_register"] = figures["population_covered"] / in_register.where(in_register > 0) * 100

    active = snapshot.cpts[snapshot.cpts["is_active"]]
    pairs = snapshot.links[snapshot.links["cpts_id"].isin(active["cpts_id"])].copy()
    pairs["_area"] = "FR" if group_col is None else pairs[group_col]
    pairs = pairs.drop_duplicates(["cpts_id", "_area"]).merge(
        active[["cpts_id", "stage_code", "population_count", "size_class"]], on="cpts_id"
    )
    figures["cpts_count"] = pairs.groupby("_area").size().reindex(figures.index).fillna(0).astype("int64")
    by_stage = pairs.groupby(["_area", "stage_code"]).size().unstack(fill_value=0)
    for stage in STAGE_ORDER:
        col = by_stage[stage] if stage in by_stage.columns else pd.Series(dtype="int64")
        figures[f"cpts_{stage}"] = col.reindex(figures.index).fillna(0).astype("int64")
    by_size = pairs.groupby(["_area", "size_class"]).size().unstack(fill_value=0)
    for cls in size_class_labels():
        col = by_size[cls] if cls in by_size.columns else pd.Series(dtype="int64")
        figures[f"cpts_size_{cls}"] = col.reindex(figures.index).fillna(0).astype("int64")
    figures["mean_population_per_cpts"] = pairs.groupby("_area")["population_count"].mean().reindex(figures.index)
    figures.index.name = "area_code"
    return figures


def figures_by_area(snapshot: CoverageSnapshot, level: str) -> pd.DataFrame:
    """Key figures of every région or département (``level``), or of France (one row 'FR'), as a
    frame indexed by area code with English column names (see :func:`table_by_area` for display)."""
    return _figures_by_group(snapshot, _area_column(level))


@dataclass
class KeyFigures:
    """Headline figures of an area at a date (see :data:`COUNTING_RULES` for how things are counted)."""

    level: str
    code: str | None
    as_of: pd.Timestamp
    units_count: int
    population_count: int
    cpts_count: int
    cpts_count_by_stage: dict[str, int]
    population_covered: int
    coverage_pct: float | None
    coverage_pct_in_register: float | None
    units_covered: int
    population_covered_by_stage: dict[str, int]
    white_zone_population: int
    white_zone_pct: float | None
    white_zone_units: int
    overlap_units: int
    overlap_population: int
    out_of_register_population: int
    out_of_register_units: int
    mean_population_per_cpts: float | None
    cpts_count_by_size_class: dict[int, int] = field(default_factory=dict)


def _none_if_nan(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def key_figures(snapshot: CoverageSnapshot, level: str = "france", code: str | None = None) -> KeyFigures:
    """Key figures for France, a région or a département (``level`` + ``code``)."""
    column = _area_column(level)
    if column is not None and code is None:
        raise ValueError(f"code de zone manquant pour le niveau {level!r}")
    if column is None:
        figures = _figures_by_group(snapshot, None)
        row = figures.iloc[0] if len(figures) else None
    else:
        sub = CoverageSnapshot(
            snapshot.as_of,
            snapshot.register_region,
            snapshot.units[snapshot.units[column] == str(code)],
            snapshot.cpts,
            snapshot.links[snapshot.links[column] == str(code)],
        )
        figures = _figures_by_group(sub, column)
        row = figures.loc[str(code)] if str(code) in figures.index else None
    if row is None:
        raise ValueError(f"aucune unité territoriale pour {level} {code!r}")
    return KeyFigures(
        level=level,
        code=None if column is None else str(code),
        as_of=snapshot.as_of,
        units_count=int(row["units_count"]),
        population_count=int(row["population_count"]),
        cpts_count=int(row["cpts_count"]),
        cpts_count_by_stage={s: int(row[f"cpts_{s}"]) for s in STAGE_ORDER},
        population_covered=int(row["population_covered"]),
        coverage_pct=_none_if_nan(row["coverage_pct"]),
        coverage_pct_in_register=_none_if_nan(row["coverage_pct_in_register"]),
        units_covered=int(row["units_covered"]),
        population_covered_by_stage={s: int(row[f"population_covered_{s}"]) for s in STAGE_ORDER},
        white_zone_population=int(row["white_zone_population"]),
        white_zone_pct=_none_if_nan(row["white_zone_pct"]),
        white_zone_units=int(row["white_zone_units"]),
        overlap_units=int(row["overlap_units"]),
        overlap_population=int(row["overlap_population"]),
        out_of_register_population=int(row["out_of_register_population"]),
        out_of_register_units=int(row["out_of_register_units"]),
        mean_population_per_cpts=_none_if_nan(row["mean_population_per_cpts"]),
        cpts_count_by_size_class={c: int(row[f"cpts_size_{c}"]) for c in size_class_labels()},
    )


AREA_LEVEL_LABELS = {"region": "Région", "departement": "Département"}


def table_by_area(
    snapshot: CoverageSnapshot,
    level: str = "region",
    area_names: Mapping[str, str] | pd.DataFrame | None = None,
    stage_labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Figures per région or département with French column names (display, sort, CSV export).

    ``area_names``: code -> name (or the frame of ``queries.regions``/``departements``). Stage columns
    ("CPTS – <stade>") appear for the stages present in ``stage_labels`` order (all national stages by
    default); the « hors registre » column only when a région-only register leaves some units unknown.
    """
    if level not in AREA_LEVEL_LABELS:
        raise ValueError(f"niveau de tableau inconnu : {level!r} (attendu : region ou departement)")
    column = AREA_LEVELS[level]
    figures = _figures_by_group(snapshot, column)
    if isinstance(area_names, pd.DataFrame):
        area_names = dict(zip(area_names[column], area_names["name"], strict=True))
    names = area_names or {}
    labels = dict(stage_labels) if stage_labels else dict(DEFAULT_STAGE_LABELS)

    out = pd.DataFrame(index=figures.index)
    out["Code"] = figures.index
    out[AREA_LEVEL_LABELS[level]] = [names.get(c, c) for c in figures.index]
    out["Population"] = figures["population_count"]
    out["CPTS"] = figures["cpts_count"]
    for stage in STAGE_ORDER:
        if stage in labels and (stage != UNKNOWN_STAGE or figures[f"cpts_{stage}"].sum() > 0):
            out[f"CPTS – {labels[stage]}"] = figures[f"cpts_{stage}"]
    out["Population couverte"] = figures["population_covered"]
    out["Couverture (%)"] = figures["coverage_pct"].round(1)
    out["Population en zone blanche"] = figures["white_zone_population"]
    out["Communes en zone blanche"] = figures["white_zone_units"]
    out["Communes en chevauchement"] = figures["overlap_units"]
    out["Population en chevauchement"] = figures["overlap_population"]
    out["Population moyenne par CPTS"] = figures["mean_population_per_cpts"].round(0).astype("Int64")
    if figures["out_of_register_units"].sum() > 0:
        out["Population hors registre"] = figures["out_of_register_population"]
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# Over time
# ---------------------------------------------------------------------------------------------------


def latest_stage_date(cpts: pd.DataFrame) -> pd.Timestamp | None:
    dates = _stage_dates(cpts)
    latest = dates.max().max()
    return None if pd.isna(latest) else pd.Timestamp(latest)


def monthly_dates(cpts: pd.DataFrame, start="2019-01-01", end=None) -> pd.DatetimeIndex:
    """Month ends from ``start`` to the month of ``end`` (default: the latest stage date of the register).

    Month ends, because "stage at d" counts what happened up to d included: the point of a month shows
    the state at the end of that month.
    """
    start_ts = to_timestamp(start)
    end_ts = to_timestamp(end) if end is not None else latest_stage_date(cpts)
    if end_ts is None or end_ts < start_ts:
        end_ts = start_ts
    return pd.date_range(start_ts + pd.offsets.MonthEnd(0), end_ts + pd.offsets.MonthEnd(0), freq="ME")


def stage_counts_over_time(cpts: pd.DataFrame, dates: Iterable | None = None) -> pd.DataFrame:
    """Number of CPTS at each stage at each date (long frame: date, stage_code, cpts_count).

    Every national stage appears at every date (zeros included); ``inconnu`` only if the register has
    undated CPTS. Default dates: :func:`monthly_dates` (2019 to the latest stage date).
    """
    dates = monthly_dates(cpts) if dates is None else pd.DatetimeIndex([to_timestamp(d) for d in dates])
    # Same rule as cpts_stages (the most advanced stage reached wins; undated: inconnu), computed for all
    # dates at once: a monthly series calls it ~80 times, 10 ms each on 750 CPTS.
    stage_dates = _stage_dates(cpts).to_numpy(dtype="datetime64[ns]")  # (CPTS, national stages), NaT: never
    undated = int(np.isnat(stage_dates).all(axis=1).sum()) if len(stage_dates) else 0
    records = []
    for date in dates:
        reached = stage_dates <= np.datetime64(date.to_datetime64(), "ns")  # NaT compares False
        started = reached.any(axis=1)
        highest = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1)
        counts = np.bincount(highest[started], minlength=len(NATIONAL_STAGES))
        for i, stage in enumerate(NATIONAL_STAGES):
            records.append({"date": date, "stage_code": stage, "cpts_count": int(counts[i])})
        if undated:
            records.append({"date": date, "stage_code": UNKNOWN_STAGE, "cpts_count": undated})
    return pd.DataFrame(records, columns=["date", "stage_code", "cpts_count"])


def coverage_over_time(
    units: pd.DataFrame, cpts: pd.DataFrame, cpts_units: pd.DataFrame, dates: Iterable | None = None
) -> pd.DataFrame:
    """Population covered (each unit once) at each date: date, population_covered, units_covered, coverage_pct.

    A unit is covered from the first dated stage of the first of its CPTS to start; by an undated CPTS
    at every date. The percentage is over the population of ``units``.
    """
    dates = monthly_dates(cpts) if dates is None else pd.DatetimeIndex([to_timestamp(d) for d in dates])
    first = cpts_stages(cpts, "1900-01-01")[["cpts_id", "has_dates", "first_stage_date"]]
    # Undated CPTS count at every date: give them a start before any series.
    start = pd.to_datetime(first["first_stage_date"]).where(first["has_dates"], pd.Timestamp("1900-01-01"))
    first = pd.DataFrame({"cpts_id": first["cpts_id"], "start": start})
    unit_start = (
        cpts_units[["cpts_id", "commune_code"]].merge(first, on="cpts_id").groupby("commune_code")["start"].min()
    )
    frame = units[["commune_code", "population_count"]].merge(
        unit_start.rename("start"), left_on="commune_code", right_index=True, how="left"
    )
    total = int(frame["population_count"].sum())
    # Units sorted by start date with their cumulated population: the units covered at a date are a
    # prefix of that order (one binary search per date instead of a mask over every unit).
    covered = frame[frame["start"].notna()].sort_values("start")
    starts = covered["start"].to_numpy(dtype="datetime64[ns]")
    cumulated = np.concatenate([[0], np.cumsum(covered["population_count"].to_numpy(dtype="int64"))])
    counts = np.searchsorted(starts, dates.to_numpy(dtype="datetime64[ns]"), side="right")
    rows = [
        {
            "date": date,
            "population_covered": int(cumulated[n]),
            "units_covered": int(n),
            "coverage_pct": int(cumulated[n]) / total * 100 if total else None,
        }
        for date, n in zip(dates, counts, strict=True)
    ]
    return pd.DataFrame(rows, columns=["date", "population_covered", "units_covered", "coverage_pct"])


# ---------------------------------------------------------------------------------------------------
# Published national figures (data/national_counts.json)
# ---------------------------------------------------------------------------------------------------

NATIONAL_COUNTS_PATH = DATA_DIR / "national_counts.json"
NATIONAL_FIGURE_FIELDS = (
    "figure_id", "measure", "stage", "value", "qualifier", "unit", "date", "source_label", "source_detail",
    "definition",
)  # fmt: skip


def _parse_figure_date(text: str) -> pd.Timestamp:
    """'AAAA-MM' (a month: placed at its last day, like our monthly series) or 'AAAA-MM-JJ'."""
    if len(text) == 7:
        return pd.Timestamp(text + "-01") + pd.offsets.MonthEnd(0)
    return pd.Timestamp(dt.date.fromisoformat(text))


def validate_national_counts(data: dict) -> list[str]:
    """Problems in the published figures file (empty list: valid). Messages in French."""
    errors = []
    measures, stages = data.get("measures", {}), data.get("stages", {})
    seen = set()
    for i, fig in enumerate(data.get("figures", [])):
        where = f"national_counts.json, figures[{i}] ({fig.get('figure_id', '?')})"
        for key in NATIONAL_FIGURE_FIELDS:
            if key not in fig:
                errors.append(f"{where} : champ « {key} » manquant")
        if set(fig) - set(NATIONAL_FIGURE_FIELDS):
            errors.append(f"{where} : champs inattendus {sorted(set(fig) - set(NATIONAL_FIGURE_FIELDS))}")
        if fig.get("figure_id") in seen:
            errors.append(f"{where} : identifiant en double")
        seen.add(fig.get("figure_id"))
        if fig.get("measure") not in measures:
            errors.append(f"{where} : mesure inconnue {fig.get('measure')!r}")
        if fig.get("stage") not in stages:
            errors.append(f"{where} : stade inconnu {fig.get('stage')!r}")
        if not isinstance(fig.get("value"), (int, float)) or fig.get("value") < 0:
            errors.append(f"{where} : valeur non numérique ou négative")
        try:
            _parse_figure_date(str(fig.get("date")))
        except ValueError:
            errors.append(f"{where} : date invalide {fig.get('date')!r} (attendu AAAA-MM ou AAAA-MM-JJ)")
        for key in ("source_label", "source_detail", "definition", "unit"):
            if not str(fig.get(key) or "").strip():
                errors.append(f"{where} : champ « {key} » vide")
    return errors


def left_out_national_figures(path: Path | None = None) -> list[dict[str, str]]:
    """Candidate figures not kept because no consultable source confirmed them (« candidate », « reason »)."""
    data = json.loads(Path(path or NATIONAL_COUNTS_PATH).read_text(encoding="utf-8"))
    return [{"candidate": str(x["candidate"]), "reason": str(x["reason"])} for x in data.get("left_out", [])]


def published_national_figures(path: Path | None = None) -> pd.DataFrame:
    """Published national figures as a frame (with a parsed ``date`` and French ``measure_label`` and
    ``stage_label``); raises ValueError naming the problems if the file is invalid."""
    path = Path(path or NATIONAL_COUNTS_PATH)
    data = json.loads(path.read_text(encoding="utf-8"))
    errors = validate_national_counts(data)
    if errors:
        raise ValueError("\n".join(errors))
    frame = pd.DataFrame(data["figures"], columns=list(NATIONAL_FIGURE_FIELDS))
    frame["date_text"] = frame["date"]
    frame["date"] = [_parse_figure_date(d) for d in frame["date_text"]]
    frame["measure_label"] = frame["measure"].map(data["measures"])
    frame["stage_label"] = frame["stage"].map(data["stages"])
    return frame
