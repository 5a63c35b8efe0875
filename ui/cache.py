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
