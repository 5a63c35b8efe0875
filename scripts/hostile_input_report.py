"""Hostile-input report: runs the bad-file table, the bad-name table and repeated parallel imports against
a small reference database built here, and prints cases tried, refused cleanly, data-loss events and
timings (the figures of the hardening issue). Also writes them as JSON in bench-results/.

    .venv/bin/python scripts/hostile_input_report.py [--trials 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory.config import REPO_ROOT  # noqa: E402
from observatory.registers.import_reading import ReadError, read_register_file  # noqa: E402
from observatory.registers.import_report import format_report  # noqa: E402
from observatory.registers.importer import import_register  # noqa: E402
from tests.hostile import BAD_REGISTER_NAMES, bad_register_files  # noqa: E402
from tests.import_fixtures import file_digest, make_reference_db, query, write_csv  # noqa: E402


def _imports_snapshot(folder: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in folder.iterdir()} if folder.exists() else {}


def bad_files(work: Path, db: Path) -> list[dict]:
    rows = []
    for bad in bad_register_files():
        source = bad.write(work)
        before, imports = file_digest(db), work / "imports"
        snapshot = _imports_snapshot(imports)
        started = time.perf_counter()
        try:
            outcome = import_register(source, "Registre de test", db, imports, as_of="2026-01-01")
            report, crashed = format_report(outcome), False
            written = outcome.written
        except Exception as exc:  # noqa: BLE001 (counted: a crash is a failure of the suite)
            report, crashed, written = f"{type(exc).__name__}: {exc}", True, False
        seconds = time.perf_counter() - started
        unchanged = file_digest(db) == before and _imports_snapshot(imports) == snapshot
        first_error = next((line.strip(" -") for line in report.splitlines() if line.startswith("  - ")), report[:140])
        rows.append({"cas": bad.case, "refusé proprement": (not written and not crashed and bad.expected in report),
                     "rien écrit": unchanged, "secondes": round(seconds, 3), "message": first_error[:140]})
        source.unlink()
    return rows


def bad_names(work: Path, db: Path) -> list[dict]:
    rows = []
    source = write_csv(work / "ok.csv", [["cpts_nom", "code_insee"], ["CPTS A", "04001"]])
    for case, (name, expected) in BAD_REGISTER_NAMES.items():
        before = file_digest(db)
        outcome = import_register(source, name, db, work / "imports-noms", as_of="2026-01-01")
        report = format_report(outcome)
        rows.append({"cas": f"--name {case}", "refusé proprement": not outcome.written and expected in report,
                     "rien écrit": file_digest(db) == before, "secondes": 0.0, "message": next((line.strip(" -") for line in report.splitlines() if line.startswith("  - ")), "")[:140]})
    return rows


def parallel_imports(work: Path, db: Path, trials: int) -> dict:
    lost = 0
    durations = []
    codes = ["04001", "04004", "04005"]
    for trial in range(trials):
        trial_db, imports = work / f"parallele-{trial}.duckdb", work / f"imports-{trial}"
        shutil.copyfile(db, trial_db)
        names = [f"Parallèle {trial}-{i}" for i in range(len(codes))]
        files = [write_csv(work / f"p{trial}-{i}.csv", [["cpts_nom", "code_insee"], [f"CPTS {i}", code]])
                 for i, code in enumerate(codes)]
        env = {**os.environ, "OBSERVATOIRE_IMPORTS_DIR": str(imports)}
        started = time.perf_counter()
        processes = [subprocess.Popen([sys.executable, "-m", "observatory", "import-register", str(f), "--name", n,
                                       "--db", str(trial_db), "--as-of", "2026-01-01"], cwd=REPO_ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for f, n in zip(files, names, strict=True)]
        codes_returned = [p.wait(timeout=600) for p in processes]
        durations.append(time.perf_counter() - started)
        in_db = set(query(trial_db, "SELECT name FROM registers WHERE kind = 'imported'")["name"])
        manifest = json.loads((imports / "manifest.json").read_text(encoding="utf-8"))
        in_manifest = {e["name"] for e in manifest["imports"]}
        lost += len(set(names) - in_db) + len(set(names) - in_manifest) + sum(c != 0 for c in codes_returned)
    return {"essais": trials, "imports simultanés par essai": len(codes), "imports perdus": lost,
            "durée médiane d'un essai (s)": round(sorted(durations)[len(durations) // 2], 2)}


def wide_file_time(work: Path) -> float:
    wide = next(b for b in bad_register_files() if b.case == "20000_colonnes").write(work)
    started = time.perf_counter()
    try:
        read_register_file(wide)
    except ReadError:
        pass
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = make_reference_db(work / "observatoire.duckdb")
        rows = bad_files(work, db) + bad_names(work, db)
        wide = wide_file_time(work)
        parallel = parallel_imports(work, db, args.trials)
    print(f"{'cas':<24} {'refusé':<7} {'intact':<7} {'s':>6}  message")
    for r in rows:
        print(f"{r['cas']:<24} {'oui' if r['refusé proprement'] else 'NON':<7} {'oui' if r['rien écrit'] else 'NON':<7} "
              f"{r['secondes']:>6.2f}  {r['message']}")
    refused = sum(r["refusé proprement"] for r in rows)
    losses = sum(not r["rien écrit"] for r in rows) + parallel["imports perdus"]
    summary = {"fichiers et noms essayés": len(rows), "refusés proprement": refused,
               "fichier de 20 000 colonnes (s)": round(wide, 3), "imports parallèles": parallel,
               "pertes de données": losses}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    out = REPO_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "hostile_input.json").write_text(json.dumps({"cases": rows, "summary": summary}, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
    return 0 if refused == len(rows) and losses == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
