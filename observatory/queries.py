"""Every read query of the analytical database (``data/observatoire.duckdb``).

Rules (docs/architecture.md): one named function per question, a fresh cursor per use (through
``observatory.db``), values always as bound parameters, identifiers only from the allow-lists below,
results as DataFrames with named columns (GeoDataFrames in WGS84 for geometries).

Geometries are WKB BLOBs. They are decoded from Arrow (``fetch_arrow``), because a pandas BLOB column
comes back as ``bytearray``, which shapely rejects, and Arrow is the fast path (stack notes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatory.db import fetch_arrow, fetch_df

Connection = duckdb.DuckDBPyConnection

WGS84 = "EPSG:4326"

# ---------------------------------------------------------------------------------------------------
# Allow-lists: the only identifiers ever interpolated into SQL text.
# ---------------------------------------------------------------------------------------------------

# Outline level -> (table, key column). Used by `outlines`.
OUTLINE_TABLES: dict[str, tuple[str, str]] = {
    "region": ("regions", "region_code"),
    "departement": ("departements", "departement_code"),
}

# Filter name -> column of `communes` it restricts (used by `territorial_units` and `unit_geometries`).
UNIT_FILTER_COLUMNS: dict[str, str] = {
    "region_code": "c.region_code",
    "departement_code": "c.departement_code",
}


def _unit_filters(region_code: str | None, departement_code: str | None) -> tuple[str, list]:
    """SQL fragment (`AND ...`) and parameters restricting territorial units to an area."""
    clauses, params = [], []
    for name, value in (("region_code", region_code), ("departement_code", departement_code)):
        if value is not None:
            clauses.append(f"{UNIT_FILTER_COLUMNS[name]} = ?")
            params.append(str(value))
    return "".join(f" AND {c}" for c in clauses), params


def _as_code_list(codes: Iterable[str] | None) -> list[str] | None:
    if codes is None:
        return None
    return [str(c) for c in codes]


def _geodataframe(table, geometry_column: str = "geometry_wkb") -> gpd.GeoDataFrame:
    """Arrow table with a WKB column -> GeoDataFrame (other columns kept, WKB column dropped)."""
    wkb = table.column(geometry_column).to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    frame = table.drop_columns([geometry_column]).to_pandas()
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=WGS84)


# ---------------------------------------------------------------------------------------------------
# Build metadata and provenance
# ---------------------------------------------------------------------------------------------------


def build_info(con: Connection) -> dict[str, str]:
    """Key/value description of the database (schema version, vintages)."""
    frame = fetch_df(con, "SELECT key, value FROM build_info ORDER BY key")
    return dict(zip(frame["key"], frame["value"], strict=True))


def sources(con: Connection, source_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Raw sources read by the build (provenance captions). All sources when ``source_ids`` is None."""
    ids = _as_code_list(source_ids)
    sql = (
        "SELECT source_id, name, publisher, version, vintage, licence, origin, file_name, sha256, retrieved_at"
        " FROM sources"
    )
    if ids is None:
        return fetch_df(con, sql + " ORDER BY source_id, file_name")
    return fetch_df(con, sql + " WHERE list_contains(?, source_id) ORDER BY source_id, file_name", [ids])


def data_quality(con: Connection, source_id: str | None = None) -> pd.DataFrame:
    """Build findings (missing or rebuilt geometries, re-keyed codes), for the data-quality notes."""
    sql = "SELECT source_id, check_code, subject_code, detail FROM data_quality"
    if source_id is None:
        return fetch_df(con, sql + " ORDER BY source_id, check_code, subject_code")
    return fetch_df(con, sql + " WHERE source_id = ? ORDER BY check_code, subject_code", [source_id])


# ---------------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------------


def stages(con: Connection, vocabulary: str | None = "national") -> pd.DataFrame:
    """Stage vocabulary rows ordered by rank (``vocabulary=None``: every vocabulary)."""
    sql = "SELECT stage_code, vocabulary, rank, label, national_stage_code, color, description FROM stages"
    if vocabulary is None:
        return fetch_df(con, sql + " ORDER BY vocabulary, rank, stage_code")
    return fetch_df(con, sql + " WHERE vocabulary = ? ORDER BY rank, stage_code", [vocabulary])


# ---------------------------------------------------------------------------------------------------
# Registers and CPTS
# ---------------------------------------------------------------------------------------------------


def list_registers(con: Connection) -> pd.DataFrame:
    """Registers with their number of CPTS; demo registers first, then by name."""
    return fetch_df(
        con,
        """
        SELECT r.register_id, r.name, r.kind, r.is_demo, r.region_code, r.as_of_date, r.source_id,
               r.description, count(c.cpts_id) AS cpts_count
        FROM registers r LEFT JOIN cpts c USING (register_id)
        GROUP BY ALL
        ORDER BY r.is_demo DESC, r.name, r.register_id
        """,
    )


def get_register(con: Connection, register_id: str) -> dict | None:
    """One register as a dict (columns of `registers` + cpts_count), or None if it does not exist."""
    frame = list_registers(con)
    frame = frame[frame["register_id"] == register_id]
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    for key, value in row.items():  # NaN/NaT -> None, so callers can test `is None`
        if not isinstance(value, (list, tuple)) and pd.isna(value):
            row[key] = None
    return row


def list_cpts(con: Connection, register_id: str) -> pd.DataFrame:
    """The CPTS of a register with their stage dates (datetime64, NaT: stage not reached)."""
    return fetch_df(
        con,
        """
        SELECT cpts_id, register_id, name, is_demo, ars_stage_code, association_date, preproject_date,
               letter_of_intent_date, health_project_date, aci_date, main_departement_code, notes
        FROM cpts WHERE register_id = ?
        ORDER BY name, cpts_id
        """,
        [register_id],
    )


def cpts_access_facts(con: Connection) -> pd.DataFrame:
    """Every CPTS of every register with what the access rules need: its register's kind and demo flag, and
    its région (that of its main département, else of most of its communes)."""
    return fetch_df(
        con,
        """
        WITH by_region AS (
            SELECT cc.cpts_id, co.region_code, count(*) AS n
            FROM cpts_communes cc JOIN communes co ON co.commune_code = cc.commune_code
            GROUP BY ALL
        ), main_region AS (
            SELECT cpts_id, arg_max(region_code, n) AS region_code FROM by_region GROUP BY cpts_id
        )
        SELECT c.cpts_id, r.kind AS register_kind, r.is_demo OR c.is_demo AS is_demo,
               coalesce(d.region_code, m.region_code, r.region_code) AS region_code
        FROM cpts c
        JOIN registers r USING (register_id)
        LEFT JOIN departements d ON d.departement_code = c.main_departement_code
        LEFT JOIN main_region m ON m.cpts_id = c.cpts_id
        ORDER BY c.cpts_id
        """,
    )


def cpts_units(con: Connection, register_id: str) -> pd.DataFrame:
    """Territory of every CPTS of a register: one row per (cpts_id, commune_code)."""
    return fetch_df(
        con,
        """
        SELECT cc.cpts_id, cc.commune_code
        FROM cpts_communes cc JOIN cpts c USING (cpts_id)
        WHERE c.register_id = ?
        ORDER BY cc.cpts_id, cc.commune_code
        """,
        [register_id],
    )


def cpts_missions(con: Connection, register_id: str) -> pd.DataFrame:
    """ACI missions contracted by the CPTS of a register."""
    return fetch_df(
        con,
        """
        SELECT m.cpts_id, m.mission_code, m.start_date
        FROM cpts_missions m JOIN cpts c USING (cpts_id)
        WHERE c.register_id = ?
        ORDER BY m.cpts_id, m.mission_code
        """,
        [register_id],
    )


def cpts_geometries(con: Connection, register_id: str, cpts_ids: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Dissolved, simplified outline of each CPTS of a register (national maps): cpts_id, name, geometry."""
    ids = _as_code_list(cpts_ids)
    sql = """
        SELECT g.cpts_id, c.name, g.geometry_wkb
        FROM cpts_geometries g JOIN cpts c USING (cpts_id)
        WHERE c.register_id = ?
    """
    params: list = [register_id]
    if ids is not None:
        sql += " AND list_contains(?, g.cpts_id)"
        params.append(ids)
    return _geodataframe(fetch_arrow(con, sql + " ORDER BY g.cpts_id", params))


# ---------------------------------------------------------------------------------------------------
# Territory: régions, départements, territorial units
# ---------------------------------------------------------------------------------------------------


def regions(con: Connection) -> pd.DataFrame:
    """Régions without geometry (selectors, tables)."""
    return fetch_df(con, "SELECT region_code, name, zone, population_count FROM regions ORDER BY region_code")


def departements(con: Connection, region_code: str | None = None) -> pd.DataFrame:
    """Départements without geometry, optionally those of one région."""
    sql = "SELECT departement_code, name, region_code, zone, population_count FROM departements"
    if region_code is None:
        return fetch_df(con, sql + " ORDER BY departement_code")
    return fetch_df(con, sql + " WHERE region_code = ? ORDER BY departement_code", [region_code])


def outlines(con: Connection, level: str, region_code: str | None = None) -> gpd.GeoDataFrame:
    """Outlines of régions or départements (``level``: 'region' | 'departement'), optionally in one région.

    Columns: code, name, region_code, zone (metro | drom), population_count, geometry. Rows without geometry are kept
    (geometry None) so that a missing outline shows up as a data-quality problem, not as a gap.
    """
    if level not in OUTLINE_TABLES:
        raise ValueError(f"niveau de contour inconnu : {level!r} (attendu : {', '.join(OUTLINE_TABLES)})")
    table, key = OUTLINE_TABLES[level]
    sql = f"SELECT {key} AS code, name, region_code, zone, population_count, geometry_wkb FROM {table}"
    params: list = []
    if region_code is not None:
        sql += " WHERE region_code = ?"
        params.append(region_code)
    return _geodataframe(fetch_arrow(con, sql + f" ORDER BY {key}", params))


def departement_outlines(con: Connection, region_code: str | None = None) -> gpd.GeoDataFrame:
    return outlines(con, "departement", region_code)


def region_outlines(con: Connection) -> gpd.GeoDataFrame:
    return outlines(con, "region")


def territorial_units(
    con: Connection, region_code: str | None = None, departement_code: str | None = None
) -> pd.DataFrame:
    """Territorial units (communes; arrondissements in Paris, Lyon, Marseille), never their parent city.

    Columns: commune_code, name, unit_type, parent_commune_code, departement_code, region_code,
    epci_code, epci_name, population_count, area_km2, centroid_lon, centroid_lat.
    """
    where, params = _unit_filters(region_code, departement_code)
    return fetch_df(
        con,
        f"""
        SELECT c.commune_code, c.name, c.unit_type, c.parent_commune_code, c.departement_code, c.region_code,
               c.epci_code, e.name AS epci_name, c.population_count, c.area_km2, c.centroid_lon, c.centroid_lat
        FROM communes c LEFT JOIN epci e USING (epci_code)
        WHERE c.is_territorial_unit {where}
        ORDER BY c.commune_code
        """,
        params,
    )


def places(con: Connection) -> pd.DataFrame:
    """Every commune and arrondissement municipal, cities split into arrondissements included (map labels and
    the search): commune_code, name, unit_type, parent_commune_code, departement_code, region_code,
    population_count, centroid_lon, centroid_lat, chef_lieu (region | departement | None)."""
    return fetch_df(
        con,
        """
        SELECT commune_code, name, unit_type, parent_commune_code, departement_code, region_code, population_count,
               centroid_lon, centroid_lat, chef_lieu
        FROM communes ORDER BY commune_code
        """,
    )


def unit_geometries(
    con: Connection,
    departement_code: str | None = None,
    region_code: str | None = None,
    commune_codes: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Outlines of territorial units, restricted to a département, a région and/or a list of codes.

    Columns: commune_code, name, departement_code, population_count, geometry. With no filter at all
    this returns every unit of France (35,000 polygons): national maps should draw CPTS instead.
    """
    where, params = _unit_filters(region_code, departement_code)
    codes = _as_code_list(commune_codes)
    if codes is not None:
        where += " AND list_contains(?, c.commune_code)"
        params.append(codes)
    table = fetch_arrow(
        con,
        f"""
        SELECT c.commune_code, c.name, c.departement_code, c.population_count, g.geometry_wkb
        FROM communes c JOIN commune_geometries g USING (commune_code)
        WHERE c.is_territorial_unit {where}
        ORDER BY c.commune_code
        """,
        params,
    )
    return _geodataframe(table)


def epci(con: Connection) -> pd.DataFrame:
    return fetch_df(con, "SELECT epci_code, name, epci_type, population_count FROM epci ORDER BY epci_code")


# ---------------------------------------------------------------------------------------------------
# Indicators
# ---------------------------------------------------------------------------------------------------


def indicator_catalogue(con: Connection) -> pd.DataFrame:
    """The `indicators` catalogue (one row per indicator), with the years available for each."""
    return fetch_df(
        con,
        """
        SELECT i.indicator_code, i.label, i.unit, i.direction, i.source_id, i.weight_indicator_code,
               i.aggregation, i.threshold_value, i.threshold_label, i.decimals, i.description, i.origin, i.role,
               i.source_geo_level, i.numerator_indicator_code, i.denominator_indicator_code, i.scale_factor,
               i.class_method, i.class_breaks,
               list(DISTINCT v.year ORDER BY v.year) FILTER (WHERE v.year IS NOT NULL) AS years
        FROM indicators i LEFT JOIN indicator_values v USING (indicator_code)
        GROUP BY ALL
        ORDER BY i.indicator_code
        """,
    )


def indicator_years(con: Connection, indicator_code: str) -> list[int]:
    frame = fetch_df(
        con,
        "SELECT DISTINCT year FROM indicator_values WHERE indicator_code = ? ORDER BY year",
        [indicator_code],
    )
    return [int(y) for y in frame["year"]]


def indicator_values(
    con: Connection,
    indicator_code: str,
    year: int,
    unit_codes: Sequence[str] | None = None,
    geo_level: str = "commune",
) -> pd.DataFrame:
    """Values of one indicator for one year: geo_code, value (optionally restricted to some units)."""
    sql = """
        SELECT geo_code, value FROM indicator_values
        WHERE indicator_code = ? AND year = ? AND geo_level = ?
    """
    params: list = [indicator_code, int(year), geo_level]
    codes = _as_code_list(unit_codes)
    if codes is not None:
        sql += " AND list_contains(?, geo_code)"
        params.append(codes)
    return fetch_df(con, sql + " ORDER BY geo_code", params)


def indicator_sources(con: Connection) -> pd.DataFrame:
    """Source and vintage of every (indicator, year): indicator_code, year, source_id, vintage."""
    return fetch_df(con, "SELECT indicator_code, year, source_id, vintage FROM indicator_sources ORDER BY ALL")


# --- indicator import ---
# Read queries of `python -m observatory import-indicator` (observatory/indicator_import.py).


def indicator_import_units(con: Connection) -> pd.DataFrame:
    """Every commune and arrondissement with what an indicator import needs: codes, EPCI, population."""
    return fetch_df(
        con,
        """
        SELECT commune_code, name, unit_type, parent_commune_code, departement_code, region_code, epci_code,
               population_count, is_territorial_unit
        FROM communes ORDER BY commune_code
        """,
    )


def indicator_import_areas(con: Connection) -> pd.DataFrame:
    """EPCI and départements (level, code, name): the other levels an indicator file may be published at."""
    return fetch_df(
        con,
        """
        SELECT 'epci' AS level, epci_code AS code, name FROM epci
        UNION ALL SELECT 'departement', departement_code, name FROM departements
        ORDER BY level, code
        """,
    )


# --- register import ---
# Read queries of `python -m observatory import-register` and of the build's re-application of imports
# (observatory/registers/importer.py). Owned by the importer; the rest of this file is not.


def import_reference_communes(con: Connection) -> pd.DataFrame:
    """Every commune and arrondissement with what the import checks need (codes, names, region, population)."""
    return fetch_df(
        con,
        """
        SELECT commune_code, name, unit_type, parent_commune_code, departement_code, region_code,
               population_count, is_territorial_unit
        FROM communes ORDER BY commune_code
        """,
    )


def import_code_history(con: Connection) -> pd.DataFrame:
    """Old commune codes → COG 2026 codes (old_code, commune_code)."""
    return fetch_df(con, "SELECT old_code, commune_code FROM commune_code_history ORDER BY old_code, commune_code")


def import_regions(con: Connection) -> pd.DataFrame:
    return fetch_df(con, "SELECT region_code, name FROM regions ORDER BY region_code")


def import_stage_vocabulary(con: Connection) -> pd.DataFrame:
    """Both stage vocabularies (national and ARS) with their labels and national equivalents."""
    return fetch_df(
        con,
        "SELECT stage_code, vocabulary, rank, label, national_stage_code FROM stages ORDER BY vocabulary, rank",
    )


def import_unit_geometries(con: Connection, commune_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """commune_code and decoded shapely ``geometry`` of the given units, or of all (units without a contour are absent)."""
    sql = "SELECT commune_code, geometry_wkb FROM commune_geometries"
    params: list = []
    if commune_codes is not None:
        sql += " WHERE list_contains(?, commune_code)"
        params.append([str(c) for c in commune_codes])
    frame = fetch_df(con, sql + " ORDER BY commune_code", params)
    # A pandas BLOB comes back as bytearray, which shapely rejects: convert to bytes (0.2 s for all 35,000).
    wkb = [None if v is None else bytes(v) for v in frame["geometry_wkb"]]
    return pd.DataFrame({"commune_code": frame["commune_code"].astype(object), "geometry": list(shapely.from_wkb(wkb))})


# --- CPTS profile ---
# Read queries of the « Fiche CPTS » and « Matrice » pages (owned by them).


def find_cpts(con: Connection, cpts_id: str) -> pd.DataFrame:
    """One CPTS by id, whatever its register (a shared link carries only the id): the columns of
    :func:`list_cpts` plus the register's name and kind; empty when the id is unknown."""
    return fetch_df(
        con,
        """
        SELECT c.cpts_id, c.register_id, c.name, c.is_demo, c.ars_stage_code, c.association_date,
               c.preproject_date, c.letter_of_intent_date, c.health_project_date, c.aci_date,
               c.main_departement_code, c.notes, r.name AS register_name, r.kind AS register_kind
        FROM cpts c JOIN registers r USING (register_id)
        WHERE c.cpts_id = ?
        """,
        [str(cpts_id)],
    )


def case_study_figures(con: Connection, cpts_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Published figures of the thesis's case studies (Tableaux 3 to 7) and the Île-de-France
    references (``cpts_id = 'idf'``), optionally for some CPTS only. Sorted by table, CPTS and code: the
    published row order is in ``data/case_studies.json`` (see ``observatory.profile``)."""
    sql = "SELECT cpts_id, table_ref, figure_code, label, value_num, value_text, unit FROM case_study_figures"
    ids = _as_code_list(cpts_ids)
    if ids is None:
        return fetch_df(con, sql + " ORDER BY table_ref, cpts_id, figure_code")
    return fetch_df(con, sql + " WHERE list_contains(?, cpts_id) ORDER BY table_ref, cpts_id, figure_code", [ids])
