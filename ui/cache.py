"""Every Streamlit cache of the app, in one place.

The analytical DuckDB file is opened read-only once per database path (``cache_resource``), and each
query takes its own cursor (``observatory.db``). Data frames are ``cache_data`` keyed only by hashable
domain values; the database path is part of every key so tests using other databases never collide.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from observatory import config, db, queries


@st.cache_resource(show_spinner=False)
def _connection(db_path: str) -> duckdb.DuckDBPyConnection:
    return db.open_readonly(db_path)


def db_path() -> str:
    return str(config.database_path())


def connection() -> duckdb.DuckDBPyConnection:
    return _connection(db_path())


@st.cache_data(show_spinner=False)
def registers(path: str) -> pd.DataFrame:
    return queries.list_registers(_connection(path))


@st.cache_data(show_spinner=False)
def sources(path: str) -> pd.DataFrame:
    return queries.sources(_connection(path))


@st.cache_data(show_spinner=False)
def build_info(path: str) -> dict[str, str]:
    return queries.build_info(_connection(path))
