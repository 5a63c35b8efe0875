"""`make bench`: run every benchmark script in turn on the built database and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def main() -> int:
    failures = 0
    for script in sorted(SCRIPTS.glob("bench_*.py")):
        if script.name == "bench_all.py":
            continue
        print(f"\n=== {script.name} ===", flush=True)
        failures += subprocess.call([sys.executable, str(script)], cwd=SCRIPTS.parent) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
