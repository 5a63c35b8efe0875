"""Spreadsheet exports: CSV that Excel opens correctly in French (« ; » separator, decimal comma, UTF-8
with BOM) and XLSX workbooks (the parameters of what is exported first, then one sheet per table).

Every text cell goes through ``safe_text.spreadsheet_cell``: a CPTS name from an imported file that
starts with « = » or « @ » stays text, never a formula. Files are built in memory: nothing half-written.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from observatory.safe_text import spreadsheet_cell

MAX_SHEET_TITLE = 31  # Excel's limit
FORBIDDEN_IN_TITLE = set("[]:*?/\\")
MAX_COLUMN_WIDTH = 60


def _cell(value: object) -> object:
    """A value as openpyxl writes it: None for missing numbers, plain Python numbers, safe text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, (tuple, list)):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return spreadsheet_cell(str(value))


def sheet_title(text: str) -> str:
    clean = "".join("-" if c in FORBIDDEN_IN_TITLE else c for c in text).strip() or "Feuille"
    return clean[:MAX_SHEET_TITLE]


def xlsx_bytes(parameters: Sequence[tuple[str, object]], tables: Mapping[str, pd.DataFrame]) -> bytes:
    """A workbook: sheet « Scénario » (one parameter per row: label, value), then one sheet per table."""
    book = Workbook()
    first = book.active
    first.title = "Scénario"
    first.append([_cell("Paramètre"), _cell("Valeur")])
    for label, value in parameters:
        first.append([_cell(label), _cell(value)])
    _finish(first, [40, 100])
    for name, frame in tables.items():
        sheet = book.create_sheet(sheet_title(name))
        sheet.append([_cell(str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in row])
        widths = [min(MAX_COLUMN_WIDTH, max([len(str(c))] + [len(str(v)) for v in frame[c].head(200)]) + 2)
                  for c in frame.columns]  # fmt: skip
        _finish(sheet, widths)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _finish(sheet, widths: Sequence[int]) -> None:
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """« ; »-separated CSV with a decimal comma, UTF-8 with BOM, every text cell made safe."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: spreadsheet_cell(v) if isinstance(v, str) else v)
    safe.columns = [spreadsheet_cell(str(c)) for c in safe.columns]
    text = safe.to_csv(sep=";", index=False, decimal=",", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def parameters_csv(parameters: Sequence[tuple[str, object]]) -> bytes:
    return csv_bytes(pd.DataFrame(parameters, columns=["Paramètre", "Valeur"]).astype({"Valeur": str}))
