"""Streamlit caches of the « Financement » page (pages/financement.py): thin ``st.cache_data`` wrappers
around ``observatory.funding_analysis``, ``funding_scenario`` and ``funding_allocation``.

Keys: database path, register with its reference date and région, the funding hypotheses
(``Assumptions``, a frozen dataclass), the area (level + code) and the scenario or need choice. The
register's coverage snapshot, units and indicator frames are the « Couverture » caches of ``ui.cache``
(one copy in memory for every page).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory import coverage as _coverage
from observatory import funding_allocation as _allocation
from observatory import funding_analysis as _analysis
from observatory import funding_charts as _charts
from observatory import funding_scenario as _scenario
from observatory import queries
from observatory.indicators import catalogue_entry
from ui import cache, cache_couverture


@st.cache_data(show_spinner=False, max_entries=8)
def recorded_missions(path: str, register_id: str, as_of: str) -> dict[str, tuple[str, ...]] | None:
    """Missions started at the date per CPTS; None when the register records none."""
    return _analysis.register_missions(queries.cpts_missions(cache.connection_for(path), register_id), as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def funding_rows(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions
) -> pd.DataFrame:
    """Ceilings of every CPTS of the register active at the date."""
    snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
    return _analysis.cpts_funding(snapshot.cpts, recorded_missions(path, register_id, as_of), assumptions)


@st.cache_data(show_spinner=False, max_entries=64)
def area_rows(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions,
    level: str, code: str | None,
) -> pd.DataFrame:  # fmt: skip
    snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
    return _analysis.in_area(funding_rows(path, register_id, as_of, region, assumptions), snapshot.links, level, code)


@st.cache_data(show_spinner=False, max_entries=64)
def area_tables(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions,
    level: str, code: str | None,
) -> dict:  # fmt: skip
    """Totals and every table of the area (by stage, by component, by grid, near limits, mergers)."""
    snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
    rows = area_rows(path, register_id, as_of, region, assumptions, level, code)
    labels = dict(zip(cache.stage_table(path)["stage_code"], cache.stage_table(path)["label"], strict=True))
    summary = snapshot.cpts
    return {
        "totals": _analysis.area_totals(rows, snapshot.links, snapshot.units),
        "by_stage": _analysis.by_stage(rows, {**_coverage.DEFAULT_STAGE_LABELS, **labels}),
        "by_component": _analysis.by_component(rows),
        "by_grid": _analysis.grid_comparison(
            summary, recorded_missions(path, register_id, as_of), assumptions, set(rows["cpts_id"]),
            snapshot.links, snapshot.units, as_of,
        ),
        "near_limits": _analysis.near_limits(rows, assumptions.grid_id),
        "mergers": _analysis.merger_effects(rows, snapshot.links, snapshot.units, assumptions.grid_id),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def cliff_spec(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions,
    level: str, code: str | None, highlight: str | None,
) -> dict:  # fmt: skip
    rows = area_rows(path, register_id, as_of, region, assumptions, level, code)
    chart = _charts.cliff_chart(_analysis.cliff_curve(assumptions.grid_id), _analysis.with_ceiling(rows), highlight)
    return chart.to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=16)
def scenario_result(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions,
    level: str, code: str | None, scenario: _scenario.Merge | _scenario.Split,
) -> dict:  # fmt: skip
    """The register rewritten by the scenario, recomputed with the same code: the touched CPTS before and
    after, and the area's coverage before and after. Raises ScenarioError (French) if not applicable."""
    cpts, links = cache_couverture.couverture_register(path, register_id)
    missions = recorded_missions(path, register_id, as_of)
    apply = _scenario.apply_merge if isinstance(scenario, _scenario.Merge) else _scenario.apply_split
    rewritten = apply(cpts, links, missions, scenario)
    before = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
    after = _coverage.coverage_snapshot(cache_couverture.couverture_units(path), rewritten.cpts, rewritten.links, as_of, region)
    rows_before = funding_rows(path, register_id, as_of, region, assumptions)
    rows_after = _analysis.cpts_funding(after.cpts, rewritten.missions, assumptions)
    return {
        "description": rewritten.description,
        "comparison": _scenario.comparison_table(rows_before, rows_after, rewritten),
        "coverage": _scenario.coverage_table(
            _coverage.key_figures(before, level, code), _coverage.key_figures(after, level, code)
        ),
        "population_before": int(rows_before.set_index("cpts_id").reindex(list(rewritten.before_ids))["population_count"].sum()),
        "population_after": int(rows_after.set_index("cpts_id").reindex(list(rewritten.after_ids))["population_count"].sum()),
    }


def need_catalogue(path: str) -> pd.DataFrame:
    """Indicators usable as a need (a direction, at least one year)."""
    catalogue = cache_couverture.couverture_indicator_catalogue(path)
    usable = catalogue["direction"].isin(_allocation.DIRECTIONS) & catalogue["years"].map(
        lambda years: years is not None and len(years) > 0
    )
    return catalogue[usable].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=32)
def allocation(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions,
    level: str, code: str | None, need_code: str | None, year: int | None, intensity_pct: int,
) -> _allocation.Allocation:  # fmt: skip
    rows = area_rows(path, register_id, as_of, region, assumptions, level, code)
    need = None
    if need_code is not None and year is not None:
        entry = catalogue_entry(cache_couverture.couverture_indicator_catalogue(path), need_code)
        data = cache_couverture.couverture_indicator(path, need_code, int(year))
        ids = list(_analysis.with_ceiling(rows)["cpts_id"])
        snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
        values, reference = _allocation.need_values(data.units, snapshot.links, ids, entry["aggregation"])
        need = _allocation.NeedChoice(need_code, entry["label"], entry["unit"], entry["direction"], int(year),
                                      intensity_pct / 100, values, reference)
    return _allocation.alternative_allocation(rows, need)


@st.cache_data(show_spinner=False, max_entries=16)
def national_totals(
    path: str, register_id: str, as_of: str, region: str | None, assumptions: _analysis.Assumptions
) -> _analysis.AreaTotals:
    snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
    return _analysis.area_totals(funding_rows(path, register_id, as_of, region, assumptions), snapshot.links, snapshot.units)


@st.cache_data(show_spinner=False)
def published_payments() -> pd.DataFrame:
    figures = cache_couverture.couverture_published_figures()
    return figures[figures["measure"] == "aci_paid_eur"].sort_values("date").reset_index(drop=True)


@st.cache_data(show_spinner=False)
def left_out_figures() -> list[dict[str, str]]:
    return _coverage.left_out_national_figures()
