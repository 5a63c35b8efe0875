"""Reading a register file (CSV or XLSX) into a table of strings with file line numbers.

No domain knowledge here: the reader only deals with the quirks of files exported by French
spreadsheets (separator, encoding, BOM, quoted fields, blank lines, numeric cells) and keeps every
value as a string, so codes such as ``04001`` or ``2A004`` are never turned into numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

LINE_COLUMN = "line_number"
CSV_DELIMITERS = (";", "\t", ",")  # order breaks ties: French exports favour « ; »
DELIMITER_LABELS = {";": "point-virgule", "\t": "tabulation", ",": "virgule"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (not supported: openpyxl reads only .xlsx)


class ReadError(Exception):
    """The file cannot be read at all; the message is French and names the file (and line if known)."""


@dataclass
class RawTable:
    """The file as read: headers as written, one row per non-blank line, every value a stripped string."""

    file_name: str
    file_format: str  # "CSV" or "XLSX"
    encoding: str | None  # CSV only, in French words
    delimiter: str | None  # CSV only
    sheet: str | None  # XLSX only
    headers: list[str]
    header_line: int
    rows: pd.DataFrame  # LINE_COLUMN + one column per header (made unique)
    extra_value_lines: list[int]  # lines with more values than headers (extra values dropped)


def read_register_file(path: Path) -> RawTable:
    """Read ``path`` (CSV, TXT, TSV or XLSX). Raises :class:`ReadError` with a French message."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"fichier introuvable : {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"fichier illisible : {path} ({exc.strerror})") from exc
    if data.startswith(OLE_MAGIC):
        raise ReadError(
            f"{path.name} : format Excel ancien (.xls) non pris en charge ; enregistrez-le en .xlsx ou .csv"
        )
    if path.suffix.lower() in XLSX_SUFFIXES or data.startswith(ZIP_MAGIC):
        return read_xlsx_bytes(data, path.name)
    return read_csv_bytes(data, path.name)


def decode_text(data: bytes, file_name: str) -> tuple[str, str]:
    """Decode CSV bytes; returns (text, encoding described in French).

    UTF-8 is tried first (with or without BOM) because a cp1252 decode of UTF-8 bytes never fails
    but gives mojibake; cp1252 (a superset of latin-1 for printable characters) comes second.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel « Texte Unicode » export
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ReadError(f"{file_name} : encodage UTF-16 invalide") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ReadError(f"{file_name}, ligne {line} : octet nul, le fichier n'est pas un texte CSV lisible")
    try:
        text = data.decode("utf-8-sig")
        return text, "UTF-8 avec BOM" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (latin-1)"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(
            f"{file_name}, ligne {line} : encodage non reconnu (ni UTF-8 ni Windows-1252/latin-1) ;"
            " enregistrez le fichier en CSV UTF-8"
        ) from exc


def clean_value(value: str) -> str:
    # Spreadsheets leave trailing (often non-breaking) spaces; they would break code and name matching.
    return value.replace("\u00a0", " ").replace("\u202f", " ").strip()


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parsed records with the file line where each starts; blank records are dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            values = [clean_value(v) for v in record]
            if any(values):
                out.append((start, values))
    except csv.Error as exc:
        raise ReadError(f"ligne {reader.line_num} : {exc}") from exc
    return out


def sniff_delimiter(text: str) -> str:
    """The candidate giving the most header fields, then the most rows with as many fields as the header."""
    sample = "\n".join(text.splitlines()[:200])
    best, best_score = CSV_DELIMITERS[0], (-1, -1.0)
    for delimiter in CSV_DELIMITERS:
        try:
            records = _records(sample, delimiter)
        except ReadError:
            continue
        if not records:
            continue
        width = len(records[0][1])
        body = records[1:] or records
        consistent = sum(len(values) == width for _, values in body) / len(body)
        score = (width if width > 1 else 0, consistent)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for position, header in enumerate(headers, start=1):
        name = header or f"colonne {position}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} ({count})")
    return out


def table_from_records(
    records: list[tuple[int, list[str]]],
    file_name: str,
    file_format: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> RawTable:
    if not records:
        raise ReadError(f"{file_name} : fichier vide (aucune ligne d'en-tête)")
    header_line, raw_headers = records[0]
    while raw_headers and not raw_headers[-1]:  # trailing empty header cells from spreadsheets
        raw_headers = raw_headers[:-1]
    headers = _unique_headers(raw_headers)
    width = len(headers)
    lines, columns, extra_lines = [], [[] for _ in headers], []
    for line, values in records[1:]:
        if any(values[width:]):
            extra_lines.append(line)
        values = (values + [""] * width)[:width]
        if not any(values):
            continue
        lines.append(line)
        for i, value in enumerate(values):
            columns[i].append(value)
    frame = pd.DataFrame({LINE_COLUMN: pd.Series(lines, dtype="int64")})
    for header, values in zip(headers, columns, strict=True):
        frame[header] = pd.Series(values, dtype=object)
    return RawTable(file_name, file_format, encoding, delimiter, sheet, headers, header_line, frame, extra_lines)


def read_csv_bytes(data: bytes, file_name: str) -> RawTable:
    text, encoding = decode_text(data, file_name)
    delimiter = sniff_delimiter(text)
    try:
        records = _records(text, delimiter)
    except ReadError as exc:
        raise ReadError(f"{file_name}, {exc}") from exc
    return table_from_records(records, file_name, "CSV", encoding=encoding, delimiter=delimiter)


def cell_to_text(value: object) -> str:
    """An XLSX cell as the text a user typed: 4001.0 → '4001' (padding is the checker's job), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return clean_value(str(value))


def read_xlsx_bytes(data: bytes, file_name: str) -> RawTable:
    import openpyxl  # imported here: only XLSX imports need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, KeyError) for a damaged file
        raise ReadError(f"{file_name} : classeur XLSX illisible ({type(exc).__name__})") from exc
    for sheet in workbook.worksheets:
        records = []
        for line, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            values = [cell_to_text(v) for v in row]
            if any(values):
                records.append((line, values))
        if records:  # the first sheet holding data
            return table_from_records(records, file_name, "XLSX", sheet=sheet.title)
    raise ReadError(f"{file_name} : classeur vide (aucune feuille ne contient de données)")
