"""Benchmark of the live scoring used by the self-assessment page.

Scores a full answer set (every applicable question answered, check boxes ticked) ``--runs`` times with
:func:`observatory.scoring.score_assessment` (validation included, as on the page) and prints the median
and 95th percentile per call against the budget (20 ms per call). Also times validation alone and the
JSON round trip of a result (what the store freezes at submission).

    .venv/bin/python scripts/bench_scoring.py [--runs 1000]

Exit code 0 when the budget holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model  # noqa: E402
from observatory.scoring import ScoreResult, score_assessment, validate_answers  # noqa: E402

BUDGET_MS = 20.0


def full_answers(instrument, model) -> dict:
    """Every question applicable to a functioning CPTS answered, check boxes fully ticked."""
    answers = {"Q2": "q2_fonctionnement"}
    for q in instrument.questions:
        if q.id == "Q2" or (q.condition and "q2_fonctionnement" not in q.condition.options):
            continue
        if q.kind == "date":
            answers[q.id] = "03/2020"
        elif q.kind == "number":
            answers[q.id] = 12
        elif q.kind == "per_role_text":
            answers[q.id] = {r.id: "Médecin généraliste" for r in q.roles}
        elif q.kind == "single":
            answers[q.id] = q.option_ids[0]
        else:
            answers[q.id] = [o for o in q.option_ids if o not in q.exclusive_option_ids]
            if q.text_option_id:
                answers[f"{q.id}_other"] = "précision"
    return answers


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def describe(name: str, ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    print(f"{name:<38} médiane {median:7.3f} ms   p95 {p95:7.3f} ms   ({len(ms)} appels)")
    return median, p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()

    model = load_scoring_model(latest_scoring_version())
    instrument = load_instrument(model.instrument_version)
    answers = full_answers(instrument, model)
    today = date.today()
    assert validate_answers(instrument, answers, today=today) == []
    score_assessment(instrument, model, answers, today=today)  # warm-up

    print(f"Questionnaire v{instrument.version}, notation v{model.version}, {len(answers)} clés de réponse")
    _, p95 = describe("score_assessment (validation comprise)", timed(lambda: score_assessment(instrument, model, answers, today=today), args.runs))
    describe("validate_answers seule", timed(lambda: validate_answers(instrument, answers, today=today), args.runs))
    result = score_assessment(instrument, model, answers, today=today)
    describe("aller-retour JSON du résultat", timed(lambda: ScoreResult.from_dict(json.loads(json.dumps(result.to_dict()))), args.runs))
    ok = p95 < BUDGET_MS
    print(f"Budget {BUDGET_MS:.0f} ms par appel (p95) : {'respecté' if ok else 'DÉPASSÉ'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
