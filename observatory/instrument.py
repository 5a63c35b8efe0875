"""The self-assessment instrument and its scoring model, loaded from versioned JSON files.

``data/instrument/questionnaire_v{N}.json`` holds the thesis's 42 questions (Annexe 4, exact French
wording), their 3 dimensions and 19 sub-dimensions (Tableau 8), help texts drawn from section 4.3 and
each sub-dimension's cell in the Figure 6 matrix. ``data/instrument/scoring_v{N}.json`` holds the
project's scoring model: which questions are scored or only descriptive, points per option, rules for
check-box questions, aggregation, maturity bands, each with a French rationale.

Both are loaded *by version*: a submitted assessment keeps the versions it was scored with, so a new
``scoring_v2.json`` never changes old results. Loading validates the file's internal consistency and
its consistency with the instrument; any problem raises :class:`InstrumentError` naming the file and the
element at fault (French message, since a page may show it).

The loaded objects are frozen dataclasses (cached per version); ``raw`` returns a fresh copy of the JSON
so the "Méthode" page can render it item by item.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from observatory.config import DATA_DIR

INSTRUMENT_DIR = DATA_DIR / "instrument"

QUESTION_KINDS = ("single", "multiple", "date", "number", "per_role_text")
DIMENSION_IDS = ("structure", "processus", "resultats")
MATRIX_COLUMNS = ("externes", "internes", "environnementales")
RULES = ("ordinal", "yes_no", "share", "best_of", "relative_members", "distinct_professions")
ROLES = ("scored", "descriptive", "context")
PRECISION_KINDS = ("done_subset", "number")
# How a model turns question points into sub-dimension, dimension and overall scores:
# v1 « mean_of_means » (sub-dimension = weighted mean of its questions, dimension = mean of its
# sub-dimensions, overall = mean of the three dimensions); v2 « question_weights » (every scored question
# carries a published weight; each level is the weighted mean of its answered questions).
AGGREGATIONS = ("mean_of_means", "question_weights")

_QUESTIONNAIRE_RE = re.compile(r"^questionnaire_v(\d+)\.json$")
_SCORING_RE = re.compile(r"^scoring_v(\d+)\.json$")


class InstrumentError(ValueError):
    """A questionnaire or scoring file is missing or inconsistent (message in French)."""


# --------------------------------------------------------------------------------------------------
# Instrument


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    is_exclusive: bool = False
    allows_text: bool = False
    wording_note: str | None = None


@dataclass(frozen=True)
class Role:
    id: str
    label: str


@dataclass(frozen=True)
class Precision:
    """A precision added by the Observatoire to a question of the thesis (questionnaire v2 onwards).

    ``done_subset``: among the ticked options, those already achieved (answers key ``Q3_done``: a list);
    ``number``: a non-negative integer (``Q12_territory``); ``option_ranges`` bounds it by the option chosen.
    """

    key: str
    kind: str
    label: str
    help_text: str
    section: str
    option_ranges: Mapping[str, tuple[int, int | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """The question applies only when ``question`` (a single-choice question) has one of ``options``."""

    question: str
    options: frozenset[str]
    when_unanswered: str  # "hidden" or "shown"
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    number: int
    dimension: str
    subdimension: str
    kind: str
    text: str
    help_text: str
    help_section: str
    options: tuple[Option, ...] = ()
    roles: tuple[Role, ...] = ()
    empty_answer: str | None = None  # multiple only: "unanswered" or "none_ticked"
    condition: Condition | None = None
    min_value: int | None = None
    annex_prefix: str | None = None
    annex_heading: str | None = None
    wording_note: str | None = None
    precisions: tuple[Precision, ...] = ()

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    def option(self, option_id: str) -> Option | None:
        for o in self.options:
            if o.id == option_id:
                return o
        return None

    @property
    def exclusive_option_ids(self) -> frozenset[str]:
        return frozenset(o.id for o in self.options if o.is_exclusive)

    @property
    def text_option_id(self) -> str | None:
        """The option that carries a free-text precision (key ``Qn_other`` in answers), if any."""
        for o in self.options:
            if o.allows_text:
                return o.id
        return None

    @property
    def role_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.roles)

    def precision(self, key: str) -> Precision | None:
        for p in self.precisions:
            if p.key == key:
                return p
        return None


@dataclass(frozen=True)
class Subdimension:
    id: str
    label: str
    dimension: str
    question_ids: tuple[str, ...]
    description: str
    what_matters: str
    what_matters_section: str
    matrix_row: str
    matrix_column: str
    matrix_elements: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    description: str
    question_count: int
    subdimension_ids: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    version: str
    title: str
    dimensions: tuple[Dimension, ...]
    subdimensions: tuple[Subdimension, ...]
    questions: tuple[Question, ...]
    source_path: str
    _raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # Older questionnaire versions whose answers are valid here as they are (v2 = v1 + precisions).
    compatible_answers_from: tuple[str, ...] = ()

    @property
    def raw(self) -> dict[str, Any]:
        """A fresh copy of the JSON document (safe to mutate)."""
        return copy.deepcopy(dict(self._raw))

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    @property
    def precision_keys(self) -> dict[str, str]:
        """``{precision key: question id}`` for every precision of the questionnaire."""
        return {p.key: q.id for q in self.questions for p in q.precisions}

    def accepts_answers_of(self, instrument_version: str) -> bool:
        """Whether answers given to questionnaire ``instrument_version`` are valid answers here."""
        return str(instrument_version) == self.version or str(instrument_version) in self.compatible_answers_from

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"question inconnue : {question_id}")

    def subdimension(self, subdimension_id: str) -> Subdimension:
        for s in self.subdimensions:
            if s.id == subdimension_id:
                return s
        raise KeyError(f"sous-dimension inconnue : {subdimension_id}")

    def dimension(self, dimension_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dimension_id:
                return d
        raise KeyError(f"dimension inconnue : {dimension_id}")


# --------------------------------------------------------------------------------------------------
# Scoring model


@dataclass(frozen=True)
class QuestionRule:
    question_id: str
    role: str  # "scored", "descriptive" or "context" (a constraint the CPTS undergoes: shown, never scored)
    rationale: str
    rule: str | None = None  # one of RULES when scored
    weight: float = 1.0
    points: Mapping[str, float | None] = field(default_factory=dict)  # ordinal / yes_no / best_of
    relevant: tuple[str, ...] = ()  # share
    saturation: float | None = None  # share
    item_weights: Mapping[str, float] = field(default_factory=dict)  # share (default 1 per item)
    done_key: str | None = None  # share: precision listing the achieved items (others count as planned)
    planned_factor: float = 1.0  # share with done_key: an item only planned counts this share of its weight
    members_key: str | None = None  # relative_members: precision with the exact number of members
    territory_key: str | None = None  # relative_members: precision with the territory's professionals
    option_members: Mapping[str, float] = field(default_factory=dict)  # relative_members: members per option
    full_share: float | None = None  # relative_members: members / professionals giving full marks
    profession_points: Mapping[int, float] = field(default_factory=dict)  # distinct_professions: points by count
    professions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # distinct_professions: keywords
    min_roles: int = 2  # distinct_professions: fewer filled roles -> not scored (cannot judge a mix)
    changes: str | None = None  # what changed since the previous model version (French), if anything

    @property
    def is_scored(self) -> bool:
        return self.role == "scored"

    def item_weight(self, option_id: str) -> float:
        return float(self.item_weights.get(option_id, 1.0))


@dataclass(frozen=True)
class MaturityBand:
    id: str
    label: str
    min: float
    max_exclusive: float | None
    description: str


@dataclass(frozen=True)
class ScoringModel:
    version: str
    instrument_version: str
    title: str
    rules: Mapping[str, QuestionRule]
    bands: tuple[MaturityBand, ...]
    min_scored_completeness_pct: float
    require_all_dimensions: bool
    undetermined_id: str
    undetermined_label: str
    trend_stable_band_points: float
    trend_labels: Mapping[str, str]
    min_peers: int
    source_path: str
    _raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    aggregation: str = "mean_of_means"
    # question_weights only: share of the applicable scored weight that must be answered for an overall
    # score (and a level) to exist; this bounds what one question can move (see scoring.effective_weights).
    min_scored_weight_pct: float | None = None
    overall_rule: str = ""  # French sentence: how the overall score is computed (pages, report)
    max_question_share_pct: float | None = None  # the published bound on effective weights (tests check it)

    @property
    def raw(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self._raw))

    def rule(self, question_id: str) -> QuestionRule:
        return self.rules[question_id]

    @property
    def scored_question_ids(self) -> tuple[str, ...]:
        return tuple(qid for qid, r in self.rules.items() if r.is_scored)

    def band_for(self, score: float) -> MaturityBand:
        chosen = self.bands[0]
        for band in self.bands:
            if score >= band.min:
                chosen = band
        return chosen


# --------------------------------------------------------------------------------------------------
# Loading


def _versions_in(directory: Path, pattern: re.Pattern[str]) -> list[int]:
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = pattern.match(p.name)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def latest_scoring_version(directory: Path | None = None) -> str:
    """The highest N among ``scoring_vN.json`` files (as a string, e.g. ``"1"``)."""
    versions = _versions_in(Path(directory or INSTRUMENT_DIR), _SCORING_RE)
    if not versions:
        raise InstrumentError(f"Aucun fichier scoring_vN.json dans {directory or INSTRUMENT_DIR}.")
    return str(versions[-1])


def scoring_versions(directory: Path | None = None) -> list[str]:
    """Every available scoring model version (``scoring_vN.json``), oldest first, as strings."""
    return [str(v) for v in _versions_in(Path(directory or INSTRUMENT_DIR), _SCORING_RE)]


def latest_instrument_version(directory: Path | None = None) -> str:
    versions = _versions_in(Path(directory or INSTRUMENT_DIR), _QUESTIONNAIRE_RE)
    if not versions:
        raise InstrumentError(f"Aucun fichier questionnaire_vN.json dans {directory or INSTRUMENT_DIR}.")
    return str(versions[-1])


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InstrumentError(f"Fichier introuvable : {path}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstrumentError(f"{path.name} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno}) : {exc.msg}.") from exc


def load_instrument(version: str = "1", directory: Path | None = None) -> Instrument:
    """Load and validate ``questionnaire_v{version}.json`` (cached per version and folder)."""
    return _load_instrument_cached(str(version), str(Path(directory or INSTRUMENT_DIR).resolve()))


def load_scoring_model(version: str = "1", directory: Path | None = None) -> ScoringModel:
    """Load ``scoring_v{version}.json`` and validate it against the instrument version it names."""
    return _load_scoring_cached(str(version), str(Path(directory or INSTRUMENT_DIR).resolve()))


@lru_cache(maxsize=16)
def _load_instrument_cached(version: str, directory: str) -> Instrument:
    path = Path(directory) / f"questionnaire_v{version}.json"
    return parse_instrument(_read_json(path), source=path.name, expected_version=version)


@lru_cache(maxsize=16)
def _load_scoring_cached(version: str, directory: str) -> ScoringModel:
    path = Path(directory) / f"scoring_v{version}.json"
    doc = _read_json(path)
    instrument_version = str(doc.get("instrument_version", ""))
    if not instrument_version:
        raise InstrumentError(f"{path.name} : champ « instrument_version » manquant.")
    instrument = _load_instrument_cached(instrument_version, directory)
    return parse_scoring_model(doc, instrument, source=path.name, expected_version=version)


# --------------------------------------------------------------------------------------------------
# Parsing + validation (public so tests can feed altered documents)


def parse_instrument(doc: Mapping[str, Any], source: str = "questionnaire", expected_version: str | None = None) -> Instrument:
    problems: list[str] = []
    version = str(doc.get("instrument_version", ""))
    if not version:
        problems.append("champ « instrument_version » manquant")
    elif expected_version is not None and version != str(expected_version):
        problems.append(f"instrument_version « {version} » différent de la version du nom de fichier « {expected_version} »")

    dims_raw = doc.get("dimensions") or []
    subs_raw = doc.get("subdimensions") or []
    qs_raw = doc.get("questions") or []
    dim_ids = [d.get("id") for d in dims_raw]
    if tuple(dim_ids) != DIMENSION_IDS:
        problems.append(f"dimensions attendues {list(DIMENSION_IDS)}, trouvées {dim_ids}")

    subdimensions: list[Subdimension] = []
    seen_sub: set[str] = set()
    for i, s in enumerate(subs_raw):
        where = f"subdimensions[{i}] ({s.get('id')})"
        sid = s.get("id")
        if not sid or sid in seen_sub:
            problems.append(f"{where} : identifiant absent ou en double")
            continue
        seen_sub.add(sid)
        if s.get("dimension") not in DIMENSION_IDS:
            problems.append(f"{where} : dimension inconnue « {s.get('dimension')} »")
        cell = s.get("matrix_cell") or {}
        if cell.get("row") != s.get("dimension") or cell.get("column") not in MATRIX_COLUMNS or not cell.get("elements"):
            problems.append(f"{where} : case de matrice invalide {cell}")
        wm = s.get("what_matters") or {}
        for key, value in (("label", s.get("label")), ("description", s.get("description")), ("what_matters.text", wm.get("text")),
                           ("what_matters.section", wm.get("section"))):
            if not value:
                problems.append(f"{where} : « {key} » manquant")
        subdimensions.append(
            Subdimension(
                id=sid, label=s.get("label", ""), dimension=s.get("dimension", ""),
                question_ids=tuple(s.get("questions") or ()), description=s.get("description", ""),
                what_matters=wm.get("text", ""), what_matters_section=wm.get("section", ""),
                matrix_row=cell.get("row", ""), matrix_column=cell.get("column", ""),
                matrix_elements=tuple(cell.get("elements") or ()), note=s.get("note"),
            )
        )
    sub_by_id = {s.id: s for s in subdimensions}

    questions: list[Question] = []
    seen_q: set[str] = set()
    all_option_ids: set[str] = set()
    for i, q in enumerate(qs_raw):
        qid = q.get("id")
        where = f"questions[{i}] ({qid})"
        if qid in seen_q:
            problems.append(f"{where} : identifiant en double")
        seen_q.add(qid)
        if q.get("number") != i + 1 or qid != f"Q{i + 1}":
            problems.append(f"{where} : numérotation attendue Q{i + 1}")
        kind = q.get("kind")
        if kind not in QUESTION_KINDS:
            problems.append(f"{where} : type « {kind} » inconnu (attendu : {', '.join(QUESTION_KINDS)})")
        sub = sub_by_id.get(q.get("subdimension"))
        if sub is None:
            problems.append(f"{where} : sous-dimension inconnue « {q.get('subdimension')} »")
        elif q.get("dimension") != sub.dimension:
            problems.append(f"{where} : dimension « {q.get('dimension')} » différente de celle de sa sous-dimension « {sub.dimension} »")
        if not q.get("text"):
            problems.append(f"{where} : intitulé manquant")
        help_ = q.get("help") or {}
        if not help_.get("text") or not help_.get("section"):
            problems.append(f"{where} : texte d'aide ou section de la thèse manquant")

        options: list[Option] = []
        for j, o in enumerate(q.get("options") or []):
            oid = o.get("id", "")
            if not oid.startswith(f"q{q.get('number')}_"):
                problems.append(f"{where} : option « {oid} » doit commencer par « q{q.get('number')}_ »")
            if oid in all_option_ids:
                problems.append(f"{where} : option « {oid} » en double")
            all_option_ids.add(oid)
            if not o.get("label"):
                problems.append(f"{where} : option {j} sans libellé")
            options.append(Option(oid, o.get("label", ""), bool(o.get("exclusive")), bool(o.get("allows_text")), o.get("wording_note")))
        if kind in ("single", "multiple") and len(options) < 2:
            problems.append(f"{where} : une question à choix doit avoir au moins deux options")
        if kind not in ("single", "multiple") and options:
            problems.append(f"{where} : une question de type « {kind} » n'a pas d'options")
        if kind != "multiple" and any(o.is_exclusive for o in options):
            problems.append(f"{where} : option exclusive sur une question qui n'est pas à cases à cocher")
        if sum(o.allows_text for o in options) > 1:
            problems.append(f"{where} : une seule option peut porter une précision libre")
        empty_answer = q.get("empty_answer")
        if kind == "multiple":
            expected_empty = "unanswered" if any(o.is_exclusive for o in options) else "none_ticked"
            if empty_answer != expected_empty:
                problems.append(f"{where} : « empty_answer » doit valoir « {expected_empty} »")
        roles = tuple(Role(r.get("id", ""), r.get("label", "")) for r in q.get("roles") or [])
        if kind == "per_role_text" and (not roles or len({r.id for r in roles}) != len(roles)):
            problems.append(f"{where} : rôles absents ou en double")

        precisions: list[Precision] = []
        for j, pr in enumerate(q.get("precisions") or []):
            pkey, pkind = pr.get("key", ""), pr.get("kind")
            if not re.fullmatch(rf"Q{q.get('number')}_[a-z]+", pkey) or pkey.endswith("_other"):
                problems.append(f"{where} : précision {j} : clé « {pkey} » attendue sous la forme « Q{q.get('number')}_xxx »")
            if pkind not in PRECISION_KINDS:
                problems.append(f"{where} : précision « {pkey} » de type « {pkind} » inconnu ({', '.join(PRECISION_KINDS)})")
            if pkind == "done_subset" and kind != "multiple":
                problems.append(f"{where} : la précision « {pkey} » (réalisé / prévu) porte sur des cases à cocher")
            if not pr.get("label") or not pr.get("help"):
                problems.append(f"{where} : précision « {pkey} » sans libellé ou sans aide")
            ranges = {}
            for oid, bounds in (pr.get("option_ranges") or {}).items():
                if oid not in {o.id for o in options} or not isinstance(bounds, list) or len(bounds) != 2:
                    problems.append(f"{where} : précision « {pkey} » : borne invalide pour « {oid} »")
                    continue
                ranges[oid] = (int(bounds[0]), None if bounds[1] is None else int(bounds[1]))
            precisions.append(Precision(pkey, pkind or "", pr.get("label", ""), pr.get("help", ""), pr.get("section", ""), ranges))

        condition = None
        cond = q.get("condition")
        if cond:
            condition = Condition(
                question=cond.get("question", ""), options=frozenset(cond.get("options") or ()),
                when_unanswered=cond.get("when_unanswered", ""), label=cond.get("label", ""),
            )
            if condition.when_unanswered not in ("hidden", "shown"):
                problems.append(f"{where} : condition.when_unanswered doit valoir « hidden » ou « shown »")
            if cond.get("operator") != "in":
                problems.append(f"{where} : seul l'opérateur « in » est pris en charge")
        questions.append(
            Question(
                id=qid or "", number=q.get("number") or 0, dimension=q.get("dimension", ""), subdimension=q.get("subdimension", ""),
                kind=kind or "", text=q.get("text", ""), help_text=help_.get("text", ""), help_section=help_.get("section", ""),
                options=tuple(options), roles=roles, empty_answer=empty_answer, condition=condition,
                min_value=q.get("min_value"), annex_prefix=q.get("annex_prefix"), annex_heading=q.get("annex_heading"),
                wording_note=q.get("wording_note"), precisions=tuple(precisions),
            )
        )
    q_by_id = {q.id: q for q in questions}

    # Conditions must point to an earlier single-choice question and to its options.
    for q in questions:
        if q.condition is None:
            continue
        target = q_by_id.get(q.condition.question)
        if target is None or target.kind != "single" or target.number >= q.number:
            problems.append(f"{q.id} : la condition doit porter sur une question à choix unique antérieure ({q.condition.question})")
        elif not q.condition.options <= set(target.option_ids):
            problems.append(f"{q.id} : la condition cite des options inconnues de {target.id}")

    # Sub-dimension question lists must match the questions' own sub-dimension.
    for s in subdimensions:
        listed = list(s.question_ids)
        actual = [q.id for q in questions if q.subdimension == s.id]
        if listed != actual:
            problems.append(f"sous-dimension {s.id} : questions listées {listed} ≠ questions rattachées {actual}")
        if not actual:
            problems.append(f"sous-dimension {s.id} : aucune question")

    dimensions: list[Dimension] = []
    for d in dims_raw:
        sub_ids = tuple(s.id for s in subdimensions if s.dimension == d.get("id"))
        count = sum(1 for q in questions if q.dimension == d.get("id"))
        if d.get("question_count") != count:
            problems.append(f"dimension {d.get('id')} : question_count {d.get('question_count')} ≠ {count} questions rattachées")
        dimensions.append(Dimension(d.get("id", ""), d.get("label", ""), d.get("description", ""), count, sub_ids))

    compatible = tuple(str(v) for v in doc.get("compatible_answers_from") or ())
    if version in compatible:
        problems.append("compatible_answers_from ne doit pas citer la version elle-même")
    if problems:
        raise InstrumentError(f"{source} : questionnaire incohérent :\n- " + "\n- ".join(problems))
    return Instrument(
        version=version, title=doc.get("title", ""), dimensions=tuple(dimensions), subdimensions=tuple(subdimensions),
        questions=tuple(questions), source_path=source, _raw=copy.deepcopy(dict(doc)), compatible_answers_from=compatible,
    )


def parse_scoring_model(doc: Mapping[str, Any], instrument: Instrument, source: str = "scoring",
                        expected_version: str | None = None) -> ScoringModel:
    problems: list[str] = []
    version = str(doc.get("scoring_version", ""))
    if not version:
        problems.append("champ « scoring_version » manquant")
    elif expected_version is not None and version != str(expected_version):
        problems.append(f"scoring_version « {version} » différent de la version du nom de fichier « {expected_version} »")
    if str(doc.get("instrument_version")) != instrument.version:
        problems.append(f"instrument_version « {doc.get('instrument_version')} » ≠ questionnaire chargé « {instrument.version} »")

    rules: dict[str, QuestionRule] = {}
    raw_rules = doc.get("questions") or {}
    unknown = sorted(set(raw_rules) - set(instrument.question_ids))
    if unknown:
        problems.append(f"questions inconnues du questionnaire : {unknown}")
    for q in instrument.questions:
        r = raw_rules.get(q.id)
        where = f"questions.{q.id}"
        if r is None:
            problems.append(f"{where} : règle manquante (chaque question doit être notée ou descriptive)")
            continue
        role = r.get("role")
        changes = r.get("changes")
        if not r.get("rationale"):
            problems.append(f"{where} : justification (« rationale ») manquante")
        if role in ("descriptive", "context"):
            rules[q.id] = QuestionRule(q.id, role, r.get("rationale", ""), changes=changes)
            continue
        if role != "scored":
            problems.append(f"{where} : rôle « {role} » inconnu ({', '.join(ROLES)})")
            continue
        rule = r.get("rule")
        weight = r.get("weight", 1)
        if rule not in RULES:
            problems.append(f"{where} : règle « {rule} » inconnue (attendu : {', '.join(RULES)})")
            continue
        if not isinstance(weight, (int, float)) or weight <= 0:
            problems.append(f"{where} : poids invalide {weight!r}")
            weight = 1
        points = dict(r.get("points") or {})
        relevant = tuple(r.get("relevant") or ())
        saturation = r.get("saturation")
        item_weights = dict(r.get("item_weights") or {})
        options = set(q.option_ids)
        if rule in ("ordinal", "yes_no"):
            if q.kind != "single":
                problems.append(f"{where} : la règle « {rule} » s'applique à un choix unique")
            if set(points) != options:
                problems.append(f"{where} : points à donner pour chaque option (manquantes : {sorted(options - set(points))}, "
                                f"inconnues : {sorted(set(points) - options)})")
            if rule == "yes_no" and sorted(v for v in points.values() if v is not None) != [0, 100]:
                problems.append(f"{where} : une question Oui / Non vaut 100 ou 0")
        elif rule == "best_of":
            if q.kind != "multiple":
                problems.append(f"{where} : la règle « best_of » s'applique à des cases à cocher")
            if set(points) != options or any(v is None for v in points.values()):
                # a null here would let ticking one more box lower the score (excluded -> scored)
                problems.append(f"{where} : points (non nuls) à donner pour chaque option")
        elif rule == "relative_members":
            precision_keys = {p.key for p in q.precisions}
            if q.kind != "single" or not {r.get("members_key"), r.get("territory_key")} <= precision_keys:
                problems.append(f"{where} : la règle « relative_members » demande un choix unique et ses précisions "
                                "(nombre d'adhérents, professionnels du territoire)")
            if set(r.get("option_members") or {}) != options:
                problems.append(f"{where} : nombre d'adhérents retenu à donner pour chaque tranche")
            if not isinstance(r.get("full_share"), (int, float)) or not 0 < r.get("full_share") <= 1:
                problems.append(f"{where} : « full_share » doit être dans ]0, 1]")
        elif rule == "distinct_professions":
            if q.kind != "per_role_text":
                problems.append(f"{where} : la règle « distinct_professions » s'applique au texte par fonction")
            if not r.get("professions") or not r.get("profession_points"):
                problems.append(f"{where} : vocabulaire des professions ou points par nombre de professions manquants")
        elif rule == "share":
            if q.kind != "multiple":
                problems.append(f"{where} : la règle « share » s'applique à des cases à cocher")
            if not relevant or not set(relevant) <= options:
                problems.append(f"{where} : options pertinentes absentes ou inconnues")
            if set(relevant) & q.exclusive_option_ids:
                problems.append(f"{where} : une option exclusive ne peut pas être pertinente (elle vaut 0)")
            uncovered = options - set(relevant) - q.exclusive_option_ids
            if uncovered:
                problems.append(f"{where} : options ni pertinentes ni exclusives : {sorted(uncovered)}")
            if not set(item_weights) <= set(relevant) or any((not isinstance(w, (int, float))) or w <= 0 for w in item_weights.values()):
                problems.append(f"{where} : poids d'options invalides")
            total = sum(float(item_weights.get(o, 1.0)) for o in relevant)
            if not isinstance(saturation, (int, float)) or saturation <= 0 or saturation > total + 1e-9:
                problems.append(f"{where} : saturation {saturation!r} hors de ]0, {total:g}]")
            done_key = r.get("done_key")
            if done_key is not None:
                precision = q.precision(done_key)
                if precision is None or precision.kind != "done_subset":
                    problems.append(f"{where} : précision « {done_key} » (réalisé / prévu) absente du questionnaire")
                factor = r.get("planned_factor")
                if not isinstance(factor, (int, float)) or not 0 <= factor < 1:
                    problems.append(f"{where} : « planned_factor » (part d'une case seulement prévue) doit être dans [0, 1[")
        for oid, value in points.items():
            if value is not None and (not isinstance(value, (int, float)) or not 0 <= value <= 100):
                problems.append(f"{where} : points de « {oid} » hors de [0, 100]")
        rules[q.id] = QuestionRule(
            q.id, "scored", r.get("rationale", ""), rule=rule, weight=float(weight), points=points, relevant=relevant,
            saturation=float(saturation) if isinstance(saturation, (int, float)) else None, item_weights=item_weights,
            done_key=r.get("done_key"), planned_factor=float(r.get("planned_factor", 1.0)),
            members_key=r.get("members_key"), territory_key=r.get("territory_key"),
            option_members={k: float(v) for k, v in (r.get("option_members") or {}).items()},
            full_share=float(r["full_share"]) if isinstance(r.get("full_share"), (int, float)) else None,
            profession_points={int(k): float(v) for k, v in (r.get("profession_points") or {}).items()},
            professions={k: tuple(v) for k, v in (r.get("professions") or {}).items()},
            min_roles=int(r.get("min_roles", 2)), changes=changes,
        )

    levels = doc.get("maturity_levels") or {}
    bands: list[MaturityBand] = []
    for _i, b in enumerate(levels.get("bands") or []):
        bands.append(MaturityBand(b.get("id", ""), b.get("label", ""), float(b.get("min", -1)),
                                  None if b.get("max_exclusive") is None else float(b["max_exclusive"]), b.get("description", "")))
    if not bands or bands[0].min != 0:
        problems.append("maturity_levels.bands : la première bande doit commencer à 0")
    for prev, nxt in zip(bands, bands[1:], strict=False):
        if prev.max_exclusive != nxt.min or nxt.min <= prev.min:
            problems.append(f"maturity_levels.bands : bandes non contiguës entre « {prev.label} » et « {nxt.label} »")
    if bands and bands[-1].max_exclusive is not None:
        problems.append("maturity_levels.bands : la dernière bande doit être ouverte (max_exclusive null)")
    min_pct = levels.get("min_scored_completeness_pct")
    if not isinstance(min_pct, (int, float)) or not 0 <= min_pct <= 100:
        problems.append("maturity_levels.min_scored_completeness_pct doit être entre 0 et 100")
        min_pct = 0
    undetermined = levels.get("undetermined") or {}
    trend = doc.get("trend") or {}
    labels = trend.get("labels") or {}
    if set(labels) != {"up", "down", "stable", "not_comparable"}:
        problems.append("trend.labels : attendus up, down, stable, not_comparable")
    peers = doc.get("peers") or {}
    aggregation_doc = doc.get("aggregation") or {}
    aggregation = aggregation_doc.get("method", "mean_of_means")
    if aggregation not in AGGREGATIONS:
        problems.append(f"aggregation.method « {aggregation} » inconnue ({', '.join(AGGREGATIONS)})")
    min_weight = levels.get("min_scored_weight_pct")
    if aggregation == "question_weights" and (not isinstance(min_weight, (int, float)) or not 0 < min_weight <= 100):
        problems.append("maturity_levels.min_scored_weight_pct (part du poids noté à renseigner) doit être dans ]0, 100]")
    max_share = aggregation_doc.get("max_question_share_pct")

    if problems:
        raise InstrumentError(f"{source} : modèle de notation incohérent :\n- " + "\n- ".join(problems))
    return ScoringModel(
        version=version, instrument_version=instrument.version, title=doc.get("title", ""), rules=rules, bands=tuple(bands),
        min_scored_completeness_pct=float(min_pct), require_all_dimensions=bool(levels.get("require_all_dimensions", True)),
        undetermined_id=undetermined.get("id", "non_determine"), undetermined_label=undetermined.get("label", "Non déterminé"),
        trend_stable_band_points=float(trend.get("stable_band_points", 0)), trend_labels=dict(labels),
        min_peers=int(peers.get("min_peers", 5)), source_path=source, _raw=copy.deepcopy(dict(doc)),
        aggregation=aggregation, min_scored_weight_pct=float(min_weight) if isinstance(min_weight, (int, float)) else None,
        overall_rule=aggregation_doc.get("overall_description", ""),
        max_question_share_pct=float(max_share) if isinstance(max_share, (int, float)) else None,
    )
