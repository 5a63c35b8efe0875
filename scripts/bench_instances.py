"""Several app instances on one PostgreSQL: N simulated users at once, each on its own demo CPTS, open the
Auto-évaluation page, answer, save a draft and submit, half of them on each of two Streamlit servers. Then
every submission is checked in the database: none lost, none mixed (each CPTS holds exactly the answers and
the author its user gave). Prints p50/p95 page times per step and writes bench-results/instances.json.

    .venv/bin/python scripts/bench_instances.py [--sessions 10 25 50] [--db data/observatoire.duckdb]

Each user is a real Streamlit session over the WebSocket protocol (scripts/streamlit_session.py); the
PostgreSQL server is a private one from Debian's packages (tests/pg_server.py), as in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from streamlit_session import StreamlitSession  # noqa: E402

from observatory import config  # noqa: E402
from observatory.assessments import AssessmentStore  # noqa: E402
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model  # noqa: E402
from tests.browser.harness import streamlit_server  # noqa: E402
from tests.pg_server import postgres_server  # noqa: E402

INSTRUMENT = load_instrument(load_scoring_model(latest_scoring_version()).instrument_version)
STEPS = ("ouverture", "réponse (fragment)", "enregistrement", "soumission")
Q4_OPTIONS = ("q4_total", "q4_partiel", "q4_modere", "q4_faible", "q4_insuffisant")


def _widget_key(tree, question: str) -> str:
    keys = [w.key for w in [*tree.radio, *tree.multiselect] if w.key and w.key.endswith(f"|{question}")]
    if not keys:
        raise RuntimeError(f"question {question} absente de la page")
    return keys[0]


def _button(tree, label: str):
    found = [b for b in tree.button if b.label == label]
    if not found:
        raise RuntimeError(f"bouton « {label} » absent ; boutons : {[b.label for b in tree.button]}")
    return found[0]


def one_user(base: str, cpts_id: str, index: int, times: dict[str, list[float]], failures: list[str], lock) -> None:
    author = f"Utilisateur {index:03d}"
    q4 = Q4_OPTIONS[index % len(Q4_OPTIONS)]
    q22 = "q22_oui" if index % 2 else "q22_non"
    measured: dict[str, list[float]] = {step: [] for step in STEPS}
    try:
        with StreamlitSession(base) as session:
            opened = session.run("auto-evaluation", f"cpts={cpts_id}")
            measured["ouverture"].append(opened.seconds)
            session.interact(opened.tree.text_input(key="auto_evaluation_author").input(author))
            fragment = session.fragment_ids[0] if session.fragment_ids else None
            for question, value in (("Q4", q4), ("Q22", q22)):
                radio = session.tree.radio(key=_widget_key(session.tree, question))
                label = INSTRUMENT.question(question).option(value).label
                measured["réponse (fragment)"].append(
                    session.interact(StreamlitSession.choice(radio, label), fragment_id=fragment).seconds)
            measured["enregistrement"].append(session.interact(_button(session.tree, "Enregistrer le brouillon").click()).seconds)
            asked = session.interact(_button(session.tree, "Soumettre…").click())
            measured["soumission"].append(asked.seconds
                                          + session.interact(_button(session.tree, "Confirmer la soumission").click()).seconds)
    except Exception as exc:  # noqa: BLE001 (reported, counted)
        import traceback

        with lock:
            failures.append(f"{cpts_id} : {type(exc).__name__} : {exc} {traceback.format_exc(limit=3)[-600:]}")
        return
    with lock:
        for step, values in measured.items():
            times[step].extend(values)


def check(location: str, expected: dict[str, tuple[str, str, str]], since) -> tuple[int, int, list[str]]:
    """(submitted as expected, lost, mixed-up details)."""
    store = AssessmentStore(location)
    ok, lost, mixed = 0, 0, []
    for cpts_id, (author, q4, q22) in expected.items():
        mine = [a for a in store.history(cpts_id) if a.submitted_at >= since and not a.assessment_id.startswith("demo")]
        if not mine:
            lost += 1
            continue
        latest = mine[-1]
        if (latest.author, latest.answers.get("Q4"), latest.answers.get("Q22")) == (author, q4, q22) and len(mine) == 1:
            ok += 1
        else:
            mixed.append(f"{cpts_id} : {latest.author}, {latest.answers.get('Q4')}, {latest.answers.get('Q22')}, "
                         f"{len(mine)} soumission(s)")
    store.db.close()
    return ok, lost, mixed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--db", type=Path, default=config.database_path())
    args = parser.parse_args()
    if not args.db.exists():
        print(f"Base analytique absente : {args.db} (make build)", file=sys.stderr)
        return 2
    from datetime import datetime

    rows = []
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as url:
        env = {config.ENV_DB: str(args.db), config.ENV_USER_DATABASE_URL: url,
               config.ENV_USER_DB: str(Path(tmp) / "jamais-utilisee.duckdb")}
        os.environ.update(env)  # the checks read the same store
        with streamlit_server(env, timeout_s=180) as first, streamlit_server(env, timeout_s=180) as second:
            for base in (first, second):  # what a returning user of an instance finds: caches and demo data warm
                with StreamlitSession(base) as warm:
                    warm.run("auto-evaluation", "cpts=demo-0001")
            offset = 2
            for n in args.sessions:
                ids = [f"demo-{offset + i:04d}" for i in range(n)]
                offset += n
                times: dict[str, list[float]] = {step: [] for step in STEPS}
                failures: list[str] = []
                lock = threading.Lock()
                since = datetime.now().replace(microsecond=0)
                started = time.perf_counter()
                threads = [threading.Thread(target=one_user, args=((first, second)[i % 2], cpts_id, i, times, failures, lock))
                           for i, cpts_id in enumerate(ids)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - started
                expected = {cpts_id: (f"Utilisateur {i:03d}", Q4_OPTIONS[i % len(Q4_OPTIONS)], "q22_oui" if i % 2 else "q22_non")
                            for i, cpts_id in enumerate(ids)}
                ok, lost, mixed = check(url, expected, since)
                row = {"sessions": n, "instances": 2, "durée totale (s)": round(wall, 1), "soumissions vérifiées": ok,
                       "perdues": lost, "mélangées": len(mixed), "échecs de session": len(failures),
                       **{f"{step} p50 (s)": round(statistics.median(times[step]), 3) if times[step] else None
                          for step in STEPS},
                       **{f"{step} p95 (s)": round(percentile(times[step], 0.95), 3) if times[step] else None
                          for step in STEPS}}
                rows.append(row)
                for line in failures[:5] + mixed[:5]:
                    print("  ", line)
    header = ["N", "durée (s)", "vérifiées", "perdues", "mélangées", "échecs", *[f"{s} p50/p95" for s in STEPS]]
    print(" | ".join(header))
    for r in rows:
        cells = [r["sessions"], r["durée totale (s)"], r["soumissions vérifiées"], r["perdues"], r["mélangées"],
                 r["échecs de session"], *[f"{r[f'{s} p50 (s)']} / {r[f'{s} p95 (s)']}" for s in STEPS]]
        print(" | ".join(str(c) for c in cells))
    out = config.REPO_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "instances.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if all(r["perdues"] == 0 and r["mélangées"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
