"""Streamlit pieces of the « Auto-évaluation » page: the questionnaire widgets and the page's own state.

The page state (one :class:`EditState` per CPTS opened in the session) lives under a single session key,
owned by this module. Widgets are keyed by CPTS and a *generation* number: reloading answers from the
store (« Recharger », a new CPTS) bumps the generation, so fresh widgets start from the loaded answers
instead of Streamlit's remembered values (no session-state writes to widgets that already exist).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st

from observatory.instrument import Instrument, Precision, Question, ScoringModel
from observatory.safe_text import markdown_literal
from observatory.scoring import OTHER_SUFFIX, applicable_questions, validate_answers
from observatory.self_assessment import SourceNote, StartingPoint

_STATES_KEY = "auto_evaluation_edit_states"
_SHOWN_KEY = "auto_evaluation_shown_cpts"  # the CPTS whose questionnaire the previous run drew
NO_ANSWER = "__sans_reponse__"  # radio pseudo-option: lets the user withdraw a single-choice answer
NONE_TICKED = "__aucune__"  # check-box pseudo-option: « none of these », for questions without an exclusive option
NO_ANSWER_LABEL = "Sans réponse"
NONE_TICKED_LABEL = "Aucune de ces propositions"


@dataclass
class EditState:
    """What this session is editing for one CPTS."""

    cpts_id: str
    generation: int
    draft_revision: int | None  # revision of the stored draft this session loaded or last saved
    answers: dict[str, Any]  # the answers the widgets start from
    kind: str
    origin: str
    conflict: str | None = None  # French message of a ConcurrentEditError, until resolved
    notice: str | None = None  # one-shot success message
    saved: dict[str, Any] = field(default_factory=dict)  # answers as last loaded or saved (unsaved-changes hint)
    last_entered: dict[str, Any] | None = None  # answers the widgets held at the last run that drew them

    @property
    def has_unsaved_changes(self) -> bool:
        return self.last_entered is not None and self.last_entered != self.saved


def edit_state(cpts_id: str, load: Callable[[], StartingPoint]) -> EditState:
    """The session's edit state for ``cpts_id``, loading it from the store on first use.

    Streamlit forgets the values of widgets that a run does not draw: when the user comes back to a CPTS
    after looking at another one, its questionnaire restarts (new widget generation) from the answers it
    held when last drawn, so unsaved answers are not lost within the session."""
    states: dict[str, EditState] = st.session_state.setdefault(_STATES_KEY, {})
    if cpts_id not in states:
        states[cpts_id] = _from_start(cpts_id, load(), generation=0)
    state = states[cpts_id]
    if st.session_state.get(_SHOWN_KEY) != cpts_id and state.last_entered is not None:
        state.answers = dict(state.last_entered)
        state.generation += 1
    st.session_state[_SHOWN_KEY] = cpts_id
    return state


def forget_shown() -> None:
    """Call when a run draws no questionnaire (no CPTS chosen)."""
    st.session_state[_SHOWN_KEY] = None


def remember_entered(state: EditState, answers: dict[str, Any]) -> None:
    state.last_entered = dict(answers)


def reload_state(cpts_id: str, start: StartingPoint, notice: str | None = None) -> EditState:
    """Replace the edit state by a fresh load (new widget generation)."""
    states: dict[str, EditState] = st.session_state.setdefault(_STATES_KEY, {})
    old = states.get(cpts_id)
    states[cpts_id] = _from_start(cpts_id, start, generation=(old.generation + 1) if old else 0)
    states[cpts_id].notice = notice
    return states[cpts_id]


def _from_start(cpts_id: str, start: StartingPoint, generation: int) -> EditState:
    return EditState(cpts_id, generation, start.draft_revision, dict(start.answers), start.kind, start.origin,
                     saved=dict(start.answers))


@dataclass
class QuestionnaireInput:
    answers: dict[str, Any]  # what the widgets hold, to save (an invalid combination is kept, never lost)
    excluded: set[str] = field(default_factory=set)  # questions whose input is contradictory: not scored
    problems: dict[str, list[str]] = field(default_factory=dict)  # question id -> French messages

    @property
    def scoring_answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.answers.items() if k.split("_", 1)[0] not in self.excluded}

    @property
    def messages(self) -> list[str]:
        return [m for msgs in self.problems.values() for m in msgs]


def widget_key(state: EditState, suffix: str) -> str:
    """Key of a questionnaire widget (public so tests can drive a given question)."""
    return f"ae|{state.cpts_id}|{state.generation}|{suffix}"


_ROLE_HELP = {
    "scored": "Question notée : voir la page « Méthode » pour ses points et son poids.",
    "descriptive": "Question descriptive : elle compte dans la complétude, jamais dans les scores.",
    "context": "Question de contexte : elle décrit ce que la CPTS subit ou un choix que la thèse ne hiérarchise pas ; "
               "elle compte dans la complétude, jamais dans les scores.",
}


def _help(question: Question, role: str) -> str:
    return f"{question.help_text}\n\n(Thèse, section {question.help_section}.) {_ROLE_HELP[role]}"


def _label(question: Question) -> str:
    prefix = f"{question.annex_prefix} " if question.annex_prefix else ""
    return f"**Q{question.number}.** {prefix}{question.text}"


def _single(question: Question, initial: Any, key: str, help_text: str) -> str | None:
    labels = {o.id: o.label for o in question.options} | {NO_ANSWER: NO_ANSWER_LABEL}
    options = [*question.option_ids, NO_ANSWER]
    index = options.index(initial) if isinstance(initial, str) and initial in question.option_ids else None
    value = st.radio(_label(question), options, index=index, format_func=labels.get, key=key, help=help_text)
    return None if value in (None, NO_ANSWER) else value


def _multiple(question: Question, initial: Any, key: str, help_text: str) -> tuple[list[str] | None, str | None]:
    """(answer, problem). ``None``: unanswered. For questions without an exclusive option, the pseudo-option
    « Aucune de ces propositions » answers ``[]``; an empty selection is « not answered yet »."""
    labels = {o.id: o.label for o in question.options} | {NONE_TICKED: NONE_TICKED_LABEL}
    with_none = question.empty_answer == "none_ticked"
    options = [*question.option_ids, *([NONE_TICKED] if with_none else [])]
    if isinstance(initial, list):
        default = [v for v in initial if v in question.option_ids] or ([NONE_TICKED] if with_none and initial == [] else [])
    else:
        default = []
    value = st.multiselect(_label(question), options, default=default, format_func=labels.get, key=key, help=help_text,
                           placeholder="Cochez une ou plusieurs réponses")
    if not value:
        return None, None
    if NONE_TICKED in value:
        others = [v for v in value if v != NONE_TICKED]
        if not others:
            return [], None
        listed = ", ".join(f"« {labels[v]} »" for v in others)
        return others, f"{question.id} : « {NONE_TICKED_LABEL} » exclut toute autre réponse ; elle est cochée avec {listed}."
    return list(value), None


def render_question(question: Question, model: ScoringModel, initial: Mapping[str, Any], state: EditState,
                    note: SourceNote | None, notes: Mapping[str, SourceNote] | None = None) -> tuple[dict[str, Any], str | None]:
    """Draw one question; returns its answer fragment (``{Qn: value, Qn_other: text}``) and a problem of
    the input itself (contradictory pseudo-option), if any."""
    qid = question.id
    help_text = _help(question, model.rule(qid).role)
    key = widget_key(state, qid)
    value = initial.get(qid)
    fragment: dict[str, Any] = {}
    problem = None
    if question.kind == "single":
        answer = _single(question, value, key, help_text)
    elif question.kind == "multiple":
        answer, problem = _multiple(question, value, key, help_text)
    elif question.kind == "date":
        text = st.text_input(_label(question), value=value if isinstance(value, str) else "", placeholder="MM/AAAA",
                             max_chars=7, key=key, help=help_text)
        answer = text.strip() or None
    elif question.kind == "number":
        number = st.number_input(_label(question), min_value=question.min_value or 0,
                                 value=int(value) if isinstance(value, (int, float)) else None, step=1, format="%d",
                                 key=key, help=help_text, placeholder="Nombre")
        answer = None if number is None else int(number)
    else:  # per_role_text
        st.markdown(_label(question), help=help_text)
        given = value if isinstance(value, Mapping) else {}
        columns = st.columns(len(question.roles))
        roles = {}
        for column, role in zip(columns, question.roles, strict=True):
            with column:
                text = st.text_input(role.label, value=str(given.get(role.id) or ""), key=widget_key(state, f"{qid}|{role.id}"),
                                     placeholder="Profession")
            if text.strip():
                roles[role.id] = text.strip()
        answer = roles or None
    if answer is not None:
        fragment[qid] = answer
    text_option = question.text_option_id
    if text_option and answer is not None and (answer == text_option or (isinstance(answer, list) and text_option in answer)):
        other = st.text_input(f"Q{question.number} — précisez « {question.option(text_option).label} »",
                              value=str(initial.get(qid + OTHER_SUFFIX) or ""), key=widget_key(state, qid + OTHER_SUFFIX))
        if other.strip():
            fragment[qid + OTHER_SUFFIX] = other.strip()
    if isinstance(note, str):  # a computed caption (e.g. the campaign's distribution): shown as plain text
        st.caption(markdown_literal(note, max_length=1200))
    elif note is not None:
        st.caption(("Thèse — " if note.is_answered else "") + note.text)
    for precision in question.precisions:
        value = _precision(question, precision, answer, initial.get(precision.key), widget_key(state, precision.key))
        if value is not None:
            fragment[precision.key] = value
        precision_note = notes.get(precision.key) if notes else None
        if isinstance(precision_note, SourceNote):
            st.caption(("Thèse — " if precision_note.is_answered else "") + precision_note.text)
    return fragment, problem


def _precision(question: Question, precision: Precision, answer: Any, initial: Any, key: str) -> Any:
    """One precision added by the Observatoire (questionnaire v2), drawn under its question only once the
    question has an answer it can precise; returns its value or None."""
    help_text = f"{precision.help_text} (Thèse, section {precision.section}.)"
    if precision.kind == "done_subset":
        ticked = [v for v in answer if v not in question.exclusive_option_ids] if isinstance(answer, list) else []
        if not ticked:
            return None
        labels = {o.id: o.label for o in question.options}
        default = [v for v in initial if v in ticked] if isinstance(initial, list) else []
        chosen = st.multiselect(precision.label, ticked, default=default, format_func=labels.get, key=key, help=help_text,
                                placeholder="Aucune pour l'instant (toutes prévues)")
        return list(chosen) or None
    if answer is None:
        return None
    number = st.number_input(precision.label, min_value=0, value=int(initial) if isinstance(initial, (int, float)) else None,
                             step=1, format="%d", key=key, help=help_text, placeholder="Nombre")
    return None if number is None else int(number)


def render_questionnaire(instrument: Instrument, model: ScoringModel, state: EditState,
                         notes: Mapping[str, SourceNote | str] | None = None, today: date | None = None,
                         expanded: frozenset[str] = frozenset()) -> QuestionnaireInput:
    """The 42 questions in one tab per dimension and one expander per sub-dimension (the first of each tab,
    and those in ``expanded``, open); conditional questions appear only when they apply (Q2). Each validation problem is shown under its question."""
    collected = QuestionnaireInput({})
    notes = notes or {}
    tabs = st.tabs([f"{d.label} ({d.question_count} questions)" for d in instrument.dimensions])
    for tab, dim in zip(tabs, instrument.dimensions, strict=True):
        with tab:
            for n, sid in enumerate(dim.subdimension_ids):
                sub = instrument.subdimension(sid)
                count = len(sub.question_ids)
                with st.expander(f"{sub.label} ({count} question{'s' if count > 1 else ''})", expanded=n == 0 or sid in expanded):
                    st.caption(sub.description)
                    for qid in sub.question_ids:
                        _question_block(instrument, model, instrument.question(qid), state, notes, collected, today)
    return collected


def _question_block(instrument: Instrument, model: ScoringModel, question: Question, state: EditState,
                    notes: Mapping[str, SourceNote], collected: QuestionnaireInput, today: date | None) -> None:
    note = notes.get(question.id)
    if question.id not in applicable_questions(instrument, collected.answers):
        st.caption(f"Q{question.number} masquée : posée seulement si {question.condition.label}.")
        return
    fragment, problem = render_question(question, model, state.answers, state, note, notes)
    collected.answers.update(fragment)
    messages = [problem] if problem else []
    if fragment:
        context = {k: v for k, v in collected.answers.items() if k == "Q2"} | fragment
        messages += [e.message for e in validate_answers(instrument, context, today=today)]
    if problem:
        collected.excluded.add(question.id)
    if messages:
        collected.problems[question.id] = messages
        for message in messages:
            st.error(message, icon=":material/block:")
