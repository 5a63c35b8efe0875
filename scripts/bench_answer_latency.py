"""Answering a question on the « Auto-évaluation » page, timed in Debian's Chromium on a warmed-up server
(its background preparation of the map views over): from the click as the page receives it to the end of the
run it triggers (the page's ``data-test-script-state`` back to « notRunning »), which reruns only the
questionnaire and live-scores fragment. Both instants are read on the page's own clock, recorded by a
listener and a MutationObserver (no polling interval; a run that starts and ends between two polls is not
missed), and each click picks another answer than the one shown (clicking the chosen one starts no run).
Beside it, the naive baseline: a change outside the fragment (the respondent's name field), which reruns the
whole page, as every answer did before. Writes ``bench-results/answer_latency.json`` for ``make bench``.

    .venv/bin/python scripts/bench_answer_latency.py [--answers 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config  # noqa: E402
from tests.browser.harness import browser_page, streamlit_server, wait_for_app, wait_for_background_warmup  # noqa: E402

BUDGET_S = 0.3
STATE_JS = "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
Q4_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stRadio"]')]
    .filter(r => r.innerText.trim().startsWith('Q4.'))
    .map(r => [...r.querySelectorAll('label')].map(l => l.innerText.trim()))[0] || []"""


# Every change of the app's run state and every click, time-stamped in the page (a MutationObserver and a
# capturing listener): the time counts from the user's click as the page receives it, not from Playwright's
# call (which first scrolls and waits for the element to be stable), with no polling interval.
OBSERVE_JS = """() => {
    if (window.__runStates) return;
    window.__runStates = [];
    window.__clicks = [];
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => window.__runStates.push([app.getAttribute('data-test-script-state'), performance.now()]))
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    document.addEventListener('click', () => window.__clicks.push(performance.now()), true);
}"""
DONE_JS = """(t0) => {
    const after = window.__runStates.filter(([, t]) => t >= t0);
    const started = after.findIndex(([s]) => s === 'running');
    return started >= 0 && after.slice(started).some(([s]) => s === 'notRunning');
}"""
ELAPSED_JS = """(t0) => {
    const clicked = window.__clicks.filter((t) => t >= t0);
    const start = clicked.length ? clicked[0] : t0;  // a field's Enter: no click
    const after = window.__runStates.filter(([, t]) => t >= t0);
    const started = after.findIndex(([s]) => s === 'running');
    return after.slice(started).find(([s]) => s === 'notRunning')[1] - start;
}"""
CHECKED_JS = """() => [...document.querySelectorAll('[data-testid="stRadio"]')]
    .filter(r => r.innerText.trim().startsWith('Q4.'))
    .map(r => [...r.querySelectorAll('label')].findIndex(l => l.querySelector('input')?.checked))[0]"""


def timed(page, action) -> float:
    """Seconds from the click (as the page receives it) to the end of the run it starts."""
    page.evaluate(OBSERVE_JS)
    t0 = page.evaluate("() => performance.now()")
    action()
    page.wait_for_function(DONE_JS, arg=t0, timeout=60000, polling=20)
    return page.evaluate(ELAPSED_JS, t0) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=12)
    parser.add_argument("--db", type=Path, default=config.database_path())
    args = parser.parse_args()
    user_db = Path("/tmp") / f"observatoire-latence-{uuid.uuid4().hex[:8]}.duckdb"
    env = {config.ENV_DB: str(args.db), config.ENV_USER_DB: str(user_db)}
    answers, full = [], []
    with streamlit_server(env, timeout_s=240) as base, browser_page(width=1440, height=900) as (page, _log):
        wait_for_background_warmup(base)  # the server's background preparation of every map view is over
        page.goto(f"{base}/auto-evaluation?cpts=demo-0001")
        wait_for_app(page, timeout_ms=120000)
        page.get_by_text("Scores en direct").first.wait_for(timeout=60000)
        question = page.locator('[data-testid="stRadio"]').filter(has_text="Q4.").first
        question.wait_for(timeout=60000)  # widgets first render as skeletons
        page.wait_for_function(f"() => ({Q4_LABELS_JS})().length > 2", timeout=60000)
        labels = page.evaluate(Q4_LABELS_JS)
        options = labels[1:-1]  # the first label is the question's, the last one « Sans réponse »
        for _ in range(args.answers):
            # Another answer than the one shown: clicking the chosen one starts no run.
            checked = page.evaluate(CHECKED_JS)  # index among the labels, question first
            label = options[checked % len(options)] if checked > 0 else options[0]
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
