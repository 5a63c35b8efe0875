"""Scoring a self-assessment: pure functions over a versioned instrument and scoring model.

The thesis defines the instrument but no scoring (it names "indicateurs de maturité" as the next step,
Discussion). The model in ``data/instrument/scoring_vN.json`` is the project's transparent proposal; its
French rationale, question by question, is data, rendered by the "Méthode" page. In short:

* each question is *scored* (0-100 points) or *descriptive* (date, size, composition: counted in
  completeness, never in scores);
* rules: ``ordinal`` and ``yes_no`` (points per option of a single choice), ``share`` (check boxes:
  weighted share of relevant options ticked, capped by a *saturation*: e.g. 2 ticked out of 5 may already
  be full marks; an exclusive option such as "Aucun" scores 0 and cannot be combined), ``best_of`` (check
  boxes: points of the best option ticked). An option whose points are ``null`` ("Autre" of unknown
  content) is recorded but excluded from the computation;
* sub-dimension = weighted mean of the points of scored, answered, applicable questions; no such answer
  -> ``None`` (never 0). Dimension = mean of its scored sub-dimensions. Overall = mean of the three
  dimensions, only when all three have a score. Averaging sub-dimensions, then dimensions, prevents the
  29/10/3 question imbalance (Tableau 8) from giving Structure 70 % of the weight;
* unanswered and not-applicable questions are excluded from every denominator;
* completeness = answered applicable questions / applicable questions (all 42 kinds, descriptive
  included); scored completeness = the same over scored questions only. Below the model's minimum scored
  completeness, or with a dimension lacking a score, the maturity level is "Non déterminé".

Answers format (a plain JSON-serialisable dict; absent key = unanswered)::

    {
        "Q1": "03/2020",                       # date question: "MM/AAAA", not in the future
        "Q2": "q2_fonctionnement",             # single choice: one option id
        "Q3": ["q3_medecin_traitant", "q3_prevention"],   # check boxes: list of option ids
        "Q7": 12,                              # number question: non-negative integer (>= min_value)
        "Q17": {"president": "Médecin généraliste", "tresorier": "Infirmier"},  # per-role free text
        "Q10_other": "Plateforme territoriale d'appui",   # precision of the question's "Autre" option
    }

Check-box questions: ``[]`` means "nothing ticked" (answered, 0 points) when the question has no exclusive
option; when it has one ("Aucun..."), ``[]`` counts as unanswered and the respondent must tick the
exclusive option (``empty_answer`` in the questionnaire). Conditional questions (Q26-Q27 only for a
"CPTS en fonctionnement", Q28 only otherwise) are hidden while Q2 is unanswered; answering a hidden
question is a validation error (:func:`drop_non_applicable` cleans a draft after Q2 changes).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from observatory.instrument import Instrument, Precision, Question, QuestionRule, ScoringModel

OTHER_SUFFIX = "_other"
_DATE_RE = re.compile(r"^(0[1-9]|1[0-2])/(\d{4})$")
_QID_RE = re.compile(r"^Q\d+$")
_KEY_RE = re.compile(r"^(Q\d+)(?:_[a-z]+)?$")


def question_id_of(key: str) -> str:
    """The question an answers key belongs to: ``Q12`` for ``Q12``, ``Q12_territory`` or ``Q12_other``."""
    m = _KEY_RE.match(str(key))
    return m.group(1) if m else str(key).split("_", 1)[0]


# --------------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class ValidationError:
    """One problem in an answer set. ``key`` is the answers key at fault (``Q10`` or ``Q10_other``)."""

    key: str
    code: str
    message: str

    @property
    def question_id(self) -> str:
        return self.key.split("_", 1)[0]


class InvalidAnswersError(ValueError):
    """Raised by strict scoring when answers do not validate; ``errors`` lists every problem."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = errors
        super().__init__("Réponses invalides :\n- " + "\n- ".join(e.message for e in errors))


def _label(question: Question, option_id: str) -> str:
    opt = question.option(option_id)
    return f"« {opt.label} »" if opt else f"« {option_id} »"


def is_answered(question: Question, value: Any) -> bool:
    """Whether ``value`` counts as an answer to ``question`` (see the module docstring for ``[]``)."""
    if value is None:
        return False
    if question.kind == "multiple":
        if isinstance(value, (list, tuple)):
            return len(value) > 0 or question.empty_answer == "none_ticked"
        return True  # wrong type: answered, but invalid
    if question.kind == "per_role_text":
        if isinstance(value, Mapping):
            return any(v is not None and not (isinstance(v, str) and not v.strip()) for v in value.values())
        return True
    if isinstance(value, str):
        return value.strip() != ""
    return True


def applicable_questions(instrument: Instrument, answers: Mapping[str, Any]) -> set[str]:
    """Ids of the questions that apply given the answers (conditions on Q2 for Q26-Q28)."""
    applicable = set()
    for q in instrument.questions:
        cond = q.condition
        if cond is None:
            applicable.add(q.id)
            continue
        target = instrument.question(cond.question)
        value = answers.get(cond.question)
        if isinstance(value, str) and value in target.option_ids:
            if value in cond.options:
                applicable.add(q.id)
        elif cond.when_unanswered == "shown":
            applicable.add(q.id)
    return applicable


def drop_non_applicable(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``answers`` without answers (and precisions) to questions that no longer apply."""
    applicable = applicable_questions(instrument, answers)
    known = set(instrument.question_ids)
    cleaned = {}
    for key, value in answers.items():
        qid = question_id_of(key)
        if qid in known and qid not in applicable:
            continue
        cleaned[key] = value
    return cleaned


def answers_for(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` without the precisions ``instrument`` does not know (e.g. v2 precisions, to rescore
    v2 answers with a v1 model, whose questions are the same). Other keys are kept as they are."""
    known = set(instrument.precision_keys)
    return {k: v for k, v in answers.items()
            if not (_KEY_RE.match(str(k)) and "_" in str(k) and not str(k).endswith(OTHER_SUFFIX) and k not in known)}


def validate_answers(instrument: Instrument, answers: Mapping[str, Any], today: date | None = None) -> list[ValidationError]:
    """Every problem in ``answers``, as French messages naming the question and the options at fault."""
    today = today or date.today()
    errors: list[ValidationError] = []
    if not isinstance(answers, Mapping):
        return [ValidationError("", "not_a_mapping", "Les réponses doivent être un dictionnaire {question: réponse}.")]
    known = {q.id: q for q in instrument.questions}
    applicable = applicable_questions(instrument, answers)
    precision_keys = instrument.precision_keys

    for key, value in answers.items():
        if key.endswith(OTHER_SUFFIX):
            errors.extend(_validate_other(known, answers, key, value))
            continue
        if key in precision_keys:
            question = known[precision_keys[key]]
            errors.extend(_validate_precision(question, question.precision(key), answers, value, key in applicable or
                                              question.id in applicable))
            continue
        question = known.get(key)
        if question is None:
            errors.append(ValidationError(str(key), "unknown_question",
                                          f"Clé « {key} » inconnue : ni une question (Q1 à Q{len(known)}), ni une précision « Qn_other », "
                                          f"ni une précision du questionnaire v{instrument.version}."))
            continue
        if not is_answered(question, value):
            continue
        if key not in applicable:
            cond = question.condition
            why = f" (posée seulement si : {cond.label})" if cond else ""
            errors.append(ValidationError(key, "not_applicable",
                                          f"{key} : question non applicable{why} ; retirez cette réponse."))
            continue
        errors.extend(_validate_value(question, value, today))
    return errors


def _validate_other(known: Mapping[str, Question], answers: Mapping[str, Any], key: str, value: Any) -> list[ValidationError]:
    qid = key[: -len(OTHER_SUFFIX)]
    question = known.get(qid)
    if question is None:
        return [ValidationError(key, "unknown_question", f"Clé « {key} » : la question {qid} n'existe pas.")]
    text_option = question.text_option_id
    if text_option is None:
        return [ValidationError(key, "no_other_option", f"{key} : la question {qid} n'a pas d'option « Autre » à préciser.")]
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if not isinstance(value, str):
        return [ValidationError(key, "other_not_text", f"{key} : la précision doit être un texte.")]
    chosen = answers.get(qid)
    ticked = chosen == text_option if question.kind == "single" else isinstance(chosen, (list, tuple)) and text_option in chosen
    if not ticked:
        return [ValidationError(key, "other_without_option",
                                f"{key} : précision saisie sans avoir choisi {_label(question, text_option)} à la question {qid}.")]
    return []


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, tuple)) and not value)


def _validate_precision(question: Question, precision: Precision, answers: Mapping[str, Any], value: Any,
                        is_applicable: bool) -> list[ValidationError]:
    """A precision added by the Observatoire (``Q3_done``, ``Q12_territory``...): only with an answer to
    its question, and consistent with it."""
    key = precision.key
    if _is_empty(value):
        return []
    answer = answers.get(question.id)
    if not is_applicable or not is_answered(question, answer):
        return [ValidationError(key, "precision_without_answer",
                                f"{key} : précision donnée sans réponse à la question {question.id} ; répondez d'abord à {question.id}.")]
    if precision.kind == "done_subset":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return [ValidationError(key, "not_a_list", f"{key} : liste attendue des cases de {question.id} déjà réalisées.")]
        ticked = set(answer) if isinstance(answer, (list, tuple)) else set()
        stray = [v for v in value if v not in ticked or v in question.exclusive_option_ids]
        if stray:
            names = ", ".join(_label(question, v) for v in stray)
            return [ValidationError(key, "done_not_ticked",
                                    f"{key} : {names} indiquée(s) comme réalisée(s) sans être cochée(s) à la question {question.id}.")]
        return []
    # number
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        return [ValidationError(key, "not_a_number", f"{key} : un nombre entier est attendu (reçu « {value} »).")]
    if value < 0:
        return [ValidationError(key, "negative_number", f"{key} : le nombre ne peut pas être négatif (reçu {int(value)}).")]
    bounds = precision.option_ranges.get(answer) if isinstance(answer, str) else None
    if bounds is not None:
        low, high = bounds
        if value < low or (high is not None and value > high):
            shown = f"{low} à {high}" if high is not None else f"au moins {low}"
            return [ValidationError(key, "outside_option_range",
                                    f"{key} : {int(value)} ne correspond pas à la tranche cochée à {question.id} "
                                    f"({_label(question, answer)} : {shown}).")]
    return []


def _validate_value(question: Question, value: Any, today: date) -> list[ValidationError]:
    qid = question.id
    kind = question.kind
    if kind == "single":
        if isinstance(value, (list, tuple)):
            labels = ", ".join(_label(question, str(v)) for v in value)
            return [ValidationError(qid, "several_options",
                                    f"{qid} : une seule réponse possible, {len(value)} options données ({labels}).")]
        if not isinstance(value, str) or value not in question.option_ids:
            return [ValidationError(qid, "unknown_option", f"{qid} : option « {value} » inconnue pour cette question.")]
        return []
    if kind == "multiple":
        if not isinstance(value, (list, tuple)):
            return [ValidationError(qid, "not_a_list", f"{qid} : réponse attendue sous forme de liste d'options cochées.")]
        errs = []
        unknown = [v for v in value if not isinstance(v, str) or v not in question.option_ids]
        for v in unknown:
            errs.append(ValidationError(qid, "unknown_option", f"{qid} : option « {v} » inconnue pour cette question."))
        dupes = sorted({v for v in value if isinstance(v, str) and list(value).count(v) > 1})
        for v in dupes:
            errs.append(ValidationError(qid, "duplicate_option", f"{qid} : option {_label(question, v)} cochée plusieurs fois."))
        exclusive = [v for v in value if v in question.exclusive_option_ids]
        others = [v for v in dict.fromkeys(value) if v not in exclusive and v in question.option_ids]
        if exclusive and (others or len(set(exclusive)) > 1):
            rest = ", ".join(_label(question, v) for v in others + sorted(set(exclusive))[1:])
            errs.append(ValidationError(qid, "exclusive_combined",
                                        f"{qid} : {_label(question, exclusive[0])} exclut toute autre réponse ; "
                                        f"elle est cochée avec {rest}."))
        return errs
    if kind == "date":
        if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
            return [ValidationError(qid, "bad_date", f"{qid} : date « {value} » invalide, format attendu MM/AAAA (ex. 03/2020).")]
        month, year = (int(x) for x in value.strip().split("/"))
        if (year, month) > (today.year, today.month):
            return [ValidationError(qid, "future_date", f"{qid} : la date {value} est dans le futur.")]
        if year < 1900:
            return [ValidationError(qid, "bad_date", f"{qid} : année {year} invraisemblable.")]
        return []
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [ValidationError(qid, "not_a_number", f"{qid} : un nombre entier est attendu (reçu « {value} »).")]
        if isinstance(value, float) and not value.is_integer():
            shown = str(value).replace(".", ",")
            return [ValidationError(qid, "not_integer", f"{qid} : un nombre entier est attendu (reçu {shown}).")]
        if value < 0:
            return [ValidationError(qid, "negative_number", f"{qid} : le nombre ne peut pas être négatif (reçu {int(value)}).")]
        if question.min_value is not None and value < question.min_value:
            return [ValidationError(qid, "below_minimum", f"{qid} : au moins {question.min_value} attendu (reçu {int(value)}).")]
        return []
    if kind == "per_role_text":
        if not isinstance(value, Mapping):
            return [ValidationError(qid, "not_a_mapping", f"{qid} : réponse attendue par fonction du bureau (président(e), trésorier(e)...).")]
        errs = []
        for role, text in value.items():
            if role not in question.role_ids:
                errs.append(ValidationError(qid, "unknown_role",
                                            f"{qid} : fonction « {role} » inconnue (attendues : {', '.join(question.role_ids)})."))
            elif text is not None and not isinstance(text, str):
                errs.append(ValidationError(qid, "role_not_text", f"{qid} : la profession pour « {role} » doit être un texte."))
        return errs
    return [ValidationError(qid, "unknown_kind", f"{qid} : type de question « {kind} » non pris en charge.")]


def answer_text(question: Question, answers: Mapping[str, Any]) -> str:
    """The answer to ``question`` as French text (option labels, "Autre" precision, roles); "" if none."""
    value = answers.get(question.id)
    if not is_answered(question, value):
        return ""
    other = answers.get(question.id + OTHER_SUFFIX)

    def option_text(option_id: Any) -> str:
        opt = question.option(option_id) if isinstance(option_id, str) else None
        if opt is None:
            return str(option_id)
        if opt.allows_text and isinstance(other, str) and other.strip():
            return f"{opt.label} ({other.strip()})"
        return opt.label

    if question.kind == "single":
        return option_text(value)
    if question.kind == "multiple":
        if isinstance(value, (list, tuple)):
            return " | ".join(option_text(v) for v in value) if value else "(aucune case cochée)"
        return str(value)
    if question.kind == "per_role_text" and isinstance(value, Mapping):
        labels = {r.id: r.label for r in question.roles}
        return " | ".join(f"{labels.get(k, k)} : {v.strip()}" for k, v in value.items() if isinstance(v, str) and v.strip())
    return str(value)


# --------------------------------------------------------------------------------------------------
# Scoring


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def bureau_professions(rule: QuestionRule, value: Mapping[str, Any]) -> list[str]:
    """Distinct professions named in the bureau's free text (Q17), one per filled role: a profession of the
    model's vocabulary when a keyword matches (« MG », « médecin généraliste » -> médecin), else the text
    itself (lower case, no accents), so an unknown profession still counts once."""
    found: list[str] = []
    for text in value.values():
        if not isinstance(text, str) or not text.strip():
            continue
        plain = _strip_accents(text)
        match = next((pid for pid, words in rule.professions.items()
                      if any(re.search(rf"(?<![a-z]){re.escape(_strip_accents(w))}(?![a-z])", plain) for w in words)), None)
        found.append(match or re.sub(r"\s+", " ", plain).strip())
    return list(dict.fromkeys(found))


def members_count(rule: QuestionRule, value: Any, answers: Mapping[str, Any]) -> float | None:
    """Members of the CPTS for Q12: the exact number when given, else the model's figure for the band."""
    exact = answers.get(rule.members_key) if rule.members_key else None
    if isinstance(exact, (int, float)) and not isinstance(exact, bool) and exact > 0:
        return float(exact)
    return rule.option_members.get(value)


def question_points(question: Question, rule: QuestionRule, value: Any,
                    answers: Mapping[str, Any] | None = None) -> float | None:
    """Points (0-100) of one valid, answered value; ``None`` if descriptive, context or excluded.
    ``answers`` (the whole answer set) is needed by rules that read a precision (v2)."""
    if not rule.is_scored:
        return None
    answers = answers or {}
    if rule.rule in ("ordinal", "yes_no"):
        pts = rule.points.get(value)
        return None if pts is None else float(pts)
    if rule.rule == "relative_members":
        territory = answers.get(rule.territory_key)
        members = members_count(rule, value, answers)
        if not isinstance(territory, (int, float)) or isinstance(territory, bool) or territory <= 0 or members is None:
            return None  # no denominator: the number alone does not measure maturity (thesis, section 5)
        return 100.0 * min(1.0, (members / float(territory)) / float(rule.full_share or 1.0))
    if rule.rule == "distinct_professions":
        filled = [v for v in value.values() if isinstance(v, str) and v.strip()] if isinstance(value, Mapping) else []
        if len(filled) < rule.min_roles:
            return None
        count = len(bureau_professions(rule, value))
        steps = sorted(rule.profession_points)
        reached = [n for n in steps if n <= count]
        return float(rule.profession_points[reached[-1]]) if reached else 0.0
    ticked = list(dict.fromkeys(value))
    if rule.rule == "best_of":
        if not ticked:
            return 0.0
        valued = [rule.points.get(v) for v in ticked if rule.points.get(v) is not None]
        return float(max(valued)) if valued else None
    if rule.rule == "share":
        if any(v in question.exclusive_option_ids for v in ticked):
            return 0.0
        done = set(answers.get(rule.done_key) or ()) if rule.done_key else None

        def counted(v: str) -> float:
            # v2: an item only planned (ticked, not listed as achieved) counts a share of its weight
            return rule.item_weight(v) * (1.0 if done is None or v in done else rule.planned_factor)

        total = sum(counted(v) for v in ticked if v in rule.relevant)
        saturation = rule.saturation or sum(rule.item_weight(v) for v in rule.relevant)
        return 100.0 * min(total, saturation) / saturation
    raise ValueError(f"{question.id} : règle de notation inconnue {rule.rule!r}")


@dataclass(frozen=True)
class SubdimensionScore:
    subdimension_id: str
    score: float | None
    n_scored_answered: int  # scored questions answered and applicable (points may still be excluded)
    n_scored_applicable: int
    n_answered: int  # all applicable questions answered, descriptive included
    n_applicable: int


@dataclass(frozen=True)
class DimensionScore:
    dimension_id: str
    score: float | None
    n_subdimensions_scored: int
    n_subdimensions: int


@dataclass(frozen=True)
class ScoreResult:
    instrument_version: str
    scoring_version: str
    question_points: dict[str, float | None]
    answered_question_ids: tuple[str, ...]
    applicable_question_ids: tuple[str, ...]
    subdimensions: dict[str, SubdimensionScore]
    dimensions: dict[str, DimensionScore]
    overall: float | None
    completeness_pct: float
    scored_completeness_pct: float
    maturity_level_id: str
    maturity_label: str
    maturity_reason: str
    invalid_question_ids: tuple[str, ...] = field(default=())
    # v2 (question_weights) only: answered scored weight / applicable scored weight, in %. Absent from the
    # scores frozen by v1, hence the default.
    scored_weight_pct: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (frozen in the assessments store at submission)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreResult:
        d = dict(data)
        d["subdimensions"] = {k: SubdimensionScore(**v) for k, v in d["subdimensions"].items()}
        d["dimensions"] = {k: DimensionScore(**v) for k, v in d["dimensions"].items()}
        for key in ("answered_question_ids", "applicable_question_ids", "invalid_question_ids"):
            d[key] = tuple(d.get(key) or ())
        return cls(**d)


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass(frozen=True)
class Aggregate:
    """Scores computed from question points (both aggregation methods)."""

    subdimensions: dict[str, SubdimensionScore]
    dimensions: dict[str, DimensionScore]
    overall: float | None
    scored_weight_pct: float | None  # question_weights: answered scored weight / applicable scored weight
    missing_dimensions: tuple[str, ...]


def aggregate(instrument: Instrument, model: ScoringModel, points: Mapping[str, float | None],
              applicable: set[str], answered: set[str]) -> Aggregate:
    """Sub-dimension, dimension and overall scores from ``points`` (question -> 0-100 or None when
    excluded) of the ``answered`` questions among the ``applicable`` ones, by the model's method.

    Pure and linear in the points for a fixed set of answered questions, which is what lets
    :func:`effective_weights` read each question's weight off the model by moving it alone."""
    sub_scores: dict[str, SubdimensionScore] = {}
    for sub in instrument.subdimensions:
        weighted_sum = weight_sum = 0.0
        n_app = n_ans = n_sapp = n_sans = 0
        for qid in sub.question_ids:
            if qid not in applicable:
                continue
            rule = model.rule(qid)
            n_app += 1
            n_sapp += rule.is_scored
            if qid not in answered:
                continue
            n_ans += 1
            n_sans += rule.is_scored
            pts = points.get(qid)
            if rule.is_scored and pts is not None:
                weighted_sum += rule.weight * pts
                weight_sum += rule.weight
        score = weighted_sum / weight_sum if weight_sum else None
        sub_scores[sub.id] = SubdimensionScore(sub.id, score, n_sans, n_sapp, n_ans, n_app)

    def weighted(question_ids: Iterable[str]) -> tuple[float | None, float, float]:
        """(weighted mean of the answered scored points, answered weight, applicable weight)."""
        total = mass = applicable_mass = 0.0
        for qid in question_ids:
            rule = model.rule(qid)
            if not rule.is_scored or qid not in applicable:
                continue
            applicable_mass += rule.weight
            pts = points.get(qid) if qid in answered else None
            if pts is not None:
                total += rule.weight * pts
                mass += rule.weight
        return (total / mass if mass else None), mass, applicable_mass

    dim_scores: dict[str, DimensionScore] = {}
    for dim in instrument.dimensions:
        n_scored = sum(sub_scores[s].score is not None for s in dim.subdimension_ids)
        if model.aggregation == "question_weights":
            ids = [q for s in dim.subdimension_ids for q in instrument.subdimension(s).question_ids]
            score = weighted(ids)[0]
        else:
            values = [sub_scores[s].score for s in dim.subdimension_ids if sub_scores[s].score is not None]
            score = sum(values) / len(values) if values else None
        dim_scores[dim.id] = DimensionScore(dim.id, score, n_scored, len(dim.subdimension_ids))
    missing = tuple(instrument.dimension(d).label for d, sc in dim_scores.items() if sc.score is None)

    scored_weight_pct = None
    if model.aggregation == "question_weights":
        overall, mass, applicable_mass = weighted(instrument.question_ids)
        scored_weight_pct = 100.0 * mass / applicable_mass if applicable_mass else 0.0
        if scored_weight_pct < (model.min_scored_weight_pct or 0.0) or (missing and model.require_all_dimensions):
            overall = None
    else:
        values = [d.score for d in dim_scores.values() if d.score is not None]
        overall = None if (missing and model.require_all_dimensions) or not values else sum(values) / len(values)
    return Aggregate(sub_scores, dim_scores, overall, scored_weight_pct, missing)


def score_assessment(instrument: Instrument, model: ScoringModel, answers: Mapping[str, Any], *,
                     strict: bool = True, today: date | None = None) -> ScoreResult:
    """Score an answer set.

    ``strict=True`` raises :class:`InvalidAnswersError` on any validation error (submission);
    ``strict=False`` scores what is valid and treats invalid answers as unanswered (live preview while a
    draft is being filled), listing them in ``invalid_question_ids``. An invalid precision (``Q3_done``)
    is ignored in preview, never the answer it precises.
    """
    if model.instrument_version != instrument.version:
        raise ValueError(f"Le modèle de notation v{model.version} porte sur le questionnaire v{model.instrument_version}, "
                         f"pas v{instrument.version}.")
    errors = validate_answers(instrument, answers, today=today)
    if errors and strict:
        raise InvalidAnswersError(errors)
    # Only an error on the answer itself invalidates it; a bad "Autre" precision (Qn_other) does not.
    invalid = {e.key for e in errors if _QID_RE.match(e.key)}
    bad_precisions = {e.key for e in errors if e.key in instrument.precision_keys}
    usable = {k: v for k, v in answers.items() if k not in bad_precisions}
    applicable = applicable_questions(instrument, answers)

    points: dict[str, float | None] = {}
    answered: list[str] = []
    for qid in instrument.question_ids:
        points[qid] = None
        value = answers.get(qid)
        if qid not in applicable or qid in invalid or not is_answered(instrument.question(qid), value):
            continue
        answered.append(qid)
        points[qid] = question_points(instrument.question(qid), model.rule(qid), value, usable)
    agg = aggregate(instrument, model, points, applicable, set(answered))

    scored_ids = set(model.scored_question_ids)
    completeness = _pct(len(answered), len(applicable))
    n_scored_applicable = len(applicable & scored_ids)
    scored_completeness = _pct(len(set(answered) & scored_ids), n_scored_applicable)

    if model.aggregation == "question_weights" and (agg.scored_weight_pct or 0.0) < (model.min_scored_weight_pct or 0.0):
        level_id, level_label = model.undetermined_id, model.undetermined_label
        reason = (f"Questions notées renseignées : {_fr(agg.scored_weight_pct or 0.0, 0)} % du poids, sous le seuil de "
                  f"{_fr(model.min_scored_weight_pct or 0.0, 0)} % : pas de score global.")
    elif scored_completeness < model.min_scored_completeness_pct:
        level_id, level_label = model.undetermined_id, model.undetermined_label
        reason = (f"Complétude des questions notées de {_fr(scored_completeness, 0)} %, sous le seuil de "
                  f"{_fr(model.min_scored_completeness_pct, 0)} %.")
    elif agg.overall is None:
        level_id, level_label = model.undetermined_id, model.undetermined_label
        reason = "Aucune réponse notée dans la dimension : " + ", ".join(agg.missing_dimensions) + "."
    else:
        band = model.band_for(agg.overall)
        level_id, level_label = band.id, band.label
        reason = f"Score global de {_fr(agg.overall, 1)} sur 100."
    return ScoreResult(
        instrument_version=instrument.version, scoring_version=model.version, question_points=points,
        answered_question_ids=tuple(answered),
        applicable_question_ids=tuple(q for q in instrument.question_ids if q in applicable),
        subdimensions=agg.subdimensions, dimensions=agg.dimensions, overall=agg.overall, completeness_pct=completeness,
        scored_completeness_pct=scored_completeness, maturity_level_id=level_id, maturity_label=level_label,
        maturity_reason=reason, invalid_question_ids=tuple(sorted(invalid, key=lambda q: int(q[1:]))),
        scored_weight_pct=agg.scored_weight_pct,
    )


def _fr(value: float, decimals: int) -> str:
    """French number formatting for messages (decimal comma)."""
    return f"{value:.{decimals}f}".replace(".", ",")


# --------------------------------------------------------------------------------------------------
# Reading results


@dataclass(frozen=True)
class WeakSubdimension:
    subdimension_id: str
    label: str
    dimension_id: str
    dimension_label: str
    score: float
    advice: str  # what the thesis says matters here
    section: str  # thesis section(s) the advice comes from


def weakest_subdimensions(result: ScoreResult, instrument: Instrument, n: int = 3) -> list[WeakSubdimension]:
    """The ``n`` lowest scored sub-dimensions (ties in questionnaire order) with the thesis's advice."""
    order = {s.id: i for i, s in enumerate(instrument.subdimensions)}
    scored = [s for s in result.subdimensions.values() if s.score is not None and s.subdimension_id in order]
    scored.sort(key=lambda s: (s.score, order[s.subdimension_id]))
    weakest = []
    for s in scored[:n]:
        sub = instrument.subdimension(s.subdimension_id)
        weakest.append(WeakSubdimension(sub.id, sub.label, sub.dimension, instrument.dimension(sub.dimension).label,
                                        float(s.score), sub.what_matters, sub.what_matters_section))
    return weakest


@dataclass(frozen=True)
class Delta:
    old: float | None
    new: float | None
    delta: float | None
    trend_id: str  # up, down, stable, not_comparable
    trend_label: str  # en hausse, en baisse, stable, non comparable


@dataclass(frozen=True)
class Comparison:
    same_scoring_version: bool
    scoring_versions: tuple[str, str]  # (new, old)
    subdimensions: dict[str, Delta]
    dimensions: dict[str, Delta]
    overall: Delta
    completeness: Delta


_DEFAULT_TREND_LABELS = {"up": "en hausse", "down": "en baisse", "stable": "stable", "not_comparable": "non comparable"}


def _delta(new: float | None, old: float | None, band: float, labels: Mapping[str, str]) -> Delta:
    if new is None or old is None:
        return Delta(old, new, None, "not_comparable", labels["not_comparable"])
    diff = new - old
    trend = "stable" if abs(diff) <= band else ("up" if diff > 0 else "down")
    return Delta(old, new, diff, trend, labels[trend])


def compare(result_new: ScoreResult, result_old: ScoreResult, model: ScoringModel | None = None) -> Comparison:
    """Deltas per sub-dimension, dimension and overall between two results (new minus old).

    The "stable" band and labels come from ``model`` (default: the new result's scoring model, trend
    section). Results scored with different model versions are still compared, flagged by
    ``same_scoring_version=False`` so the page can warn.
    """
    if model is None:
        from observatory.instrument import load_scoring_model

        model = load_scoring_model(result_new.scoring_version)
    band = model.trend_stable_band_points
    labels = dict(model.trend_labels) or _DEFAULT_TREND_LABELS
    subs = {
        sid: _delta(s.score, result_old.subdimensions[sid].score if sid in result_old.subdimensions else None, band, labels)
        for sid, s in result_new.subdimensions.items()
    }
    dims = {
        did: _delta(d.score, result_old.dimensions[did].score if did in result_old.dimensions else None, band, labels)
        for did, d in result_new.dimensions.items()
    }
    return Comparison(
        same_scoring_version=result_new.scoring_version == result_old.scoring_version,
        scoring_versions=(result_new.scoring_version, result_old.scoring_version),
        subdimensions=subs, dimensions=dims,
        overall=_delta(result_new.overall, result_old.overall, band, labels),
        completeness=_delta(result_new.completeness_pct, result_old.completeness_pct, band, labels),
    )


@dataclass(frozen=True)
class PeerValue:
    median: float | None  # None when fewer than min_peers scored values
    n: int


@dataclass(frozen=True)
class PeerMedians:
    scoring_version: str
    n_results: int
    n_excluded_other_version: int
    subdimensions: dict[str, PeerValue]
    dimensions: dict[str, PeerValue]
    overall: PeerValue


def peer_medians(results: Iterable[ScoreResult], scoring_version: str, min_peers: int = 5) -> PeerMedians:
    """Medians over peers' results scored with ``scoring_version`` (others are counted, not mixed in).

    A median is given only with at least ``min_peers`` scored values, so that one CPTS cannot be
    recognised among its "peers".
    """
    results = list(results)
    same = [r for r in results if r.scoring_version == scoring_version]

    def med(values: list[float | None]) -> PeerValue:
        vals = [v for v in values if v is not None]
        return PeerValue(statistics.median(vals) if len(vals) >= min_peers else None, len(vals))

    sub_ids = list(dict.fromkeys(k for r in same for k in r.subdimensions))
    dim_ids = list(dict.fromkeys(k for r in same for k in r.dimensions))
    return PeerMedians(
        scoring_version=scoring_version, n_results=len(same), n_excluded_other_version=len(results) - len(same),
        subdimensions={s: med([r.subdimensions[s].score for r in same if s in r.subdimensions]) for s in sub_ids},
        dimensions={d: med([r.dimensions[d].score for r in same if d in r.dimensions]) for d in dim_ids},
        overall=med([r.overall for r in same]),
    )
