"""Tiny analytical databases and register files (good and broken) for the register import tests.

The reference database holds a handful of PACA communes (with Marseille split into three
arrondissements), one commune of Auvergne-Rhône-Alpes and one of Corse, a few old codes, square
contours and both stage vocabularies: enough to exercise every rule of the importer.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import duckdb
import pandas as pd
import shapely

from observatory.schema import TABLES_BY_NAME
from observatory.store import create_schema, insert_frame

# (code, name, unit_type, parent, departement, region, population, is_territorial_unit)
COMMUNES = [
    ("04001", "Aiglun", "commune", None, "04", "93", 1400, True),
    ("04004", "Allemagne-en-Provence", "commune", None, "04", "93", 500, True),
    ("04005", "Allons", "commune", None, "04", "93", 150, True),
    ("05024", "Valdoule", "commune", None, "05", "93", 300, True),
    ("05039", "Aubessagne", "commune", None, "05", "93", 800, True),
    ("06088", "Nice", "commune", None, "06", "93", 340000, True),
    ("13001", "Aix-en-Provence", "commune", None, "13", "93", 140000, True),
    ("13055", "Marseille", "commune", None, "13", "93", 115000, False),
    ("13201", "Marseille 1er Arrondissement", "arrondissement_municipal", "13055", "13", "93", 40000, True),
    ("13202", "Marseille 2e Arrondissement", "arrondissement_municipal", "13055", "13", "93", 25000, True),
    ("13203", "Marseille 3e Arrondissement", "arrondissement_municipal", "13055", "13", "93", 50000, True),
    ("26367", "Venterol", "commune", None, "26", "84", 600, True),
    ("2A004", "Ajaccio", "commune", None, "2A", "94", 70000, True),
]
HISTORY = [("05043", "05039"), ("05141", "05039"), ("05088", "05024"), ("04999", "04001"), ("04999", "04004")]
REGIONS = [("93", "Provence-Alpes-Côte d'Azur"), ("84", "Auvergne-Rhône-Alpes"), ("94", "Corse")]
STAGES = [
    ("pre_projet", "national", 1, "Pré-projet", None),
    ("lettre_intention", "national", 2, "Lettre d'intention validée", None),
    ("projet_sante", "national", 3, "Projet de santé validé", None),
    ("aci", "national", 4, "ACI signé", None),
    ("ars_interet", "ars", 1, "Initiative connue de l'ARS : déclaration d'intérêt", "pre_projet"),
    ("ars_fonctionnement", "ars", 4, "CPTS en fonctionnement", "aci"),
]


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = TABLES_BY_NAME[table].column_names
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)


def unit_population(region_code: str = "93") -> dict[str, int]:
    """Population of the territorial units of a region, from the fixture rows (for expected figures)."""
    return {c[0]: c[6] for c in COMMUNES if c[5] == region_code and c[7]}


def make_reference_db(path: Path) -> Path:
    """An analytical database with the schema and the reference rows above (no register)."""
    path = Path(path)
    con = duckdb.connect(str(path))
    try:
        create_schema(con)
        insert_frame(
            con,
            "communes",
            _frame(
                "communes",
                [
                    dict(
                        commune_code=c,
                        name=n,
                        unit_type=t,
                        parent_commune_code=p,
                        departement_code=d,
                        region_code=r,
                        population_count=pop,
                        is_territorial_unit=u,
                    )
                    for c, n, t, p, d, r, pop, u in COMMUNES
                ],
            ),
        )
        # One square per unit, side by side, so that a CPTS contour is the union of its squares.
        geometries = [
            {"commune_code": c[0], "geometry_wkb": shapely.to_wkb(shapely.box(i, 43.0, i + 1, 44.0))}
            for i, c in enumerate(COMMUNES)
            if c[7]
        ]
        insert_frame(con, "commune_geometries", _frame("commune_geometries", geometries))
        insert_frame(
            con,
            "commune_code_history",
            _frame("commune_code_history", [dict(old_code=o, commune_code=n) for o, n in HISTORY]),
        )
        insert_frame(
            con,
            "regions",
            _frame("regions", [dict(region_code=c, name=n, zone="metro", population_count=0) for c, n in REGIONS]),
        )
        insert_frame(
            con,
            "stages",
            _frame(
                "stages",
                [
                    dict(stage_code=s, vocabulary=v, rank=r, label=lab, national_stage_code=nat)
                    for s, v, r, lab, nat in STAGES
                ],
            ),
        )
    finally:
        con.close()
    return path


def write_csv(
    path: Path,
    rows: list[list[str]],
    delimiter: str = ";",
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\r\n",
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    data = buffer.getvalue().encode(encoding)
    Path(path).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return Path(path)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "CPTS"
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return Path(path)


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftover_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir() if ".tmp" in p.name or p.name.endswith(".wal"))


def query(db_path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()
