"""Data the « Fiche CPTS » and « Matrice » page tests build for themselves: a submitted assessment in the
temporary user database, a copy of the tiny database with an imported register, and the independent
SQL they compare the pages with."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from observatory.assessments import Assessment, AssessmentStore
from observatory.demo_assessments import generate_demo_assessments
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.registers.importer import import_register

IMPORTED_NAME = "CPTS importées (test)"
IMPORTED_CPTS = {"CPTS du Plateau-Test": ["01001", "01002", "01003"], "CPTS du Val-Test": ["01008"]}


def full_answers(seed_id: str, when: dt.date) -> dict:
    """A complete, valid answer set: the demo generator's for a fictitious ACI CPTS (deterministic)."""
    frame = pd.DataFrame([{
        "cpts_id": seed_id, "name": "CPTS de test", "preproject_date": dt.date(2018, 1, 1),
        "letter_of_intent_date": dt.date(2018, 6, 1), "health_project_date": dt.date(2019, 1, 1),
        "aci_date": dt.date(2019, 6, 1), "population_count": 30_000, "size_class": "taille_1",
    }])
    model = load_scoring_model(latest_scoring_version())
    records = generate_demo_assessments(frame, when, load_instrument(model.instrument_version), model)
    return dict(records[-1]["answers"])


def submit_assessment(user_db: Path | str, cpts_id: str, cpts_name: str, register_id: str, when: dt.datetime,
                      answers: dict | None = None, is_demo: bool = False) -> Assessment:
    """A draft saved then submitted through the store, as the Auto-évaluation page does."""
    store = AssessmentStore(user_db)
    answers = answers if answers is not None else full_answers(cpts_id, when.date())
    draft = store.save_draft(cpts_id, answers, None, cpts_name=cpts_name, register_id=register_id, is_demo=is_demo,
                             author="Test")
    return store.submit(cpts_id, draft.revision, author="Test", submitted_at=when)


def imported_db_copy(tiny_db: Path, folder: Path) -> tuple[Path, str]:
    """A copy of the tiny database with a small register imported by the real importer: (path, register_id)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "observatoire.duckdb"
    shutil.copyfile(tiny_db, db)
    csv = folder / "registre.csv"
    lines = ["cpts_nom;code_insee"] + [f"{name};{code}" for name, codes in IMPORTED_CPTS.items() for code in codes]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = import_register(csv, IMPORTED_NAME, db, folder / "imports", as_of="2026-01-01")
    assert outcome.written, outcome.report
    register_id = query(db, "SELECT register_id FROM registers WHERE name = ?", [IMPORTED_NAME]).iloc[0, 0]
    return db, str(register_id)


def query(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def cpts_of(db: Path, name: str) -> str:
    return str(query(db, "SELECT cpts_id FROM cpts WHERE name = ?", [name]).iloc[0, 0])


def members(db: Path, cpts_id: str) -> list[str]:
    return query(db, "SELECT commune_code FROM cpts_communes WHERE cpts_id = ? ORDER BY 1", [cpts_id])["commune_code"].tolist()


def population(db: Path, cpts_id: str) -> int:
    return int(query(db, """SELECT sum(c.population_count) FROM cpts_communes cc JOIN communes c USING (commune_code)
                            WHERE cc.cpts_id = ?""", [cpts_id]).iloc[0, 0])
