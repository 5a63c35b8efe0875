"""Saving and submitting on the « Auto-évaluation » page: who answers, save the draft, submit after a
confirmation that states completeness and level, and the concurrent-edit choices. Every write goes
through :class:`observatory.user_data.UserData` (the caller's rights are checked there)."""

from __future__ import annotations

import streamlit as st

from observatory import self_assessment as sa
from observatory.assessments import ConcurrentEditError
from observatory.instrument import Instrument, ScoringModel
from observatory.safe_text import clean_name, markdown_literal
from observatory.scoring import InvalidAnswersError, ScoreResult, validate_answers
from observatory.user_data import UserData
from observatory.userdb import UserDataError
from ui import auto_evaluation_results as results
from ui import auto_evaluation_widgets as widgets
from ui import cache, errors
from ui.auto_evaluation_choice import Choice

AUTHOR_KEY = "auto_evaluation_author"
CONFIRMING_KEY = "auto_evaluation_confirming"  # the CPTS whose submission awaits confirmation


def _stop_confirming() -> None:
    st.session_state.pop(CONFIRMING_KEY, None)


def author() -> tuple[str | None, str | None]:
    """(name or function typed by the respondent, French problem if it is refused)."""
    text, problem = clean_name(st.session_state.get(AUTHOR_KEY) or "", max_length=80)
    return (None, problem.message) if problem is not None else (text or None, None)


def _save_kwargs(choice: Choice, instrument: Instrument, who: str | None) -> dict:
    return {"author": who, "cpts_name": choice.cpts_name, "register_id": choice.register_id,
            "instrument_version": instrument.version, "is_demo": choice.is_demo}


def reload_from_store(data: UserData, choice: Choice, instrument: Instrument, case_answers, notice: str) -> None:
    start = sa.starting_point(data.load_draft(choice.cpts_id), data.latest_submitted(choice.cpts_id), case_answers,
                              instrument.version)
    widgets.reload_state(choice.cpts_id, start, notice)
    st.rerun()


def _save(data: UserData, choice: Choice, state, entered, instrument: Instrument, who: str | None,
          force: bool = False) -> None:
    try:
        draft = data.save_draft(choice.cpts_id, entered.answers, state.draft_revision, force=force,
                                **_save_kwargs(choice, instrument, who))
    except ConcurrentEditError as error:
        state.conflict = str(error)
        st.rerun()
    except UserDataError as error:  # refused, locked, read-only, disk full...: nothing was saved
        st.error(errors.explain(error))
        return
    cache.auto_evaluation_store_changed()
    state.draft_revision, state.conflict, state.kind, state.saved = draft.revision, None, "draft", dict(entered.answers)
    state.origin = f"Brouillon enregistré le {draft.updated_at:%d/%m/%Y à %H:%M} (révision {draft.revision})."
    state.notice = "Brouillon enregistré" + (" (modifications de l'autre session remplacées)." if force else ".")
    st.rerun()


def _submit(data: UserData, choice: Choice, state, entered, instrument: Instrument, model: ScoringModel,
            who: str | None) -> None:
    try:
        draft = data.save_draft(choice.cpts_id, entered.answers, state.draft_revision, **_save_kwargs(choice, instrument, who))
        submitted = data.submit(choice.cpts_id, draft.revision, author=who, instrument=instrument, model=model)
    except ConcurrentEditError as error:
        state.conflict = str(error)
        st.rerun()
    except InvalidAnswersError as error:
        st.error(f"Soumission refusée : {markdown_literal(error, max_length=2000)}")
        return
    except UserDataError as error:  # refused, locked, read-only, disk full...: nothing was submitted
        st.error(errors.explain(error))
        return
    finally:
        cache.auto_evaluation_store_changed()  # the draft may have been saved even if the submission failed
    state.draft_revision, state.kind, state.saved = None, "latest", dict(entered.answers)
    state.origin = (f"Évaluation soumise le {submitted.submitted_at:%d/%m/%Y à %H:%M} : elle est figée. Les réponses "
                    "restent affichées pour préparer la prochaine évaluation.")
    state.notice = (f"Évaluation soumise (score global {sa.score_text(submitted.overall_score)}, "
                    f"{submitted.score_result.maturity_label}).")
    st.session_state[results.EXPORT_NEXT_KEY] = submitted.assessment_id  # the export now offers what was submitted
    _stop_confirming()
    st.rerun()


# The dialog stays open while a submission awaits confirmation (the flag survives full reruns), and closing it
# with its cross forgets the request.
@st.dialog("Soumettre l'évaluation ?", on_dismiss=_stop_confirming)
def _confirm(data: UserData, choice: Choice, state, entered, instrument: Instrument, model: ScoringModel,
             result: ScoreResult, who: str | None) -> None:
    with errors.guarded():  # a dialog runs as a fragment: the page's guard does not reach it
        _confirm_body(data, choice, state, entered, instrument, model, result, who)


def _confirm_body(data: UserData, choice: Choice, state, entered, instrument: Instrument, model: ScoringModel,
                  result: ScoreResult, who: str | None) -> None:
    unanswered = len(result.applicable_question_ids) - len(result.answered_question_ids)
    st.markdown(f"**{markdown_literal(choice.cpts_name)}** : {len(result.answered_question_ids)} question(s) répondue(s) "
                f"sur {len(result.applicable_question_ids)} applicables (complétude "
                f"{sa.score_text(result.completeness_pct, 0)} %), niveau **{result.maturity_label}**.")
    if unanswered:
        st.warning(f"{unanswered} question(s) applicable(s) sans réponse : elles ne comptent pas (jamais comme zéro), mais "
                   "l'évaluation soumise est figée telle quelle. Vous pouvez compléter d'abord et enregistrer un brouillon.")
    st.caption("Une évaluation soumise est datée et ne peut plus être modifiée ; la suivante repartira de ses réponses.")
    yes, no = st.columns(2)
    if yes.button("Confirmer la soumission", type="primary", icon=":material/task_alt:"):
        _submit(data, choice, state, entered, instrument, model, who)
    if no.button("Annuler"):
        _stop_confirming()
        st.rerun()


def render(data: UserData, choice: Choice, state, entered, instrument: Instrument, model: ScoringModel,
           result: ScoreResult, case_answers) -> None:
    """Who answers, the two buttons, and the hints about unsaved changes, problems and conflicts."""
    st.caption("Évaluation à un seul répondant. Pour recueillir l'avis de plusieurs membres de la CPTS et établir un "
               "consensus, ouvrez une campagne (page « Auto-évaluation collective »).")
    st.text_input("Votre nom ou fonction (facultatif, affiché dans l'historique)", key=AUTHOR_KEY, max_chars=80)
    who, problem = author()
    if problem is not None:
        st.warning(f"Nom ou fonction ignoré : {problem}.")
    b1, b2, _ = st.columns([1, 1, 2])
    if b1.button("Enregistrer le brouillon", icon=":material/save:", type="secondary"):
        _save(data, choice, state, entered, instrument, who)
    if data.can_submit(choice.cpts_id):
        if b2.button("Soumettre…", icon=":material/task_alt:", type="primary",
                     help="Date et fige l'évaluation (réponses, scores, versions) après confirmation."):
            problems = entered.messages + [e.message for e in validate_answers(instrument, entered.answers)]
            if problems:
                st.error("Soumission refusée : corrigez d'abord ces réponses.\n\n- "
                         + "\n- ".join(markdown_literal(p, 400) for p in dict.fromkeys(problems)))
            else:
                st.session_state[CONFIRMING_KEY] = choice.cpts_id
        if st.session_state.get(CONFIRMING_KEY) == choice.cpts_id:
            _confirm(data, choice, state, entered, instrument, model, result, who)
    else:
        b2.caption("Seul le coordinateur de la CPTS soumet son évaluation.")
    if state.has_unsaved_changes:
        st.caption("Modifications non enregistrées : « Enregistrer le brouillon » pour les retrouver plus tard.")
    if entered.problems:
        st.warning(f"{len(entered.problems)} réponse(s) à corriger (message sous la question) : elles ne comptent pas "
                   "dans les scores et bloquent la soumission.")
    if state.conflict:
        st.error(markdown_literal(state.conflict, max_length=2000), icon=":material/sync_problem:")
        c1, c2, _ = st.columns([1, 1, 2])
        if c1.button("Écraser quand même", type="primary", help="Enregistre vos réponses à la place des siennes."):
            _save(data, choice, state, entered, instrument, who, force=True)
        if c2.button("Recharger", help="Abandonne vos modifications non enregistrées et affiche le brouillon enregistré."):
            reload_from_store(data, choice, instrument, case_answers, "Brouillon rechargé depuis la base des évaluations.")
