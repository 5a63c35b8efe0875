"""Auto-évaluation collective : une campagne datée par CPTS, chaque membre répond avec sa profession, la
répartition signale les avis partagés, le coordinateur établit le consensus, la CPTS écrit son plan
d'amélioration et l'exporte (classeur XLSX, rapport imprimable)."""

import datetime as dt

import streamlit as st

from observatory import campaigns as cp
from observatory import self_assessment as sa
from observatory.access import AccessDenied
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.radar import radar_chart
from ui import cache_campaigns, errors
from ui import campagne_results as cr
from ui import campagne_widgets as cw
from ui.frame import page_context
from ui.profile_widgets import choose_cpts
from ui.user_access import user_data
from ui.widgets import register_banner

context = page_context()
st.title("Auto-évaluation collective")
register_banner(context)
st.markdown(
    "Une **campagne** datée réunit les réponses de plusieurs membres de la CPTS (médecins, infirmiers, pharmaciens, "
    "kinésithérapeutes, sages-femmes, coordination...) au questionnaire de la thèse. La page montre où les avis se "
    "partagent, le coordinateur établit les réponses retenues par consensus, qui deviennent l'évaluation soumise de la "
    "CPTS, puis la CPTS écrit son plan d'amélioration. Règles publiées sur la page « Méthode »."
)
model = load_scoring_model(latest_scoring_version())
instrument = load_instrument(model.instrument_version)
rules = cp.load_campaign_rules()
if context.is_demo:
    cache_campaigns.demo_campaigns_loaded(cw.user_token()[0], context.db_path, context.register_id,
                                          context.register_as_of or dt.date.today().isoformat())
cw.show_notice()

user_path, token = cw.user_token()
data = user_data(context)
demo_ids = [c.cpts_id for c in cache_campaigns.campaign_store().all_campaigns() if c.is_demo]
chosen = choose_cpts(context, "campagne", preferred_ids=[*data.caller.cpts_ids, *demo_ids])
if chosen is None:
    st.stop()
if not data.can_see(chosen.cpts_id):  # a campaign is the CPTS's internal work
    st.info(errors.explain(AccessDenied("Accès réservé : les campagnes d'une CPTS ; elles sont visibles par ses "
                                        "coordinateurs et membres. Connectez-vous avec un compte de la CPTS (barre "
                                        "latérale), ou choisissez une CPTS du registre de démonstration.")),
            icon=":material/lock:")
    st.stop()
is_demo = data.facts(chosen.cpts_id).is_demo
if is_demo:
    st.caption("CPTS fictive du registre de démonstration : ses membres, campagnes et réponses sont étiquetés « démonstration ».")
identities = data.identities(chosen.cpts_id)
campaigns = data.campaigns(chosen.cpts_id)
campaign = cw.choose_campaign(data, chosen, campaigns, identities, rules, instrument, is_demo=is_demo)
if campaign is None:
    st.info("Ouvrez une campagne pour recueillir les réponses des membres de la CPTS.")
    st.stop()

view = cache_campaigns.campaign_view(user_path, token, campaign.campaign_id, model.version)
older = [c for c in campaigns if c.opened_at < campaign.opened_at and not c.is_open]
previous = cache_campaigns.campaign_view(user_path, token, older[0].campaign_id, model.version) if older else None
flags = (f"{len(view.people)} réponse(s) soumise(s), {len(view.analysis.split_question_ids)} question(s) aux avis partagés"
         + (" — un seul répondant" if view.analysis.is_single_respondent else ""))
st.subheader(f"{campaign.title} — {'en cours' if campaign.is_open else 'close'}", anchor=False)
st.caption(flags)
step = st.radio("Étape", list(cw.STEPS), format_func=cw.STEPS.get, horizontal=True, key=cw.STEP_KEY)
actions = data.actions(chosen.cpts_id)
if step == "repondre":
    cw.render_respond(data, chosen, campaign, identities, rules, instrument, model, is_demo=is_demo)
elif step == "repartition":
    cr.render_distribution(view, instrument, rules)
elif step == "consensus":
    cr.render_consensus(data, view, instrument, model, rules)
elif step == "plan":
    cr.render_plan(data, view, previous, actions, instrument, model, rules, is_demo=is_demo)
else:
    def report_chart(score):
        labels, series = sa.radar_series(score, instrument, "subdimensions", cpts_label=chosen.name)
        return radar_chart(series, labels, "Profil de maturité — 19 sous-dimensions (consensus)", size_px=460)

    cr.render_exports(view, actions, instrument, model, rules, register_name=chosen.register.get("name", ""),
                      chart_for=report_chart)
