"""Streamlit pieces of the « Auto-évaluation collective » page: choosing or opening a campaign, saying who
answers (identities), and each member's own questionnaire. Storage is :mod:`observatory.campaign_store`
through :class:`observatory.user_data.UserData` (the caller's rights are checked there); texts typed by people
are escaped when shown."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from observatory import campaigns as cp
from observatory.instrument import Instrument, ScoringModel
from observatory.safe_text import markdown_literal
from observatory.scoring import validate_answers
from observatory.user_data import UserData
from observatory.userdb import UserDataError
from ui import auto_evaluation_widgets as aw
from ui import cache, cache_fiche, errors
from ui.profile_widgets import ChosenCpts

NEW = "__nouvelle__"
STEPS = {"repondre": "1. Répondre", "repartition": "2. Répartition et avis partagés", "consensus": "3. Consensus",
         "plan": "4. Plan d'amélioration", "exports": "5. Exports"}
STEP_KEY = "campagne_etape"
NOTICE_KEY = "campagne_notice"


def store_changed(notice: str | None = None) -> None:
    """After a write: the cached reads are keyed by the store's change token, so they refresh; say what happened."""
    if notice:
        st.session_state[NOTICE_KEY] = notice
    st.rerun()


def select_next_run(key: str, value: str) -> None:
    """Choose ``value`` in the selectbox ``key`` at the next run (a drawn widget's value cannot be set)."""
    st.session_state[f"{key}|suivant"] = value


def _apply_pending(key: str) -> None:
    pending = st.session_state.pop(f"{key}|suivant", None)
    if pending is not None:
        st.session_state[key] = pending


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")


def identity_label(identity: cp.Identity, rules: cp.CampaignRules) -> str:
    """Plain text (selectbox): name, profession and role."""
    return (f"{identity.display_name} — {rules.professions.get(identity.profession, identity.profession)} "
            f"({rules.roles.get(identity.cpts_role, identity.cpts_role)})")


def identity_form(data: UserData, chosen: ChosenCpts, rules: cp.CampaignRules, key: str, *, lead_only: bool = False,
                  is_demo: bool = False) -> cp.Identity | None:
    """« Qui répond ? » : a member of the CPTS, recorded once (an account can be attached later)."""
    roles = [r for r in rules.roles if r in rules.lead_roles] if lead_only else list(rules.roles)
    with st.form(key, clear_on_submit=True, border=True):
        name = st.text_input("Nom et prénom", max_chars=150, key=f"{key}_name")
        c1, c2 = st.columns(2)
        profession = c1.selectbox("Profession", list(rules.professions), format_func=rules.professions.get, key=f"{key}_prof")
        role = c2.selectbox("Rôle dans la CPTS", roles, format_func=rules.roles.get, key=f"{key}_role")
        if not st.form_submit_button("Enregistrer ce membre", icon=":material/person_add:"):
            return None
    try:
        return data.add_identity(chosen.cpts_id, name, profession, role, is_demo=is_demo)
    except (cp.CampaignInputError, UserDataError) as error:
        st.error(errors.explain(error))
        return None


def choose_campaign(data: UserData, chosen: ChosenCpts, campaigns: list[cp.Campaign], identities: list[cp.Identity],
                    rules: cp.CampaignRules, instrument: Instrument, *, is_demo: bool) -> cp.Campaign | None:
    """The CPTS's campaigns (latest first) and, apart, the form that opens a new one."""
    key = f"campagne_choix|{chosen.cpts_id}"
    options = [c.campaign_id for c in campaigns]
    by_id = {c.campaign_id: c for c in campaigns}
    _apply_pending(key)
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)

    def label(cid: str) -> str:
        c = by_id[cid]
        state = "en cours" if c.is_open else f"close le {c.closed_at:%d/%m/%Y}"
        return f"{c.title} — ouverte le {c.opened_at:%d/%m/%Y}, {state}" + (" — démonstration" if c.is_demo else "")

    campaign_id = st.selectbox("Campagne", options, format_func=label, key=key, index=0 if options else None,
                               placeholder="Aucune campagne pour cette CPTS : ouvrez-en une ci-dessous")
    leads = [i for i in identities if i.cpts_role in rules.lead_roles]
    if not data.can_lead(chosen.cpts_id):
        if not campaigns:
            st.caption("Aucune campagne : le coordinateur de la CPTS l'ouvre.")
        return by_id.get(campaign_id) if campaign_id else None
    with st.expander("Ouvrir une nouvelle campagne", expanded=not campaigns):
        st.caption("Une campagne est datée et ouverte par un membre de la coordination, de la présidence ou du bureau ; "
                   "chaque membre y répond ensuite seul, puis le coordinateur établit le consensus.")
        title = st.text_input("Titre de la campagne", value=f"Auto-évaluation {dt.date.today().year}", max_chars=150,
                              key=f"campagne_titre|{chosen.cpts_id}")
        lead = st.selectbox("Coordinateur de la campagne", [i.identity_id for i in leads],
                            format_func=lambda i: identity_label(next(x for x in leads if x.identity_id == i), rules),
                            index=None, placeholder="Choisissez un membre, ou enregistrez-le ci-dessous",
                            key=f"campagne_coord|{chosen.cpts_id}")
        if st.button("Ouvrir la campagne", icon=":material/campaign:", disabled=lead is None):
            try:
                campaign = data.open_campaign(
                    chosen.cpts_id, title, next(i for i in leads if i.identity_id == lead), cpts_name=chosen.name,
                    register_id=chosen.register_id, instrument_version=instrument.version, is_demo=is_demo)
            except (cp.CampaignInputError, UserDataError) as error:
                st.error(errors.explain(error))
            else:
                select_next_run(key, campaign.campaign_id)
                store_changed(f"Campagne « {campaign.title} » ouverte.")
        st.markdown("**Enregistrer un membre de la coordination**")
        if identity_form(data, chosen, rules, f"campagne_lead|{chosen.cpts_id}", lead_only=True, is_demo=is_demo):
            store_changed("Membre enregistré : choisissez-le comme coordinateur de la campagne.")
    return by_id.get(campaign_id) if campaign_id else None


def render_respond(data: UserData, chosen: ChosenCpts, campaign: cp.Campaign, identities: list[cp.Identity], rules: cp.CampaignRules,
                   instrument: Instrument, model: ScoringModel, *, is_demo: bool) -> None:
    """Step 1: who answers, then their own questionnaire (saved as a draft, then submitted)."""
    st.markdown("Chaque membre répond **seul**, avec sa profession : la thèse n'a entendu que des médecins (section 5) ; "
                "la campagne recueille l'avis de toutes les professions de la CPTS.")
    ids = [i.identity_id for i in identities]
    key = f"campagne_repondant|{campaign.campaign_id}"
    _apply_pending(key)
    who = st.selectbox("Qui répond ?", ids, format_func=lambda i: identity_label(next(x for x in identities if x.identity_id == i), rules),
                       index=None, placeholder="Choisissez votre nom, ou enregistrez-vous ci-dessous", key=key)
    with st.expander("Je ne suis pas dans la liste : m'enregistrer", expanded=not identities):
        added = identity_form(data, chosen, rules, f"campagne_membre|{chosen.cpts_id}", is_demo=is_demo)
        if added is not None:
            select_next_run(key, added.identity_id)
            store_changed(f"Bienvenue : vous répondez au nom de {added.display_name}.")
    if who is None:
        return
    if not campaign.is_open:
        st.info("Campagne close : les réponses individuelles sont consultables à l'étape « Répartition », plus modifiables.")
        return
    identity = next(i for i in identities if i.identity_id == who)
    state_key = f"resp|{campaign.campaign_id}|{who}"

    def load():
        saved = data.response(campaign.campaign_id, who)
        from observatory.self_assessment import StartingPoint

        if saved is None:
            return StartingPoint({}, None, "empty", "Questionnaire vide : vos réponses ne sont vues que de la CPTS.")
        status = "soumises" if saved.status == "submitted" else "enregistrées (brouillon)"
        return StartingPoint(dict(saved.answers), saved.revision, saved.status,
                             f"Vos réponses {status} le {saved.updated_at:%d/%m/%Y à %H:%M} (révision {saved.revision}).")

    state = aw.edit_state(state_key, load)
    st.caption(markdown_literal(f"{identity.display_name} — {state.origin}", max_length=400))
    entered = aw.render_questionnaire(instrument, model, state)
    aw.remember_entered(state, entered.answers)
    c1, c2, _ = st.columns([1, 1, 2])
    save = c1.button("Enregistrer mes réponses", icon=":material/save:", key=f"{state_key}|save")
    submit = c2.button("Soumettre mes réponses", icon=":material/task_alt:", type="primary", key=f"{state_key}|submit")
    if not (save or submit):
        return
    if submit:
        problems = entered.messages + [e.message for e in validate_answers(instrument, entered.answers)]
        if problems:
            st.error("Soumission refusée : corrigez d'abord ces réponses.\n\n- "
                     + "\n- ".join(markdown_literal(p, 400) for p in dict.fromkeys(problems)))
            return
    try:
        saved = data.save_response(campaign.campaign_id, who, entered.answers, state.draft_revision, submit=submit)
    except (UserDataError, cp.CampaignInputError) as error:  # a concurrent edit, refused, store unavailable
        st.error(errors.explain(error))
        return
    state.draft_revision, state.saved = saved.revision, dict(entered.answers)
    store_changed("Réponses soumises : elles comptent dans la répartition." if submit else "Réponses enregistrées.")


def user_token() -> tuple[str, tuple[int, ...]]:
    path = cache.user_db_path()
    return path, cache_fiche.user_db_token(path)
