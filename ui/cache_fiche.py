"""Caches of the « Fiche CPTS » (pages/fiche-cpts.py) and « Matrice » (pages/matrice.py) pages: thin
``st.cache_data`` wrappers. Keys: database path, register with its reference date and région, CPTS id. The
register's snapshot, units and indicator frames are the « Couverture » caches (``ui.cache_couverture``: one
copy in memory for both pages). Reads of the assessments store are keyed by the user-data location plus a
token that changes whenever user data is written. The store handle, the peer
profiles and the loading of the demo assessments are those of the « Auto-évaluation » section of ``ui.cache``.
The token of user data is the store's change token (read once per run), so a submission by this
instance or another shows at once.
"""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd
import streamlit as st

from observatory import assessments, demo_assessments, instrument, maps, matrix_view, peers, profile, queries, scoring
from observatory.userdb import UserDataError
from ui import cache
from ui import cache_couverture as cc
from ui.map_component import PreparedMap, prepare_map


def _connection(path: str):
    return cache.connection_for(path)


def _assessment_store(user_path: str):
    return cache._assessment_store(user_path)  # the store handle of the Auto-évaluation caches (one per file)


@st.cache_data(show_spinner=False, max_entries=256)
def profile_find_cpts(path: str, cpts_id: str) -> dict | None:
    """One CPTS by id in any register (shared links), with its register's name and kind; None if unknown."""
    frame = queries.find_cpts(_connection(path), cpts_id)
    return None if frame.empty else frame.iloc[0].to_dict()


@st.cache_data(show_spinner=False, max_entries=8)
def profile_missions(path: str, register_id: str) -> pd.DataFrame:
    return queries.cpts_missions(_connection(path), register_id)


@st.cache_data(show_spinner=False)
def profile_case_study_figures(path: str) -> pd.DataFrame:
    return queries.case_study_figures(_connection(path))


@st.cache_data(show_spinner=False, max_entries=64)
def profile_summary_row(path: str, register_id: str, as_of: str, register_region: str | None, cpts_id: str) -> dict | None:
    """The CPTS's row of ``coverage.cpts_summary`` (population, communes, départements, stage at the date)."""
    summary = cc.couverture_snapshot(path, register_id, as_of, register_region).cpts
    rows = summary[summary["cpts_id"] == cpts_id]
    return None if rows.empty else rows.iloc[0].to_dict()


@st.cache_data(show_spinner=False, max_entries=32)
def profile_territory(
    path: str, register_id: str, as_of: str, register_region: str | None, cpts_id: str
) -> profile.TerritoryProfile | None:
    """Map units, population and access indicators of one CPTS (None: no commune, e.g. a case study)."""
    snapshot = cc.couverture_snapshot(path, register_id, as_of, register_region)
    row = snapshot.cpts[snapshot.cpts["cpts_id"] == cpts_id]
    if row.empty or int(row.iloc[0]["communes_count"]) == 0:
        return None
    row = row.iloc[0]
    depts = cache.departement_table(path).set_index("departement_code")
    regions = cache.region_table(path).set_index("region_code")["name"]
    dept_codes = [c for c in str(row["departement_codes"]).split(", ") if c in depts.index]
    main = row["main_departement_code"] if row["main_departement_code"] in dept_codes else dept_codes[0]
    region_code = depts.at[main, "region_code"]
    candidates = pd.concat([cc.couverture_unit_geometries(path, code) for code in dept_codes], ignore_index=True)
    catalogue = cc.couverture_indicator_catalogue(path)
    frames = {
        code: {int(year): cc.couverture_indicator(path, code, int(year))
               for year in catalogue.set_index("indicator_code").at[code, "years"]}
        for code in profile.shown_indicators(catalogue)
    }
    return profile.territory_profile(
        snapshot, cpts_id, str(row["name"]), cc.couverture_units(path), gpd.GeoDataFrame(candidates, geometry="geometry", crs=queries.WGS84),
        frames, (main, str(depts.at[main, "name"])), (region_code, str(regions.get(region_code, region_code))),
    )


@st.cache_data(show_spinner=False, max_entries=32)
def profile_map(path: str, register_id: str, as_of: str, register_region: str | None,
                cpts_id: str) -> tuple[PreparedMap, str] | None:
    """The territory map of one CPTS, prepared once, and its legend (HTML, drawn beside the map)."""
    territory = profile_territory(path, register_id, as_of, register_region, cpts_id)
    if territory is None:
        return None
    places = cc.couverture_places(path)
    drawn = territory.drawn_units
    drawn_codes = set(drawn["commune_code"])
    parents = set(places.loc[places["commune_code"].isin(drawn_codes), "parent_commune_code"].dropna())
    shown = places[places["commune_code"].isin(drawn_codes | parents)]  # a city split into arrondissements too
    stages = cache.stage_table(path)
    members = set(territory.snapshot.links.loc[territory.snapshot.links["cpts_id"] == cpts_id, "commune_code"])
    title, items = maps.cpts_profile_legend(territory.snapshot, cpts_id, stages, bool(set(drawn["commune_code"]) - members))
    m = maps.cpts_profile_map(territory.snapshot, cpts_id, drawn, stages, shown)
    return prepare_map(m), maps.legend_html(title, items)


def user_db_token(user_path: str) -> tuple[int, ...]:
    """Changes whenever user data is written (any instance, any process): part of the cache keys below. One
    cheap read (the store's change token: a stat of the DuckDB file, one small query on PostgreSQL), so a page
    reads it once per run and passes it down. When the store cannot be read, a token never seen before:
    nothing is served from the caches, and the reads that follow report the store's problem
    (``errors.user_data``)."""
    try:
        return (_assessment_store(user_path).data_version(),)
    except UserDataError:
        return (-1, time.monotonic_ns())


@st.cache_data(show_spinner=False, max_entries=128)
def profile_history(user_path: str, token: tuple[int, ...], cpts_id: str) -> list[assessments.Assessment]:
    """Submitted assessments of a CPTS, oldest first."""
    return _assessment_store(user_path).history(cpts_id)


@st.cache_data(show_spinner=False, max_entries=2)
def _latest_results(user_path: str, token: tuple[int, ...]) -> dict[str, tuple[scoring.ScoreResult, bool]]:
    """cpts_id -> (scores of its latest submitted assessment, is_demo), every CPTS of the store. Large:
    only the cached functions below read it, pages get their small results."""
    return {a.cpts_id: (a.score_result, bool(a.is_demo)) for a in _assessment_store(user_path).all_latest_submitted()}


def latest_results(user_path: str, token: tuple[int, ...]) -> dict[str, tuple[scoring.ScoreResult, bool]]:
    """Every CPTS's latest result (cached): for ``observatory.user_data`` only, which filters it by the rules."""
    return _latest_results(user_path, token)


@st.cache_data(show_spinner=False, max_entries=4)
def assessed_cpts(user_path: str, token: tuple[int, ...]) -> dict[str, bool]:
    """cpts_id -> is_demo of every CPTS with a submitted assessment."""
    return {cpts_id: demo for cpts_id, (_, demo) in _latest_results(user_path, token).items()}


@st.cache_data(show_spinner=False, max_entries=64)
def peer_results(user_path: str, token: tuple[int, ...], cpts_ids: tuple[str, ...]) -> list[scoring.ScoreResult]:
    """Latest submitted results of the given CPTS (a peer group), those without submission left out."""
    latest = _latest_results(user_path, token)
    return [latest[c][0] for c in cpts_ids if c in latest]


@st.cache_data(show_spinner=False, max_entries=64)
def profile_assessment_view(
    path: str, register_id: str, as_of: str, user_path: str, token: tuple[int, ...], cpts_id: str, cpts_label: str,
    visible_ids: tuple[str, ...], peer_ids: tuple[str, ...],
) -> profile.AssessmentView | None:
    """The profile's self-assessment section (radars with the peer median when allowed, history chart), from
    the assessments the caller may see (``visible_ids``) and the peers it may count (``peer_ids``): both
    decided by ``observatory.user_data`` before this cache is asked."""
    history = [a for a in profile_history(user_path, token, cpts_id) if a.assessment_id in visible_ids]
    if not history:
        return None
    result = history[-1].score_result
    group = peers.peer_group_of(cache.auto_evaluation_profiles(path, register_id, as_of), cpts_id)
    comparison = peers.peer_comparison(group, peer_results(user_path, token, peer_ids),
                                                result.scoring_version,
                                                instrument.load_scoring_model(result.scoring_version).min_peers)
    return profile.assessment_view(history, instrument.load_instrument(history[-1].instrument_version), cpts_label,
                                    comparison)


@st.cache_data(show_spinner=False, max_entries=16)
def profile_case_study_view(cpts_id: str, cpts_label: str) -> tuple[scoring.ScoreResult | None, tuple]:
    """A case study's partial answers (thesis Tables 3 to 7, Annexe 1 for A) scored leniently, and their radars."""
    model = instrument.load_scoring_model(instrument.latest_scoring_version())
    questions = instrument.load_instrument(model.instrument_version)
    result = profile.case_study_result(cpts_id, demo_assessments.load_case_study_answers(), questions, model)
    return result, (profile.case_study_radars(result, questions, cpts_label) if result is not None else ())


@st.cache_data(show_spinner=False, max_entries=64)
def profile_timeline(path: str, cpts_id: str, as_of: str) -> tuple[pd.DataFrame, object]:
    """(stage timeline frame, its chart or None) of a CPTS at its register's date."""
    timeline = profile.stage_timeline(profile_find_cpts(path, cpts_id), as_of)
    return timeline, profile.stage_timeline_chart(timeline)


@st.cache_data(show_spinner=False, max_entries=4)
def matrix_national_distribution(
    user_path: str, token: tuple[int, ...], scoring_version: str, min_count: int, include_real: bool
) -> tuple[dict, int, int, int]:
    """(distribution per sub-dimension, assessments used, of which demo, excluded as scored with another
    model version) over the latest submitted assessment of every CPTS; demo CPTS only unless ``include_real``
    (``UserData.sees_real_aggregates``: the public sees aggregates of demo data only)."""
    latest = {c: v for c, v in _latest_results(user_path, token).items() if include_real or v[1]}
    results = [r for r, _ in latest.values()]
    distribution, other = matrix_view.subdimension_distribution(results, scoring_version, min_count)
    used = [(r, demo) for r, demo in latest.values() if r.scoring_version == scoring_version]
    return distribution, len(used), sum(demo for _, demo in used), other
