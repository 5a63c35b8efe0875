"""Importing a real CPTS register file into the analytical database.

Three layers, so each can be tested alone: reading (:mod:`import_reading`: file → strings with line
numbers), checking (:mod:`import_checks`: strings + reference tables → French report + RegisterData),
writing (here: geometries, the atomic write of the database, the copy under ``data/imports/``).

The database is never modified in place: the import writes into a copy beside it and renames the copy
over it, so any failure leaves the file byte-identical. Imported files are kept with a manifest under
``config.imports_dir()`` and :func:`reapply_imports` writes them again into every new build.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from observatory import config, queries
from observatory.registers import RegisterData
from observatory.registers.import_checks import (
    Finding,
    ImportOptions,
    ImportReport,
    ReferenceData,
    check_register,
)
from observatory.registers.import_geometry import dissolved_contours
from observatory.registers.import_reading import ReadError, read_register_file
from observatory.registers.import_report import ImportOutcome, format_report
from observatory.registers.import_values import register_id_for
from observatory.safe_text import clean_name, plain_text
from observatory.store import insert_frame
from observatory.write_lock import WriteLockTimeout, exclusive_write

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


# ---- reference and geometries ------------------------------------------------------------------


def load_reference(con: duckdb.DuckDBPyConnection) -> ReferenceData:
    return ReferenceData(
        communes=queries.import_reference_communes(con),
        code_history=queries.import_code_history(con),
        regions=queries.import_regions(con),
        stages=queries.import_stage_vocabulary(con),
        unit_geometries=queries.import_unit_geometries(con),  # all of them: 0.2 s for 35,000 contours
    )


def attach_geometries(data: RegisterData, reference: ReferenceData) -> RegisterData:
    """Each CPTS's territory: union of its units' contours, simplified for national maps."""
    return dataclasses.replace(data, cpts_geometries=dissolved_contours(data.cpts_communes, reference.unit_geometries))


def source_frame(register_id: str, file_name: str, sha256: str, retrieved_on: str, as_of: dt.date) -> pd.DataFrame:
    """The `sources` row recording the imported file (provenance shown next to the register)."""
    return pd.DataFrame(
        [
            {
                "source_id": register_id,
                "name": file_name,
                "publisher": None,
                "version": None,
                "vintage": as_of.isoformat(),
                "licence": None,
                "origin": "fichier importé (python -m observatory import-register)",
                "file_name": file_name,
                "sha256": sha256,
                "retrieved_at": retrieved_on,
            }
        ]
    )


# ---- writing -------------------------------------------------------------------------------------

# Constant SQL: the register id is always a bound parameter.
_DELETE_REGISTER_SQL = (
    "DELETE FROM cpts_geometries WHERE cpts_id IN (SELECT cpts_id FROM cpts WHERE register_id = ?)",
    "DELETE FROM cpts_missions WHERE cpts_id IN (SELECT cpts_id FROM cpts WHERE register_id = ?)",
    "DELETE FROM cpts_communes WHERE cpts_id IN (SELECT cpts_id FROM cpts WHERE register_id = ?)",
    "DELETE FROM cpts WHERE register_id = ?",
    "DELETE FROM registers WHERE register_id = ?",
    "DELETE FROM sources WHERE source_id = ?",
)


def write_register(con: duckdb.DuckDBPyConnection, data: RegisterData, source: pd.DataFrame) -> None:
    """Replace the register's rows (same register_id) by ``data``; the caller owns the transaction."""
    register_id = str(data.register["register_id"].iloc[0])
    for sql in _DELETE_REGISTER_SQL:
        con.execute(sql, [register_id])
    insert_frame(con, "sources", source)
    insert_frame(con, "registers", data.register)
    insert_frame(con, "cpts", data.cpts)
    insert_frame(con, "cpts_communes", data.cpts_communes)
    insert_frame(con, "cpts_missions", data.cpts_missions)
    insert_frame(con, "cpts_geometries", data.cpts_geometries)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temp_beside(target: Path, suffix: str) -> Path:
    """An empty temp file in the target's folder (same file system: os.replace is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    os.chmod(name, _default_mode())  # mkstemp creates 0600; the copy should look like any other file
    return Path(name)


def _remove(*paths: Path) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)


def read_manifest(imports_dir: Path) -> list[dict]:
    return read_manifest_file(Path(imports_dir) / MANIFEST_NAME)


def _manifest_bytes(entries: list[dict]) -> bytes:
    return manifest_bytes(entries, "register_id")


def _temp_with(target: Path, content: bytes) -> Path:
    tmp = _temp_beside(target, ".tmp")
    tmp.write_bytes(content)
    return tmp


# ---- the command ---------------------------------------------------------------------------------


def parse_as_of(text: str | None, file_path: Path) -> dt.date:
    """--as-of (AAAA-MM-JJ) or, by default, the date the file was last modified."""
    if text is None:
        return dt.date.fromtimestamp(Path(file_path).stat().st_mtime)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(text)
    return dt.date.fromisoformat(text.strip())


def check_file(
    file_path: Path, options: ImportOptions, reference: ReferenceData
) -> tuple[ImportOutcome, RegisterData | None]:
    """Read and check one file (nothing written)."""
    try:
        raw = read_register_file(file_path)
    except ReadError as exc:
        return ImportOutcome(ImportReport(errors=[Finding(f"fichier illisible : {exc}")]), None, options), None
    report, data = check_register(raw, reference, options)
    return ImportOutcome(report, raw, options), data


def _refused(message: str) -> ImportOutcome:
    return ImportOutcome(ImportReport(errors=[Finding(message)]), None, None, closing=["Rien n'a été écrit."])


def import_register(
    file_path: Path,
    name: str,
    db_path: Path,
    imports_dir: Path,
    region_code: str | None = None,
    as_of: str | None = None,
    strict: bool = False,
    on_wait=None,
) -> ImportOutcome:
    """The whole import. The database and the imports folder change only if nothing blocks.

    Runs under the database's write lock (:mod:`observatory.write_lock`), from reading the database to
    the last rename, so parallel imports and builds are serialised and none loses the other's work.
    ``on_wait`` (a callable taking a French sentence) is told when another writer is being waited for.
    """
    file_path, db_path, imports_dir = Path(file_path), Path(db_path), Path(imports_dir)
    cleaned, problem = clean_name(name or "")
    if problem is not None:
        return _refused(f"nom de registre --name refusé : {problem.message}")
    if not file_path.is_file():
        return _refused(f"fichier introuvable : {file_path}")
    if not db_path.is_file():
        return _refused(f"base introuvable : {db_path} ; lancez d'abord `python -m observatory build`")
    try:
        with exclusive_write(db_path, on_wait=on_wait):
            return _import_locked(file_path, cleaned, db_path, imports_dir, region_code, as_of, strict)
    except WriteLockTimeout as exc:
        return _refused(str(exc))
    except OSError as exc:  # the lock file cannot be created (read-only folder, full disk)
        return _refused(f"verrou d'écriture {db_path}.lock impossible à prendre ({exc.strerror or exc}) : "
                        "vérifiez les droits d'écriture et la place libre du dossier de la base")


def _import_locked(
    file_path: Path,
    name: str,
    db_path: Path,
    imports_dir: Path,
    region_code: str | None,
    as_of: str | None,
    strict: bool,
) -> ImportOutcome:
    refused = _refused
    if not db_path.is_file():
        return refused(f"base introuvable : {db_path} ; lancez d'abord `python -m observatory build`")
    if Path(f"{db_path}.wal").exists():
        return refused(
            f"la base {db_path} a un journal {db_path.name}.wal non intégré : fermez l'application qui l'écrit puis recommencez"
        )
    try:
        options = ImportOptions(
            name.strip(), region_code.strip() if region_code else None, parse_as_of(as_of, file_path), strict
        )
    except ValueError:
        return refused(f"date de référence --as-of « {plain_text(as_of, 40)} » invalide (format attendu : AAAA-MM-JJ)")
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            reference = load_reference(con)
        finally:
            con.close()
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return refused(
            f"base {db_path} illisible, verrouillée par un autre programme ou incomplète ({detail}) ;"
            " fermez le programme qui l'écrit ou reconstruisez-la avec `python -m observatory build`"
        )
    outcome, data = check_file(file_path, options, reference)
    if data is None or outcome.report.blocks(strict):
        reason = "mode strict : les avertissements bloquent l'import. " if data is not None else ""
        outcome.closing.append(f"{reason}Rien n'a été écrit : la base {db_path} est inchangée.")
        return outcome

    register_id = register_id_for(options.name)
    original = file_path.read_bytes()  # one read for the fingerprint and the copy
    sha256 = hashlib.sha256(original).hexdigest()
    today = dt.date.today().isoformat()
    stored = imports_dir / f"{register_id}{file_path.suffix.lower() or '.csv'}"
    report_path = imports_dir / f"{register_id}.rapport.txt"
    manifest_path = imports_dir / MANIFEST_NAME
    try:
        entries = [e for e in read_manifest(imports_dir) if e.get("register_id") != register_id]
    except (OSError, ValueError) as exc:
        outcome.report.errors.append(Finding(f"manifeste {manifest_path} illisible : {exc}"))
        outcome.closing = [f"Rien n'a été écrit : la base {db_path} est inchangée."]
        return outcome
    entries.append(
        {
            "register_id": register_id,
            "name": options.name,
            "region": options.region_code,
            "as_of": options.as_of.isoformat(),
            "strict": strict,
            "sha256": sha256,
            "original_file_name": file_path.name,
            "stored_file": stored.name,
            "imported_on": today,
        }
    )
    source = source_frame(register_id, file_path.name, sha256, today, options.as_of)
    outcome.closing = [
        f"Registre « {options.name} » ({register_id}) écrit dans {db_path}.",
        f"Copie du fichier, rapport et manifeste : {imports_dir} (ré-appliqués à chaque build).",
    ]
    files = [(stored, original), (report_path, format_report(outcome).encode("utf-8")),
             (manifest_path, _manifest_bytes(entries))]
    try:
        with_geometries = attach_geometries(data, reference)
        write_import(db_path, lambda con: write_register(con, with_geometries, source), files)
    except Exception as exc:  # disk full, permissions...: report it; write_import left no temp file
        replaced = isinstance(exc, PartialWriteError) and exc.database_replaced
        outcome.report.errors.append(Finding(f"écriture impossible : {exc if isinstance(exc, PartialWriteError) else f'{type(exc).__name__} : {exc}'}"))
        outcome.closing = [
            f"La base {db_path} a reçu le registre mais sa copie dans {imports_dir} est incomplète :"
            " relancez l'import pour qu'un prochain build le ré-applique."
            if replaced
            else f"Rien n'a été écrit : la base {db_path} est inchangée."
        ]
        return outcome
    outcome.written = True
    return outcome


def run_import_cli(args) -> int:
    """``python -m observatory import-register``: prints the French report, returns 0 (imported) or 1."""
    outcome = import_register(
        args.file,
        args.name,
        db_path=args.db or config.database_path(),
        imports_dir=config.imports_dir(),
        region_code=args.region,
        as_of=args.as_of,
        strict=args.strict,
        on_wait=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(format_report(outcome), end="")
    from observatory.accounts_cli import audit_command  # imported here: the build never needs accounts

    audit_command("register_imported", str(args.file.name), "ok" if outcome.written else "refusé",
                  f"registre « {args.name[:150]} » ; {len(outcome.report.errors)} erreur(s), "
                  f"{len(outcome.report.warnings)} avertissement(s)")
    return 0 if outcome.written else 1


# ---- re-application by the build -----------------------------------------------------------------


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Start a transaction unless the caller already holds one (DuckDB has no nested transactions)."""
    try:
        con.begin()
        return True
    except duckdb.TransactionException:
        return False


def _reapply_one(con: duckdb.DuckDBPyConnection, imports_dir: Path, entry: dict, reference: ReferenceData) -> str:
    name = entry.get("name", "?")
    path = imports_dir / str(entry.get("stored_file", ""))
    if not entry.get("stored_file") or not path.is_file():
        return f"registre importé « {name} » non ré-appliqué : copie du fichier introuvable ({path})"
    if entry.get("sha256") and sha256_of(path) != entry["sha256"]:
        return f"registre importé « {name} » non ré-appliqué : la copie {path.name} a été modifiée depuis l'import (empreinte différente)"
    options = ImportOptions(
        str(name), entry.get("region"), dt.date.fromisoformat(entry["as_of"]), bool(entry.get("strict"))
    )
    outcome, data = check_file(path, options, reference)
    if data is None or outcome.report.blocks(options.strict):
        first = (outcome.report.errors or outcome.report.warnings)[0].text()
        return f"registre importé « {name} » non ré-appliqué : le fichier ne passe plus les contrôles ({first})"
    source = source_frame(
        register_id_for(options.name),
        str(entry.get("original_file_name", path.name)),
        sha256_of(path),
        str(entry.get("imported_on", "")) or None,
        options.as_of,
    )
    own = _begin(con)
    try:
        write_register(con, attach_geometries(data, reference), source)
        if own:
            con.commit()
    except BaseException:
        if own:
            con.rollback()
        raise
    stats = outcome.report.stats
    return (
        f"registre importé « {name} » ré-appliqué : {stats.cpts_count} CPTS, {stats.units_covered} unités,"
        f" {len(outcome.report.warnings)} avertissement(s)"
    )


def reapply_imports(con: duckdb.DuckDBPyConnection, imports_dir: Path) -> list[str]:
    """Write every register of the imports manifest into ``con`` (the database being built).

    Called by the build after the reference tables are filled. Never raises: a file that no longer
    validates, or any failure, is skipped with a French message (returned, for the build log).
    """
    imports_dir = Path(imports_dir)
    try:
        entries = read_manifest(imports_dir)
    except (OSError, ValueError) as exc:
        return [
            f"manifeste des imports illisible ({imports_dir / MANIFEST_NAME}) : {exc} ; aucun registre importé ré-appliqué"
        ]
    if not entries:
        return []
    messages = []
    try:
        reference = load_reference(con)
    except duckdb.Error as exc:
        return [f"registres importés non ré-appliqués : tables de référence illisibles ({exc})"]
    for entry in entries:
        try:
            messages.append(_reapply_one(con, imports_dir, entry, reference))
        except Exception as exc:  # one bad entry must never stop the build
            messages.append(
                f"registre importé « {entry.get('name', '?')} » non ré-appliqué : {type(exc).__name__} : {exc}"
            )
    return messages


# ---- shared with the indicator import (observatory/indicator_import.py) -------------------------
# The same atomic write and manifest as registers, for any import: a writer function applied to a copy
# of the database in one transaction, then the copy and the stored files renamed over their targets.


class PartialWriteError(RuntimeError):
    """Writing an import failed; ``database_replaced`` says whether the database had already been renamed."""

    def __init__(self, message: str, database_replaced: bool):
        super().__init__(message)
        self.database_replaced = database_replaced


def write_import(db_path: Path, write, files: list[tuple[Path, bytes]]) -> None:
    """``write(con)`` in one transaction on a copy of ``db_path``, renamed over it, then each (target,
    content) written through a temp file and renamed. On failure no temp file remains; raises
    :class:`PartialWriteError` (French message) saying whether the database was already replaced."""
    temps: list[Path] = []
    replaced = 0
    try:
        tmp = _temp_beside(db_path, ".import.tmp")
        temps.append(tmp)
        shutil.copyfile(db_path, tmp)
        shutil.copymode(db_path, tmp)
        con = duckdb.connect(str(tmp))
        try:
            con.begin()
            write(con)
            con.commit()
            con.execute("CHECKPOINT")  # everything in the main file before it replaces the database
        finally:
            con.close()
        for target, content in files:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            temps.append(_temp_with(Path(target), content))
        for tmp, target in zip(temps, [db_path, *[t for t, _ in files]], strict=True):
            os.replace(tmp, target)
            replaced += 1
    except Exception as exc:
        _remove(*temps[replaced:])
        raise PartialWriteError(f"{type(exc).__name__} : {exc}", replaced > 0) from exc


def read_manifest_file(path: Path) -> list[dict]:
    """The entries of a manifest file (``{"format_version": 1, "imports": [...]}``); [] when absent."""
    path = Path(path)
    if not path.exists():
        return []
    content = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict) or not isinstance(content.get("imports"), list):
        raise ValueError("clé « imports » absente ou invalide")
    return content["imports"]


def manifest_bytes(entries: list[dict], key: str) -> bytes:
    """A manifest's content, entries sorted by ``key`` (stable files, readable diffs)."""
    content = {"format_version": MANIFEST_FORMAT, "imports": sorted(entries, key=lambda e: str(e[key]))}
    return (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def reapply_manifest(con: duckdb.DuckDBPyConnection, manifest_path: Path, reapply_one, what: str,
                     order=None) -> list[str]:
    """Call ``reapply_one(con, entry)`` (which returns a French message) for every entry of a manifest, each
    in its own transaction, in the order given by the ``order`` sort key (dependencies first). Never raises:
    a failing entry is skipped with a French message naming ``what``."""
    try:
        entries = sorted(read_manifest_file(manifest_path), key=order) if order else read_manifest_file(manifest_path)
    except (OSError, ValueError) as exc:
        return [f"manifeste {manifest_path} illisible : {exc} ; aucun {what} ré-appliqué"]
    messages = []
    for entry in entries:
        own = _begin(con)
        try:
            messages.append(reapply_one(con, entry))
            if own:
                con.commit()
        except Exception as exc:  # one bad entry must never stop the build
            if own:
                con.rollback()
            messages.append(f"{what} « {entry.get('name', entry.get('import_id', '?'))} » non ré-appliqué :"
                            f" {type(exc).__name__} : {exc}")
    return messages
