"""Auto-évaluation : le questionnaire de 42 questions de la thèse, noté en direct, enregistré et comparé."""

from datetime import date, datetime

import pandas as pd
import streamlit as st

from observatory import self_assessment as sa
from observatory import url_params
from observatory.assessments import AssessmentStoreError, ConcurrentEditError
from observatory.demo_assessments import load_case_study_answers
from observatory.funding import size_class_labels, size_class_or_none
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.radar import radar_chart
from observatory.safe_text import clean_name, markdown_literal
from observatory.scoring import InvalidAnswersError, score_assessment, validate_answers
from observatory.stages import UNKNOWN_STAGE, ars_stages, national_stage_of_ars, stage_label
from ui import auto_evaluation_results as results
from ui import auto_evaluation_widgets as widgets
from ui import cache, errors
from ui.frame import page_context
from ui.widgets import register_banner

CPTS_PARAM = "cpts"
CASE_TOGGLE_KEY = "auto_evaluation_case_studies"
AUTHOR_KEY = "auto_evaluation_author"

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
store = cache.assessment_store()
if store.read_only:
    st.warning(errors.explain(store.read_only_error()), icon=":material/lock:")
author, author_problem = clean_name(st.session_state.get(AUTHOR_KEY) or "", max_length=80)
author = None if author_problem is not None else (author or None)  # refused below, next to the field
user_path = cache.user_db_path()

# --- Which CPTS -----------------------------------------------------------------------------------
case_register = sa.case_study_register()
case_ids = sa.case_ids_by_cpts_id()
requested = url_params.identifier(st.query_params.get(CPTS_PARAM))
if CASE_TOGGLE_KEY not in st.session_state:
    st.session_state[CASE_TOGGLE_KEY] = requested in case_ids
use_cases = st.toggle("Études de cas de la thèse (CPTS A à E)", key=CASE_TOGGLE_KEY,
                      help="Les cinq CPTS d'Île-de-France étudiées par la thèse, pré-remplies avec ce que publient ses "
                           "tableaux 3 à 7 et la monographie de la CPTS A (annexe 1) ; source citée sous chaque réponse.")
if use_cases:
    register_id, register_name = case_register["register_id"], case_register["name"]
    as_of = case_register["as_of_date"]
    is_demo_register = False
else:
    register_id, register_name = context.register_id, context.register_name
    as_of = context.register_as_of or date.today().isoformat()
    is_demo_register = context.is_demo
register_names = cache.auto_evaluation_names(context.db_path, register_id, as_of)
if is_demo_register:
    cache.auto_evaluation_demo_loaded(user_path, context.db_path, register_id, as_of)

pick_col, add_col = st.columns([3, 2], vertical_alignment="bottom")
select_key = f"auto_evaluation_cpts|{register_id}"
with add_col, st.expander("Ajouter une CPTS absente du registre"):
    with st.form("auto_evaluation_new_cpts", clear_on_submit=True, border=False):
        new_name = st.text_input("Nom de la CPTS")
        departements = cache.departement_table(context.db_path)
        new_dept = st.selectbox("Département", departements["departement_code"].tolist(), index=None,
                                format_func=dict(zip(departements["departement_code"],
                                                     departements["departement_code"] + " — " + departements["name"], strict=False)).get,
                                placeholder="Choisissez un département")
        stage_options = [s["stage_code"] for s in ars_stages()]
        new_stage = st.selectbox("Stade d'avancement", stage_options, index=None, format_func=stage_label,
                                 placeholder="Choisissez un stade")
        new_pop = st.number_input("Population couverte (facultatif, pour comparer aux CPTS de même taille)",
                                  min_value=0, value=None, step=1000, format="%d")
        if st.form_submit_button("Ajouter la CPTS"):
            new_name, name_problem = clean_name(new_name)
            if not new_name or new_dept is None or new_stage is None:
                st.error("Indiquez le nom, le département et le stade de la CPTS.")
            elif name_problem is not None:
                st.error(f"Nom de la CPTS refusé : {name_problem.message}.")
            else:
                try:
                    created = store.add_custom_cpts(new_name, departement_code=new_dept, ars_stage_code=new_stage,
                                                    population_count=None if new_pop is None else int(new_pop),
                                                    author=author)
                except AssessmentStoreError as error:
                    st.error(errors.explain(error))
                else:
                    cache.auto_evaluation_store_changed()
                    st.session_state[select_key] = created.cpts_id
customs = [] if use_cases else cache.auto_evaluation_custom_cpts(user_path, cache.auto_evaluation_store_version())
custom_by_id = {c.cpts_id: c for c in customs}
names = register_names | {c.cpts_id: f"{c.name} (hors registre)" for c in customs}
options = [*register_names, *custom_by_id]
if select_key not in st.session_state:
    st.session_state[select_key] = requested if requested in names else None
elif st.session_state[select_key] not in names:
    st.session_state[select_key] = None
with pick_col:
    cpts_id = st.selectbox(f"CPTS à évaluer — {markdown_literal(register_name)}", options, format_func=names.get, key=select_key,
                           placeholder="Tapez quelques lettres du nom pour chercher une CPTS")
if cpts_id is None:
    widgets.forget_shown()
    st.info("Choisissez une CPTS du registre (ou ajoutez-en une) pour ouvrir son questionnaire. "
            "Un lien direct vers une CPTS : `?cpts=<identifiant>`.")
    st.stop()
if requested != cpts_id:
    st.query_params[CPTS_PARAM] = cpts_id

# --- The CPTS, its peers and where its answers start from ---------------------------------------------
custom = custom_by_id.get(cpts_id)
cpts_name = custom.name if custom else names[cpts_id]
is_demo = bool(is_demo_register and custom is None)
if custom is None:
    row = cache.auto_evaluation_profile(context.db_path, register_id, as_of, cpts_id)
    group = row["peer_group"]
    stage_text = stage_label(row["stage_code"]) if row["stage_code"] else "pas encore lancée"
    if row["stage_code"] == UNKNOWN_STAGE and row["ars_stage_code"]:  # case studies: only the ARS gradation is published
        stage_text = f"non publié ; stade ARS : {stage_label(row['ars_stage_code'])}"
    size_text = size_class_labels().get(row["size_class"], "taille ACI inconnue (pas de territoire publié)")
    facts = f"Stade national au {pd.Timestamp(as_of):%d/%m/%Y} : {stage_text} ; {size_text}."
else:
    national = national_stage_of_ars(custom.ars_stage_code) if custom.ars_stage_code else None
    group = cache.auto_evaluation_peer_group(context.db_path, register_id, as_of, size_class_or_none(custom.population_count),
                                             national)
    facts = (f"CPTS hors registre ajoutée le {custom.created_at:%d/%m/%Y} (département {custom.departement_code or '?'}, "
             f"stade : {stage_label(custom.ars_stage_code) if custom.ars_stage_code else 'inconnu'}).")
peers = cache.auto_evaluation_peers(user_path, group, model.version, model.min_peers)
peer_scope = (f"Pairs : {group.description} dans le registre « {markdown_literal(register_name)} » au {pd.Timestamp(as_of):%d/%m/%Y} "
              f"({len(group.cpts_ids)} CPTS)." if not group.unavailable_reason else "")

case_id = case_ids.get(cpts_id)
case_answers = load_case_study_answers().get(case_id) if case_id else None
notes = sa.case_study_notes().get(case_id) if case_id else None
state = widgets.edit_state(cpts_id, lambda: sa.starting_point(store.load_draft(cpts_id), store.latest_submitted(cpts_id),
                                                              case_answers, instrument.version))

st.subheader(markdown_literal(cpts_name) + (" — démonstration" if is_demo else ""))
st.caption(facts + (" CPTS fictive du registre de démonstration : ses évaluations sont étiquetées « démonstration »."
                    if is_demo else ""))
st.caption(markdown_literal(state.origin, max_length=1000))
if state.notice:
    st.success(state.notice)
    state.notice = None
actions = st.container()

# --- Questionnaire (left) and live scores (right) -------------------------------------------------
left, right = st.columns(2, gap="medium")
with left:
    entered = widgets.render_questionnaire(instrument, model, state, notes)
widgets.remember_entered(state, entered.answers)
result = score_assessment(instrument, model, entered.scoring_answers, strict=False)
history = cache.auto_evaluation_history(user_path, cpts_id, cache.auto_evaluation_store_version())

st.header("Résultats")
st.subheader("Comparaison avec une évaluation précédente")
baseline = results.choose_baseline(history, entered.answers)
if baseline is None:
    st.info("Aucune évaluation soumise pour cette CPTS : la comparaison apparaîtra après la première soumission.")
else:
    results.render_comparison(result, baseline, instrument, model)
st.subheader("Les trois sous-dimensions les plus faibles")
results.render_weakest(result, instrument)
st.subheader("Ce qui ferait progresser votre CPTS")
results.render_improvements(model, entered.scoring_answers)
st.subheader("Historique des évaluations soumises")
if history:
    st.dataframe(results.history_frame(history), hide_index=True, width="stretch")
else:
    st.caption("Aucune évaluation soumise.")
st.subheader("Exporter")
current = sa.live_assessment(cpts_id, cpts_name, register_id, entered.answers, result, is_demo=is_demo, author=author,
                             now=datetime.now().replace(microsecond=0))


def report_chart(score):
    labels, series = sa.radar_series(score, instrument, "subdimensions", cpts_label=cpts_name, peers=peers)
    return radar_chart(series, labels, "Profil de maturité — 19 sous-dimensions", size_px=460)


results.render_exports(current, history, instrument, model, register_name=register_name, peer_message=peers.message,
                       chart_for=report_chart)

with right:
    results.render_scores(result, instrument, model, cpts_label=cpts_name, peers=peers, peer_scope=peer_scope,
                          baseline=baseline)


# --- Saving, submitting, conflicts (drawn above the questionnaire) ------------------------------------
def reload_from_store(notice: str) -> None:
    start = sa.starting_point(store.load_draft(cpts_id), store.latest_submitted(cpts_id), case_answers, instrument.version)
    widgets.reload_state(cpts_id, start, notice)
    st.rerun()


def save(force: bool = False) -> None:
    try:
        draft = store.save_draft(cpts_id, entered.answers, state.draft_revision, author=author, cpts_name=cpts_name,
                                 register_id=None if custom else register_id, instrument_version=instrument.version,
                                 force=force, is_demo=is_demo)
    except ConcurrentEditError as error:
        state.conflict = str(error)
        st.rerun()
    except AssessmentStoreError as error:  # locked, read-only, disk full...: nothing was saved
        st.error(errors.explain(error))
        return
    cache.auto_evaluation_store_changed()
    state.draft_revision, state.conflict, state.kind, state.saved = draft.revision, None, "draft", dict(entered.answers)
    state.origin = f"Brouillon enregistré le {draft.updated_at:%d/%m/%Y à %H:%M} (révision {draft.revision})."
    state.notice = "Brouillon enregistré" + (" (modifications de l'autre session remplacées)." if force else ".")
    st.rerun()


def submit() -> None:
    problems = entered.messages + [e.message for e in validate_answers(instrument, entered.answers)]
    if problems:
        st.error("Soumission refusée : corrigez d'abord ces réponses.\n\n- " + "\n- ".join(dict.fromkeys(problems)))
        return
    try:
        draft = store.save_draft(cpts_id, entered.answers, state.draft_revision, author=author, cpts_name=cpts_name,
                                 register_id=None if custom else register_id, instrument_version=instrument.version,
                                 is_demo=is_demo)
        submitted = store.submit(cpts_id, draft.revision, author=author, instrument=instrument, model=model)
    except ConcurrentEditError as error:
        state.conflict = str(error)
        st.rerun()
    except InvalidAnswersError as error:
        st.error(f"Soumission refusée : {markdown_literal(error, max_length=2000)}")
        return
    except AssessmentStoreError as error:  # locked, read-only, disk full...: nothing was submitted
        st.error(errors.explain(error))
        return
    finally:
        cache.auto_evaluation_store_changed()  # the draft may have been saved even if the submission failed
    state.draft_revision, state.kind, state.saved = None, "latest", dict(entered.answers)
    state.origin = (f"Évaluation soumise le {submitted.submitted_at:%d/%m/%Y à %H:%M} : elle est figée. Les réponses "
                    "restent affichées pour préparer la prochaine évaluation.")
    state.notice = (f"Évaluation soumise (score global {sa.score_text(submitted.overall_score)}, "
                    f"{submitted.score_result.maturity_label}).")
    st.rerun()


with actions:
    st.caption("Évaluation à un seul répondant. Pour recueillir l'avis de plusieurs membres de la CPTS et établir un "
               "consensus, ouvrez une campagne (page « Auto-évaluation collective »).")
    st.text_input("Votre nom ou fonction (facultatif, affiché dans l'historique)", key=AUTHOR_KEY, max_chars=80)
    if author_problem is not None:
        st.warning(f"Nom ou fonction ignoré : {author_problem.message}.")
    b1, b2, _ = st.columns([1, 1, 2])
    if b1.button("Enregistrer le brouillon", icon=":material/save:", type="secondary"):
        save()
    if b2.button("Soumettre", icon=":material/task_alt:", type="primary",
                 help="Date et fige l'évaluation (réponses, scores, versions) ; le brouillon est alors supprimé."):
        submit()
    if state.has_unsaved_changes:
        st.caption("Modifications non enregistrées : « Enregistrer le brouillon » pour les retrouver plus tard.")
    if entered.problems:
        st.warning(f"{len(entered.problems)} réponse(s) à corriger (message sous la question) : elles ne comptent pas dans "
                   "les scores et bloquent la soumission.")
    if state.conflict:
        st.error(markdown_literal(state.conflict, max_length=2000), icon=":material/sync_problem:")
        c1, c2, _ = st.columns([1, 1, 2])
        if c1.button("Écraser quand même", type="primary", help="Enregistre vos réponses à la place des siennes."):
            save(force=True)
        if c2.button("Recharger", help="Abandonne vos modifications non enregistrées et affiche le brouillon enregistré."):
            reload_from_store("Brouillon rechargé depuis la base des évaluations.")
