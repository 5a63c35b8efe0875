"""Pieces of the « Matrice » page: the colouring choice, the presentation steps and the element details.
Values come from observatory.matrix and observatory.matrix_view; this module only reads widgets and
displays."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from observatory import matrix as mx
from observatory import matrix_view as mv
from observatory.instrument import Instrument
from ui.presentation import set_presenting
from ui.tables import show_text_table

MODE_KEY = "matrice_mode"
STEP_KEY = "matrice_step"
ELEMENT_KEY = "matrice_element"
PRESENTATION_KEY = "matrice_presentation"
DEFAULT_MODE = "national"


def choose_mode() -> str:
    return st.radio(
        "Colorer la matrice par",
        mx.MODES,
        index=mx.MODES.index(DEFAULT_MODE),
        format_func=lambda m: {"cpts": "les scores de la CPTS choisie", "peer_median": "la médiane de ses pairs",
                               "national": "la distribution nationale des évaluations soumises"}[m],
        horizontal=True,
        key=MODE_KEY,
    )


def presentation_toggle(presenting: bool) -> None:
    st.toggle(
        "Mode présentation (grands caractères, sans barre latérale, étapes Structure → Processus → Résultats)",
        value=presenting,
        key=PRESENTATION_KEY,
        on_change=lambda: set_presenting(bool(st.session_state[PRESENTATION_KEY])),
    )


def _move(delta: int) -> None:
    st.session_state[STEP_KEY] = st.session_state.get(STEP_KEY, 0) + delta


def presentation_steps(matrix: mx.Matrix) -> str:
    """« Précédent » / « Suivant » (keyboard: ← and →) around the current dimension's title, on one line that
    never cuts the buttons' text; returns the dimension's row id. No hover help: on a projector a tooltip
    stays on screen under the mouse that just clicked."""
    index = st.session_state.get(STEP_KEY, 0)
    row_id = mv.step_row(index)
    row = next(r for r in matrix.rows if r["row_id"] == row_id)
    position = mv.PRESENTATION_STEPS.index(row_id) + 1
    bar = st.container(horizontal=True, vertical_alignment="center", gap="medium", key="matrice_slide_bar")
    bar.button("◀ Précédent", key="matrice_previous", on_click=_move, args=(-1,), shortcut="Left", width="content")
    bar.markdown(f"## {position}/{len(mv.PRESENTATION_STEPS)} · {row['label']}", width="stretch")
    bar.button("Suivant ▶", key="matrice_next", on_click=_move, args=(1,), shortcut="Right", width="content")
    return row_id


def presentation_note(matrix: mx.Matrix, row_id: str) -> None:
    """Under the slide: the dimension's definition from the thesis and the keys."""
    row = next(r for r in matrix.rows if r["row_id"] == row_id)
    st.caption(f"{row['definition']} (thèse, {row['section']}). Touches ← et → : dimension précédente ou suivante.")


def choose_element(matrix: mx.Matrix) -> str | None:
    ids = [e.element_id for e in matrix.elements]
    labels = {e.element_id: f"{matrix.row_label(e.row)} · {matrix.column(e.column)['short_label']} · {e.label}"
              + (" (contexte subi)" if e.kind == "context" else "") for e in matrix.elements}
    return st.selectbox("Élément de la matrice", ids, index=None, format_func=labels.get, key=ELEMENT_KEY,
                        placeholder="Choisissez un élément : ses questions, les réponses, ce qu'en dit la thèse",
                        help="Ses questions, les réponses de la CPTS choisie et ce qu'en dit la thèse.")


def render_element(matrix: mx.Matrix, element_id: str, instrument: Instrument, subdimension_ids: Mapping,
                   cpts_name: str | None, answers: Mapping | None, points: Mapping | None) -> None:
    details = mx.element_details(matrix, element_id)
    st.subheader(details.label)
    st.caption(f"Dimension {details.row_label} × {details.column_label} : {details.column_definition} "
               f"({details.column_definition_source})")
    if details.kind == "context":
        st.info("Contexte subi : aucune question du questionnaire ne mesure cet élément ; la CPTS le subit plus "
                "qu'elle ne le construit. Il n'est donc ni noté ni coloré.")
    else:
        questions = mv.element_questions(matrix, element_id, instrument, subdimension_ids, answers, points)
        answer_column = f"Réponse de {cpts_name}" if cpts_name else "Réponse"
        table = questions.rename(columns={"question_id": "N°", "subdimension_label": "Sous-dimension",
                                          "text": "Question", "answer_text": answer_column,
                                          "points": "Points (0 à 100)"})
        shown = ["N°", "Sous-dimension", "Question"]
        if answers is not None:
            shown += [answer_column, "Points (0 à 100)"]
        else:
            st.caption("Aucune réponse soumise pour la CPTS choisie : seules les questions sont affichées.")
        show_text_table(table[shown])
    st.markdown(f"**Ce qu'en dit la thèse** ({details.thesis_section}) : {details.thesis_says}")
    st.caption(details.source_reference)
