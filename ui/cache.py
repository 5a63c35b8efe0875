"""Every Streamlit cache of the app, in one place.

The analytical DuckDB file is opened read-only once per database path (``cache_resource``), and each
query takes its own cursor (``observatory.db``). Data frames are ``cache_data`` keyed only by hashable
domain values; the database path is part of every key so tests using other databases never collide.
"""

from __future__ import annotations

import os
import threading

import duckdb
import pandas as pd
import streamlit as st

from observatory import config, db, queries


@st.cache_resource(show_spinner=False)
def _connection(db_path: str) -> duckdb.DuckDBPyConnection:
    return db.open_readonly(db_path)


def db_path() -> str:
    return str(config.database_path())


# --- a rebuilt database is noticed ------------------------------------------------------------------
# A build or an import replaces the file by renaming a new one over it (observatory.write_lock), so the
# file's identity (inode, size, modification time) changes. Each run compares it with the identity this
# process last saw; on a change, every cache is dropped and the connection reopened on the new file.


class _SeenFiles:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stamps: dict[str, tuple[int, int, int] | None] = {}


@st.cache_resource(show_spinner=False)
def _seen_files() -> _SeenFiles:
    return _SeenFiles()


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def reload_if_rebuilt(path: str) -> bool:
    """True (after dropping every cache) when the database file changed since this process last looked."""
    seen = _seen_files()
    stamp = _file_stamp(path)
    with seen.lock:
        previous = seen.stamps.get(path, stamp)
        seen.stamps[path] = stamp
    if previous == stamp:
        return False
    st.cache_data.clear()
    _connection.clear()  # the old connection keeps the replaced file open until its last cursor closes
    return True


def connection() -> duckdb.DuckDBPyConnection:
    return _connection(db_path())


def connection_for(path: str) -> duckdb.DuckDBPyConnection:
    """The read-only connection to the analytical database at ``path`` (cached per path): what cache
    modules of each page area call, so how connections are cached stays decided here."""
    return _connection(path)


@st.cache_data(show_spinner=False)
def registers(path: str) -> pd.DataFrame:
    return queries.list_registers(_connection(path))


@st.cache_data(show_spinner=False)
def sources(path: str) -> pd.DataFrame:
    return queries.sources(_connection(path))


@st.cache_data(show_spinner=False)
def build_info(path: str) -> dict[str, str]:
    return queries.build_info(_connection(path))


# Vocabularies shared by every page.
@st.cache_data(show_spinner=False)
def stage_table(path: str) -> pd.DataFrame:
    return queries.stages(_connection(path))


@st.cache_data(show_spinner=False)
def region_table(path: str) -> pd.DataFrame:
    return queries.regions(_connection(path))


@st.cache_data(show_spinner=False)
def departement_table(path: str) -> pd.DataFrame:
    return queries.departements(_connection(path))


# --- couverture ---
# Caches of the « Couverture » page (pages/couverture.py). Keys: database path, register, reference date
# (ISO string), area (level + code), selected CPTS. Maps are cached as the prepared arguments of the
# map component (strings, see ui/map_component.py), so a warm rerun neither builds nor renders them.

import folium  # noqa: E402  (also used by the sections below)
import geopandas as gpd  # noqa: E402

from observatory import charts as _charts  # noqa: E402
from observatory import coverage as _coverage  # noqa: E402
from observatory import indicator_catalogue as _indicator_catalogue  # noqa: E402
from observatory import indicators as _indicators  # noqa: E402
from observatory import maps as _maps  # noqa: E402
from ui import couverture_widgets as _couverture_widgets  # noqa: E402
from ui.map_component import PreparedMap, prepare_map  # noqa: E402


@st.cache_data(show_spinner=False, max_entries=2)
def couverture_units(path: str) -> pd.DataFrame:
    """Every territorial unit of France (a snapshot needs them all for complete CPTS populations)."""
    return queries.territorial_units(_connection(path))


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_register(path: str, register_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(CPTS with their stage dates, their territories) of a register."""
    con = _connection(path)
    return queries.list_cpts(con, register_id), queries.cpts_units(con, register_id)


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_snapshot(
    path: str, register_id: str, as_of: str, register_region: str | None
) -> _coverage.CoverageSnapshot:
    cpts, links = couverture_register(path, register_id)
    return _coverage.coverage_snapshot(couverture_units(path), cpts, links, as_of, register_region)


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_key_figures(
    path: str, register_id: str, as_of: str, register_region: str | None, level: str, code: str | None
) -> _coverage.KeyFigures:
    return _coverage.key_figures(couverture_snapshot(path, register_id, as_of, register_region), level, code)


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_area_cpts(
    path: str, register_id: str, as_of: str, register_region: str | None, level: str, code: str | None
) -> pd.DataFrame:
    """CPTS active at the date with a commune in the area (the selection list), sorted by name."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    return _couverture_widgets.active_cpts_in_area(snapshot, level, code)


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_click_lookup(
    path: str, register_id: str, as_of: str, register_region: str | None, level: str, code: str | None
) -> dict[str, tuple]:
    """commune_code -> its CPTS for the communes a map click can return (see ``unit_cpts_lookup``)."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    return _couverture_widgets.unit_cpts_lookup(snapshot, level, code)


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_area_table(
    path: str, register_id: str, as_of: str, register_region: str | None, level: str, code: str | None
) -> pd.DataFrame:
    """France: one row per région; a région: one row per département of it; a département: one row per
    CPTS active at the date with a commune in it. French headers (display and CSV)."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    labels, _ = _maps.stage_styles(stage_table(path))
    if level == "france":
        return _coverage.table_by_area(snapshot, "region", region_table(path), labels)
    if level == "region":
        depts = departement_table(path)
        table = _coverage.table_by_area(snapshot, "departement", depts, labels)
        codes = set(depts.loc[depts["region_code"] == code, "departement_code"])
        return table[table["Code"].isin(codes)].reset_index(drop=True)
    ids = set(snapshot.links.loc[snapshot.links["departement_code"] == code, "cpts_id"])
    summary = snapshot.cpts[snapshot.cpts["is_active"] & snapshot.cpts["cpts_id"].isin(ids)]
    return _coverage.cpts_table(summary.sort_values(["name", "cpts_id"]), labels)


def _area_frames(path: str, register_id: str, level: str, code: str | None):
    """(CPTS with a unit in the area, their territories, the area's units) for the time series."""
    cpts, links = couverture_register(path, register_id)
    units = couverture_units(path)
    if level != "france":
        units = units[units[_coverage.AREA_LEVELS[level]] == code]
        ids = set(links.loc[links["commune_code"].isin(set(units["commune_code"])), "cpts_id"])
        cpts = cpts[cpts["cpts_id"].isin(ids)]
        links = links[links["cpts_id"].isin(ids)]
    return cpts, links, units


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_stage_counts(path: str, register_id: str, level: str, code: str | None, end: str) -> pd.DataFrame:
    cpts, _, _ = _area_frames(path, register_id, level, code)
    return _coverage.stage_counts_over_time(cpts, _coverage.monthly_dates(cpts, end=end))


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_coverage_series(path: str, register_id: str, level: str, code: str | None, end: str) -> pd.DataFrame:
    cpts, links, units = _area_frames(path, register_id, level, code)
    return _coverage.coverage_over_time(units, cpts, links, _coverage.monthly_dates(cpts, end=end))


@st.cache_data(show_spinner=False)
def couverture_published_figures() -> pd.DataFrame:
    return _coverage.published_national_figures()


# Charts are cached as Vega-Lite specs: building and validating an Altair chart costs ~0.05 s each run.
# Not validated again here (~0.1 s on a first run): tests/test_charts.py validates what the builders make.


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_stage_chart(path: str, register_id: str, level: str, code: str | None, end: str) -> dict:
    """CPTS by stage over time; published national counts next to them in the France view only."""
    published = couverture_published_figures() if level == "france" else None
    counts = couverture_stage_counts(path, register_id, level, code, end)
    return _charts.stage_counts_chart(counts, stage_table(path), published).to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_coverage_chart(path: str, register_id: str, level: str, code: str | None, end: str) -> dict:
    published = couverture_published_figures() if level == "france" else None
    series = couverture_coverage_series(path, register_id, level, code, end)
    return _charts.coverage_over_time_chart(series, published).to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_departement_outlines(path: str) -> gpd.GeoDataFrame:
    return queries.departement_outlines(_connection(path))


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_cpts_geometries(path: str, register_id: str) -> gpd.GeoDataFrame:
    return queries.cpts_geometries(_connection(path), register_id)


@st.cache_data(show_spinner=False, max_entries=16)
def couverture_unit_geometries(path: str, departement_code: str) -> gpd.GeoDataFrame:
    return queries.unit_geometries(_connection(path), departement_code=departement_code)


@st.cache_data(show_spinner=False, max_entries=24)
def couverture_map(
    path: str,
    register_id: str,
    as_of: str,
    register_region: str | None,
    level: str,
    code: str | None,
    selected_cpts_id: str | None,
) -> PreparedMap:
    """The coverage map of an area. France and région: dissolved CPTS on départements; département: its
    communes."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    stages = stage_table(path)
    if level == "departement":
        return prepare_map(
            _maps.coverage_map_departement(snapshot, couverture_unit_geometries(path, code), stages, selected_cpts_id)
        )
    overlap = snapshot.units[snapshot.units["status"] == _coverage.OVERLAP]
    if level == "region":
        overlap = overlap[overlap["region_code"] == code]
    overlap_geometries = (
        queries.unit_geometries(_connection(path), commune_codes=overlap["commune_code"].tolist())
        if len(overlap)
        else None
    )
    depts = couverture_departement_outlines(path)
    geometries = couverture_cpts_geometries(path, register_id)
    if level == "region":
        return prepare_map(
            _maps.coverage_map_region(snapshot, code, depts, geometries, stages, overlap_geometries, selected_cpts_id)
        )
    return prepare_map(
        _maps.coverage_map_france(snapshot, depts, geometries, stages, overlap_geometries, selected_cpts_id)
    )


@st.cache_data(show_spinner=False)
def couverture_indicator_catalogue(path: str) -> pd.DataFrame:
    """Stored indicators (catalogue and imported) and the derived ones whose ingredients are present."""
    return _indicator_catalogue.full_catalogue(queries.indicator_catalogue(_connection(path)))


@st.cache_data(show_spinner=False, max_entries=6)
def couverture_indicator(path: str, indicator_code: str, year: int) -> _indicators.IndicatorFrame:
    """One indicator for one year on every territorial unit of France (weight, counts or both years)."""
    con = _connection(path)
    return _indicator_catalogue.load_indicator_frame(couverture_indicator_catalogue(path), indicator_code, year,
                                                     couverture_units(path), lambda c, y: queries.indicator_values(con, c, y))


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_indicator_rows(
    path: str,
    register_id: str,
    as_of: str,
    register_region: str | None,
    indicator_code: str,
    year: int,
    level: str,
    code: str | None,
) -> pd.DataFrame:
    """The indicator over the CPTS of the area, its white zone and the enclosing areas up to France
    (France view: covered communes vs white zone vs France)."""
    data = couverture_indicator(path, indicator_code, year)
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    if level == "france":
        by_status = _indicators.indicator_by_status(data, snapshot)
        france = _indicators.indicator_by_territory(data, snapshot, cpts_ids=[])
        return pd.concat([by_status, france[france["territory_kind"] == "france"]], ignore_index=True)
    regions = region_table(path).set_index("region_code")["name"]
    if level == "region":
        return _indicators.indicator_by_territory(
            data, snapshot, region_code=code, area_names={code: regions.get(code, code)}
        )
    depts = departement_table(path).set_index("departement_code")
    region_code = depts.loc[code, "region_code"]
    names = {code: depts.loc[code, "name"], region_code: regions.get(region_code, region_code)}
    return _indicators.indicator_by_territory(data, snapshot, departement_code=code, area_names=names)


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_indicator_chart(
    path: str,
    register_id: str,
    as_of: str,
    register_region: str | None,
    indicator_code: str,
    year: int,
    level: str,
    code: str | None,
    max_cpts_bars: int,
) -> dict:
    """The comparison bars; CPTS bars only when there are at most ``max_cpts_bars`` of them."""
    rows = couverture_indicator_rows(path, register_id, as_of, register_region, indicator_code, year, level, code)
    if (rows["territory_kind"] == "cpts").sum() > max_cpts_bars:
        rows = rows[rows["territory_kind"] != "cpts"]
    rows = rows[rows["units_count"] > 0]  # e.g. a département without white zone: no empty bar
    entry = couverture_indicator(path, indicator_code, year).entry
    return _charts.indicator_comparison_chart(rows, entry, year).to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_indicator_classes(path: str, indicator_code: str, year: int) -> _indicators.Classification:
    """Map classes: fixed thresholds (catalogue or import), else the indicator's own scheme over every
    commune of France that year, so that every département's map reads with the same legend."""
    data = couverture_indicator(path, indicator_code, year)
    return _indicators.classify_indicator(data.entry, data.units["value"])


@st.cache_data(show_spinner=False, max_entries=24)
def couverture_indicator_map(
    path: str,
    register_id: str,
    as_of: str,
    register_region: str | None,
    indicator_code: str,
    year: int,
    departement_code: str,
    selected_cpts_id: str | None,
) -> PreparedMap:
    """Commune choropleth of an indicator in a département."""
    data = couverture_indicator(path, indicator_code, year)
    dept = _indicators.IndicatorFrame(
        data.entry, data.year, data.units[data.units["departement_code"] == departement_code]
    )
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    return prepare_map(
        _maps.indicator_map(
            dept,
            couverture_unit_geometries(path, departement_code),
            couverture_indicator_classes(path, indicator_code, year),
            selected_cpts_id,
            snapshot,
        )
    )


# --- auto-evaluation ---
# Caches of the « Auto-évaluation » and « Méthode » pages. The assessments store (the user-data database: a
# DuckDB file of its own by default, or PostgreSQL) is a cache_resource per location: it holds no DuckDB
# connection (PostgreSQL: a few idle pooled ones), only the location and its schema check. Demo
# assessments are loaded once per (user database, analytical database, register, date): a cache_resource
# used for its side effect, idempotent anyway (observatory.demo_assessments.ensure_demo_in_store).

import time as _time  # noqa: E402

from observatory import coverage as _ae_coverage  # noqa: E402
from observatory import peers as _peers  # noqa: E402
from observatory.assessments import AssessmentStore as _AssessmentStore  # noqa: E402
from observatory.assessments import StoreUnavailableError as _StoreUnavailableError  # noqa: E402
from observatory.demo_assessments import ensure_demo_in_store as _ensure_demo_in_store  # noqa: E402


def user_db_path() -> str:
    """Where user data lives: the DuckDB file (default) or the PostgreSQL URL (``config.user_data_location``).
    A cache key only: never shown (a URL may hold a password)."""
    return config.user_data_location()


@st.cache_resource(show_spinner=False)
def _open_assessment_store(user_path: str) -> _AssessmentStore:
    return _AssessmentStore(user_path)


_STORE_RETRY_AFTER_S = 5.0


@st.cache_resource(show_spinner=False)
def _store_failures() -> dict[str, tuple[float, _StoreUnavailableError]]:
    """location -> (when, why) of the last failed opening, for every session (cleared with the caches)."""
    return {}


def _assessment_store(user_path: str) -> _AssessmentStore:
    """The store, or its problem. Opening a locked file waits a few seconds, an unreachable server up to its
    timeout: a failed opening is remembered for a few seconds, so a page's reads report it at once instead
    of each waiting again (caches never keep a failure)."""
    failed = _store_failures().get(user_path)
    if failed is not None and _time.monotonic() - failed[0] < _STORE_RETRY_AFTER_S:
        raise _StoreUnavailableError(failed[1].problem) from failed[1]
    try:
        return _open_assessment_store(user_path)
    except _StoreUnavailableError as exc:
        _store_failures()[user_path] = (_time.monotonic(), exc)
        raise


def assessment_store() -> _AssessmentStore:
    return _assessment_store(user_db_path())


@st.cache_data(show_spinner=False, max_entries=8)
def auto_evaluation_profiles(path: str, register_id: str, as_of: str) -> pd.DataFrame:
    """The register's CPTS with population, ACI size class and national stage at ``as_of``."""
    con = _connection(path)
    cpts = queries.list_cpts(con, register_id)
    summary = _ae_coverage.cpts_summary(cpts, queries.cpts_units(con, register_id), queries.territorial_units(con), as_of)
    return _peers.cpts_profiles(cpts, summary)


@st.cache_resource(show_spinner="Préparation des évaluations de démonstration (première ouverture)…")
def auto_evaluation_demo_loaded(user_path: str, path: str, register_id: str, as_of: str) -> int:
    """Generated demo assessments of a demo register in the user database (number written, 0 if present)."""
    return _ensure_demo_in_store(_assessment_store(user_path), auto_evaluation_profiles(path, register_id, as_of),
                                 pd.Timestamp(as_of).date())


@st.cache_data(show_spinner=False, max_entries=8)
def auto_evaluation_names(path: str, register_id: str, as_of: str) -> dict[str, str]:
    """CPTS id -> name, in the register's order (the selector's options; small, cheap to unpickle)."""
    profiles = auto_evaluation_profiles(path, register_id, as_of)
    return dict(zip(profiles["cpts_id"], profiles["name"], strict=True))


@st.cache_data(show_spinner=False, max_entries=256)
def auto_evaluation_profile(path: str, register_id: str, as_of: str, cpts_id: str) -> dict:
    """One CPTS's row of the profiles (stage, size class...) and its peer group."""
    profiles = auto_evaluation_profiles(path, register_id, as_of)
    row = profiles[profiles["cpts_id"] == cpts_id].iloc[0].to_dict()
    row["size_class"] = None if pd.isna(row["size_class"]) else int(row["size_class"])
    row["peer_group"] = _peers.peer_group_of(profiles, cpts_id)
    return row


@st.cache_data(show_spinner=False, max_entries=64)
def auto_evaluation_peer_group(path: str, register_id: str, as_of: str, size_class: int | None,
                               stage_code: str | None) -> _peers.PeerGroup:
    """Peers of a CPTS that is not in the register (added by a user), from its size class and stage."""
    return _peers.peer_group(auto_evaluation_profiles(path, register_id, as_of), size_class, stage_code)


@st.cache_data(show_spinner=False, ttl=60, max_entries=64)
def auto_evaluation_peers(user_path: str, group: _peers.PeerGroup, scoring_version: str,
                          min_peers: int) -> _peers.PeerComparison:
    """Peer medians from the peers' latest submissions (a minute old at most: peers change slowly)."""
    results = [a.score_result for a in _assessment_store(user_path).submitted_for_peers(group.cpts_ids)] if group.cpts_ids else []
    return _peers.peer_comparison(group, results, scoring_version, min_peers)


# --- fiche CPTS et matrice ---
# Caches of the « Fiche CPTS » (pages/fiche-cpts.py) and « Matrice » (pages/matrice.py) pages. Keys:
# database path, register with its reference date and région, CPTS id. The register's snapshot, units
# and indicator frames are the « Couverture » caches above (one copy in memory for both pages). Reads
# of the assessments store are keyed by the user-data location plus a token that changes whenever user data
# is written, by this instance or another (the store's change token, read once per run), so a new
# submission shows at once and unchanged data is never re-read. The store handle, the peer profiles and the loading of
# the demo assessments are those of the « Auto-évaluation » section above.

import copy as _copy  # noqa: E402

from observatory import assessments as _assessments  # noqa: E402
from observatory import demo_assessments as _demo_assessments  # noqa: E402
from observatory import instrument as _instrument  # noqa: E402
from observatory import matrix_view as _matrix_view  # noqa: E402
from observatory import peers as _profile_peers  # noqa: E402
from observatory import profile as _profile  # noqa: E402
from observatory import scoring as _scoring  # noqa: E402
from observatory.userdb import UserDataError as _UserDataError  # noqa: E402


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
    summary = couverture_snapshot(path, register_id, as_of, register_region).cpts
    rows = summary[summary["cpts_id"] == cpts_id]
    return None if rows.empty else rows.iloc[0].to_dict()


@st.cache_data(show_spinner=False, max_entries=32)
def profile_territory(
    path: str, register_id: str, as_of: str, register_region: str | None, cpts_id: str
) -> _profile.TerritoryProfile | None:
    """Map units, population and access indicators of one CPTS (None: no commune, e.g. a case study)."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    row = snapshot.cpts[snapshot.cpts["cpts_id"] == cpts_id]
    if row.empty or int(row.iloc[0]["communes_count"]) == 0:
        return None
    row = row.iloc[0]
    depts = departement_table(path).set_index("departement_code")
    regions = region_table(path).set_index("region_code")["name"]
    dept_codes = [c for c in str(row["departement_codes"]).split(", ") if c in depts.index]
    main = row["main_departement_code"] if row["main_departement_code"] in dept_codes else dept_codes[0]
    region_code = depts.at[main, "region_code"]
    candidates = pd.concat([couverture_unit_geometries(path, code) for code in dept_codes], ignore_index=True)
    catalogue = couverture_indicator_catalogue(path)
    frames = {
        code: {int(year): couverture_indicator(path, code, int(year))
               for year in catalogue.set_index("indicator_code").at[code, "years"]}
        for code in _profile.shown_indicators(catalogue)
    }
    return _profile.territory_profile(
        snapshot, cpts_id, str(row["name"]), couverture_units(path), gpd.GeoDataFrame(candidates, geometry="geometry", crs=queries.WGS84),
        frames, (main, str(depts.at[main, "name"])), (region_code, str(regions.get(region_code, region_code))),
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def profile_map(path: str, register_id: str, as_of: str, register_region: str | None, cpts_id: str) -> folium.Map | None:
    """The territory map of one CPTS (never render it: draw a deep copy, see :func:`fresh_map`)."""
    territory = profile_territory(path, register_id, as_of, register_region, cpts_id)
    if territory is None:
        return None
    return _maps.cpts_profile_map(territory.snapshot, cpts_id, territory.drawn_units, stage_table(path))


def fresh_map(m: folium.Map) -> folium.Map:
    """A copy of a cached map to render once (folium appends scripts to a map at every render)."""
    return _copy.deepcopy(m)


def user_db_token(user_path: str) -> tuple[int, ...]:
    """Changes whenever user data is written (any instance, any process): part of the cache keys below. One
    cheap read (the store's change token: a stat of the DuckDB file, one small query on PostgreSQL), so a page
    reads it once per run and passes it down. When the
    store cannot be read, a token never seen before: nothing is served from the caches, and the reads that
    follow report the store's problem (``errors.user_data``)."""
    try:
        return (_assessment_store(user_path).data_version(),)
    except _UserDataError:
        return (-1, _time.monotonic_ns())


@st.cache_data(show_spinner=False, max_entries=128)
def profile_history(user_path: str, token: tuple[int, ...], cpts_id: str) -> list[_assessments.Assessment]:
    """Submitted assessments of a CPTS, oldest first."""
    return _assessment_store(user_path).history(cpts_id)


@st.cache_data(show_spinner=False, max_entries=2)
def _latest_results(user_path: str, token: tuple[int, ...]) -> dict[str, tuple[_scoring.ScoreResult, bool]]:
    """cpts_id -> (scores of its latest submitted assessment, is_demo), every CPTS of the store. Large:
    only the cached functions below read it, pages get their small results."""
    return {a.cpts_id: (a.score_result, bool(a.is_demo)) for a in _assessment_store(user_path).all_latest_submitted()}


def latest_results(user_path: str, token: tuple[int, ...]) -> dict[str, tuple[_scoring.ScoreResult, bool]]:
    """Every CPTS's latest result (cached): for ``observatory.user_data`` only, which filters it by the rules."""
    return _latest_results(user_path, token)


@st.cache_data(show_spinner=False, max_entries=4)
def assessed_cpts(user_path: str, token: tuple[int, ...]) -> dict[str, bool]:
    """cpts_id -> is_demo of every CPTS with a submitted assessment."""
    return {cpts_id: demo for cpts_id, (_, demo) in _latest_results(user_path, token).items()}


@st.cache_data(show_spinner=False, max_entries=64)
def peer_results(user_path: str, token: tuple[int, ...], cpts_ids: tuple[str, ...]) -> list[_scoring.ScoreResult]:
    """Latest submitted results of the given CPTS (a peer group), those without submission left out."""
    latest = _latest_results(user_path, token)
    return [latest[c][0] for c in cpts_ids if c in latest]


@st.cache_data(show_spinner=False, max_entries=64)
def profile_assessment_view(
    path: str, register_id: str, as_of: str, user_path: str, token: tuple[int, ...], cpts_id: str, cpts_label: str
) -> _profile.AssessmentView | None:
    """The profile's self-assessment section (radars with the peer median when allowed, history chart)."""
    history = profile_history(user_path, token, cpts_id)
    if not history:
        return None
    result = history[-1].score_result
    group = _profile_peers.peer_group_of(auto_evaluation_profiles(path, register_id, as_of), cpts_id)
    comparison = _profile_peers.peer_comparison(group, peer_results(user_path, token, group.cpts_ids),
                                                result.scoring_version,
                                                _instrument.load_scoring_model(result.scoring_version).min_peers)
    return _profile.assessment_view(history, _instrument.load_instrument(history[-1].instrument_version), cpts_label,
                                    comparison)


@st.cache_data(show_spinner=False, max_entries=16)
def profile_case_study_view(cpts_id: str, cpts_label: str) -> tuple[_scoring.ScoreResult | None, tuple]:
    """A case study's partial answers (thesis Tables 3 to 7, Annexe 1 for A) scored leniently, and their radars."""
    model = _instrument.load_scoring_model(_instrument.latest_scoring_version())
    instrument = _instrument.load_instrument(model.instrument_version)
    result = _profile.case_study_result(cpts_id, _demo_assessments.load_case_study_answers(), instrument, model)
    return result, (_profile.case_study_radars(result, instrument, cpts_label) if result is not None else ())


@st.cache_data(show_spinner=False, max_entries=64)
def profile_timeline(path: str, cpts_id: str, as_of: str) -> tuple[pd.DataFrame, object]:
    """(stage timeline frame, its chart or None) of a CPTS at its register's date."""
    timeline = _profile.stage_timeline(profile_find_cpts(path, cpts_id), as_of)
    return timeline, _profile.stage_timeline_chart(timeline)


@st.cache_data(show_spinner=False, max_entries=4)
def matrix_national_distribution(
    user_path: str, token: tuple[int, ...], scoring_version: str, min_count: int
) -> tuple[dict, int, int, int]:
    """(distribution per sub-dimension, assessments used, of which demo, excluded as scored with another
    model version) over the latest submitted assessment of every CPTS."""
    latest = _latest_results(user_path, token)
    results = [r for r, _ in latest.values()]
    distribution, other = _matrix_view.subdimension_distribution(results, scoring_version, min_count)
    used = [(r, demo) for r, demo in latest.values() if r.scoring_version == scoring_version]
    return distribution, len(used), sum(demo for _, demo in used), other


class _StoreWrites:
    """Count of writes to the assessments store made by this server process (any session)."""

    def __init__(self) -> None:
        self.count = 0


@st.cache_resource(show_spinner=False)
def _auto_evaluation_writes(user_path: str) -> _StoreWrites:
    return _StoreWrites()


def auto_evaluation_store_version() -> int:
    """Part of the keys of the cached store reads below: bumped by :func:`auto_evaluation_store_changed`
    after every save or submission in this process, so they are re-read at once; writes by another
    process show up after the reads' time-to-live."""
    return _auto_evaluation_writes(user_db_path()).count


def auto_evaluation_store_changed() -> None:
    _auto_evaluation_writes(user_db_path()).count += 1


@st.cache_data(show_spinner=False, ttl=30, max_entries=256)
def auto_evaluation_history(user_path: str, cpts_id: str, store_version: int) -> list:
    """Submitted assessments of a CPTS, oldest first."""
    return _assessment_store(user_path).history(cpts_id)


@st.cache_data(show_spinner=False, ttl=30, max_entries=16)
def auto_evaluation_custom_cpts(user_path: str, store_version: int) -> list:
    """CPTS added by users because they are not in the register."""
    return _assessment_store(user_path).list_custom_cpts()
