"""Benchmark of the collective self-assessment and model reading, on generated data (no database needed).

Prints, as median and 95th percentile over ``--runs`` calls: scoring one full answer set with model v1
and v2; the sensitivity table (« ce qui ferait progresser votre CPTS », every single change rescored);
analysing a campaign of ``--respondents`` members (distribution, split rule, consensus proposal); writing
its XLSX workbook; the effective-weight table of the Méthode page. Budgets: scoring 20 ms, sensitivity
300 ms (cached per answer set on the page), campaign analysis 500 ms, workbook 1 s.

    .venv/bin/python scripts/bench_campaigns.py [--runs 30] [--respondents 12]

Exit code 0 when every budget holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import campaigns as cp  # noqa: E402
from observatory import model_insight as mi  # noqa: E402
from observatory.campaign_export import campaign_workbook  # noqa: E402
from observatory.instrument import load_instrument, load_scoring_model  # noqa: E402
from observatory.scoring import answers_for, score_assessment  # noqa: E402
from scripts.bench_scoring import full_answers  # noqa: E402

BUDGETS_MS = {"scoring v1": 20, "scoring v2": 20, "sensibilité": 300, "analyse de campagne": 500, "classeur XLSX": 1000,
              "poids effectifs": 300}


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--respondents", type=int, default=12)
    args = parser.parse_args()
    v1, v2 = load_scoring_model("1"), load_scoring_model("2")
    i1, i2 = load_instrument("1"), load_instrument("2")
    answers = full_answers(i2, v2)
    answers.update({"Q12_territory": 150, "Q3_done": answers.get("Q3", [])[:2]})
    rules = cp.load_campaign_rules()
    professions = list(rules.professions)
    people = []
    for k in range(args.respondents):
        identity = cp.Identity(f"i{k}", "c", f"Membre {k}", professions[k % len(professions)], "adherent", None, datetime(2026, 1, 1))
        variant = dict(answers, Q22="q22_oui" if k % 2 else "q22_non", Q30="q30_faible" if k % 3 else "q30_tres_importante")
        people.append((identity, variant))
    campaign = cp.Campaign("camp", "c", "CPTS", None, "Auto-évaluation", "open", i2.version, "i0", datetime(2026, 1, 1), None,
                           None, 0, None, datetime(2026, 1, 1))
    responses = [cp.Response(f"camp|{i.identity_id}", "camp", i.identity_id, a, "submitted", 1, datetime(2026, 1, 2),
                             datetime(2026, 1, 2)) for i, a in people]
    view = cp.campaign_view(i2, v2, campaign, responses, [i for i, _ in people], rules)
    cases = {
        "scoring v1": lambda: score_assessment(i1, v1, answers_for(i1, answers), strict=False),
        "scoring v2": lambda: score_assessment(i2, v2, answers, strict=False),
        "sensibilité": lambda: mi.improvement_options(i2, v2, answers),
        "analyse de campagne": lambda: cp.campaign_view(i2, v2, campaign, responses, [i for i, _ in people], rules),
        "classeur XLSX": lambda: campaign_workbook(view, [], i2, v2, rules, generated_at=datetime(2026, 1, 3)),
        "poids effectifs": lambda: mi.effective_weight_table(i2, [v1, v2]),
    }
    failed = 0
    for name, fn in cases.items():
        median, p95 = timed(fn, args.runs)
        ok = p95 <= BUDGETS_MS[name]
        failed += not ok
        print(f"{name:22s} médiane {median:8.1f} ms   p95 {p95:8.1f} ms   budget {BUDGETS_MS[name]:5d} ms   "
              f"{'OK' if ok else 'DÉPASSÉ'}")
    print(f"({args.respondents} répondants, {len(view.analysis.split_question_ids)} questions aux avis partagés)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
