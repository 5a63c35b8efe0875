"""Files a user downloads and opens in a spreadsheet: CSV for Excel in French, and XLSX workbooks.

Every text cell goes through :func:`observatory.safe_text.spreadsheet_cell`, so a CPTS name or an
author such as ``=HYPERLINK(...)`` or ``@SUM(...)`` is shown as text, never run as a formula. All
exports of the observatory are written here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from observatory.safe_text import spreadsheet_cell

# Excel limits a sheet name to 31 characters and refuses some characters in it.
_SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and headers) cannot be read as formulas."""
    out = frame.copy()
    out.columns = [spreadsheet_cell(str(c)) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(spreadsheet_cell)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV that Excel opens correctly in French: « ; » separator, decimal comma, UTF-8 with BOM."""
    text = neutralised(frame).to_csv(sep=";", index=False, decimal=",", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def csv_rows_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows written one by one (mixed-layout exports) with the same French conventions as :func:`csv_bytes`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_title(name: str) -> str:
    return str(name).translate(_SHEET_NAME_FORBIDDEN).strip()[:31] or "Feuille"


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame], notes: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """A workbook with one sheet per frame (in order); ``notes`` adds lines (source, date, rule) under a
    sheet's table. Numbers stay numbers. Text is always written as a string cell, never a formula: a text
    that looks like one (``=…``, ``@…``) is typed as a string with Excel's « quote prefix », so it stays
    text even when a user edits the cell."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(sheet_title(name))
        for column, header in enumerate(frame.columns, start=1):
            _write_cell(sheet, 1, column, str(header)).font = Font(bold=True)
        row_number = 1
        for row_number, values in enumerate(frame.itertuples(index=False), start=2):
            for column, value in enumerate(values, start=1):
                _write_cell(sheet, row_number, column, _cell_value(value))
        for line in (notes or {}).get(name, ()):
            row_number += 2
            _write_cell(sheet, row_number, 1, str(line))
        for index, header in enumerate(frame.columns, start=1):
            width = max([len(str(header))] + [len(str(v)) for v in frame.iloc[:200, index - 1]])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(60, max(10, width + 2))
        sheet.freeze_panes = "A2"  # the header stays in view
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def append_row(sheet, values: Sequence[object]) -> None:
    """Append a row to an openpyxl sheet with the rule of :func:`xlsx_bytes` (for hand-laid-out workbooks)."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        _write_cell(sheet, row, column, _cell_value(value))


def _write_cell(sheet, row: int, column: int, value: object):
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise store a text starting with « = » as a formula
        if spreadsheet_cell(value) != value:
            cell.quotePrefix = True
    return cell


def parameters_frame(parameters: Sequence[tuple[str, object]]) -> pd.DataFrame:
    """(label, value) pairs, e.g. a scenario's inputs, as a two-column sheet or CSV."""
    return pd.DataFrame([(label, _cell_value(value)) for label, value in parameters], columns=["Paramètre", "Valeur"])


def _cell_value(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def cpts_geojson_bytes(cpts: pd.DataFrame, geometries, stage_labels: Mapping[str, str], as_of: str,
                       register_name: str, is_demo: bool, sources: Sequence[str] = ()) -> bytes:
    """The perimeters of ``cpts`` (rows of ``coverage.cpts_summary``) as a GeoJSON file a GIS or a report
    opens (WGS84, the dissolved outlines of ``queries.cpts_geometries``), each with its stage at ``as_of``,
    population, communes, départements and register; the collection says where it comes from. Text is
    data here, written as JSON strings (never markup)."""
    import json

    import shapely

    shapes = geometries.set_index("cpts_id").geometry if len(geometries) else {}
    features = []
    for row in cpts.itertuples(index=False):
        geom = shapes.get(row.cpts_id) if hasattr(shapes, "get") else None
        stage = row.stage_code if isinstance(row.stage_code, str) else None
        features.append({
            "type": "Feature",
            "id": str(row.cpts_id),
            "properties": {
                "identifiant": str(row.cpts_id),
                "nom": str(row.name),
                "stade": stage_labels.get(stage, stage) if stage else "pas encore engagée",
                "date_de_reference": as_of,
                "population": int(row.population_count),
                "communes": int(row.communes_count),
                "departements": str(row.departement_codes),
                "registre": register_name,
                "demonstration": bool(is_demo),
            },
            "geometry": None if geom is None or geom.is_empty else shapely.geometry.mapping(geom),
        })  # fmt: skip
    collection = {
        "type": "FeatureCollection",
        "name": "perimetres_cpts",
        "metadata": {
            "registre": register_name,
            "date_de_reference": as_of,
            "demonstration": bool(is_demo),
            "avertissement": "CPTS fictives (registre de démonstration)" if is_demo else "",
            "sources": list(sources),
            "contours": "union des communes de chaque CPTS, simplifiée (cartes nationales), WGS84",
        },
        "features": features,
    }
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")
