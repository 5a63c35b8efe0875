"""What the « Auto-évaluation » page shows, computed without Streamlit: where the answers start from,
the thesis case studies' source notes, the score tables, the radar series and the comparison with a
previous assessment. The page only reads widgets and renders these values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from observatory.assessments import Assessment, Draft
from observatory.config import DATA_DIR
from observatory.instrument import INSTRUMENT_DIR, Instrument, load_instrument
from observatory.peers import PeerComparison
from observatory.radar import RadarSeries
from observatory.scoring import Comparison, ScoreResult

CASE_STUDIES_PATH = DATA_DIR / "case_studies.json"
CASE_STUDY_ANSWERS_PATH = INSTRUMENT_DIR / "case_study_answers.json"
LEVELS = ("subdimensions", "dimensions")
LEVEL_LABELS = {"subdimensions": "Sous-dimensions (19)", "dimensions": "Dimensions (3)"}
CPTS_COLOUR, PEER_COLOUR, PREVIOUS_COLOUR = "#2c7fb8", "#d95f0e", "#636363"


def score_text(value: float | None, decimals: int = 1) -> str:
    """A score in French (« 54,3 »), « — » when there is none (never 0 for a missing score)."""
    if value is None:
        return "—"
    return f"{value:.{decimals}f}".replace(".", ",")


def signed_text(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + score_text(value, decimals)


# --------------------------------------------------------------------------------------------------
# Thesis case studies A-E


def case_study_register() -> dict[str, Any]:
    """The case-study register entry of ``data/case_studies.json`` (id, name, as_of_date...)."""
    return json.loads(CASE_STUDIES_PATH.read_text(encoding="utf-8"))["register"]


def case_ids_by_cpts_id() -> dict[str, str]:
    """``{"these-A": "A", ...}``: the register's CPTS ids and the thesis's column letters."""
    doc = json.loads(CASE_STUDIES_PATH.read_text(encoding="utf-8"))
    return {c["cpts_id"]: c["column"] for c in doc["cpts"]}


@dataclass(frozen=True)
class SourceNote:
    """Where a pre-filled case-study answer comes from (thesis table cell), or why it is left blank."""

    is_answered: bool
    source: str
    note: str | None
    is_approximation: bool

    @property
    def text(self) -> str:
        prefix = "Source" if self.is_answered else "Non pré-remplie"
        parts = [f"{prefix} : {self.source}"]
        if self.note:
            parts.append(self.note)
        return " — ".join(parts)


def case_study_notes(path: Path | None = None) -> dict[str, dict[str, SourceNote]]:
    """``{case_id: {question_id: SourceNote}}`` from ``case_study_answers.json``."""
    doc = json.loads(Path(path or CASE_STUDY_ANSWERS_PATH).read_text(encoding="utf-8"))
    return {
        case["case_id"]: {
            qid: SourceNote(item.get("status") == "answered", item.get("source", ""), item.get("note"),
                            bool(item.get("approximation")))
            for qid, item in case["answers"].items()
        }
        for case in doc["cases"]
    }


# --------------------------------------------------------------------------------------------------
# Where the answers start from


@dataclass(frozen=True)
class StartingPoint:
    answers: dict[str, Any]
    draft_revision: int | None  # the revision to pass back when saving (None: no draft yet)
    kind: str  # draft, latest, case_study, empty
    origin: str  # French sentence shown above the questionnaire


def _when(ts: datetime | None) -> str:
    return ts.strftime("%d/%m/%Y à %H:%M") if ts else "à une date inconnue"


def starting_point(draft: Draft | None, latest: Assessment | None, case_answers: Mapping[str, Any] | None,
                   instrument_version: str) -> StartingPoint:
    """A saved draft wins; else the latest submission pre-fills the next cycle (when the questionnaire
    accepts its answers: same version, or v1 answers in v2); else a thesis case study's published answers; else an empty questionnaire."""
    if draft is not None:
        by = f" par « {draft.author} »" if draft.author else ""
        return StartingPoint(dict(draft.answers), draft.revision, "draft",
                             f"Brouillon enregistré le {_when(draft.updated_at)}{by} (révision {draft.revision}), repris.")
    if latest is not None and load_instrument(instrument_version).accepts_answers_of(latest.instrument_version):
        return StartingPoint(dict(latest.answers), None, "latest",
                             f"Pré-rempli avec l'évaluation soumise le {_when(latest.submitted_at)} : modifiez ce qui a "
                             "changé puis enregistrez un brouillon ou soumettez une nouvelle évaluation.")
    if case_answers:
        return StartingPoint(dict(case_answers), None, "case_study",
                             "Pré-rempli avec les réponses que la thèse permet (tableaux 3 à 7, monographie de la CPTS A "
                             "en annexe 1 ; source indiquée sous chaque réponse) ; les autres questions sont sans réponse publiée.")
    return StartingPoint({}, None, "empty", "Nouveau questionnaire : aucune réponse enregistrée pour cette CPTS.")


# --------------------------------------------------------------------------------------------------
# Scores


def axes(instrument: Instrument, level: str) -> list[tuple[str, str]]:
    """(id, label) of the radar axes: the 19 sub-dimensions or the 3 dimensions, in questionnaire order."""
    if level == "subdimensions":
        return [(s.id, s.label) for s in instrument.subdimensions]
    if level == "dimensions":
        return [(d.id, d.label) for d in instrument.dimensions]
    raise ValueError(f"niveau inconnu : {level!r} (attendu : {', '.join(LEVELS)})")


def result_values(result: ScoreResult, instrument: Instrument, level: str) -> list[float | None]:
    scores = result.subdimensions if level == "subdimensions" else result.dimensions
    return [scores[i].score if i in scores else None for i, _ in axes(instrument, level)]


def median_values(peers: PeerComparison, instrument: Instrument, level: str) -> list[float | None]:
    values = peers.medians.subdimensions if level == "subdimensions" else peers.medians.dimensions
    return [values[i].median if i in values else None for i, _ in axes(instrument, level)]


def radar_series(result: ScoreResult, instrument: Instrument, level: str, *, cpts_label: str,
                 peers: PeerComparison | None = None,
                 previous: tuple[str, ScoreResult] | None = None) -> tuple[list[str], list[RadarSeries]]:
    """Axis labels and series: the CPTS (filled), the peers' median (dashed, only when the rule allows
    it) and optionally a previous assessment (line)."""
    labels = [label for _, label in axes(instrument, level)]
    series = [RadarSeries(cpts_label, result_values(result, instrument, level), "filled", CPTS_COLOUR)]
    if peers is not None and peers.is_shown:
        series.append(RadarSeries(f"Médiane des pairs (n = {peers.n_submitted})",
                                  median_values(peers, instrument, level), "dashed", PEER_COLOUR))
    if previous is not None:
        name, old = previous
        series.append(RadarSeries(name, result_values(old, instrument, level), "line", PREVIOUS_COLOUR))
    return labels, series


def subdimension_table(result: ScoreResult, instrument: Instrument, peers: PeerComparison | None = None) -> pd.DataFrame:
    """One row per sub-dimension, French columns, values as French text (display table)."""
    rows = []
    for sub in instrument.subdimensions:
        s = result.subdimensions[sub.id]
        row = {
            "Dimension": instrument.dimension(sub.dimension).label,
            "Sous-dimension": sub.label,
            "Score (0-100)": score_text(s.score),
            "Questions notées répondues": f"{s.n_scored_answered}/{s.n_scored_applicable}" if s.n_scored_applicable else "non notée",
            "Questions répondues": f"{s.n_answered}/{s.n_applicable}",
        }
        if peers is not None and peers.is_shown:
            row["Médiane des pairs"] = score_text(peers.medians.subdimensions.get(sub.id).median
                                                  if sub.id in peers.medians.subdimensions else None)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Comparison with a previous assessment


def baseline_index(history: Sequence[Assessment], answers: Mapping[str, Any]) -> int | None:
    """Index in ``history`` (oldest first) of the assessment to compare the current answers with: the
    most recent one whose answers differ (re-opening an unchanged submission then compares it with
    the one before); the most recent one if all are identical; None without history."""
    if not history:
        return None
    for i in range(len(history) - 1, -1, -1):
        if dict(history[i].answers) != dict(answers):
            return i
    return len(history) - 1


def comparison_table(comparison: Comparison, instrument: Instrument) -> pd.DataFrame:
    """Global, dimensions then sub-dimensions: before, now, difference and trend label (French text)."""
    rows = [("Global", "Score global", comparison.overall)]
    rows += [("Dimension", d.label, comparison.dimensions[d.id]) for d in instrument.dimensions if d.id in comparison.dimensions]
    rows += [("Sous-dimension", s.label, comparison.subdimensions[s.id]) for s in instrument.subdimensions
             if s.id in comparison.subdimensions]
    return pd.DataFrame([
        {"Niveau": level, "Libellé": label, "Avant": score_text(d.old), "Maintenant": score_text(d.new),
         "Écart": signed_text(d.delta), "Évolution": d.trend_label}
        for level, label, d in rows
    ])


def movers(comparison: Comparison, instrument: Instrument) -> tuple[list[str], list[str]]:
    """Labels of the dimensions and sub-dimensions that went up, and of those that went down."""
    items = [(d.label, comparison.dimensions.get(d.id)) for d in instrument.dimensions]
    items += [(s.label, comparison.subdimensions.get(s.id)) for s in instrument.subdimensions]
    up = [f"{label} ({signed_text(d.delta)})" for label, d in items if d is not None and d.trend_id == "up"]
    down = [f"{label} ({signed_text(d.delta)})" for label, d in items if d is not None and d.trend_id == "down"]
    return up, down


def live_assessment(cpts_id: str, cpts_name: str | None, register_id: str | None, answers: Mapping[str, Any],
                    result: ScoreResult, *, is_demo: bool, author: str | None, now: datetime) -> Assessment:
    """The answers being edited as an (unsubmitted) :class:`Assessment`, for the CSV export and report."""
    return Assessment(
        assessment_id="brouillon", cpts_id=cpts_id, cpts_name=cpts_name, register_id=register_id, status="draft",
        instrument_version=result.instrument_version, scoring_version=result.scoring_version, answers=dict(answers),
        scores=result.to_dict(), overall_score=result.overall, maturity_level_id=result.maturity_level_id,
        created_at=now, updated_at=now, submitted_at=None, revision=0, author=author, is_demo=is_demo,
    )
