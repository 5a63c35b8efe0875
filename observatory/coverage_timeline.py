"""A register's coverage at any date, fast: what does not depend on the date is computed once.

:func:`observatory.coverage.coverage_snapshot` recomputes everything for each date (joins, per-unit lists
built link by link: about 0.25 s for the demo register on all France). Moving the time control must
redraw in well under half a second, so :func:`build_timeline` keeps, per register, the links joined to
their units, each CPTS's stage dates, population, communes, départements and size class, and
:func:`snapshot_at` only does what the date changes, with array operations: which CPTS are active and at
which stage, then per unit its count of CPTS, the most advanced stage and the ordered lists.

The result is the same :class:`~observatory.coverage.CoverageSnapshot`, equal to ``coverage_snapshot``
(``tests/test_coverage_timeline.py`` checks it on several registers and dates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatory.coverage import (
    COVERED,
    NATIONAL_STAGES,
    OUT_OF_REGISTER,
    OVERLAP,
    STAGE_RANK,
    UNIT_COLUMNS,
    WHITE_ZONE,
    CoverageSnapshot,
    _stage_dates,
    cpts_summary,
    to_timestamp,
)
from observatory.stages import UNKNOWN_STAGE

_STAGE_CODES = np.array(list(NATIONAL_STAGES), dtype=object)


@dataclass(frozen=True)
class CoverageTimeline:
    """Date-independent parts of a register's coverage (build with :func:`build_timeline`)."""

    register_region: str | None
    units: pd.DataFrame  # the territorial units, as given
    cpts: pd.DataFrame  # the register's CPTS (``queries.list_cpts``)
    links: pd.DataFrame  # (cpts_id, commune_code, departement_code, region_code) of known units
    summary: pd.DataFrame  # cpts_summary at a date before any stage: the date-independent columns
    stage_dates: np.ndarray  # (CPTS, national stages) datetime64, NaT: never reached
    link_unit: np.ndarray  # per link: position of its unit in ``units``
    link_cpts: np.ndarray  # per link: position of its CPTS in ``cpts``
    link_order: np.ndarray  # links sorted by unit then CPTS name (the lists' order within a rank)


def build_timeline(units: pd.DataFrame, cpts: pd.DataFrame, cpts_units: pd.DataFrame,
                   register_region: str | None = None) -> CoverageTimeline:
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise ValueError(f"unités territoriales : colonnes manquantes {missing}")
    units = units.reset_index(drop=True)
    cpts = cpts.reset_index(drop=True)
    unit_pos = pd.Series(np.arange(len(units)), index=units["commune_code"].astype(object).to_numpy())
    cpts_pos = pd.Series(np.arange(len(cpts)), index=cpts["cpts_id"].astype(object).to_numpy())
    pairs = cpts_units[["cpts_id", "commune_code"]].astype(object)
    pairs = pairs[pairs["commune_code"].isin(unit_pos.index) & pairs["cpts_id"].isin(cpts_pos.index)]
    link_unit = unit_pos.reindex(pairs["commune_code"]).to_numpy(dtype=np.int64)
    link_cpts = cpts_pos.reindex(pairs["cpts_id"]).to_numpy(dtype=np.int64)
    names = cpts["name"].astype(object).to_numpy() if "name" in cpts.columns else cpts["cpts_id"].to_numpy()
    name_rank = pd.Series(names).rank(method="dense").to_numpy()
    link_order = np.lexsort((name_rank[link_cpts], link_unit)) if len(link_unit) else np.array([], dtype=np.int64)
    links = cpts_units[["cpts_id", "commune_code"]].merge(
        units[["commune_code", "departement_code", "region_code"]], on="commune_code", how="inner"
    )
    # Before any stage date every CPTS is inactive: what the summary holds then does not depend on the date.
    summary = cpts_summary(cpts, cpts_units, units, "1900-01-01")
    dates = _stage_dates(cpts).to_numpy(dtype="datetime64[ns]") if len(cpts) else np.empty((0, len(NATIONAL_STAGES)),
                                                                                        dtype="datetime64[ns]")
    return CoverageTimeline(register_region, units, cpts, links, summary, dates, link_unit, link_cpts, link_order)


def _stages_at(timeline: CoverageTimeline, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """(stage code per CPTS, None when not started; rank per CPTS, -1 when not started)."""
    dates = timeline.stage_dates
    n = len(dates)
    reached = dates <= np.datetime64(as_of.to_datetime64(), "ns")  # NaT compares False
    undated = np.isnat(dates).all(axis=1) if n else np.zeros(0, dtype=bool)
    started = reached.any(axis=1) if n else np.zeros(0, dtype=bool)
    highest = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1) if n else np.zeros(0, dtype=np.int64)
    codes = np.full(n, None, dtype=object)
    codes[started] = _STAGE_CODES[highest[started]]
    codes[undated] = UNKNOWN_STAGE
    ranks = np.array([STAGE_RANK[c] if c is not None else -1 for c in codes], dtype=np.int64)
    return codes, ranks


def snapshot_at(timeline: CoverageTimeline, as_of) -> CoverageSnapshot:
    """The coverage at ``as_of``: the same snapshot as ``coverage.coverage_snapshot``, computed from the
    timeline (array operations on the links, Python only for the few units claimed by several CPTS)."""
    ts = to_timestamp(as_of)
    cpts, units = timeline.cpts, timeline.units
    codes, ranks = _stages_at(timeline, ts)
    n_units = len(units)

    # Active links ordered by unit, most advanced stage first, then CPTS name.
    order = timeline.link_order
    link_rank = ranks[timeline.link_cpts[order]]
    active = order[link_rank >= 0]
    active = active[np.argsort(-ranks[timeline.link_cpts[active]], kind="stable")]
    active = active[np.argsort(timeline.link_unit[active], kind="stable")]
    unit_of = timeline.link_unit[active]
    cpts_of = timeline.link_cpts[active]
    counts = np.bincount(unit_of, minlength=n_units)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    ids = cpts["cpts_id"].astype(object).to_numpy()
    names = (cpts["name"] if "name" in cpts.columns else cpts["cpts_id"]).astype(object).to_numpy()
    covered = counts > 0
    first = cpts_of[starts[covered]]
    cpts_ids = np.empty(n_units, dtype=object)
    cpts_names = np.full(n_units, "", dtype=object)
    stage_codes = np.empty(n_units, dtype=object)
    cpts_ids[:] = [()] * n_units
    stage_codes[:] = [()] * n_units
    single = np.flatnonzero(counts == 1)
    single_first = cpts_of[starts[single]]
    cpts_ids[single] = list(zip(ids[single_first], strict=True))
    cpts_names[single] = names[single_first]
    stage_codes[single] = list(zip(codes[single_first], strict=True))
    for unit in np.flatnonzero(counts >= 2):  # overlaps: a few hundred at most
        members = cpts_of[starts[unit]:starts[unit] + counts[unit]]
        cpts_ids[unit] = tuple(ids[members])
        cpts_names[unit] = " ; ".join(names[members])
        stage_codes[unit] = tuple(codes[members])
    highest = np.full(n_units, None, dtype=object)
    highest[covered] = codes[first]
    highest_rank = pd.array([None] * n_units, dtype="Int64")
    highest_rank[covered] = ranks[first]

    out = units.copy()
    out["cpts_count"] = counts.astype("int64")
    out["cpts_ids"] = cpts_ids
    out["cpts_names"] = cpts_names
    out["stage_codes"] = stage_codes
    out["highest_stage"] = pd.Series(highest, dtype=object)
    out["highest_stage_rank"] = highest_rank
    status = np.where(counts >= 2, OVERLAP, np.where(counts == 1, COVERED, WHITE_ZONE))
    if timeline.register_region is not None:
        outside = (out["region_code"] != str(timeline.register_region)).to_numpy()
        status = np.where((status == WHITE_ZONE) & outside, OUT_OF_REGISTER, status)
    out["status"] = status

    summary = timeline.summary.copy()
    summary["stage_code"] = pd.Series(codes, dtype=object)
    summary["stage_rank"] = pd.Series(ranks, dtype="Int64").where(ranks >= 0, pd.NA).astype("Int64")
    summary["is_active"] = ranks >= 0
    shared = np.isin(timeline.link_unit[active], np.flatnonzero(counts >= 2))
    summary["overlap_communes_count"] = np.bincount(cpts_of[shared], minlength=len(cpts)).astype("int64")
    return CoverageSnapshot(ts, timeline.register_region, out, summary, timeline.links)
