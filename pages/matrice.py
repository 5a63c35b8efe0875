"""Matrice des contraintes d'action (thèse, figure 6) en direct : chaque élément dans sa cellule, coloré par
les scores d'une CPTS, la médiane de ses pairs ou la distribution nationale ; mode présentation
(?presentation=1) pas à pas, dimension par dimension."""

import streamlit as st

from observatory import matrix as mx
from observatory import matrix_view as mv
from observatory import peers as peer_groups
from observatory import profile as pf
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.safe_text import markdown_literal
from ui import cache, cache_fiche, errors
from ui import matrice_widgets as mw
from ui.frame import page_context
from ui.presentation import is_presenting
from ui.profile_widgets import choose_cpts, ensure_demo_assessments
from ui.user_access import readable_history, user_data
from ui.widgets import register_banner

context = page_context()
presenting = is_presenting()
st.title("Matrice des contraintes d'action")
register_banner(context, compact=presenting)
ensure_demo_assessments(context)

matrix = mx.load_matrix()
model = load_scoring_model(latest_scoring_version())
instrument = load_instrument(model.instrument_version)
subdimension_ids = mx.resolve_subdimensions(matrix, {s.label: s.id for s in instrument.subdimensions})
user_path = cache.user_db_path()
token = cache_fiche.user_db_token(user_path)
data = user_data(context)  # what this caller may see of the assessments
assessed = errors.user_data(data.assessed_cpts, {})  # cpts_id -> is_demo

# On a slide the current dimension comes first, right under the title; the settings follow it.
slide = st.container() if presenting else None
with st.expander("Réglages : CPTS, coloration, mode présentation", expanded=not presenting):
    chosen = choose_cpts(context, "matrice", preferred_ids=sorted(c for c, demo in assessed.items() if demo)
                         + sorted(assessed))
    mode = mw.choose_mode()
    mw.presentation_toggle(presenting)
if chosen is None:
    st.stop()

# The chosen CPTS's answers and scores: its latest submission, or a case study's published answers.
result, answers = None, None
if chosen.is_case_study:
    case_answers = load_case_study_answers()
    result = pf.case_study_result(chosen.cpts_id, case_answers, instrument, model)
    answers = case_answers.get(pf.case_study_letters().get(chosen.cpts_id)) if result is not None else None
    origin = "réponses publiées par la thèse (tableaux 3 à 7, annexe 1 pour A), partielles"
else:
    history = errors.user_data(lambda: readable_history(data, chosen.cpts_id), [])
    if history:
        result, answers = history[-1].score_result, history[-1].answers
        demo = ", démonstration" if history[-1].is_demo else ""
        origin = f"évaluation soumise le {pf.fr_date(history[-1].submitted_at)}{demo}"

scores, distribution, caption = {}, None, ""
if mode == "cpts":
    if result is None:
        st.info(f"« {markdown_literal(chosen.name)} » n'a soumis aucune auto-évaluation : la matrice n'est pas colorée. Choisissez "
                "une autre coloration ou une CPTS évaluée.")
    else:
        scores = mv.subdimension_scores(result)
    caption = f"Scores de « {chosen.name} »" + (f" ({origin})" if result is not None else "")
elif mode == "peer_median":
    if chosen.is_case_study:
        st.info("Pas de pairs pour une étude de cas de la thèse (hors registre, sans taille ni stade datés).")
    else:
        group = peer_groups.peer_group_of(cache.auto_evaluation_profiles(context.db_path, chosen.register_id,
                                                                         chosen.as_of), chosen.cpts_id)
        peers = peer_groups.peer_comparison(group, errors.user_data(lambda: data.peer_results(group.cpts_ids,
                                                                                            chosen.cpts_id), []),
                                            model.version, model.min_peers)
        if peers.is_shown:
            scores = mv.peer_subdimension_scores(peers.medians)
        else:
            st.info(f"{peers.message[0].upper()}{peers.message[1:]}.")
        caption = f"Pairs de « {chosen.name} » : {peers.message}"
else:
    distribution, used, used_demo, other = errors.user_data(
        lambda: cache_fiche.matrix_national_distribution(user_path, token, model.version, model.min_peers,
                                                         data.sees_real_aggregates), ({}, 0, 0, 0))
    scores = {sid: d.median for sid, d in distribution.items()}
    demo = f", dont {used_demo} de démonstration" if used_demo else ""
    other_text = f" ; {other} notée(s) avec un autre modèle, non comptée(s)" if other else ""
    caption = (f"Médiane nationale des dernières évaluations soumises : {used} CPTS{demo}{other_text} "
               f"(une sous-dimension n'est colorée qu'avec au moins {model.min_peers} réponses)")

element_id = st.session_state.get(mw.ELEMENT_KEY)
cells = mx.matrix_cells(matrix, scores, mode, distribution or None, subdimension_ids)
if presenting:
    # A projected slide: the current dimension's row in large type, then the whole matrix with that row
    # highlighted (the whole matrix in large type does not fit on one screen).
    with slide:
        row_id = mw.presentation_steps(matrix)
        row_cells = [c for c in cells if c.row_id == row_id]
        selected = element_id if any(c.element_id == element_id for c in row_cells) else None
        st.html(mx.matrix_html(row_cells, selected_element=selected, presentation=True, caption=caption))
        mw.presentation_note(matrix, row_id)
    st.markdown("**Vue d'ensemble de la matrice**")
    st.html(mx.matrix_html(cells, selected_element=element_id, highlight_row=row_id))
else:
    st.html(mx.matrix_html(cells, selected_element=element_id, caption=caption))
st.caption(f"{matrix.source['figure']} ({matrix.source['section']}). {matrix.source['layout_note']}")

element_id = mw.choose_element(matrix)
if element_id is not None:
    mw.render_element(matrix, element_id, instrument, subdimension_ids, chosen.name if answers is not None else None,
                      answers, result.question_points if result is not None else None)
