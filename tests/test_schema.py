"""The schema is data: the documentation and the built database must both match it."""

from __future__ import annotations

import duckdb

from observatory.config import REPO_ROOT
from observatory.schema import TABLES, schema_markdown


def test_schema_document_is_up_to_date():
    doc = (REPO_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert doc.strip() == schema_markdown().strip(), "lancez `python -m observatory schema-doc`"


def test_schema_definitions_are_consistent():
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names))
    for table in TABLES:
        columns = table.column_names
        assert len(columns) == len(set(columns)), table.name
        assert set(table.primary_key) <= set(columns), table.name
        assert table.description and all(c.description for c in table.columns), table.name
        for column in table.columns:
            if column.name.endswith("_code"):
                assert column.sql_type == "VARCHAR", f"{table.name}.{column.name}: codes are strings"


def test_built_database_matches_schema(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        for table in TABLES:
            rows = con.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table.name],
            ).fetchall()
            assert [r[0] for r in rows] == table.column_names, table.name
            assert [r[1] for r in rows] == [c.sql_type for c in table.columns], table.name
    finally:
        con.close()
