"""What the « Matrice » page computes around ``observatory.matrix`` (pure, no Streamlit).

The three colourings of the matrix (a CPTS's sub-dimension scores, the median of its peers, the
national distribution of submitted assessments), the questions and answers behind an element, and the
presentation steps (one Donabedian dimension at a time). Scores are keyed by the instrument's
sub-dimension ids; ``matrix.resolve_subdimensions`` maps the matrix's elements onto them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict

import pandas as pd

from observatory.instrument import Instrument
from observatory.matrix import ROW_IDS, DistributionSummary, Matrix, MatrixCell
from observatory.scoring import PeerMedians, ScoreResult, answer_text

PRESENTATION_STEPS: tuple[str, ...] = ROW_IDS  # Structure, Processus, Résultats


def subdimension_scores(result: ScoreResult) -> dict[str, float | None]:
    """A CPTS's score per sub-dimension id (None: not answered)."""
    return {sid: s.score for sid, s in result.subdimensions.items()}


def peer_subdimension_scores(medians: PeerMedians | None) -> dict[str, float | None]:
    """The peer median per sub-dimension id (None where fewer than the minimum of peers answered)."""
    if medians is None:
        return {}
    return {sid: v.median for sid, v in medians.subdimensions.items()}


def subdimension_distribution(
    results: Sequence[ScoreResult], scoring_version: str, min_count: int
) -> tuple[dict[str, DistributionSummary], int]:
    """Median, quartiles and n per sub-dimension over ``results`` scored with ``scoring_version``.

    Results of another scoring version are not mixed in (their number is returned second). A
    sub-dimension with fewer than ``min_count`` scored values gets no summary (shown « non renseigné »),
    the same rule as the peer medians.
    """
    same = [r for r in results if r.scoring_version == scoring_version]
    ids = list(dict.fromkeys(sid for r in same for sid in r.subdimensions))
    out: dict[str, DistributionSummary] = {}
    for sid in ids:
        values = sorted(r.subdimensions[sid].score for r in same
                        if sid in r.subdimensions and r.subdimensions[sid].score is not None)
        if len(values) < max(min_count, 1):
            continue
        if len(values) >= 2:
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        else:
            q1 = q3 = values[0]
        out[sid] = DistributionSummary(median=statistics.median(values), q1=q1, q3=q3, n=len(values))
    return out, len(results) - len(same)


def cells_frame(cells: Sequence[MatrixCell]) -> pd.DataFrame:
    """The cells as a tidy frame (one row per element, matrix order)."""
    return pd.DataFrame([asdict(c) for c in cells])


def element_questions(
    matrix: Matrix,
    element_id: str,
    instrument: Instrument,
    subdimension_ids: Mapping[str, tuple[str, ...]],
    answers: Mapping | None = None,
    points: Mapping[str, float | None] | None = None,
) -> pd.DataFrame:
    """The questions measuring an element, with the chosen CPTS's answer as readable French text.

    Columns: question_id, number, subdimension_label, text, answer_text (« sans réponse » when the
    CPTS did not answer; empty when no CPTS is chosen), points (0-100, None: descriptive or
    unanswered). A context element has no question: empty frame.
    """
    element = matrix.element(element_id)
    columns = ["question_id", "number", "subdimension_label", "text", "answer_text", "points"]
    rows = []
    for sid in subdimension_ids.get(element.element_id, ()):
        sub = instrument.subdimension(sid)
        for qid in sub.question_ids:
            question = instrument.question(qid)
            if answers is None:
                text = ""
            else:
                text = answer_text(question, answers) or "sans réponse"
            rows.append({
                "question_id": qid,
                "number": question.number,
                "subdimension_label": sub.label,
                "text": question.text,
                "answer_text": text,
                "points": (points or {}).get(qid),
            })
    return pd.DataFrame(rows, columns=columns)


def step_row(index: int) -> str:
    """The dimension shown at presentation step ``index`` (wraps around both ways)."""
    return PRESENTATION_STEPS[index % len(PRESENTATION_STEPS)]
