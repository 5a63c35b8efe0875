"""The analytical database of tests/factories.py made a little richer for the « Financement » page:
CPTS Bêta signed the ACI too (so Alpha and Bêta, 50 000 inhabitants each in département 75, are two size-2
signatories whose merger makes one size-3 CPTS) and the three demo CPTS record the four missions socles."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.factories import DEMO_REGISTER_ID, make_analytical_db

SOCLES = ["acces_soins", "parcours", "prevention", "crise_sanitaire"]
ALPHA, BETA, GAMMA = (f"{DEMO_REGISTER_ID}-{s}" for s in "abc")


def make_funding_db(path: Path) -> Path:
    make_analytical_db(path)
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE cpts SET health_project_date = DATE '2021-09-01', aci_date = DATE '2022-02-01' "
                    "WHERE cpts_id = ?", [BETA])
        for cpts_id in (ALPHA, BETA, GAMMA):
            for mission in SOCLES:
                con.execute("INSERT INTO cpts_missions VALUES (?, ?, DATE '2023-01-31')", [cpts_id, mission])
    finally:
        con.close()
    return path
