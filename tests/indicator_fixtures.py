"""Helpers of the indicator import tests: a private copy of the tiny database built by the real build
(``tests/raw_fixture.py``: département 01 as a grid with old codes 01005 → 01004 and 01011, 01012 → 01010,
Paris split into 75101-75103), indicator files written like an outside analyst's, and the command run as
a user runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

from observatory.__main__ import main
from tests.import_fixtures import query

__all__ = ["query"]  # re-exported: the indicator tests read the database through the register tests' helper

# Municipal populations of the fixture's territorial units (tests/raw_fixture.py), for expected figures.
POPULATION = {"01001": 500, "01002": 300, "01003": 1200, "01004": 2000, "01006": 80, "01007": 450, "01008": 900,
              "01009": 150, "01010": 1800, "01020": 95, "01021": 40, "01030": 620, "01040": 700, "01042": 210,
              "75101": 1000, "75102": 2000, "75103": 3000}
RATE_OPTIONS = ["--code", "part_80_ans_plus", "--label", "Part des 80 ans ou plus", "--unit", "% de la population",
                "--direction", "neutre", "--year", "2021", "--vintage", "RP 2021, géographie 2024",
                "--source", "INSEE, recensement de la population", "--licence", "Licence Ouverte / Etalab 2.0",
                "--aggregation", "moyenne"]
COUNT_OPTIONS = ["--code", "professionnels_sante", "--label", "Professionnels de santé libéraux", "--unit",
                 "professionnels", "--direction", "plus_est_mieux", "--year", "2024", "--source",
                 "Assurance Maladie, Rezone CPTS", "--licence", "Licence Ouverte / Etalab 2.0", "--aggregation", "somme"]


def db_copy(tiny_db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "observatoire.duckdb"
    shutil.copyfile(tiny_db, target)
    return target


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    Path(path).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return Path(path)


def run_import(db: Path, file: Path, options: list[str], *extra: str) -> int:
    return main(["import-indicator", str(file), *options, "--db", str(db), *extra])


def values_of(db: Path, code: str, year: int) -> dict[str, float]:
    frame = query(db, "SELECT geo_code, value FROM indicator_values WHERE indicator_code = ? AND year = ?", [code, year])
    return dict(zip(frame["geo_code"], frame["value"], strict=True))
