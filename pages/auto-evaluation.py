"""Auto-évaluation : le questionnaire de 42 questions de la thèse, noté en direct, enregistré et comparé."""

from datetime import datetime

import streamlit as st

from observatory import self_assessment as sa
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.peers import peer_comparison
from observatory.radar import radar_chart
from observatory.safe_text import markdown_literal
from observatory.scoring import score_assessment
from ui import auto_evaluation_actions as actions
from ui import auto_evaluation_results as results
from ui import auto_evaluation_widgets as widgets
from ui import errors
from ui.auto_evaluation_choice import choose
from ui.frame import page_context
from ui.user_access import user_data
from ui.widgets import register_banner

context = page_context()
st.title("Auto-évaluation de la CPTS")
register_banner(context)
st.markdown(
    "Répondez au questionnaire consolidé de la thèse (42 questions, 3 dimensions de Donabedian, 19 sous-dimensions) : "
    "les scores, la complétude et le radar se mettent à jour à chaque réponse. Enregistrez un brouillon pour reprendre "
    "plus tard, soumettez pour dater et figer une évaluation (l'historique est conservé)."
)
model = load_scoring_model(latest_scoring_version())
instrument = load_instrument(model.instrument_version)
data = user_data(context)
if data.read_only:
    st.warning(errors.explain(data.read_only_error()), icon=":material/lock:")
choice = choose(context, data)
if choice is None:
    st.stop()
if not data.can_answer(choice.cpts_id):
    results.render_not_allowed(data, choice)
    st.stop()

peers = peer_comparison(choice.group, data.peer_results(choice.group.cpts_ids, choice.cpts_id), model.version,
                        model.min_peers)
peer_scope = (f"Pairs : {choice.group.description} dans le registre « {markdown_literal(choice.register_name)} » au "
              f"{datetime.fromisoformat(choice.as_of):%d/%m/%Y} ({len(choice.group.cpts_ids)} CPTS)."
              if not choice.group.unavailable_reason else "")
case_answers = load_case_study_answers().get(choice.case_id) if choice.case_id else None
notes = sa.case_study_notes().get(choice.case_id) if choice.case_id else None
state = widgets.edit_state(choice.cpts_id, lambda: sa.starting_point(
    data.load_draft(choice.cpts_id), data.latest_submitted(choice.cpts_id), case_answers, instrument.version))
history = data.history(choice.cpts_id)

st.subheader(markdown_literal(choice.cpts_name) + (" — démonstration" if choice.is_demo else ""))
st.caption(choice.facts_text + (" Données de démonstration : ses évaluations sont étiquetées « démonstration »."
                                if choice.is_demo else ""))
st.caption(markdown_literal(state.origin, max_length=1000))
if state.notice:
    st.success(state.notice)
    state.notice = None
action_box = st.container()


@st.fragment
def live():
    """Answering a question reruns only this part (questionnaire, scores, analysis, exports), not the page.
    A fragment is out of reach of the page's error guard: it has its own."""
    with errors.guarded():
        return live_part()


def live_part():
    left, right = st.columns(2, gap="medium")
    with left:
        entered = widgets.render_questionnaire(instrument, model, state, notes)
    widgets.remember_entered(state, entered.answers)
    result = score_assessment(instrument, model, entered.scoring_answers, strict=False)
    st.header("Résultats")
    st.subheader("Comparaison avec une évaluation précédente")
    baseline = results.choose_baseline(history, entered.answers)
    with right:
        results.render_scores(result, instrument, model, cpts_label=choice.cpts_name, peers=peers,
                              peer_scope=peer_scope, baseline=baseline)
    results.render_analysis(result, baseline, instrument, model, entered.scoring_answers)
    st.subheader("Exporter")
    current = sa.live_assessment(choice.cpts_id, choice.cpts_name, choice.register_id, entered.answers, result,
                                 is_demo=choice.is_demo, author=actions.author()[0],
                                 now=datetime.now().replace(microsecond=0))

    def report_chart(score):
        labels, series = sa.radar_series(score, instrument, "subdimensions", cpts_label=choice.cpts_name, peers=peers)
        return radar_chart(series, labels, "Profil de maturité — 19 sous-dimensions", size_px=460)

    results.render_exports(current, history, instrument, model, register_name=choice.register_name,
                           peer_message=peers.message, chart_for=report_chart)
    return entered, result


live_result = live()
if live_result is None:  # the guard has shown the problem
    st.stop()
entered, result = live_result
st.subheader("Historique des évaluations soumises")
if history:
    st.dataframe(results.history_frame(history), hide_index=True, width="stretch")
    results.render_sharing(data, history)
else:
    st.caption("Aucune évaluation soumise.")
with action_box:
    actions.render(data, choice, state, entered, instrument, model, result, case_answers)
