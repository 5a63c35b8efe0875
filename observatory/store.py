"""Writing tables of the analytical database (used by the build and by register imports only).

Frames are written through DuckDB's replacement scan with an explicit column list taken from
``observatory.schema``: a frame with a missing or extra column fails loudly here, not later in a page.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from observatory.schema import TABLES, TABLES_BY_NAME, create_table_sql


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(create_table_sql(table))


def insert_frame(con: duckdb.DuckDBPyConnection, table_name: str, frame: pd.DataFrame) -> int:
    """Append ``frame`` to ``table_name``; the frame must have exactly the table's columns."""
    table = TABLES_BY_NAME[table_name]
    expected = table.column_names
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise ValueError(f"table {table_name}: missing columns {missing}, unexpected columns {extra}")
    if frame.empty:
        return 0
    ordered = frame[expected]  # noqa: F841  (read by DuckDB's replacement scan below)
    columns = ", ".join(expected)
    con.execute(f"INSERT INTO {table_name} ({columns}) SELECT {columns} FROM ordered")
    return len(frame)
