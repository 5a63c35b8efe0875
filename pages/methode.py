"""Méthode : le modèle de notation de l'auto-évaluation expliqué question par question, depuis ses fichiers
versionnés (data/instrument/scoring_vN.json et questionnaire_vN.json)."""

import pandas as pd
import streamlit as st

from observatory import method
from observatory.instrument import load_instrument, load_scoring_model, scoring_versions
from ui import methode_widgets as mw
from ui.frame import page_context

VERSION_PARAM = "version"

context = page_context()
st.title("Méthode de notation")

versions = scoring_versions()
requested = st.query_params.get(VERSION_PARAM)
version = st.selectbox("Version du modèle de notation", versions[::-1],
                       index=versions[::-1].index(requested) if requested in versions else 0,
                       format_func=lambda v: f"v{v} — {load_scoring_model(v).title}" + (" (en vigueur)" if v == versions[-1] else ""))
if requested is not None or version != versions[-1]:
    st.query_params[VERSION_PARAM] = version
model = load_scoring_model(version)
instrument = load_instrument(model.instrument_version)
raw = model.raw
source = instrument.raw.get("source", {})

st.info(
    f"**{model.title}** (fichier `data/instrument/{model.source_path}`, questionnaire v{instrument.version}). "
    f"{raw.get('status', '')} Modifier le modèle crée une nouvelle version (`scoring_v{int(versions[-1]) + 1}.json`) : "
    "chaque évaluation soumise garde la version du questionnaire et du modèle avec lesquels elle a été notée, et ses "
    f"scores restent figés. Versions disponibles : {', '.join('v' + v for v in versions)}.",
    icon=":material/info:",
)
st.caption(f"Questionnaire : {source.get('reference', '')} {source.get('questions', '')} ; sous-dimensions : "
           f"{source.get('subdimensions', '')} ; textes d'aide : {source.get('help_texts', '')}.")

st.header("Principes")
for principle in raw.get("principles", []):
    cite = f" *(thèse, section {principle['section']})*" if principle.get("section") else ""
    st.markdown(f"**{principle['title']}.** {principle['text']}{cite}")

st.subheader("Niveaux de maturité")
st.markdown("\n".join(f"- {line}" for line in method.band_lines(model)))
st.markdown(mw.band_rule_text(model))
st.subheader("Évolution et pairs")
st.markdown(f"- {raw.get('trend', {}).get('description', '')}\n- {raw.get('peers', {}).get('description', '')} "
            f"Sinon le radar dit pourquoi la médiane est masquée (par exemple « médiane des pairs masquée : 3 pairs ont "
            f"soumis ({model.min_peers} requis) »). Les pairs sont les CPTS du même registre, de la même taille ACI "
            "(population couverte) et au même stade national à la date du registre.")

mw.render_effective_weights(model, instrument, versions[: versions.index(version) + 1])
mw.render_changes(model, instrument)
mw.render_case_anchoring(versions)
mw.render_campaign_rules()

st.header("Questions notées, de contexte et descriptives")
summary = pd.DataFrame([{
    "Dimension": instrument.dimension(sub.dimension).label, "Sous-dimension": sub.label, "Questions": ", ".join(sub.question_ids),
    **{label: sum(model.rule(q).role == role for q in sub.question_ids) for role, label in mw.ROLE_COLUMNS.items()},
} for sub in instrument.subdimensions])
st.dataframe(summary, hide_index=True, width="stretch")
counts = {label: int(summary[label].sum()) for label in mw.ROLE_COLUMNS.values()}
st.caption(" ; ".join(f"{n} {label.lower()}" for label, n in counts.items()) + f" sur {len(instrument.questions)} questions ; "
           "une sous-dimension sans question notée n'a jamais de score.")

for dim in instrument.dimensions:
    st.header(f"{dim.label} ({dim.question_count} questions)")
    st.markdown(dim.description)
    for sid in dim.subdimension_ids:
        sub = instrument.subdimension(sid)
        with st.expander(f"{sub.label} — {', '.join(sub.question_ids)}"):
            st.markdown(f"{sub.description}\n\n**Ce qui compte selon la thèse** : {sub.what_matters} "
                        f"*(section {sub.what_matters_section})*")
            if sub.note:
                st.caption(sub.note)
            for qid in sub.question_ids:
                question = instrument.question(qid)
                rule = model.rule(qid)
                condition = f" — posée seulement si : {question.condition.label}" if question.condition else ""
                st.markdown(f"**Q{question.number}. {question.text}**  \n"
                            f"*{method.KIND_LABELS[question.kind]}{condition}* — {method.rule_summary(rule)}.")
                st.markdown(rule.rationale)
                if rule.changes:
                    st.markdown(f"*Changement par rapport à la version précédente* : {rule.changes}")
                details = method.rule_details(question, rule)
                if details:
                    st.markdown("\n".join(f"- {line}" for line in details))
                st.caption(f"Aide affichée au répondant (thèse, section {question.help_section}) : {question.help_text}")
