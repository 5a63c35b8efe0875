"""Reading a scoring model rather than an assessment: what each question weighs, which single change
would move a CPTS's score most, how a history is rescored with another model version, and how the
thesis's case studies rank on the answers they have in common.

Everything is computed from the versioned files through :func:`observatory.scoring.aggregate`, never
restated: the « Méthode » page's table of effective weights is what the model does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from observatory.instrument import Instrument, Question, QuestionRule, ScoringModel, load_instrument
from observatory.scoring import (
    ScoreResult,
    aggregate,
    answers_for,
    applicable_questions,
    drop_non_applicable,
    is_answered,
    score_assessment,
)

# The two answer profiles that change which questions apply (Q26-Q27 only for a CPTS in operation).
PROFILES = {"fonctionnement": "CPTS en fonctionnement", "avant_fonctionnement": "CPTS pas encore en fonctionnement"}
_PROFILE_Q2 = {"fonctionnement": "q2_fonctionnement", "avant_fonctionnement": "q2_ingenierie"}
ROLE_LABELS = {"scored": "notée", "descriptive": "descriptive", "context": "contexte"}


# --------------------------------------------------------------------------------------------------
# Effective weights


def _profile_applicable(instrument: Instrument, profile: str) -> set[str]:
    return applicable_questions(instrument, {"Q2": _PROFILE_Q2[profile]})


def effective_weights(instrument: Instrument, model: ScoringModel, profile: str = "fonctionnement") -> dict[str, float]:
    """``{question: share}`` (0 to 1) of the overall score each scored question can move when every
    applicable scored question is answered: the overall's change when the question goes from 0 to 100
    points, the others held at 50, divided by 100. Computed by moving each question alone through the
    model's own aggregation, so it is right for both aggregation methods."""
    applicable = _profile_applicable(instrument, profile)
    scored = [q for q in instrument.question_ids if q in applicable and model.rule(q).is_scored]
    base = dict.fromkeys(scored, 50.0)
    if model.aggregation == "question_weights":
        model = dataclasses.replace(model, min_scored_weight_pct=0.0)
    shares = {}
    for qid in scored:
        high = aggregate(instrument, model, {**base, qid: 100.0}, applicable, set(scored)).overall
        low = aggregate(instrument, model, {**base, qid: 0.0}, applicable, set(scored)).overall
        shares[qid] = ((high or 0.0) - (low or 0.0)) / 100.0
    return shares


def max_question_share(instrument: Instrument, model: ScoringModel, profile: str = "fonctionnement") -> dict[str, float]:
    """``{question: share}``: the most of a shown overall score each question can move, at the lowest
    completeness for which the model still gives an overall score.

    With ``question_weights`` an overall exists only when the answered scored weight reaches
    ``min_scored_weight_pct`` of the applicable weight, so a question weighs at most
    weight / (threshold × applicable weight). With ``mean_of_means`` (v1) a question left alone among the
    answered questions of its dimension carries the whole dimension: a third of the overall score."""
    applicable = _profile_applicable(instrument, profile)
    scored = [q for q in instrument.question_ids if q in applicable and model.rule(q).is_scored]
    if model.aggregation == "question_weights":
        mass = sum(model.rule(q).weight for q in scored)
        floor = (model.min_scored_weight_pct or 100.0) / 100.0 * mass
        return {q: model.rule(q).weight / floor for q in scored}
    return dict.fromkeys(scored, 1.0 / len(instrument.dimensions))


def effective_weight_table(instrument: Instrument, models: Sequence[ScoringModel],
                           profile: str = "fonctionnement") -> pd.DataFrame:
    """One row per question: sub-dimension, role and effective weight (%) under each model, sorted by the
    last model's weight (descending). Columns are French (display and XLSX)."""
    columns = {}
    for model in models:
        inst = load_instrument(model.instrument_version) if model.instrument_version != instrument.version else instrument
        columns[model.version] = (effective_weights(inst, model, profile), model)
    rows = []
    for q in instrument.questions:
        row = {"Question": q.id, "Sous-dimension": instrument.subdimension(q.subdimension).label}
        for version, (shares, model) in columns.items():
            row[f"Rôle v{version}"] = ROLE_LABELS[model.rule(q.id).role]
            row[f"Poids effectif v{version} (%)"] = round(100.0 * shares.get(q.id, 0.0), 1)
        rows.append(row)
    frame = pd.DataFrame(rows)
    last = f"Poids effectif v{models[-1].version} (%)"
    frame["_n"] = frame["Question"].str[1:].astype(int)
    return frame.sort_values([last, "_n"], ascending=[False, True]).drop(columns="_n").reset_index(drop=True)


def dimension_shares(instrument: Instrument, model: ScoringModel, profile: str = "fonctionnement") -> dict[str, float]:
    """``{dimension: share}`` of the overall score carried by each dimension's questions."""
    shares = effective_weights(instrument, model, profile)
    out = {d.id: 0.0 for d in instrument.dimensions}
    for qid, share in shares.items():
        out[instrument.question(qid).dimension] += share
    return out


# --------------------------------------------------------------------------------------------------
# « Ce qui ferait progresser votre CPTS »: single changes that move the score most


@dataclass(frozen=True)
class Improvement:
    question_id: str
    subdimension_label: str
    change: str  # French: what to change
    gain: float  # points of the (possibly provisional) overall score
    new_score: float
    was_unanswered: bool


def _option_text(question: Question, option_id: str) -> str:
    opt = question.option(option_id)
    return f"« {opt.label.strip()} »" if opt else f"« {option_id} »"


def _candidates(question: Question, rule: QuestionRule, answers: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(answer fragment, French description) of each single change of one scored question."""
    qid = question.id
    value = answers.get(qid)
    answered = is_answered(question, value)
    out: list[tuple[dict[str, Any], str]] = []
    if question.kind == "single" and rule.rule in ("ordinal", "yes_no", "relative_members"):
        if rule.rule == "relative_members" and not answers.get(rule.territory_key):
            return []  # no denominator: answering or changing Q12 cannot move the score
        for oid in question.option_ids:
            if oid != value and rule.rule != "relative_members" and rule.points.get(oid) is not None:
                verb = "Répondre" if not answered else "Passer à"
                out.append(({qid: oid}, f"{verb} {_option_text(question, oid)}"))
        if rule.rule == "relative_members":
            for oid in question.option_ids:
                if oid != value:
                    out.append(({qid: oid, rule.members_key: None}, f"Passer à {_option_text(question, oid)} adhérents"))
        return out
    if question.kind == "multiple" and rule.rule == "share":
        ticked = [v for v in value] if isinstance(value, list) else []
        exclusive = [v for v in ticked if v in question.exclusive_option_ids]
        done = list(answers.get(rule.done_key) or ()) if rule.done_key else []
        for oid in rule.relevant:
            if oid in ticked or question.option(oid).allows_text:
                continue
            base = [] if exclusive else ticked
            fragment: dict[str, Any] = {qid: [*base, oid]}
            if rule.done_key:
                fragment[rule.done_key] = [*[d for d in done if d in base], oid]
            out.append((fragment, f"Cocher {_option_text(question, oid)}" + (" (réalisé)" if rule.done_key else "")))
        if rule.done_key:
            for oid in ticked:
                if oid in rule.relevant and oid not in done:
                    out.append(({rule.done_key: [*done, oid]}, f"Réaliser {_option_text(question, oid)} (aujourd'hui prévu)"))
        return out
    if question.kind == "multiple" and rule.rule == "best_of":
        ticked = list(value) if isinstance(value, list) else []
        for oid in question.option_ids:
            if oid not in ticked:
                out.append(({qid: [*ticked, oid]}, f"Ajouter {_option_text(question, oid)}"))
    return out  # distinct_professions: free text, no single change to simulate


def improvement_options(instrument: Instrument, model: ScoringModel, answers: Mapping[str, Any],
                        limit: int = 8) -> tuple[list[Improvement], bool]:
    """The single answer changes that raise the overall score most (best change per question, largest
    gain first), and whether the score used is provisional.

    When the answers are too incomplete for an overall score, gains are measured on a provisional score
    (the same weighted mean without the completeness threshold), and the flag says so."""
    current = score_assessment(instrument, model, answers, strict=False)
    provisional = current.overall is None
    used = model
    if provisional:
        used = dataclasses.replace(model, min_scored_weight_pct=0.0, min_scored_completeness_pct=0.0,
                                   require_all_dimensions=False)
        current = score_assessment(instrument, used, answers, strict=False)
    if current.overall is None:
        return [], provisional
    applicable = set(current.applicable_question_ids)
    best: dict[str, Improvement] = {}
    for qid in model.scored_question_ids:
        if qid not in applicable or qid in current.invalid_question_ids:
            continue
        question, rule = instrument.question(qid), model.rule(qid)
        for fragment, text in _candidates(question, rule, answers):
            changed = drop_non_applicable(instrument, {**answers, **fragment})
            changed = {k: v for k, v in changed.items() if v is not None}
            result = score_assessment(instrument, used, changed, strict=False)
            if result.overall is None:
                continue
            gain = result.overall - current.overall
            if gain > 0.05 and (qid not in best or gain > best[qid].gain):
                best[qid] = Improvement(qid, instrument.subdimension(question.subdimension).label, text, gain,
                                        result.overall, not is_answered(question, answers.get(qid)))
    ranked = sorted(best.values(), key=lambda i: (-i.gain, int(i.question_id[1:])))
    return ranked[:limit], provisional


# --------------------------------------------------------------------------------------------------
# Rescoring an assessment with another model version (shown side by side, never mixed)


@dataclass(frozen=True)
class Rescored:
    result: ScoreResult
    notes: tuple[str, ...]  # French: what the other version had to assume


def can_rescore(answers_instrument_version: str, model: ScoringModel) -> bool:
    """Whether answers given to questionnaire ``answers_instrument_version`` can be scored by ``model``:
    its questionnaire accepts them (v1 answers under v2), or they come from a questionnaire that extends
    it (v2 answers under v1, once v2's precisions are set aside)."""
    target = load_instrument(model.instrument_version)
    if target.accepts_answers_of(answers_instrument_version):
        return True
    try:
        source = load_instrument(answers_instrument_version)
    except Exception:  # noqa: BLE001 - an unknown version simply cannot be rescored
        return False
    return source.accepts_answers_of(target.version)


def rescore(answers: Mapping[str, Any], answers_instrument_version: str, model: ScoringModel) -> Rescored | None:
    """``answers`` scored leniently with ``model`` (None when the questionnaires are incompatible), with
    the assumptions that made it possible (French notes)."""
    if not can_rescore(answers_instrument_version, model):
        return None
    instrument = load_instrument(model.instrument_version)
    usable = answers_for(instrument, answers)
    notes = []
    dropped = sorted(set(answers) - set(usable))
    if dropped:
        notes.append(f"Précisions du questionnaire v{answers_instrument_version} ignorées par le modèle v{model.version} : "
                     + ", ".join(dropped) + ".")
    for qid in model.scored_question_ids:
        rule, question = model.rule(qid), instrument.question(qid)
        if not is_answered(question, usable.get(qid)):
            continue
        if rule.done_key and rule.done_key not in usable:
            notes.append(f"{qid} : précision « réalisé » absente, cases cochées comptées comme prévues.")
        if rule.rule == "relative_members" and not usable.get(rule.territory_key):
            notes.append(f"{qid} : nombre de professionnels du territoire absent, question non notée.")
    return Rescored(score_assessment(instrument, model, usable, strict=False), tuple(notes))


def rescored_history_table(history: Sequence[Any], model: ScoringModel) -> pd.DataFrame:
    """Each submitted assessment (oldest first) with its frozen scores, labelled with their model version,
    beside its scores recomputed with ``model``: shown side by side, never mixed into one series."""
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}".replace(".", ",")

    rows = []
    for a in history:
        frozen = a.score_result
        again = rescore(a.answers, a.instrument_version, model)
        rows.append({
            "Soumise le": f"{a.submitted_at:%d/%m/%Y}", "Notation d'origine": f"v{a.scoring_version}",
            "Score global (origine)": fmt(frozen.overall), "Niveau (origine)": frozen.maturity_label,
            f"Score global (recalculé v{model.version})": fmt(again.result.overall) if again else "non recalculable",
            f"Niveau (recalculé v{model.version})": again.result.maturity_label if again else "—",
            "Hypothèses du recalcul": " ".join(again.notes) if again and a.scoring_version != model.version else "",
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Case studies on comparable answers


@dataclass(frozen=True)
class CaseComparison:
    common_question_ids: tuple[str, ...]  # scored questions answered (with points) by every case
    overall: dict[str, float | None]  # case -> weighted score on the common questions only
    structure: dict[str, float | None]  # case -> Structure on the common questions only
    full: dict[str, ScoreResult]  # case -> lenient result on all its published answers


def compare_cases(answers_by_case: Mapping[str, Mapping[str, Any]], instrument: Instrument,
                  model: ScoringModel) -> CaseComparison:
    """Scores of the case studies on the scored questions they all answer (so that one case is not
    ranked above another because the thesis published more of its weak answers), plus their full
    lenient results. Thresholds are lifted: these are comparisons, not maturity levels."""
    lifted = dataclasses.replace(model, min_scored_weight_pct=0.0, min_scored_completeness_pct=0.0,
                                 require_all_dimensions=False)
    full = {case: score_assessment(instrument, lifted, answers_for(instrument, a), strict=False)
            for case, a in answers_by_case.items()}
    common = [q for q in model.scored_question_ids
              if all(r.question_points.get(q) is not None for r in full.values())]
    overall, structure = {}, {}
    for case, result in full.items():
        points = {q: result.question_points[q] for q in common}
        agg = aggregate(instrument, lifted, points, set(result.applicable_question_ids), set(common))
        overall[case] = agg.overall
        structure[case] = agg.dimensions["structure"].score
    return CaseComparison(tuple(common), overall, structure, full)
