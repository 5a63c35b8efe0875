"""``python -m observatory import-indicator FILE``: bring your own territorial indicator (CSV or XLSX).

Three layers, as for registers: reading (the register import's reader, ``import_reading``: same file
quirks), checking (:mod:`indicator_metadata` for the metadata block, :mod:`indicator_import_checks` for
the file), writing (here: the catalogue row, the values per COG 2026 unit, the provenance, through the
register import's atomic write, and the copy under ``data/imports/indicateurs/`` with a manifest that
every build re-applies). Several years of one code make a series; re-importing a year replaces it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd

from observatory import config, queries
from observatory.indicator_import_checks import (
    IndicatorReference,
    IndicatorStats,
    IndicatorValues,
    check_indicator_file,
    ratio_mismatches,
)
from observatory.indicator_metadata import (
    DIRECTION_LABELS,
    LEVEL_LABELS,
    WEIGHT_SUFFIX,
    IndicatorMetadata,
    MetadataError,
    check_against_catalogue,
    parse_metadata,
    read_sidecar,
)
from observatory.indicators import format_number
from observatory.registers.import_checks import Finding, ImportReport
from observatory.registers.import_reading import DELIMITER_LABELS, RawTable, ReadError, read_register_file
from observatory.registers.import_report import _section
from observatory.registers.importer import (
    PartialWriteError,
    manifest_bytes,
    read_manifest_file,
    reapply_manifest,
    sha256_of,
    write_import,
)
from observatory.schema import TABLES_BY_NAME
from observatory.store import insert_frame
from observatory.write_lock import WriteLockTimeout, exclusive_write

SUBFOLDER = "indicateurs"
MANIFEST_NAME = "manifest.json"
ORIGIN_TEXT = "fichier importé (python -m observatory import-indicator)"


@dataclasses.dataclass
class IndicatorOutcome:
    report: ImportReport
    raw: RawTable | None = None
    meta: IndicatorMetadata | None = None
    stats: IndicatorStats | None = None
    france_value: float | None = None
    written: bool = False
    closing: list[str] = dataclasses.field(default_factory=list)


def indicator_imports_dir(imports_dir: Path | None = None) -> Path:
    return Path(imports_dir or config.imports_dir()) / SUBFOLDER


def import_id(meta: IndicatorMetadata) -> str:
    return f"{meta.code}-{meta.year}"


def source_id_for(meta: IndicatorMetadata) -> str:
    return f"indicateur-{meta.code}-{meta.year}"


# ---- reference -------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Database:
    reference: IndicatorReference
    catalogue: pd.DataFrame
    stored_years: dict[str, list[int]]


def _load(con: duckdb.DuckDBPyConnection) -> _Database:
    catalogue = queries.indicator_catalogue(con)
    years = {code: sorted(int(y) for y in (ys if ys is not None else []))
             for code, ys in zip(catalogue["indicator_code"], catalogue["years"], strict=True)}
    reference = IndicatorReference(queries.indicator_import_units(con), queries.import_code_history(con),
                                   queries.indicator_import_areas(con))
    return _Database(reference, catalogue, years)


def check(file_path: Path, meta: IndicatorMetadata, database: _Database, con: duckdb.DuckDBPyConnection,
          ) -> tuple[IndicatorOutcome, IndicatorValues | None]:
    """Read and check one file against the database (nothing written)."""
    outcome = IndicatorOutcome(ImportReport(), meta=meta)
    problems = check_against_catalogue(meta, database.catalogue, database.stored_years)
    if problems:
        outcome.report.errors += [Finding(p) for p in problems]
        return outcome, None
    try:
        outcome.raw = read_register_file(file_path)
    except ReadError as exc:
        outcome.report.errors.append(Finding(f"fichier illisible : {exc}"))
        return outcome, None
    report, data, stats = check_indicator_file(outcome.raw, database.reference, meta)
    outcome.report, outcome.stats = report, stats
    if data is not None and meta.aggregation == "ratio":
        numerators = queries.indicator_values(con, meta.numerator_code, meta.year)
        denominators = queries.indicator_values(con, meta.denominator_code, meta.year)
        differing = ratio_mismatches(data.values, numerators, denominators, meta.scale_factor or 1.0, meta.decimals)
        if differing:
            shown = ", ".join(differing[:15]) + (f" et {len(differing) - 15} autres" if len(differing) > 15 else "")
            report.warnings.append(Finding(
                f"{len(differing)} unité(s) dont le taux du fichier diffère de {format_number(meta.scale_factor or 1, 0)}"
                f" × {meta.numerator_code} / {meta.denominator_code} au-delà de l'arrondi : {shown} ; les territoires"
                " sont calculés sur les effectifs"))
    if data is not None:
        outcome.france_value = _france_value(meta, data, database.reference.units, con)
    return outcome, data


def _france_value(meta: IndicatorMetadata, data: IndicatorValues, units: pd.DataFrame, con) -> float | None:
    """The indicator over France, by its own rule (the report's key figure)."""
    from observatory.indicators import indicator_frame, ratio_frame, territory_value

    frame_units = units[units["is_territorial_unit"].astype(bool)][["commune_code", "population_count"]]
    entry = catalogue_row(meta).iloc[0].to_dict()
    if meta.aggregation == "ratio":
        frame = ratio_frame(entry, meta.year, queries.indicator_values(con, meta.numerator_code, meta.year),
                            queries.indicator_values(con, meta.denominator_code, meta.year), frame_units, data.values)
    else:
        weights = data.weights if meta.weight_column else (
            queries.indicator_values(con, meta.weight_code, meta.year) if meta.weight_code else None)
        frame = indicator_frame(entry, meta.year, data.values, weights, frame_units)
    value = territory_value(frame.units, entry)
    return None if pd.isna(value) else float(value)


# ---- rows written ----------------------------------------------------------------------------------


def catalogue_row(meta: IndicatorMetadata, weight: bool = False) -> pd.DataFrame:
    """The `indicators` row of the import (or of its weight column, ``weight=True``)."""
    columns = TABLES_BY_NAME["indicators"].column_names
    if weight:
        row = {
            "indicator_code": meta.code + WEIGHT_SUFFIX, "label": meta.weight_column,
            "unit": "poids", "direction": "neutral", "source_id": source_id_for(meta), "weight_indicator_code": None,
            "aggregation": "sum", "threshold_value": None, "threshold_label": None, "decimals": 0,
            "description": f"Colonne « {meta.weight_column} » du fichier de « {meta.label} », qui sert à pondérer"
                           " ses valeurs sur un territoire.",
            "origin": "imported", "role": "weight", "source_geo_level": meta.level,
        }
    else:
        row = {
            "indicator_code": meta.code, "label": meta.label, "unit": meta.unit, "direction": meta.direction,
            "source_id": source_id_for(meta), "weight_indicator_code": meta.stored_weight_code,
            "aggregation": meta.aggregation, "threshold_value": meta.threshold_value,
            "threshold_label": meta.threshold_label, "decimals": meta.decimals, "description": meta.description,
            "origin": "imported", "role": "indicator", "source_geo_level": meta.level,
            "numerator_indicator_code": meta.numerator_code, "denominator_indicator_code": meta.denominator_code,
            "scale_factor": meta.scale_factor, "class_method": meta.class_method,
            "class_breaks": json.dumps(list(meta.class_breaks)) if meta.class_breaks else None,
        }
    frame = pd.DataFrame([{c: row.get(c) for c in columns}], columns=columns)
    frame["threshold_value"] = frame["threshold_value"].astype("float64")
    frame["scale_factor"] = frame["scale_factor"].astype("float64")
    frame["decimals"] = frame["decimals"].astype("int32")
    return frame


def _values_rows(code: str, year: int, values: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"indicator_code": code, "geo_level": "commune", "geo_code": values["geo_code"].astype(str),
                          "year": year, "value": values["value"].astype("float64")})
    frame["year"] = frame["year"].astype("int32")
    return frame


def _source_row(meta: IndicatorMetadata, file_name: str, sha256: str, imported_on: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "source_id": source_id_for(meta), "name": meta.label, "publisher": meta.source, "version": None,
        "vintage": meta.vintage, "licence": meta.licence, "origin": ORIGIN_TEXT, "file_name": file_name,
        "sha256": sha256, "retrieved_at": imported_on,
    }])


def write_indicator(con: duckdb.DuckDBPyConnection, meta: IndicatorMetadata, data: IndicatorValues,
                    file_name: str, sha256: str, imported_on: str) -> None:
    """Replace the indicator's year (and its weight's) by ``data``; the caller owns the transaction. The
    catalogue row is rewritten (same definition, checked; the latest description, classes and threshold)."""
    codes = [meta.code] + ([meta.code + WEIGHT_SUFFIX] if meta.weight_column else [])
    for code in codes:
        con.execute("DELETE FROM indicator_values WHERE indicator_code = ? AND year = ?", [code, meta.year])
        con.execute("DELETE FROM indicator_sources WHERE indicator_code = ? AND year = ?", [code, meta.year])
        con.execute("DELETE FROM indicators WHERE indicator_code = ?", [code])
    con.execute("DELETE FROM sources WHERE source_id = ?", [source_id_for(meta)])
    insert_frame(con, "sources", _source_row(meta, file_name, sha256, imported_on))
    insert_frame(con, "indicators", catalogue_row(meta))
    insert_frame(con, "indicator_values", _values_rows(meta.code, meta.year, data.values))
    pairs = [(meta.code, data.values)]
    if meta.weight_column:
        insert_frame(con, "indicators", catalogue_row(meta, weight=True))
        insert_frame(con, "indicator_values", _values_rows(meta.code + WEIGHT_SUFFIX, meta.year, data.weights))
        pairs.append((meta.code + WEIGHT_SUFFIX, data.weights))
    sources = pd.DataFrame([{"indicator_code": code, "year": meta.year, "source_id": source_id_for(meta),
                             "vintage": meta.vintage} for code, _ in pairs])
    sources["year"] = sources["year"].astype("int32")
    insert_frame(con, "indicator_sources", sources)


# ---- the command -----------------------------------------------------------------------------------


def resolve_metadata(file_path: Path, options: dict, sidecar: Path | None) -> IndicatorMetadata:
    """The sidecar (``--metadata``, else ``FICHIER.json`` when present) overridden by the options given."""
    values: dict = {}
    sidecar = sidecar or (file_path.with_name(file_path.name + ".json")
                          if file_path.with_name(file_path.name + ".json").is_file() else None)
    if sidecar is not None:
        values.update(read_sidecar(sidecar))
    values.update({k: v for k, v in options.items() if v is not None})
    return parse_metadata(values, file_path.name)


def import_indicator(file_path: Path, options: dict, db_path: Path, imports_dir: Path,
                     sidecar: Path | None = None, strict: bool = False, on_wait=None) -> IndicatorOutcome:
    """The whole import. The database and the imports folder change only if nothing blocks.

    Runs under the database's write lock (:mod:`observatory.write_lock`), like register imports and builds:
    from reading the database and the manifest to the last rename, no other writer can interleave."""
    file_path, db_path = Path(file_path), Path(db_path)

    def refused(messages: list[str], meta=None) -> IndicatorOutcome:
        return IndicatorOutcome(ImportReport(errors=[Finding(m) for m in messages]), meta=meta,
                                closing=[f"Rien n'a été écrit : la base {db_path} est inchangée."])

    if not file_path.is_file():
        return refused([f"fichier introuvable : {file_path}"])
    if not db_path.is_file():
        return refused([f"base introuvable : {db_path} ; lancez d'abord `python -m observatory build`"])
    try:
        with exclusive_write(db_path, on_wait=on_wait):
            return _import_locked(file_path, options, db_path, imports_dir, sidecar, strict, refused)
    except WriteLockTimeout as exc:
        return refused([str(exc)])
    except OSError as exc:  # the lock file cannot be created (read-only folder, full disk)
        return refused([f"verrou d'écriture {db_path}.lock impossible à prendre ({exc.strerror or exc}) : vérifiez "
                        "les droits d'écriture et la place libre du dossier de la base"])


def _import_locked(file_path: Path, options: dict, db_path: Path, imports_dir: Path, sidecar: Path | None,
                   strict: bool, refused) -> IndicatorOutcome:
    folder = indicator_imports_dir(imports_dir)
    if Path(f"{db_path}.wal").exists():
        return refused([f"la base {db_path} a un journal {db_path.name}.wal non intégré : fermez l'application"
                        " qui l'écrit puis recommencez"])
    try:
        meta = resolve_metadata(file_path, options, sidecar)
    except MetadataError as exc:
        return refused([f"métadonnées : {p}" for p in exc.problems])
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            outcome, data = check(file_path, meta, _load(con), con)
        finally:
            con.close()
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return refused([f"base {db_path} illisible, verrouillée par un autre programme ou d'un schéma ancien"
                        f" ({detail}) ; reconstruisez-la avec `python -m observatory build`"], meta)
    if data is None or outcome.report.blocks(strict):
        reason = "mode strict : les avertissements bloquent l'import. " if data is not None else ""
        outcome.closing.append(f"{reason}Rien n'a été écrit : la base {db_path} est inchangée.")
        return outcome

    original = file_path.read_bytes()
    sha256 = hashlib.sha256(original).hexdigest()
    today = dt.date.today().isoformat()
    stored = folder / f"{import_id(meta)}{file_path.suffix.lower() or '.csv'}"
    manifest_path = folder / MANIFEST_NAME
    try:
        entries = [e for e in read_manifest_file(manifest_path) if e.get("import_id") != import_id(meta)]
    except (OSError, ValueError) as exc:
        outcome.report.errors.append(Finding(f"manifeste {manifest_path} illisible : {exc}"))
        outcome.closing = [f"Rien n'a été écrit : la base {db_path} est inchangée."]
        return outcome
    entries.append({"import_id": import_id(meta), "name": meta.label, "metadata": meta.to_json(), "strict": strict,
                    "sha256": sha256, "original_file_name": file_path.name, "stored_file": stored.name,
                    "imported_on": today})
    outcome.closing = [
        f"Indicateur « {meta.label} » ({meta.code}, {meta.year}) écrit dans {db_path}.",
        f"Copie du fichier, rapport et manifeste : {folder} (ré-appliqués à chaque build).",
    ]
    files = [(stored, original), (folder / f"{import_id(meta)}.rapport.txt", format_report(outcome).encode("utf-8")),
             (manifest_path, manifest_bytes(entries, "import_id"))]
    try:
        write_import(db_path, lambda c: write_indicator(c, meta, data, file_path.name, sha256, today), files)
    except PartialWriteError as exc:
        outcome.report.errors.append(Finding(f"écriture impossible : {exc}"))
        outcome.closing = [
            f"La base {db_path} a reçu l'indicateur mais sa copie dans {folder} est incomplète : relancez l'import"
            " pour qu'un prochain build le ré-applique." if exc.database_replaced
            else f"Rien n'a été écrit : la base {db_path} est inchangée."
        ]
        return outcome
    outcome.written = True
    return outcome


CLI_OPTIONS = ("code", "label", "unit", "direction", "level", "year", "vintage", "source", "licence", "aggregation",
               "weight", "weight_column", "numerator", "denominator", "scale", "value_column", "code_column",
               "decimals", "description", "classes", "threshold", "threshold_label")


def run_import_cli(args) -> int:
    """``python -m observatory import-indicator``: prints the French report, returns 0 (imported) or 1."""
    options = {name: getattr(args, name, None) for name in CLI_OPTIONS}
    outcome = import_indicator(args.file, options, db_path=args.db or config.database_path(),
                               imports_dir=config.imports_dir(), sidecar=args.metadata, strict=args.strict,
                               on_wait=lambda text: print(text, file=sys.stderr, flush=True))
    print(format_report(outcome), end="")
    from observatory.accounts_cli import audit_command  # imported here: the build never needs accounts

    audit_command("indicator_imported", str(args.file.name), "ok" if outcome.written else "refusé",
                  f"indicateur {options.get('code') or '?'} ; {len(outcome.report.errors)} erreur(s), "
                  f"{len(outcome.report.warnings)} avertissement(s)")
    return 0 if outcome.written else 1


# ---- report ----------------------------------------------------------------------------------------


def _fr_int(value: int) -> str:
    return format_number(float(value), 0)


def format_report(outcome: IndicatorOutcome) -> str:
    """The French report: metadata, file, errors / warnings / information with line numbers, key figures."""
    meta, raw, report, stats = outcome.meta, outcome.raw, outcome.report, outcome.stats
    lines = []
    if meta is not None:
        how = {"weighted_mean": "moyenne pondérée par "
               + (f"la colonne « {meta.weight_column} »" if meta.weight_column
                  else f"« {meta.weight_code} »" if meta.weight_code else "la population municipale"),
               "sum": "somme (effectif)",
               "ratio": f"ratio {format_number(meta.scale_factor or 1, 0)} × Σ {meta.numerator_code} / Σ {meta.denominator_code}"}
        lines += [
            f"Import de l'indicateur « {meta.label} » ({meta.code}), année {meta.year}",
            f"  Unité : {meta.unit} ; sens : {DIRECTION_LABELS[meta.direction]} ; niveau : {LEVEL_LABELS[meta.level]} ;"
            f" agrégation : {how[meta.aggregation]}",
            f"  Source : {meta.source}, millésime {meta.vintage} ; licence : {meta.licence}",
        ]
    if raw is not None:
        read_how = (f"encodage {raw.encoding}, séparateur {DELIMITER_LABELS.get(raw.delimiter, raw.delimiter)}"
                    if raw.file_format == "CSV" else f"feuille « {raw.sheet} »")
        lines.append(f"Fichier {raw.file_name} : {raw.file_format}, {read_how}, en-tête ligne {raw.header_line}.")
    lines.append("")
    lines += _section("Erreurs bloquantes", report.errors)
    lines += _section("Avertissements", report.warnings)
    lines += _section("Informations", report.infos)
    if stats is not None and meta is not None:
        share = 100 * stats.population_with_value / stats.population_total if stats.population_total else 0.0
        lines += [
            "Bilan",
            f"  Lignes lues : {_fr_int(stats.rows_read)}",
            f"  Unités territoriales avec une valeur : {_fr_int(stats.units_with_value)} sur {_fr_int(stats.units_total)}"
            f" ({format_number(share, 1)} % de la population)",
            f"  Valeurs par unité : minimum {format_number(stats.minimum, meta.decimals)},"
            f" médiane {format_number(stats.median, meta.decimals)}, maximum {format_number(stats.maximum, meta.decimals)}",
        ]
        if outcome.france_value is not None:
            lines.append(f"  France entière (règle d'agrégation de l'indicateur) :"
                         f" {format_number(outcome.france_value, max(meta.decimals, 2))} {meta.unit}")
        lines.append("")
    lines += outcome.closing
    return "\n".join(lines) + "\n"


# ---- re-application by the build -------------------------------------------------------------------


def _reapply_order(entry: dict) -> tuple[int, str]:
    """Counts before the ratios that use them."""
    return (1 if (entry.get("metadata") or {}).get("aggregation") == "ratio" else 0, str(entry.get("import_id")))


def reapply_indicator_imports(con: duckdb.DuckDBPyConnection, imports_dir: Path) -> list[str]:
    """Write every imported indicator of the manifest into ``con`` (the database being built). Never
    raises: a file that no longer validates is skipped with a French message (for the build log)."""
    folder = indicator_imports_dir(imports_dir)

    def reapply_one(con: duckdb.DuckDBPyConnection, entry: dict) -> str:
        name = entry.get("name", "?")
        path = folder / str(entry.get("stored_file", ""))
        if not entry.get("stored_file") or not path.is_file():
            return f"indicateur importé « {name} » non ré-appliqué : copie du fichier introuvable ({path})"
        sha256 = sha256_of(path)
        if entry.get("sha256") and sha256 != entry["sha256"]:
            return (f"indicateur importé « {name} » non ré-appliqué : la copie {path.name} a été modifiée depuis"
                    " l'import (empreinte différente)")
        meta = IndicatorMetadata.from_json(entry["metadata"])
        outcome, data = check(path, meta, _load(con), con)
        if data is None or outcome.report.blocks(bool(entry.get("strict"))):
            first = (outcome.report.errors or outcome.report.warnings)[0].text()
            return f"indicateur importé « {name} » non ré-appliqué : le fichier ne passe plus les contrôles ({first})"
        write_indicator(con, meta, data, str(entry.get("original_file_name", path.name)), sha256,
                        str(entry.get("imported_on", "")) or None)
        return (f"indicateur importé « {name} » ({meta.code}, {meta.year}) ré-appliqué :"
                f" {outcome.stats.units_with_value} unités, {len(outcome.report.warnings)} avertissement(s)")

    return reapply_manifest(con, folder / MANIFEST_NAME, reapply_one, "indicateur importé", order=_reapply_order)
