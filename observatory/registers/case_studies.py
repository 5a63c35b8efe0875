"""The thesis's case studies: five Île-de-France CPTS (A to E) and their published figures.

``data/case_studies.json`` transcribes Tableaux 3 to 7 cell by cell (published text and, for numeric
rows, the value). The CPTS are anonymised in the thesis: no territory (no communes, no contour) and no
national stage dates are published, so none are made up here; the ARS stage is the one of Tableau 4
(« État du projet »), whose full text goes to ``notes``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from observatory.config import DATA_DIR
from observatory.registers import RegisterData
from observatory.schema import TABLES_BY_NAME

CASE_STUDIES_PATH = DATA_DIR / "case_studies.json"
STATE_FIGURE = "project_state"  # Tableau 4 row whose text becomes the CPTS notes


def load_case_studies_file(path: Path | None = None) -> dict:
    with open(path or CASE_STUDIES_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLES_BY_NAME[table].column_names})


def case_study_figures(data: dict) -> pd.DataFrame:
    """Rows of ``case_study_figures``: one per (CPTS or 'idf', figure), in table then row order."""
    id_of_column = {c["column"]: c["cpts_id"] for c in data["cpts"]}
    id_of_column.update({column: column for column in data["reference_columns"]})
    rows = []
    for table in data["tables"]:
        for row in table["rows"]:
            for column in table["columns"]:
                cell = row["values"][column]
                rows.append(
                    {
                        "cpts_id": id_of_column[column],
                        "table_ref": table["table_ref"],
                        "figure_code": row["figure_code"],
                        "label": row["label"],
                        "value_num": cell["value_num"],
                        "value_text": cell["value_text"],
                        "unit": row["unit"],
                    }
                )
    frame = pd.DataFrame(rows)[TABLES_BY_NAME["case_study_figures"].column_names]
    frame["value_num"] = pd.to_numeric(frame["value_num"]).astype("float64")
    return frame


def load_case_studies(path: Path | None = None) -> tuple[RegisterData, pd.DataFrame]:
    """The case-study register (``these-idf-2021``) and its figures (columns of ``case_study_figures``)."""
    data = load_case_studies_file(path)
    reg = data["register"]
    register = pd.DataFrame(
        [
            {
                "register_id": reg["register_id"],
                "name": reg["name"],
                "kind": "case_study",
                "is_demo": False,
                "region_code": reg["region_code"],
                "as_of_date": pd.Timestamp(reg["as_of_date"]),
                "source_id": None,
                "description": reg["description"],
            }
        ]
    )[TABLES_BY_NAME["registers"].column_names]
    figures = case_study_figures(data)
    states = figures[figures["figure_code"] == STATE_FIGURE].set_index("cpts_id")["value_text"]
    cpts = pd.DataFrame(
        [
            {
                "cpts_id": c["cpts_id"],
                "register_id": reg["register_id"],
                "name": c["name"],
                "is_demo": False,
                "ars_stage_code": c["ars_stage_code"],
                "association_date": pd.Timestamp(c["association_date"]),
                # national stage dates are not published for the case studies: left NULL on purpose
                "preproject_date": pd.NaT,
                "letter_of_intent_date": pd.NaT,
                "health_project_date": pd.NaT,
                "aci_date": pd.NaT,
                "main_departement_code": c["main_departement_code"],
                "notes": f"État du projet lors de l'étude (thèse, tableau 4) : {states[c['cpts_id']]}",
            }
            for c in data["cpts"]
        ]
    )[TABLES_BY_NAME["cpts"].column_names]
    for column in ("preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"):
        cpts[column] = pd.to_datetime(cpts[column])
    register_data = RegisterData(
        register=register,
        cpts=cpts,
        cpts_communes=_empty("cpts_communes"),
        cpts_missions=_empty("cpts_missions"),
        cpts_geometries=_empty("cpts_geometries"),
    )
    return register_data, figures
