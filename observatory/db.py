"""Connections to the analytical database.

The app opens the file read-only once (cached by the Streamlit adapter) and takes a cursor per use:
one DuckDB connection shared across Streamlit's threads is not safe, a cursor per use is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd


class DatabaseMissingError(FileNotFoundError):
    """The analytical database has not been built yet."""


class DatabaseSchemaError(DatabaseMissingError):
    """The database was built by another version of the schema: it must be rebuilt (message in French)."""


def open_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not path.exists():
        raise DatabaseMissingError(
            f"Base de données introuvable : {path}. Lancez `python -m observatory build` (ou `make setup`)."
        )
    con = duckdb.connect(str(path), read_only=True)
    check_schema_version(con, path)
    return con


def check_schema_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse (closing ``con``) a database whose ``build_info`` records another schema version: its tables
    lack columns the app reads, which would fail deep inside a page instead of here, in French."""
    from observatory.schema import SCHEMA_VERSION

    try:
        found = con.execute("SELECT value FROM build_info WHERE key = 'schema_version'").fetchall()
    except duckdb.Error:
        found = []
    if found and found[0][0] != SCHEMA_VERSION:
        con.close()
        raise DatabaseSchemaError(
            f"La base de données de l'observatoire a été construite avec le schéma v{found[0][0]} ; cette version de l'observatoire"
            f" attend le schéma v{SCHEMA_VERSION}. Reconstruisez-la : `python -m observatory build` (ou `make build`) ;"
            " les registres et indicateurs importés sont ré-appliqués."
        )


def fetch_df(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
    """Run one parameterised query on a fresh cursor and return a DataFrame with named columns."""
    cur = con.cursor()
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def fetch_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None):
    """Same as :func:`fetch_df` but returns an Arrow table (BLOB columns stay ``bytes``, which shapely needs)."""
    cur = con.cursor()
    try:
        # A relation (not a DB-API result) converts to Arrow without an extra copy of the rows.
        return cur.sql(sql, params=params or None).to_arrow_table()
    finally:
        cur.close()
