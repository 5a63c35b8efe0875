"""Demo self-assessments (fictitious, flagged ``is_demo``) and the thesis case studies' partial answers.

Demo assessments
----------------
:func:`generate_demo_assessments` builds deterministic submitted assessments for the CPTS of a demo
register, so the peer comparison, history and matrix pages have something to show. Nothing here is
real: answers are drawn from a latent "maturity" that grows with the CPTS's stage and age (an ACI CPTS
signed years ago answers more maturely than a recent pré-projet), plus a stable per-CPTS effect and some
noise. Most CPTS re-assess yearly (1 to 3 submissions each, the thesis suggests a yearly or biennial
survey, section 5). Participation is completed so that each size class × stage cell has at least
``min_peers`` assessed CPTS whenever the register has that many, so peer medians exist.
Determinism: every random draw is seeded from the CPTS id (and the submission date) through SHA-256,
never Python's salted ``hash``.

Case studies
------------
``data/instrument/case_study_answers.json`` holds the answers that the thesis allows for CPTS A to E
(Tables 3 to 7 for all five, the monograph of Annexe 1 and the sections that name CPTS A for A), each with
its source and, where the table does not determine an option, the
question left unanswered with a note. :func:`load_case_study_answers` reads it.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from observatory.funding import size_class_or_none
from observatory.instrument import (
    INSTRUMENT_DIR,
    Instrument,
    Question,
    ScoringModel,
    latest_scoring_version,
    load_instrument,
    load_scoring_model,
    scoring_versions,
)
from observatory.scoring import score_assessment

DEMO_AUTHOR = "Démonstration (données générées)"
NATIONAL_STAGES = ("pre_projet", "lettre_intention", "projet_sante", "aci")
_STAGE_COLUMNS = {
    "pre_projet": "preproject_date",
    "lettre_intention": "letter_of_intent_date",
    "projet_sante": "health_project_date",
    "aci": "aci_date",
}
# Demo mapping of national stages to the ARS gradation of Q2 (the project's stage mapping lives in
# data/stages.json; this is only how the demo picks an answer).
_STAGE_TO_Q2 = {
    "lettre_intention": "q2_ingenierie",
    "projet_sante": "q2_ingenierie",
    "aci": "q2_fonctionnement",
}
_STAGE_BASE_MATURITY = {"pre_projet": 0.10, "lettre_intention": 0.24, "projet_sante": 0.34, "aci": 0.44}
_PROFESSIONS = ("Médecin généraliste", "Infirmier(ère)", "Pharmacien(ne)", "Masseur-kinésithérapeute", "Sage-femme",
                "Orthophoniste", "Coordinatrice de MSP")


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return random.Random(int(seed[:16], 16))


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    return _rng(*parts).random()


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def stage_at(stage_dates: dict[str, date | None], when: date) -> str | None:
    """Highest national stage reached on ``when`` (None before the first dated stage)."""
    reached = None
    for stage in NATIONAL_STAGES:
        d = stage_dates.get(stage)
        if d is not None and d <= when:
            reached = stage
    return reached


def _size_class_index(row: pd.Series) -> int:
    klass = size_class_or_none(row.get("population_count"))
    if klass is not None:
        return klass
    digits = "".join(ch for ch in str(row.get("size_class", "")) if ch.isdigit())
    return int(digits) if digits in {"1", "2", "3", "4"} else 2


@dataclass(frozen=True)
class _Cpts:
    cpts_id: str
    name: str
    register_id: str | None
    stage_dates: dict[str, date | None]
    first_date: date
    size_index: int
    size_class: str
    commune_count: int | None


def _eligible(cpts: pd.DataFrame, as_of: date) -> list[_Cpts]:
    out = []
    for _, row in cpts.iterrows():
        dates = {stage: _as_date(row.get(col)) for stage, col in _STAGE_COLUMNS.items()}
        known = [d for d in dates.values() if d is not None and d <= as_of]
        if not known:
            continue
        communes = row.get("commune_count")
        out.append(_Cpts(
            cpts_id=str(row["cpts_id"]), name=str(row["name"]),
            register_id=None if pd.isna(row.get("register_id", None)) else str(row.get("register_id")),
            stage_dates=dates, first_date=min(known), size_index=_size_class_index(row),
            size_class=str(row.get("size_class", "")),
            commune_count=None if communes is None or pd.isna(communes) else int(communes),
        ))
    return out


def _participants(eligible: list[_Cpts], as_of: date, participation: float, min_peers: int) -> list[_Cpts]:
    chosen = {c.cpts_id for c in eligible if _unit("participation", c.cpts_id) < participation}
    cells: dict[tuple[str, str | None], list[_Cpts]] = {}
    for c in eligible:
        cells.setdefault((c.size_class, stage_at(c.stage_dates, as_of)), []).append(c)
    for members in cells.values():
        missing = min(min_peers, len(members)) - sum(c.cpts_id in chosen for c in members)
        for c in sorted((m for m in members if m.cpts_id not in chosen), key=lambda m: _unit("participation", m.cpts_id)):
            if missing <= 0:
                break
            chosen.add(c.cpts_id)
            missing -= 1
    return [c for c in eligible if c.cpts_id in chosen]


def _submission_dates(c: _Cpts, as_of: date, max_cycles: int) -> list[date]:
    """Yearly submissions on a CPTS-specific day, not before three months after its first stage."""
    offset = timedelta(days=int(_unit("offset", c.cpts_id) * 330))
    wanted = 1 + int(_unit("cycles", c.cpts_id) * max_cycles)
    earliest = c.first_date + timedelta(days=90)
    dates = []
    for k in range(max_cycles):
        d = as_of - offset - timedelta(days=365 * k)
        if d >= earliest:
            dates.append(d)
    dates = sorted(dates)[-wanted:]
    return dates or [as_of]


def _maturity(c: _Cpts, when: date) -> float:
    stage = stage_at(c.stage_dates, when) or "pre_projet"
    years = (when - c.first_date).days / 365.25
    m = _STAGE_BASE_MATURITY[stage] + 0.02 * min(years, 5)
    aci = c.stage_dates.get("aci")
    if aci is not None and aci <= when:
        m += 0.05 * min((when - aci).days / 365.25, 4)
    m += (_unit("effect", c.cpts_id) - 0.5) * 0.24
    return min(max(m, 0.02), 0.97)


def _nearest_option(points: dict[str, float | None], target: float) -> str:
    scored = [(abs((p or 0) - target), oid) for oid, p in points.items() if p is not None]
    return min(scored)[1]


def _scored_answer(question: Question, rule, m: float, stable: random.Random, noisy: random.Random) -> Any:
    bias = stable.gauss(0, 12)  # a CPTS is consistently better or worse on a given question
    target = 100 * m + bias + noisy.gauss(0, 8)
    if rule.rule in ("ordinal", "yes_no"):
        return _nearest_option(dict(rule.points), target)
    if rule.rule == "best_of":
        first = _nearest_option(dict(rule.points), target)
        extra = "q15_distanciel" if noisy.random() < 0.3 and first != "q15_distanciel" else None
        return [first] + ([extra] if extra else [])
    # share: tick about the share the target asks for, among relevant options without free text
    pool = [o for o in rule.relevant if not question.option(o).allows_text]
    wanted = round(max(target, 0) / 100 * (rule.saturation or len(pool)) + noisy.gauss(0, 0.7))
    wanted = max(0, min(wanted, len(pool)))
    if wanted == 0:
        exclusive = sorted(question.exclusive_option_ids)
        return exclusive[:1] if exclusive else []
    # stable order of preference per CPTS, so re-assessments mostly add items
    ordered = list(pool)
    stable.shuffle(ordered)
    return ordered[:wanted]


def _descriptive_answer(question: Question, c: _Cpts, when: date, stable: random.Random, noisy: random.Random) -> Any:
    qid = question.id
    if qid == "Q1":
        created = c.first_date - timedelta(days=30 * (1 + int(_unit("created", c.cpts_id) * 8)))
        return created.strftime("%m/%Y")
    if qid == "Q5":
        picks = ["q5_liberaux"] + [o for o in ("q5_msp", "q5_cds", "q5_etablissement") if stable.random() < 0.45]
        return picks
    if qid == "Q6":
        return f"q6_taille{c.size_index}"
    if qid == "Q7":
        if c.commune_count is not None:
            return max(1, c.commune_count)
        low, high = {1: (1, 12), 2: (3, 25), 3: (5, 45), 4: (8, 70)}[c.size_index]
        return stable.randint(low, high)
    if qid == "Q9":
        options = [o for o in question.option_ids if o != "q9_non"]
        return [stable.choice(options)] if stable.random() < 0.6 else ["q9_non"]
    if qid == "Q17":
        roles = {}
        for role in ("president", "vice_president", "secretaire_generale", "tresorier"):
            roles[role] = stable.choice(_PROFESSIONS)
        return roles
    if qid == "Q28":
        options = [o for o in question.option_ids if o not in ("q28_aucune", "q28_autre")]
        k = noisy.randint(0, 3)
        return noisy.sample(options, k) if k else ["q28_aucune"]
    if qid == "Q29":
        return stable.choice(question.option_ids)
    return None


# Answers are drawn from the ordered scales of model v1, where every question has one; how they are then
# scored (v1 or v2) does not change what a CPTS answers, so its history reads the same under both models.
ANSWER_RULES_VERSION = "1"
_RESIDENTS_PER_PROFESSIONAL = 550  # demo only: about the ratio of the thesis's CPTS A (57 482 / 103, annexe 1)


def _add_precisions(answers: dict[str, Any], c: _Cpts, when: date, instrument: Instrument, m: float) -> None:
    """The questionnaire v2 precisions of a demo answer set: what is achieved rather than planned grows
    with maturity, missions are contracted once the ACI is signed, the territory's professionals follow
    its population."""
    keys = instrument.precision_keys
    if not keys:
        return
    noisy = _rng("precisions", c.cpts_id, when.isoformat())
    functioning = answers.get("Q2") == "q2_fonctionnement"
    for key, qid in keys.items():
        question, value = instrument.question(qid), answers.get(qid)
        precision = question.precision(key)
        if value is None:
            continue
        if precision.kind == "done_subset" and isinstance(value, list):
            ticked = [v for v in value if v not in question.exclusive_option_ids]
            if qid == "Q3":
                answers[key] = list(ticked) if functioning else []
            else:
                answers[key] = [v for v in ticked if noisy.random() < m]
        elif key.endswith("_members"):
            low, high = precision.option_ranges.get(value, (None, None))
            if low is not None:
                answers[key] = noisy.randint(low, high if high is not None else 3 * low)
        elif key.endswith("_territory"):
            population = {1: 30_000, 2: 60_000, 3: 120_000, 4: 220_000}[c.size_index]
            answers[key] = max(20, int(population / _RESIDENTS_PER_PROFESSIONAL * (0.8 + 0.4 * noisy.random())))


def _answers_for(c: _Cpts, when: date, instrument: Instrument, model: ScoringModel) -> tuple[dict[str, Any], str]:
    stage = stage_at(c.stage_dates, when) or "pre_projet"
    if stage == "pre_projet":
        pre = c.stage_dates.get("pre_projet") or c.first_date
        q2 = "q2_declaration_interet" if (when - pre).days < 180 else "q2_debut_formalisation"
    else:
        q2 = _STAGE_TO_Q2[stage]
    functioning = q2 == "q2_fonctionnement"
    m = _maturity(c, when)
    answers: dict[str, Any] = {}
    for question in instrument.questions:
        qid = question.id
        stable = _rng("stable", c.cpts_id, qid)
        noisy = _rng("noisy", c.cpts_id, when.isoformat(), qid)
        if qid == "Q2":
            answers[qid] = q2
            continue
        if question.condition is not None and q2 not in question.condition.options:
            continue
        if qid in ("Q41", "Q42") and not functioning:
            continue  # no contracted indicators before the ACI: left unanswered, as the help text asks
        if noisy.random() < 0.05:
            continue  # a few questions left unanswered, as in real surveys
        rule = model.rule(qid)
        value = _scored_answer(question, rule, m, stable, noisy) if rule.is_scored else _descriptive_answer(
            question, c, when, stable, noisy)
        if value is not None:
            answers[qid] = value
    return answers, stage


def generate_demo_assessments(cpts: pd.DataFrame, as_of: date, instrument: Instrument, model: ScoringModel, *,
                              participation: float = 0.8, min_peers: int = 5, max_cycles: int = 3,
                              previous: tuple[Instrument, ScoringModel] | None = None) -> list[dict[str, Any]]:
    """Deterministic demo submitted assessments (records for :meth:`AssessmentStore.replace_demo_assessments`).

    ``cpts`` needs ``cpts_id``, ``name``, the four stage dates (``preproject_date``,
    ``letter_of_intent_date``, ``health_project_date``, ``aci_date``), ``population_count`` and
    ``size_class``; optional ``register_id`` and ``commune_count`` are used when present. Each record has
    the fields of an :class:`observatory.assessments.Assessment` plus ``stage_code`` (national stage at
    submission) and ``size_class``.

    With ``previous`` (an older questionnaire and model), every submission but a CPTS's latest is scored
    with it, as if made before the current model existed: the history then shows both versions, each
    labelled, and the latest submissions all share the current model (peer medians need one version).
    """
    as_of = _as_date(as_of)
    answer_model = model if model.version == ANSWER_RULES_VERSION else load_scoring_model(ANSWER_RULES_VERSION)
    answer_instrument = load_instrument(answer_model.instrument_version)
    records = []
    for c in _participants(_eligible(cpts, as_of), as_of, participation, min_peers):
        dates = _submission_dates(c, as_of, max_cycles)
        for when in dates:
            inst, mdl = (instrument, model) if previous is None or when == dates[-1] else previous
            answers, stage = _answers_for(c, when, answer_instrument, answer_model)
            _add_precisions(answers, c, when, inst, _maturity(c, when))
            result = score_assessment(inst, mdl, answers, strict=True, today=when)
            submitted_at = datetime(when.year, when.month, when.day, 10, 0)
            records.append({
                "assessment_id": f"demo-{c.cpts_id}-{when:%Y%m%d}-v{mdl.version}", "cpts_id": c.cpts_id, "cpts_name": c.name,
                "register_id": c.register_id, "status": "submitted", "instrument_version": inst.version,
                "scoring_version": mdl.version, "answers": answers, "scores": result.to_dict(),
                "overall_score": result.overall, "maturity_level_id": result.maturity_level_id,
                "created_at": submitted_at, "updated_at": submitted_at, "submitted_at": submitted_at, "revision": 1,
                "author": DEMO_AUTHOR, "is_demo": True, "stage_code": stage, "size_class": c.size_class,
            })
    return records


def _default_versions(instrument: Instrument | None, model: ScoringModel | None,
                      options: dict[str, Any]) -> tuple[Instrument, ScoringModel]:
    """The latest model by default, with the model before it for the older demo submissions."""
    if model is None:
        model = load_scoring_model(latest_scoring_version())
        versions = scoring_versions()
        if "previous" not in options and len(versions) > 1:
            older = load_scoring_model(versions[-2])
            options["previous"] = (load_instrument(older.instrument_version), older)
    return instrument or load_instrument(model.instrument_version), model


def load_demo_into_store(store, cpts: pd.DataFrame, as_of: date, instrument: Instrument | None = None,
                         model: ScoringModel | None = None, **options: Any) -> int:
    """Replace the store's demo assessments by freshly generated ones; returns how many were written."""
    instrument, model = _default_versions(instrument, model, options)
    records = generate_demo_assessments(cpts, as_of, instrument, model, **options)
    return store.replace_demo_assessments(records)


def ensure_demo_in_store(store, cpts: pd.DataFrame, as_of: date, instrument: Instrument | None = None,
                         model: ScoringModel | None = None, **options: Any) -> int:
    """Idempotent loading at first use: returns 0 (nothing written) when every generated demo assessment is
    already in the store, so a demo CPTS's user submissions survive restarts; otherwise (first use, or
    generator, register or model changed: ids carry the model version) replaces the demo assessments like
    :func:`load_demo_into_store`."""
    instrument, model = _default_versions(instrument, model, options)
    records = generate_demo_assessments(cpts, as_of, instrument, model, **options)
    if {r["assessment_id"] for r in records} <= store.demo_assessment_ids():
        return 0
    return store.replace_demo_assessments(records)


# --------------------------------------------------------------------------------------------------
# Case studies A-E


def load_case_study_answers(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{case_id: answers}`` from ``case_study_answers.json`` (only the answered questions)."""
    doc = json.loads(Path(path or INSTRUMENT_DIR / "case_study_answers.json").read_text(encoding="utf-8"))
    out = {}
    for case in doc["cases"]:
        answers = {}
        for qid, item in case["answers"].items():
            if item.get("status") == "answered":
                answers[qid] = item["value"]
                if "other_text" in item:
                    answers[f"{qid}_other"] = item["other_text"]
        out[case["case_id"]] = answers
    return out
