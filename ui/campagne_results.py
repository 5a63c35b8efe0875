"""Streamlit steps 2 to 5 of the « Auto-évaluation collective » page: the distribution of the members'
answers with the « avis partagés » flags, the consensus, the improvement plan and its follow-up, and the
exports (XLSX workbook, printable report). Values come from :mod:`observatory.campaigns`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from observatory import campaigns as cp
from observatory.campaign_charts import answer_distribution_chart
from observatory.campaign_export import campaign_workbook, workbook_file_name
from observatory.instrument import Instrument, ScoringModel
from observatory.model_insight import rescore
from observatory.report import assessment_report_html, report_file_name
from observatory.safe_text import markdown_literal
from observatory.scoring import InvalidAnswersError, score_assessment
from observatory.self_assessment import live_assessment, score_text
from observatory.user_data import UserData
from observatory.userdb import UserDataError
from ui import auto_evaluation_widgets as aw
from ui import errors
from ui.campagne_widgets import identity_label, store_changed


def render_distribution(view: cp.CampaignView, instrument: Instrument, rules: cp.CampaignRules) -> None:
    analysis = view.analysis
    if not view.people:
        st.info("Aucune réponse soumise pour l'instant : la répartition apparaîtra avec les premières réponses.")
        return
    professions = ", ".join(f"{p} ({n})" for p, n in analysis.professions.items())
    st.markdown(f"**{analysis.n_respondents} répondant{'s' if analysis.n_respondents > 1 else ''}** : {professions}"
                + (f" ; {view.n_drafts} réponse(s) enregistrée(s) mais pas encore soumise(s)." if view.n_drafts else "."))
    if analysis.is_single_respondent:
        st.info("Un seul répondant : l'évaluation reflète un seul point de vue ; il n'y a ni avis partagés ni consensus "
                "à établir. Invitez d'autres membres, de professions différentes, à répondre.")
    st.dataframe(cp.respondents_table(view, rules), hide_index=True, width="stretch")
    st.caption(rules.rule_text.replace("**", ""))
    split = analysis.split_question_ids
    st.subheader(f"Questions aux avis partagés ({len(split)})")
    if split:
        st.dataframe(pd.DataFrame([{"Question": q, "Sous-dimension": instrument.subdimension(instrument.question(q).subdimension).label,
                                    "Répartition": analysis.questions[q].summary} for q in split]),
                     hide_index=True, width="stretch", column_config={"Répartition": st.column_config.TextColumn(width="large")})
    else:
        st.caption("Aucune question ne remplit la règle « avis partagés ».")
    st.subheader("Sous-dimensions : scores des répondants")
    st.dataframe(cp.subdimension_spread_table(analysis, instrument), hide_index=True, width="stretch", height=35 * 20 + 3)
    st.subheader("Une question en détail")
    answered = [q.id for q in instrument.questions if analysis.questions[q.id].n_answered]
    qid = st.selectbox("Question", answered, format_func=lambda q: f"{q} — {instrument.question(q).text}",
                       index=answered.index(split[0]) if split else 0, key=f"campagne_detail|{view.campaign.campaign_id}")
    spread = analysis.questions[qid]
    st.altair_chart(answer_distribution_chart(spread.counts, f"{qid} : réponses par profession"), theme=None, width="content")
    st.caption(markdown_literal(spread.summary, max_length=1200))


def render_consensus(data: UserData, view: cp.CampaignView, instrument: Instrument, model: ScoringModel, rules: cp.CampaignRules) -> None:
    campaign = view.campaign
    if not view.people:
        st.info("Aucune réponse soumise : le consensus s'établit à partir des réponses des membres.")
        return
    if not campaign.is_open:
        st.success(f"Consensus validé le {campaign.closed_at:%d/%m/%Y à %H:%M} : il est devenu l'évaluation soumise de la CPTS "
                   f"(notation v{model.version}) ; les réponses individuelles lui restent attachées.")
        result = score_assessment(instrument, model, view.consensus_answers, strict=False)
        st.metric("Score global du consensus", score_text(result.overall))
        return
    if not data.can_lead(campaign.cpts_id):
        st.info("Le consensus est établi par le coordinateur de la CPTS, la répartition des réponses sous les yeux.")
        return
    leads = [i for i in view.identities.values() if i.cpts_role in rules.lead_roles]
    default = [i.identity_id for i in leads].index(campaign.coordinator_identity_id) if view.coordinator in leads else 0
    who = st.selectbox("Qui établit le consensus ?", [i.identity_id for i in leads], index=default,
                       format_func=lambda i: identity_label(view.identities[i], rules), key=f"consensus_qui|{campaign.campaign_id}")
    origin = (f"Consensus enregistré (révision {campaign.consensus_revision}), repris." if campaign.consensus is not None
              else "Proposition de départ : la réponse médiane (questions notées) ou la plus fréquente de chaque question.")
    st.caption(origin + " Sous chaque question : la répartition des réponses (⚠ : avis partagés).")
    state = aw.edit_state(f"cons|{campaign.campaign_id}|{campaign.consensus_revision}",
                          lambda: _starting_point(view.consensus_answers, campaign.consensus_revision))
    entered = aw.render_questionnaire(instrument, model, state, notes=cp.consensus_captions(instrument, view.analysis),
                                      expanded=frozenset(view.analysis.split_subdimension_ids))
    aw.remember_entered(state, entered.answers)
    result = score_assessment(instrument, model, entered.scoring_answers, strict=False)
    st.metric("Score global du consensus (en direct)", score_text(result.overall), help=model.overall_rule)
    c1, c2, _ = st.columns([1, 1, 2])
    store = data
    if c1.button("Enregistrer le consensus", icon=":material/save:"):
        try:
            store.save_consensus(campaign.campaign_id, entered.answers, campaign.consensus_revision)
        except UserDataError as error:  # a concurrent edit, refused, store unavailable
            st.error(errors.explain(error))
            return
        store_changed("Consensus enregistré.")
    if c2.button("Valider le consensus et soumettre l'évaluation de la CPTS", icon=":material/verified:", type="primary"):
        try:
            saved = store.save_consensus(campaign.campaign_id, entered.answers, campaign.consensus_revision)
            assessment = store.close_with_consensus(campaign.campaign_id, entered.answers, saved.consensus_revision,
                                                    author=view.identities[who], model=model, instrument=instrument)
        except InvalidAnswersError as error:
            st.error(f"Consensus refusé : {markdown_literal(error, 2000)}")
            return
        except UserDataError as error:
            st.error(errors.explain(error))
            return
        store_changed(f"Consensus validé : évaluation de la CPTS soumise (score global {score_text(assessment.overall_score)}, "
                      f"{assessment.score_result.maturity_label}).")


def _starting_point(answers: dict, revision: int):
    from observatory.self_assessment import StartingPoint

    return StartingPoint(dict(answers), revision, "consensus", "")


def render_plan(data: UserData, view: cp.CampaignView, previous: cp.CampaignView | None, actions: list[cp.Action], instrument: Instrument,
                model: ScoringModel, rules: cp.CampaignRules, *, is_demo: bool) -> None:
    campaign = view.campaign
    result = score_assessment(instrument, model, view.consensus_answers, strict=False)
    basis = "consensus validé" if not campaign.is_open else (
        "consensus enregistré" if campaign.consensus is not None else "proposition de consensus (non validée)")
    st.markdown(f"Actions suggérées à partir du {basis} : les sous-dimensions les plus faibles, avec ce que la thèse dit qui "
                "compte, puis les questions aux avis partagés. Chaque action a un responsable, une échéance et des moyens.")
    drafts = cp.suggested_actions(instrument, result, view.analysis, rules, [a for a in actions if a.campaign_id == campaign.campaign_id])
    if data.can_lead(campaign.cpts_id):
        _action_form(data, view, drafts, instrument, rules, is_demo=is_demo)
    else:
        st.caption("Le plan d'amélioration est écrit par le coordinateur de la CPTS.")
    st.subheader("Plan d'amélioration de la CPTS")
    if actions:
        st.dataframe(action_table(actions, instrument, rules), hide_index=True, width="stretch",
                     column_config={"Moyens": st.column_config.TextColumn(width="large")})
        if data.can_lead(campaign.cpts_id):
            _status_form(data, actions, rules)
    else:
        st.caption("Aucune action enregistrée.")
    if previous is not None:
        st.subheader(f"Prévu lors de « {previous.campaign.title} » et ce qui a bougé")
        planned = [a for a in actions if a.campaign_id == previous.campaign.campaign_id]
        if not planned:
            st.caption("La campagne précédente n'avait pas d'action.")
            return
        before = rescore(previous.consensus_answers, previous.campaign.instrument_version, model)
        table = cp.plan_follow_up(planned, before.result if before else None, result, instrument, rules,
                                  model.trend_stable_band_points)
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption(f"Scores de sous-dimension du consensus précédent et du {basis}, tous deux notés avec le modèle "
                   f"v{model.version} (le précédent est recalculé si besoin) : un écart ne mêle jamais deux versions.")


def action_table(actions: list[cp.Action], instrument: Instrument, rules: cp.CampaignRules) -> pd.DataFrame:
    origins = {"faible": "sous-dimension faible", "avis_partages": "avis partagés", "libre": "libre"}
    return pd.DataFrame([{
        "Action": a.title, "Responsable": a.owner, "Échéance": a.due_date.strftime("%d/%m/%Y") if a.due_date else "",
        "Statut": rules.statuses.get(a.status, a.status), "Sous-dimension": instrument.subdimension(a.subdimension_id).label,
        "Origine": origins.get(a.origin, a.origin), "Moyens": a.means or "",
    } for a in actions])


def _action_form(data: UserData, view: cp.CampaignView, drafts: list[cp.ActionDraft], instrument: Instrument, rules: cp.CampaignRules,
                 *, is_demo: bool) -> None:
    campaign = view.campaign
    choices = list(range(len(drafts))) + [-1]
    pick = st.selectbox("Partir de", choices, key=f"plan_source|{campaign.campaign_id}",
                        format_func=lambda i: "Action libre" if i < 0 else f"{drafts[i].title} — {drafts[i].reason}")
    draft = drafts[pick] if pick >= 0 else None
    k = f"plan|{campaign.campaign_id}|{pick}|{len(drafts)}"  # new defaults whenever the source changes
    subs = [s.id for s in instrument.subdimensions]
    with st.form(f"{k}|form", clear_on_submit=True):
        title = st.text_input("Action", value=draft.title if draft else "", max_chars=150, key=f"{k}|title")
        c1, c2, c3 = st.columns(3)
        owner = c1.text_input("Responsable", value=view.coordinator.display_name if view.coordinator else "", max_chars=150,
                              key=f"{k}|owner")
        due = c2.date_input("Échéance", value=dt.date.today() + dt.timedelta(days=180), format="DD/MM/YYYY", key=f"{k}|due")
        status = c3.selectbox("Statut", list(rules.statuses), format_func=rules.statuses.get, key=f"{k}|status")
        sub = st.selectbox("Sous-dimension", subs, index=subs.index(draft.subdimension_id) if draft else 0,
                           format_func=lambda s: instrument.subdimension(s).label, key=f"{k}|sub")
        means = st.text_area("Moyens", value=draft.means if draft else "", max_chars=cp.MAX_MEANS_LENGTH, key=f"{k}|means")
        if not st.form_submit_button("Ajouter l'action au plan", icon=":material/add_task:"):
            return
    try:
        data.add_action(
            campaign.cpts_id, sub, title, owner, campaign_id=campaign.campaign_id, question_id=draft.question_id if draft else None,
            origin=draft.origin if draft else "libre", due_date=due, means=means, status=status, is_demo=is_demo)
    except (cp.CampaignInputError, UserDataError) as error:
        st.error(errors.explain(error))
        return
    store_changed("Action ajoutée au plan.")


def _status_form(data: UserData, actions: list[cp.Action], rules: cp.CampaignRules) -> None:
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    ids = [a.action_id for a in actions]
    chosen = c1.selectbox("Suivre une action", ids, format_func=lambda i: next(a.title for a in actions if a.action_id == i),
                          key="plan_suivi_action")
    action = next(a for a in actions if a.action_id == chosen)
    status = c2.selectbox("Nouveau statut", list(rules.statuses), index=list(rules.statuses).index(action.status),
                          format_func=rules.statuses.get, key=f"plan_suivi_statut|{chosen}")
    if c3.button("Mettre à jour", key="plan_suivi_ok"):
        try:
            data.update_action(chosen, action.revision, title=action.title, owner=action.owner,
                               due_date=action.due_date, means=action.means, status=status)
        except (UserDataError, cp.CampaignInputError) as error:
            st.error(errors.explain(error))
            return
        store_changed("Statut de l'action mis à jour.")


def render_exports(view: cp.CampaignView, actions: list[cp.Action], instrument: Instrument, model: ScoringModel,
                   rules: cp.CampaignRules, *, register_name: str, chart_for) -> None:
    campaign = view.campaign
    result = score_assessment(instrument, model, view.consensus_answers, strict=False)
    now = dt.datetime.now().replace(microsecond=0)
    name = campaign.cpts_name or campaign.cpts_id
    own = [a for a in actions if a.campaign_id == campaign.campaign_id]
    current = live_assessment(campaign.cpts_id, name, campaign.register_id, view.consensus_answers, result,
                              is_demo=campaign.is_demo, author=view.coordinator.display_name if view.coordinator else None, now=now)

    def workbook() -> bytes:
        return campaign_workbook(view, own, instrument, model, rules, generated_at=now)

    def report() -> str:
        from observatory.radar import radar_png

        return assessment_report_html(current, instrument, model, radar_png=radar_png(chart_for(result)), generated_at=now,
                                      register_name=register_name, campaign_view=view, actions=own, rules=rules)

    c1, c2 = st.columns(2)
    c1.download_button("Télécharger le classeur (XLSX)", workbook, file_name=workbook_file_name(name, campaign.title, now),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore",
                       icon=":material/table_view:")
    c2.download_button("Télécharger le rapport imprimable (HTML, à imprimer en PDF)", report,
                       file_name=report_file_name(name, now).replace("rapport-", "rapport-campagne-"), mime="text/html",
                       on_click="ignore", icon=":material/print:")
    st.caption("Classeur pour le bureau de la CPTS et son ARS : réponses retenues, scores par version du modèle, répartition "
               "des réponses par profession, répondants, réponses individuelles et plan. Aucune cellule n'est une formule. "
               "Le rapport ajoute au rapport d'auto-évaluation le consensus et le plan.")
    st.caption(f"Export de l'état affiché ({'consensus validé' if not campaign.is_open else 'consensus en cours'}), "
               f"{len(view.people)} répondant(s).")
