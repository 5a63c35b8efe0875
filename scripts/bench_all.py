"""`make bench`: run every benchmark script in turn on the built database, then print every budget in ONE
table (budget, limit, measured, naive baseline and ratio) and write it to ``bench-results/budgets.json``.

A script takes part in the table by writing ``bench-results/<name>.json`` as ``{"rows": [{"budget",
"limit", "unit", "measured", "naive", "naive_note", "ratio", "ok"}, ...], "details": {...}}`` (see
``scripts/bench_map_budgets.py``); only files written during this run are read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
RESULTS = SCRIPTS.parent / "bench-results"
LOAD_TEST = "bench_instances.py"


def number(value) -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return text.replace(",", "\u202f").replace(".", ",")


def budget_rows(since: float) -> list[dict]:
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.name == "budgets.json" or path.stat().st_mtime < since:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # other scripts' results (e.g. bench_instances' list) are not budget rows
            rows += data.get("rows", [])
    return rows


def print_table(rows: list[dict]) -> None:
    headers = ("Budget", "Limite", "Mesuré", "Naïf", "Naïf / mesuré", "")
    lines = [(r["budget"], f"≤ {number(r['limit'])} {r['unit']}", f"{number(r['measured'])} {r['unit']}",
              f"{number(r['naive'])} {r['unit']}" if r.get("naive") is not None else "—",
              f"× {number(r['ratio'])}" if r.get("ratio") else "—", "OK" if r["ok"] else "DÉPASSE") for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("\n" + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    print("\nBaselines naïves :")
    for r in rows:
        if r.get("naive_note"):
            print(f"- {r['budget']} : {r['naive_note']}")


def main() -> int:
    failures = 0
    started = time.time()
    # The load test (N concurrent sessions) saturates both cores for minutes: it runs last, so the timed
    # budgets before it are not measured on a machine it has just heated.
    for script in sorted(SCRIPTS.glob("bench_*.py"), key=lambda s: (s.name == LOAD_TEST, s.name)):
        if script.name == "bench_all.py":
            continue
        print(f"\n=== {script.name} ===", flush=True)
        failures += subprocess.call([sys.executable, str(script)], cwd=SCRIPTS.parent) != 0
    rows = budget_rows(started)
    if rows:
        print_table(rows)
        RESULTS.mkdir(exist_ok=True)
        summary = {"rows": rows, "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count()}
        (RESULTS / "budgets.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nTableau écrit dans {RESULTS / 'budgets.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
