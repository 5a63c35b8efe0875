"""Collective self-assessment of a CPTS, without Streamlit and without a database: who answers (identities),
how the individual answers are spread, the published « avis partagés » rule, the consensus proposal, the
improvement plan's suggestions and its follow-up from one campaign to the next.

The rules (professions, roles in the CPTS, thresholds of the split rule, action statuses) are versioned
data: ``data/instrument/collective_v1.json``, published on the « Méthode » page. Storage is
:mod:`observatory.campaign_store`.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from observatory.instrument import INSTRUMENT_DIR, Instrument, Question, ScoringModel
from observatory.safe_text import clean_name
from observatory.scoring import (
    OTHER_SUFFIX,
    ScoreResult,
    answer_text,
    drop_non_applicable,
    is_answered,
    score_assessment,
    validate_answers,
    weakest_subdimensions,
)

RULES_PATH = INSTRUMENT_DIR / "collective_v1.json"
MAX_TEXT_LENGTH = 150  # names, action titles, owners
MAX_MEANS_LENGTH = 600  # the means of an action: a few sentences


class CampaignInputError(ValueError):
    """A text or choice entered for a campaign is refused (message in French, naming the field)."""


# --------------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class CampaignRules:
    version: str
    title: str
    inspiration: str
    professions: Mapping[str, str]
    roles: Mapping[str, str]
    lead_roles: frozenset[str]
    min_respondents: int
    scored_spread_points: float
    descriptive_max_share: float
    subdimension_spread_points: float
    rule_text: str
    method_lines: tuple[str, ...]
    statuses: Mapping[str, str]
    weakest_count: int
    weak_title: str
    split_title: str
    split_means: str


def parse_campaign_rules(doc: Mapping[str, Any], source: str = "collective") -> CampaignRules:
    problems = []
    professions = {p.get("id"): p.get("label") for p in doc.get("professions") or []}
    roles = {r.get("id"): r.get("label") for r in doc.get("cpts_roles") or []}
    statuses = {s.get("id"): s.get("label") for s in doc.get("action_statuses") or []}
    split = doc.get("split_rule") or {}
    plan = doc.get("plan") or {}
    for name, table in (("professions", professions), ("cpts_roles", roles), ("action_statuses", statuses)):
        if not table or any(not k or not v for k, v in table.items()):
            problems.append(f"{name} : identifiants ou libellés manquants")
    for key in ("min_respondents", "scored_spread_points", "descriptive_max_share", "subdimension_spread_points"):
        if not isinstance(split.get(key), (int, float)) or split.get(key) <= 0:
            problems.append(f"split_rule.{key} doit être un nombre positif")
    if "autre" not in professions:
        problems.append("professions : « autre » doit exister (profession non listée)")
    for key in ("weak_title", "split_title", "split_means"):
        if not plan.get(key):
            problems.append(f"plan.{key} manquant")
    if problems:
        raise ValueError(f"{source} : règles de l'auto-évaluation collective incohérentes :\n- " + "\n- ".join(problems))
    return CampaignRules(
        version=str(doc.get("collective_version", "")), title=doc.get("title", ""), inspiration=doc.get("inspiration", ""),
        professions=professions, roles=roles,
        lead_roles=frozenset(r["id"] for r in doc["cpts_roles"] if r.get("can_lead")),
        min_respondents=int(split["min_respondents"]), scored_spread_points=float(split["scored_spread_points"]),
        descriptive_max_share=float(split["descriptive_max_share"]),
        subdimension_spread_points=float(split["subdimension_spread_points"]),
        rule_text=doc.get("rule_text", ""), method_lines=tuple(doc.get("method_lines") or ()), statuses=statuses,
        weakest_count=int(plan.get("weakest_count", 3)), weak_title=plan["weak_title"], split_title=plan["split_title"],
        split_means=plan["split_means"],
    )


@lru_cache(maxsize=4)
def _load_rules(path: str) -> CampaignRules:
    return parse_campaign_rules(json.loads(Path(path).read_text(encoding="utf-8")), Path(path).name)


def load_campaign_rules(path: Path | None = None) -> CampaignRules:
    return _load_rules(str(path or RULES_PATH))


# --------------------------------------------------------------------------------------------------
# Records (the store returns these; the page and the exports read them)


@dataclass(frozen=True)
class Identity:
    """A person who answers or coordinates; ``account_id`` is empty until accounts exist."""

    identity_id: str
    cpts_id: str
    display_name: str
    profession: str
    cpts_role: str
    account_id: str | None
    created_at: datetime
    is_demo: bool = False


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    cpts_id: str
    cpts_name: str | None
    register_id: str | None
    title: str
    status: str  # open, closed
    instrument_version: str
    coordinator_identity_id: str
    opened_at: datetime
    closed_at: datetime | None
    consensus: dict[str, Any] | None
    consensus_revision: int
    assessment_id: str | None
    updated_at: datetime
    is_demo: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Response:
    response_id: str
    campaign_id: str
    identity_id: str
    answers: dict[str, Any]
    status: str  # draft, submitted
    revision: int
    updated_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True)
class Action:
    action_id: str
    cpts_id: str
    campaign_id: str | None
    subdimension_id: str
    question_id: str | None
    origin: str  # faible, avis_partages, libre
    title: str
    owner: str
    due_date: date | None
    means: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    revision: int
    is_demo: bool = False


def clean_text(value: Any, what: str, *, required: bool = True, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    """A user's text through :func:`observatory.safe_text.clean_name`; refused with a French message
    naming ``what`` when empty (if required) or when it holds what cannot be shown honestly."""
    text, problem = clean_name("" if value is None else value, max_length)
    if problem is not None:
        raise CampaignInputError(f"{what} refusé : {problem.message}.")
    if not text:
        if required:
            raise CampaignInputError(f"{what} : champ obligatoire.")
        return None
    return text


# --------------------------------------------------------------------------------------------------
# Spread of the individual answers and the « avis partagés » rule


@dataclass(frozen=True)
class Respondent:
    identity: Identity
    answers: Mapping[str, Any]
    result: ScoreResult  # the respondent's own answers, scored leniently with the campaign's model


@dataclass(frozen=True)
class QuestionSpread:
    question_id: str
    n_answered: int
    counts: pd.DataFrame  # Réponse, Profession, Répondants
    points: dict[str, float]  # identity -> points (scored questions with points only)
    spread: float | None  # highest minus lowest points
    modal_share: float | None  # share of the most frequent exact answer
    is_split: bool
    professions_disagree: bool
    summary: str  # French, one line, no names


@dataclass(frozen=True)
class SubdimensionSpread:
    subdimension_id: str
    n_scored: int
    low: float | None
    median: float | None
    high: float | None
    spread: float | None
    is_split: bool


@dataclass(frozen=True)
class CampaignAnalysis:
    n_respondents: int
    professions: dict[str, int]  # profession label -> respondents
    questions: dict[str, QuestionSpread]
    subdimensions: dict[str, SubdimensionSpread]
    split_question_ids: tuple[str, ...] = field(default=())
    split_subdimension_ids: tuple[str, ...] = field(default=())

    @property
    def is_single_respondent(self) -> bool:
        return self.n_respondents == 1


def respondents(instrument: Instrument, model: ScoringModel, pairs: Sequence[tuple[Identity, Mapping[str, Any]]]) -> list[Respondent]:
    return [Respondent(i, dict(a), score_assessment(instrument, model, a, strict=False)) for i, a in pairs]


def _answer_key(question: Question, value: Any) -> str:
    """A hashable, comparable form of one answer (for the modal-share rule)."""
    if isinstance(value, (list, tuple)):
        return "|".join(sorted(str(v) for v in value))
    if isinstance(value, Mapping):
        return "|".join(f"{k}={str(v).strip().lower()}" for k, v in sorted(value.items()) if str(v).strip())
    return str(value)


def _answer_labels(question: Question, value: Any) -> list[str]:
    """What a respondent's answer counts for in the distribution: one entry per ticked option."""
    labels = {o.id: o.label.strip() for o in question.options}
    if question.kind == "multiple" and isinstance(value, list):
        return [labels.get(v, v) for v in value] or ["(aucune case cochée)"]
    if question.kind == "single":
        return [labels.get(value, str(value))]
    if question.kind == "per_role_text" and isinstance(value, Mapping):
        roles = {r.id: r.label for r in question.roles}
        return [f"{roles.get(k, k)} : {str(v).strip()}" for k, v in value.items() if str(v).strip()]
    return [str(value)]


def _profession_label(rules: CampaignRules, profession: str) -> str:
    return rules.professions.get(profession, rules.professions["autre"])


def question_spread(question: Question, model: ScoringModel, people: Sequence[Respondent], rules: CampaignRules) -> QuestionSpread:
    qid = question.id
    answered = [p for p in people if qid in p.result.applicable_question_ids and is_answered(question, p.answers.get(qid))]
    rows = []
    for p in answered:
        for label in _answer_labels(question, p.answers.get(qid)):
            rows.append({"Réponse": label, "Profession": _profession_label(rules, p.identity.profession)})
    counts = (pd.DataFrame(rows, columns=["Réponse", "Profession"]).value_counts().rename("Répondants").reset_index()
              if rows else pd.DataFrame(columns=["Réponse", "Profession", "Répondants"]))
    points = {p.identity.identity_id: p.result.question_points[qid] for p in answered
              if p.result.question_points.get(qid) is not None}
    n = len(answered)
    spread = (max(points.values()) - min(points.values())) if len(points) >= 2 else None
    keys = Counter(_answer_key(question, p.answers.get(qid)) for p in answered)
    modal_share = max(keys.values()) / n if n else None
    scored = model.rule(qid).is_scored and len(points) >= rules.min_respondents
    if n < rules.min_respondents:
        is_split = False
    elif scored:
        is_split = spread is not None and spread >= rules.scored_spread_points
    else:
        is_split = modal_share is not None and modal_share <= rules.descriptive_max_share

    by_profession: dict[str, list[Respondent]] = {}
    for p in answered:
        by_profession.setdefault(p.identity.profession, []).append(p)
    disagree = False
    if len(by_profession) >= 2:
        if scored:
            medians = [statistics.median([points[x.identity.identity_id] for x in group if x.identity.identity_id in points])
                       for group in by_profession.values() if any(x.identity.identity_id in points for x in group)]
            disagree = len(medians) >= 2 and max(medians) - min(medians) >= rules.scored_spread_points
        else:
            modes = {Counter(_answer_key(question, x.answers.get(qid)) for x in group).most_common(1)[0][0]
                     for group in by_profession.values()}
            disagree = len(modes) > 1

    if not answered:
        summary = "Aucune réponse."
    else:
        parts = []
        for label, group in counts.groupby("Réponse", sort=False):
            who = ", ".join(f"{prof} × {int(c)}" if c > 1 else prof for prof, c in zip(group["Profession"], group["Répondants"], strict=True))
            parts.append(f"« {label} » : {int(group['Répondants'].sum())} ({who})")
        flags = []
        if is_split:
            flags.append(f"avis partagés (écart de {spread:.0f} points)".replace(".", ",") if scored and spread is not None
                         else "avis partagés (aucune réponse majoritaire)")
        if disagree:
            flags.append("les professions divergent")
        summary = f"{n} réponse{'s' if n > 1 else ''} — " + " ; ".join(parts) + (". " + ", ".join(flags).capitalize() + "." if flags else ".")
    return QuestionSpread(qid, n, counts, points, spread, modal_share, is_split, disagree, summary)


def analyse_campaign(instrument: Instrument, model: ScoringModel, people: Sequence[Respondent],
                     rules: CampaignRules) -> CampaignAnalysis:
    """Distribution, spread and split flags per question and per sub-dimension of the submitted answers."""
    questions = {q.id: question_spread(q, model, people, rules) for q in instrument.questions}
    subs = {}
    for sub in instrument.subdimensions:
        values = [p.result.subdimensions[sub.id].score for p in people if p.result.subdimensions[sub.id].score is not None]
        spread = max(values) - min(values) if len(values) >= 2 else None
        scored_split = any(questions[q].is_split and model.rule(q).is_scored for q in sub.question_ids)
        is_split = len(people) >= rules.min_respondents and (scored_split or (spread is not None and spread >= rules.subdimension_spread_points))
        subs[sub.id] = SubdimensionSpread(sub.id, len(values), min(values) if values else None,
                                          statistics.median(values) if values else None, max(values) if values else None,
                                          spread, is_split)
    professions = Counter(_profession_label(rules, p.identity.profession) for p in people)
    return CampaignAnalysis(
        n_respondents=len(people), professions=dict(professions), questions=questions, subdimensions=subs,
        split_question_ids=tuple(q for q, s in questions.items() if s.is_split),
        split_subdimension_ids=tuple(s for s, v in subs.items() if v.is_split),
    )


def subdimension_spread_table(analysis: CampaignAnalysis, instrument: Instrument) -> pd.DataFrame:
    """One row per sub-dimension: respondents' lowest, median and highest scores, spread and flag (French)."""
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}".replace(".", ",")

    rows = []
    for sub in instrument.subdimensions:
        s = analysis.subdimensions[sub.id]
        rows.append({"Dimension": instrument.dimension(sub.dimension).label, "Sous-dimension": sub.label,
                     "Répondants notés": s.n_scored, "Plus bas": fmt(s.low), "Médian": fmt(s.median), "Plus haut": fmt(s.high),
                     "Écart": fmt(s.spread), "Avis partagés": "oui" if s.is_split else ""})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Consensus


def _lower_median(values: Sequence[Any]) -> Any:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def suggest_consensus(instrument: Instrument, model: ScoringModel, people: Sequence[Respondent]) -> dict[str, Any]:
    """The coordinator's starting point: for a scored single choice, the median respondent's answer (the
    lower one when the count is even: a consensus should not claim more than the group); otherwise the most
    frequent answer; check boxes ticked by at least half of those who answered; numbers: the median."""
    out: dict[str, Any] = {}
    for q in instrument.questions:
        qid = q.id
        given = [p for p in people if is_answered(q, p.answers.get(qid))]
        if not given:
            continue
        values = [p.answers[qid] for p in given]
        rule = model.rule(qid)
        if q.kind == "single" and rule.is_scored and rule.points:
            ranked = sorted((rule.points.get(v) if rule.points.get(v) is not None else -1, q.option_ids.index(v), v)
                             for v in values)
            out[qid] = ranked[(len(ranked) - 1) // 2][2]
        elif q.kind in ("single", "date"):
            counts = Counter(values)
            top = max(counts.values())
            out[qid] = next(v for v in (q.option_ids if q.kind == "single" else sorted(counts)) if counts.get(v) == top)
        elif q.kind == "number":
            out[qid] = int(_lower_median([int(v) for v in values]))
        elif q.kind == "multiple":
            ticks = Counter(o for v in values for o in dict.fromkeys(v))
            chosen = [o for o in q.option_ids if ticks[o] * 2 >= len(values)]
            exclusive = [o for o in chosen if o in q.exclusive_option_ids]
            others = [o for o in chosen if o not in q.exclusive_option_ids]
            if others and exclusive:
                chosen = others if sum(ticks[o] for o in others) >= sum(ticks[o] for o in exclusive) else exclusive[:1]
            elif exclusive:
                chosen = exclusive[:1]
            if chosen or q.empty_answer == "none_ticked":
                out[qid] = chosen
        elif q.kind == "per_role_text":
            roles = {}
            for role in q.role_ids:
                texts = [str(v.get(role)).strip() for v in values if isinstance(v, Mapping) and str(v.get(role) or "").strip()]
                if texts:
                    roles[role] = Counter(texts).most_common(1)[0][0]
            if roles:
                out[qid] = roles
        text_option = q.text_option_id
        chosen_value = out.get(qid)
        if text_option and (chosen_value == text_option or (isinstance(chosen_value, list) and text_option in chosen_value)):
            texts = [str(p.answers.get(qid + OTHER_SUFFIX)).strip() for p in given if str(p.answers.get(qid + OTHER_SUFFIX) or "").strip()]
            if texts:
                out[qid + OTHER_SUFFIX] = Counter(texts).most_common(1)[0][0]
        for precision in q.precisions:
            if qid not in out:
                continue
            given_p = [p.answers.get(precision.key) for p in given if p.answers.get(precision.key) not in (None, [], "")]
            if precision.kind == "done_subset" and isinstance(out[qid], list):
                done = []
                for option in out[qid]:
                    tickers = [p for p in given if option in (p.answers.get(qid) or [])]
                    marked = sum(option in (p.answers.get(precision.key) or []) for p in tickers)
                    if tickers and marked * 2 > len(tickers):  # most of those who ticked it say it is achieved
                        done.append(option)
                if done:
                    out[precision.key] = done
            elif precision.kind == "number" and given_p:
                out[precision.key] = int(_lower_median([int(v) for v in given_p]))
    cleaned = drop_non_applicable(instrument, out)
    # a member count outside the band retained is dropped rather than contradicting it
    bad = {e.key for e in validate_answers(instrument, cleaned) if e.key in instrument.precision_keys}
    return {k: v for k, v in cleaned.items() if k not in bad}


def consensus_captions(instrument: Instrument, analysis: CampaignAnalysis) -> dict[str, str]:
    """``{question: French one-line distribution}`` shown under each consensus widget (no names)."""
    return {qid: ("⚠ " if s.is_split else "") + s.summary for qid, s in analysis.questions.items() if s.n_answered}


def answer_table(instrument: Instrument, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(question id, answer text) of every answered question (exports)."""
    return [(q.id, answer_text(q, answers)) for q in instrument.questions if is_answered(q, answers.get(q.id))]


# --------------------------------------------------------------------------------------------------
# Improvement plan


@dataclass(frozen=True)
class ActionDraft:
    subdimension_id: str
    question_id: str | None
    origin: str  # faible, avis_partages
    title: str
    means: str
    reason: str  # French: why it is suggested


def suggested_actions(instrument: Instrument, result: ScoreResult, analysis: CampaignAnalysis | None,
                      rules: CampaignRules, existing: Sequence[Action] = ()) -> list[ActionDraft]:
    """Actions to pre-fill the plan: the weakest scored sub-dimensions with the thesis's advice, then the
    scored questions where members split. Sub-dimensions or questions that already have an action are skipped."""
    covered_subs = {a.subdimension_id for a in existing if a.origin == "faible"}
    covered_questions = {a.question_id for a in existing if a.question_id}
    drafts = []
    for w in weakest_subdimensions(result, instrument, rules.weakest_count):
        if w.subdimension_id in covered_subs:
            continue
        score = f"{w.score:.1f}".replace(".", ",")
        drafts.append(ActionDraft(w.subdimension_id, None, "faible", rules.weak_title.format(label=w.label),
                                  f"{w.advice} (thèse, {w.section})", f"Sous-dimension parmi les plus faibles : {score}/100."))
    if analysis is not None:
        for qid in analysis.split_question_ids:
            if qid in covered_questions:
                continue
            q = instrument.question(qid)
            drafts.append(ActionDraft(q.subdimension, qid, "avis_partages", rules.split_title.format(question=f"Q{q.number}"),
                                      rules.split_means, analysis.questions[qid].summary))
    return drafts


def plan_follow_up(actions: Sequence[Action], before: ScoreResult | None, after: ScoreResult | None,
                   instrument: Instrument, rules: CampaignRules, stable_points: float = 2.0) -> pd.DataFrame:
    """What was planned against what moved: each action of the previous campaign with its status and its
    sub-dimension's score before and after (both scored with the same model version by the caller)."""
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}".replace(".", ",")

    rows = []
    for a in actions:
        old = before.subdimensions[a.subdimension_id].score if before and a.subdimension_id in before.subdimensions else None
        new = after.subdimensions[a.subdimension_id].score if after and a.subdimension_id in after.subdimensions else None
        if old is None or new is None:
            move = "non comparable"
        else:
            diff = new - old
            move = "stable" if abs(diff) <= stable_points else ("en hausse" if diff > 0 else "en baisse")
        rows.append({
            "Action": a.title, "Responsable": a.owner, "Échéance": a.due_date.strftime("%d/%m/%Y") if a.due_date else "",
            "Statut": rules.statuses.get(a.status, a.status), "Sous-dimension": instrument.subdimension(a.subdimension_id).label,
            "Score avant": fmt(old), "Score après": fmt(new),
            "Écart": "—" if old is None or new is None else (("+" if new - old > 0 else "") + fmt(new - old)), "Évolution": move,
        })
    return pd.DataFrame(rows, columns=["Action", "Responsable", "Échéance", "Statut", "Sous-dimension", "Score avant",
                                       "Score après", "Écart", "Évolution"])


# --------------------------------------------------------------------------------------------------
# What the campaign page shows, assembled once


@dataclass(frozen=True)
class CampaignView:
    campaign: Campaign
    people: tuple[Respondent, ...]  # members whose answers are submitted
    identities: dict[str, Identity]  # every member of the CPTS by id
    n_drafts: int  # members who saved answers without submitting them
    analysis: CampaignAnalysis
    proposal: dict[str, Any]  # the consensus proposal computed from the submitted answers
    consensus_answers: dict[str, Any]  # the saved consensus, else the proposal

    @property
    def coordinator(self) -> Identity | None:
        return self.identities.get(self.campaign.coordinator_identity_id)


def campaign_view(instrument: Instrument, model: ScoringModel, campaign: Campaign, responses: Sequence[Response],
                  identities: Sequence[Identity], rules: CampaignRules) -> CampaignView:
    by_id = {i.identity_id: i for i in identities}
    submitted = [(by_id[r.identity_id], r.answers) for r in responses if r.status == "submitted" and r.identity_id in by_id]
    people = respondents(instrument, model, submitted)
    analysis = analyse_campaign(instrument, model, people, rules)
    proposal = suggest_consensus(instrument, model, people) if people else {}
    return CampaignView(campaign, tuple(people), by_id, sum(r.status == "draft" for r in responses), analysis, proposal,
                        dict(campaign.consensus) if campaign.consensus is not None else dict(proposal))


def respondents_table(view: CampaignView, rules: CampaignRules) -> pd.DataFrame:
    """Who answered (names are the members' own, shown to the CPTS's board; never in regional statistics)."""
    rows = []
    for p in view.people:
        r = p.result
        rows.append({"Répondant": p.identity.display_name, "Profession": _profession_label(rules, p.identity.profession),
                     "Rôle dans la CPTS": rules.roles.get(p.identity.cpts_role, p.identity.cpts_role),
                     "Score global (ses réponses)": "—" if r.overall is None else f"{r.overall:.1f}".replace(".", ","),
                     "Complétude (%)": f"{r.completeness_pct:.0f}"})
    return pd.DataFrame(rows, columns=["Répondant", "Profession", "Rôle dans la CPTS", "Score global (ses réponses)",
                                       "Complétude (%)"])
