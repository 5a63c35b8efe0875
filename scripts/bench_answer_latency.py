"""Answering a question on the « Auto-évaluation » page, timed in Debian's Chromium on a warmed-up server:
from the click on an answer to the end of the run it triggers (the page's ``data-test-script-state`` back
to « notRunning »), which reruns only the questionnaire and live-scores fragment. Beside it, the naive
baseline: a change outside the fragment (the respondent's name field), which reruns the whole page, as
every answer did before. Writes ``bench-results/answer_latency.json`` for ``make bench``'s table.

    .venv/bin/python scripts/bench_answer_latency.py [--answers 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config  # noqa: E402
from tests.browser.harness import browser_page, streamlit_server, wait_for_app  # noqa: E402

BUDGET_S = 0.3
STATE_JS = "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
Q4_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stRadio"]')]
    .filter(r => r.innerText.trim().startsWith('Q4.'))
    .map(r => [...r.querySelectorAll('label')].map(l => l.innerText.trim()))[0] || []"""


def timed(page, action) -> float:
    """Seconds from ``action()`` to the end of the run it starts (polled every few milliseconds in the page)."""
    started = time.perf_counter()
    action()
    try:
        page.wait_for_function(f"() => ({STATE_JS})() === 'running'", timeout=2000, polling=5)
    except Exception:  # noqa: BLE001 (a very fast run may finish before the first poll)
        pass
    page.wait_for_function(f"() => ({STATE_JS})() === 'notRunning'", timeout=60000, polling=5)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=12)
    parser.add_argument("--db", type=Path, default=config.database_path())
    args = parser.parse_args()
    user_db = Path("/tmp") / f"observatoire-latence-{uuid.uuid4().hex[:8]}.duckdb"
    env = {config.ENV_DB: str(args.db), config.ENV_USER_DB: str(user_db)}
    answers, full = [], []
    with streamlit_server(env, timeout_s=240) as base, browser_page(width=1440, height=900) as (page, _log):
        page.goto(f"{base}/auto-evaluation?cpts=demo-0001")
        wait_for_app(page, timeout_ms=120000)
        page.get_by_text("Scores en direct").first.wait_for(timeout=60000)
        question = page.locator('[data-testid="stRadio"]').filter(has_text="Q4.").first
        question.wait_for(timeout=60000)  # widgets first render as skeletons
        page.wait_for_function(f"() => ({Q4_LABELS_JS})().length > 2", timeout=60000)
        labels = page.evaluate(Q4_LABELS_JS)
        for n in range(args.answers):
            label = labels[n % (len(labels) - 1)]  # the last one is « Sans réponse »
            answers.append(timed(page, lambda label=label: question.get_by_text(label, exact=True).first.click()))
        name = page.get_by_label("Votre nom ou fonction (facultatif, affiché dans l'historique)")
        for n in range(max(3, args.answers // 3)):
            full.append(timed(page, lambda n=n: (name.fill(f"Mesure {n}"), name.press("Enter"))))
    user_db.unlink(missing_ok=True)
    median, naive = statistics.median(answers), statistics.median(full)
    print(f"Réponse à une question (fragment) : médiane {median:.3f} s, max {max(answers):.3f} s sur {len(answers)}")
    print(f"Page entière relancée (référence naïve) : médiane {naive:.3f} s sur {len(full)}")
    rows = [{"budget": "Répondre à une question (navigateur, serveur chaud)", "limit": BUDGET_S, "unit": "s",
             "measured": round(median, 3), "naive": round(naive, 3),
             "naive_note": "toute la page relancée à chaque réponse (changement d'un champ hors du fragment)",
             "ratio": round(naive / median, 1) if median else None, "ok": median <= BUDGET_S}]
    out = config.REPO_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "answer_latency.json").write_text(json.dumps({"rows": rows, "details": {"answers_s": answers, "full_s": full}},
                                                        ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
