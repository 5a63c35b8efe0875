"""Which CPTS the « Auto-évaluation » page opens: a CPTS of the register shown, a thesis case study, or a CPTS
an administrator added because it is in no register; with its peer group and what is known of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from observatory import self_assessment as sa
from observatory import url_params
from observatory.assessments import CustomCpts
from observatory.funding import size_class_labels, size_class_or_none
from observatory.peers import PeerGroup
from observatory.safe_text import clean_name, markdown_literal
from observatory.stages import UNKNOWN_STAGE, ars_stages, national_stage_of_ars, stage_label
from observatory.user_data import UserData
from observatory.userdb import UserDataError
from ui import auto_evaluation_widgets as widgets
from ui import cache, errors
from ui.frame import AppContext

CPTS_PARAM = "cpts"
CASE_TOGGLE_KEY = "auto_evaluation_case_studies"


@dataclass(frozen=True)
class Choice:
    cpts_id: str
    cpts_name: str
    register_id: str | None  # None for a CPTS added by an administrator
    register_name: str
    as_of: str
    is_demo: bool  # saved with the « démonstration » label: demo CPTS, and the thesis's case studies (not their own answers)
    group: PeerGroup
    facts_text: str  # French: stage and size class, or how the CPTS was added
    case_id: str | None  # thesis case study letter id


def _add_custom_form(context: AppContext, data: UserData, select_key: str) -> None:
    """Administrators only: a CPTS the register lacks, so that it can be assessed."""
    with st.expander("Ajouter une CPTS absente du registre"), st.form("auto_evaluation_new_cpts", clear_on_submit=True,
                                                                      border=False):
        name = st.text_input("Nom de la CPTS")
        depts = cache.departement_table(context.db_path)
        dept = st.selectbox("Département", depts["departement_code"].tolist(), index=None,
                            format_func=dict(zip(depts["departement_code"], depts["departement_code"] + " — "
                                                 + depts["name"], strict=False)).get,
                            placeholder="Choisissez un département")
        stage = st.selectbox("Stade d'avancement", [s["stage_code"] for s in ars_stages()], index=None,
                             format_func=stage_label, placeholder="Choisissez un stade")
        population = st.number_input("Population couverte (facultatif, pour comparer aux CPTS de même taille)",
                                     min_value=0, value=None, step=1000, format="%d")
        if not st.form_submit_button("Ajouter la CPTS"):
            return
        name, problem = clean_name(name)
        if not name or dept is None or stage is None:
            st.error("Indiquez le nom, le département et le stade de la CPTS.")
            return
        if problem is not None:
            st.error(f"Nom de la CPTS refusé : {problem.message}.")
            return
        try:
            created = data.add_custom_cpts(name, departement_code=dept, ars_stage_code=stage, author=data.caller.label,
                                           population_count=None if population is None else int(population))
        except UserDataError as error:
            st.error(errors.explain(error))
            return
        cache.auto_evaluation_store_changed()
        st.session_state[select_key] = created.cpts_id


def choose(context: AppContext, data: UserData) -> Choice | None:
    """Toggle of the case studies, CPTS list (the link's ``?cpts=`` first), and the administrators' form."""
    case_register = sa.case_study_register()
    case_ids = sa.case_ids_by_cpts_id()
    requested = url_params.identifier(st.query_params.get(CPTS_PARAM))
    if CASE_TOGGLE_KEY not in st.session_state:
        st.session_state[CASE_TOGGLE_KEY] = requested in case_ids
    use_cases = st.toggle("Études de cas de la thèse (CPTS A à E)", key=CASE_TOGGLE_KEY,
                          help="Les cinq CPTS d'Île-de-France étudiées par la thèse, pré-remplies avec ce que publient "
                               "ses tableaux 3 à 7 et la monographie de la CPTS A (annexe 1) ; source sous chaque réponse.")
    if use_cases:
        register_id, register_name, as_of = case_register["register_id"], case_register["name"], case_register["as_of_date"]
    else:
        register_id, register_name = context.register_id, context.register_name
        as_of = context.register_as_of or date.today().isoformat()
        if context.is_demo:
            errors.user_data(lambda: cache.auto_evaluation_demo_loaded(cache.user_db_path(), context.db_path,
                                                                      register_id, as_of), 0)
    register_names = cache.auto_evaluation_names(context.db_path, register_id, as_of)
    select_key = f"auto_evaluation_cpts|{register_id}"
    pick, add = st.columns([3, 2], vertical_alignment="bottom")
    if data.caller.role == "admin" and not use_cases:
        with add:  # before the list is read: a CPTS added now is offered at once
            _add_custom_form(context, data, select_key)
    customs = {} if use_cases else {c.cpts_id: c for c in data.custom_cpts()}
    names = register_names | {c.cpts_id: f"{c.name} (hors registre)" for c in customs.values()}
    if select_key not in st.session_state or st.session_state[select_key] not in names:
        own = next((c for c in data.caller.cpts_ids if c in names), None)  # a CPTS's people land on their CPTS
        st.session_state[select_key] = requested if requested in names else own
    cpts_id = pick.selectbox(f"CPTS à évaluer — {markdown_literal(register_name)}", [*register_names, *customs],
                             format_func=names.get, key=select_key,
                             placeholder="Tapez quelques lettres du nom pour chercher une CPTS")
    if cpts_id is None:
        widgets.forget_shown()
        st.info("Choisissez une CPTS du registre pour ouvrir son questionnaire. Un lien direct vers une CPTS : "
                "`?cpts=<identifiant>`.")
        return None
    if requested != cpts_id:
        st.query_params[CPTS_PARAM] = cpts_id
    custom = customs.get(cpts_id)
    if custom is not None:
        return _custom_choice(context, register_name, as_of, custom)
    row = cache.auto_evaluation_profile(context.db_path, register_id, as_of, cpts_id)
    stage_text = stage_label(row["stage_code"]) if row["stage_code"] else "pas encore lancée"
    if row["stage_code"] == UNKNOWN_STAGE and row["ars_stage_code"]:  # case studies: only the ARS gradation is published
        stage_text = f"non publié ; stade ARS : {stage_label(row['ars_stage_code'])}"
    size_text = size_class_labels().get(row["size_class"], "taille ACI inconnue (pas de territoire publié)")
    return Choice(cpts_id, names[cpts_id], register_id, register_name, as_of, data.facts(cpts_id).is_demo,
                  row["peer_group"], f"Stade national au {pd.Timestamp(as_of):%d/%m/%Y} : {stage_text} ; {size_text}.",
                  case_ids.get(cpts_id))


def _custom_choice(context: AppContext, register_name: str, as_of: str, custom: CustomCpts) -> Choice:
    national = national_stage_of_ars(custom.ars_stage_code) if custom.ars_stage_code else None
    group = cache.auto_evaluation_peer_group(context.db_path, context.register_id, as_of,
                                             size_class_or_none(custom.population_count), national)
    facts = (f"CPTS hors registre ajoutée le {custom.created_at:%d/%m/%Y} (département {custom.departement_code or '?'}, "
             f"stade : {stage_label(custom.ars_stage_code) if custom.ars_stage_code else 'inconnu'}).")
    return Choice(custom.cpts_id, custom.name, None, register_name, as_of, False, group, facts, None)
