"""Benchmark of the « Fiche CPTS » and « Matrice » pages on a COPY of the real analytical database.

Runs the real app (``app.py`` + page) with Streamlit's AppTest, against a temporary copy of the database
and a fresh temporary user database, and prints: first opening (demo assessments loaded), cold run
(empty caches), warm rerun (median), switching CPTS, matrix colouring and presentation steps, and the
profile map payload of the CPTS with the most communes. Budgets: profile warm rerun < 1 s, matrix page
< 0.5 s, profile map < 1 MB.

    .venv/bin/python scripts/bench_fiche_matrice.py [--db data/observatoire.duckdb] [--runs 7]

Exit code 0 when every budget holds, 1 when one is exceeded, 2 when the database is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config  # noqa: E402

PROFILE_WARM_BUDGET_S = 1.0
MATRIX_BUDGET_S = 0.5
MAP_BUDGET_BYTES = 1_000_000
APP = str(config.REPO_ROOT / "app.py")


def timed_run(at, action=None) -> float:
    start = time.perf_counter()
    (action() if action else at).run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return elapsed


def open_page(page: str, query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = value
    timed_run(at)
    start = time.perf_counter()
    at.switch_page(page)
    timed_run(at)
    return at, time.perf_counter() - start


def median_of(values: list[float]) -> float:
    return statistics.median(values)


def line(label: str, seconds: float, budget: float | None = None) -> bool:
    ok = budget is None or seconds < budget
    verdict = "" if budget is None else ("OK" if ok else f"DÉPASSE le budget de {budget:g} s")
    print(f"  {label:<66} {seconds:6.3f} s  {verdict}", flush=True)
    return ok


def map_payload(at) -> int:
    components = at.get("component_instance")
    return len(components[0].proto.json_args.encode("utf-8")) if components else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai des pages Fiche CPTS et Matrice")
    parser.add_argument("--db", type=Path, default=None, help="base analytique à copier (défaut : data/observatoire.duckdb)")
    parser.add_argument("--runs", type=int, default=7, help="relances mesurées pour les médianes")
    args = parser.parse_args(argv)
    source = (args.db or config.database_path()).resolve()
    if not source.exists():
        print(f"Base introuvable : {source}. Lancez `python -m observatory build`.")
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-fiche-"))
    db = work / "observatoire.duckdb"
    shutil.copyfile(source, db)
    os.environ[config.ENV_DB] = str(db)
    os.environ[config.ENV_USER_DB] = str(work / "evaluations.duckdb")
    os.environ.pop(config.ENV_USER_DATABASE_URL, None)  # a throwaway DuckDB file, never a deployment's server
    print(f"Copie de {source} dans {db} ; évaluations : {work / 'evaluations.duckdb'}")

    import duckdb
    import streamlit as st

    con = duckdb.connect(str(db), read_only=True)
    biggest = con.execute(
        """SELECT c.cpts_id, c.name, count(*) AS n FROM cpts c JOIN cpts_communes USING (cpts_id)
           WHERE c.register_id = 'demo' GROUP BY ALL ORDER BY n DESC, c.cpts_id LIMIT 5"""
    ).fetchall()
    some = [r[0] for r in con.execute(
        "SELECT cpts_id FROM cpts WHERE register_id = 'demo' ORDER BY hash(cpts_id) LIMIT 5").fetchall()]
    con.close()
    ok = True
    try:
        print("Fiche CPTS")
        _, first = open_page("pages/fiche-cpts.py", {})
        line("première ouverture (évaluations de démonstration chargées)", first)
        st.cache_data.clear()
        st.cache_resource.clear()
        at, cold = open_page("pages/fiche-cpts.py", {})
        line("à froid (caches vides)", cold)
        warm = [timed_run(at) for _ in range(args.runs)]
        ok &= line(f"relance à chaud (médiane de {args.runs})", median_of(warm), PROFILE_WARM_BUDGET_S)
        switches = [timed_run(at, lambda cid=cid: at.selectbox(key="fiche_cpts_demo").set_value(cid)) for cid in some]
        line(f"changement de CPTS, première vue de chacune (médiane de {len(some)})", median_of(switches))
        back = [timed_run(at, lambda cid=cid: at.selectbox(key="fiche_cpts_demo").set_value(cid)) for cid in some]
        ok &= line(f"retour sur une CPTS déjà vue (médiane de {len(back)})", median_of(back), PROFILE_WARM_BUDGET_S)
        case, _ = open_page("pages/fiche-cpts.py", {"cpts": "these-C"})
        ok &= line("étude de cas (CPTS C), relance à chaud", median_of([timed_run(case) for _ in range(args.runs)]),
                   PROFILE_WARM_BUDGET_S)

        print("Carte du territoire (charge envoyée au navigateur)")
        worst = 0
        for cpts_id, name, n in biggest:
            big, cold_big = open_page("pages/fiche-cpts.py", {"cpts": cpts_id})
            size = map_payload(big)
            worst = max(worst, size)
            warm_big = median_of([timed_run(big) for _ in range(3)])
            ok &= size < MAP_BUDGET_BYTES
            print(f"  {name} ({n} communes) : carte {size / 1e6:.3f} Mo ; à froid {cold_big:.2f} s, "
                  f"à chaud {warm_big:.3f} s", flush=True)
            ok &= warm_big < PROFILE_WARM_BUDGET_S
        print(f"  -> plus lourde : {worst / 1e6:.3f} Mo (budget {MAP_BUDGET_BYTES / 1e6:g} Mo) "
              f"{'OK' if worst < MAP_BUDGET_BYTES else 'DÉPASSE'}")

        print("Matrice")
        st.cache_data.clear()
        st.cache_resource.clear()
        at, cold = open_page("pages/matrice.py", {})
        line("à froid (caches vides, distribution nationale)", cold)
        warm = [timed_run(at) for _ in range(args.runs)]
        ok &= line(f"relance à chaud (médiane de {args.runs})", median_of(warm), MATRIX_BUDGET_S)
        modes = []
        for mode in ("cpts", "peer_median", "national") * 2:
            modes.append(timed_run(at, lambda mode=mode: at.radio(key="matrice_mode").set_value(mode)))
        ok &= line("changement de coloration (médiane de 6)", median_of(modes), MATRIX_BUDGET_S)
        elements = [timed_run(at, lambda e=e: at.selectbox(key="matrice_element").set_value(e))
                    for e in ("gouvernance", "prevention", "reglementation", "effets_projets", "ressources")]
        ok &= line("choix d'un élément (médiane de 5)", median_of(elements), MATRIX_BUDGET_S)
        at, _ = open_page("pages/matrice.py", {"presentation": "1"})
        steps = [timed_run(at, lambda: at.button(key="matrice_next").click()) for _ in range(args.runs)]
        ok &= line(f"mode présentation : « Suivant » (médiane de {args.runs})", median_of(steps), MATRIX_BUDGET_S)
        print("Budgets tenus." if ok else "Au moins un budget est dépassé.")
        print(json.dumps({"profile_map_max_bytes": worst}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
