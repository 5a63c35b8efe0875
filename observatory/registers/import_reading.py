"""Reading a register file (CSV or XLSX) into a table of strings with file line numbers.

No domain knowledge here: the reader only deals with the quirks of files exported by French
spreadsheets (separator, encoding, BOM, quoted fields, blank lines, numeric cells) and keeps every
value as a string, so codes such as ``04001`` or ``2A004`` are never turned into numbers.

A file is outside input: its size, its number of columns and lines, and the uncompressed size of an
XLSX are checked against :class:`ReadLimits` *before* it is parsed, and every cell is checked
(length, control and invisible characters) as it is read. Each refusal is a French :class:`ReadError`
naming the file, and the line and column when there is one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatory.safe_text import find_text_problem, french_int

LINE_COLUMN = "line_number"
CSV_DELIMITERS = (";", "\t", ",")  # order breaks ties: French exports favour « ; »
DELIMITER_LABELS = {";": "point-virgule", "\t": "tabulation", ",": "virgule"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (not supported: openpyxl reads only .xlsx)


class ReadError(Exception):
    """The file cannot be read at all; the message is French and names the file (and line if known)."""


@dataclass(frozen=True)
class ReadLimits:
    """What a register or indicator file may hold. The real files are far below: the PACA register has
    921 lines, 3 columns and 60 KB; France has about 35,000 communes."""

    max_file_bytes: int = 20_000_000
    max_xlsx_uncompressed_bytes: int = 100_000_000  # a zip bomb expands far beyond this
    max_columns: int = 200
    max_rows: int = 200_000
    max_cell_chars: int = 1_000


DEFAULT_LIMITS = ReadLimits()


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


def read_register_file(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    """Read ``path`` (CSV, TXT, TSV or XLSX). Raises :class:`ReadError` with a French message."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"fichier introuvable : {path}")
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ReadError(
                f"{path.name} : fichier de {french_int(size)} octets, au plus {french_int(limits.max_file_bytes)} acceptés ;"
                " un registre ou un fichier d'indicateur par commune tient en quelques mégaoctets"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"fichier illisible : {path} ({exc.strerror})") from exc
    if data.startswith(OLE_MAGIC):
        raise ReadError(
            f"{path.name} : format Excel ancien (.xls) non pris en charge ; enregistrez-le en .xlsx ou .csv"
        )
    if path.suffix.lower() in XLSX_SUFFIXES or data.startswith(ZIP_MAGIC):
        return read_xlsx_bytes(data, path.name, limits)
    return read_csv_bytes(data, path.name, limits)


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


# The csv module's own messages, in French (« unbalanced quote » used to surface as « code commune vide »).
_CSV_ERRORS_FR = (
    ("field larger than field limit", "valeur trop longue (plus de 131\u202f072 caractères)"),
    ("unexpected end of data", "guillemet ouvrant sans guillemet fermant : la valeur court jusqu'à la fin du fichier"),
    ("expected after", "guillemet mal placé : un guillemet fermant doit être suivi du séparateur ou d'une fin de ligne"),
    ("new-line character seen in unquoted field", "retour chariot isolé dans une valeur non entre guillemets"),
)


def _csv_error_fr(exc: csv.Error) -> str:
    text = str(exc)
    return next((fr for en, fr in _CSV_ERRORS_FR if en in text), f"ligne CSV mal formée ({text})")


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parsed records with the file line where each starts; blank records are dropped. ``strict`` quoting:
    an unbalanced quote is an error, not a value that silently swallows the following lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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
        raise ReadError(f"ligne {previous_end + 1} : {_csv_error_fr(exc)}") from exc
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


def _check_cell(value: str, file_name: str, line: int, column: str, limits: ReadLimits,
                delimiter: str | None = None) -> str:
    """The cell as kept (a line break inside a quoted value, as Excel writes Alt+Entrée, becomes a space);
    a cell that cannot be shown honestly stops the reading, with its line and column."""
    if "\n" in value or "\r" in value:
        if delimiter and delimiter in value:
            raise ReadError(
                f"{file_name}, ligne {line}, colonne « {column} » : valeur sur plusieurs lignes contenant le séparateur "
                "(un guillemet ouvert n'est-il pas refermé ?) ; vérifiez les guillemets de cette ligne"
            )
        value = " ".join(value.split())
    problem = find_text_problem(value, limits.max_cell_chars)
    if problem is not None:
        raise ReadError(f"{file_name}, ligne {line}, colonne « {column} » : {problem.message}")
    return value


def table_from_records(
    records: list[tuple[int, list[str]]],
    file_name: str,
    file_format: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RawTable:
    if not records:
        raise ReadError(f"{file_name} : fichier vide (aucune ligne d'en-tête)")
    header_line, raw_headers = records[0]
    raw_headers = list(raw_headers)
    while raw_headers and not raw_headers[-1]:  # trailing empty header cells from spreadsheets
        raw_headers = raw_headers[:-1]
    if len(raw_headers) > limits.max_columns:
        raise ReadError(
            f"{file_name}, ligne {header_line} : {french_int(len(raw_headers))} colonnes, au plus "
            f"{french_int(limits.max_columns)} acceptées"
        )
    if len(records) - 1 > limits.max_rows:
        raise ReadError(
            f"{file_name} : {french_int(len(records) - 1)} lignes de données, au plus {french_int(limits.max_rows)} acceptées"
        )
    for position, header in enumerate(raw_headers, start=1):
        raw_headers[position - 1] = _check_cell(header, file_name, header_line, f"n° {position}", limits, delimiter)
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
            columns[i].append(_check_cell(value, file_name, line, headers[i], limits, delimiter) if value else value)
    # Built in one go: adding thousands of columns one at a time is quadratic in pandas.
    data = {LINE_COLUMN: pd.Series(lines, dtype="int64")}
    data.update({header: pd.Series(values, dtype=object) for header, values in zip(headers, columns, strict=True)})
    frame = pd.DataFrame(data)
    return RawTable(file_name, file_format, encoding, delimiter, sheet, headers, header_line, frame, extra_lines)


def _check_text_size(text: str, file_name: str, limits: ReadLimits) -> None:
    """Counts that need no parsing, so that a huge or very wide file is refused at once."""
    lines = text.count("\n")
    if lines > limits.max_rows + 1_000:  # blank lines and a header are allowed for
        raise ReadError(f"{file_name} : {french_int(lines)} lignes, au plus {french_int(limits.max_rows)} acceptées")
    first = next((line for line in text.splitlines() if line.strip()), "")
    widest = max(first.count(d) for d in CSV_DELIMITERS) + 1
    if widest > limits.max_columns:
        raise ReadError(
            f"{file_name}, ligne d'en-tête : {french_int(widest)} colonnes, au plus {french_int(limits.max_columns)} acceptées"
        )


def read_csv_bytes(data: bytes, file_name: str, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    text, encoding = decode_text(data, file_name)
    _check_text_size(text, file_name, limits)
    delimiter = sniff_delimiter(text)
    try:
        records = _records(text, delimiter)
    except ReadError as exc:
        raise ReadError(f"{file_name}, {exc}") from exc
    return table_from_records(records, file_name, "CSV", encoding=encoding, delimiter=delimiter, limits=limits)


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


def _check_xlsx_archive(data: bytes, file_name: str, limits: ReadLimits) -> None:
    """Refuse a workbook whose parts would expand beyond the limit (a « zip bomb ») before opening it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReadError(f"{file_name} : classeur XLSX illisible (archive endommagée)") from exc
    if expanded > limits.max_xlsx_uncompressed_bytes:
        raise ReadError(
            f"{file_name} : classeur de {french_int(expanded)} octets une fois décompressé, au plus "
            f"{french_int(limits.max_xlsx_uncompressed_bytes)} acceptés (fichier anormal ou trop volumineux)"
        )


def read_xlsx_bytes(data: bytes, file_name: str, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    import openpyxl  # imported here: only XLSX imports need it

    _check_xlsx_archive(data, file_name, limits)
    try:
        # Read-only mode streams the sheet; resetting the declared dimensions stops a crafted « A1:XFD1048576 »
        # from making the reader pad a million empty rows.
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, KeyError) for a damaged file
        raise ReadError(f"{file_name} : classeur XLSX illisible ({type(exc).__name__})") from exc
    try:
        for sheet in workbook.worksheets:
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            records = []
            for line, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
                if len(row) > limits.max_columns and any(v is not None for v in row[limits.max_columns:]):
                    raise ReadError(
                        f"{file_name}, feuille « {sheet.title} », ligne {line} : plus de "
                        f"{french_int(limits.max_columns)} colonnes remplies"
                    )
                values = [cell_to_text(v) for v in row[: limits.max_columns]]
                if any(values):
                    records.append((line, values))
                    if len(records) > limits.max_rows + 1:
                        raise ReadError(
                            f"{file_name}, feuille « {sheet.title} » : plus de {french_int(limits.max_rows)} lignes de "
                            "données"
                        )
            if records:  # the first sheet holding data
                return table_from_records(records, file_name, "XLSX", sheet=sheet.title, limits=limits)
    except ReadError:
        raise
    except Exception as exc:  # a damaged part discovered while streaming
        raise ReadError(f"{file_name} : classeur XLSX illisible ({type(exc).__name__})") from exc
    finally:
        workbook.close()
    raise ReadError(f"{file_name} : classeur vide (aucune feuille ne contient de données)")
