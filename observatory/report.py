"""The printable one-page report of a self-assessment: self-contained HTML (A4 print CSS, radar embedded
as a base64 PNG), which the user opens in a browser and prints to PDF. Pure: no Streamlit, no network.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import datetime
from html import escape

from observatory.assessments import Assessment
from observatory.instrument import Instrument, ScoringModel
from observatory.scoring import weakest_subdimensions
from observatory.self_assessment import score_text

_CSS = """
@page { size: A4 portrait; margin: 11mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 8.2pt; color: #212529; margin: 0; }
main { max-width: 186mm; margin: 0 auto; }
h1 { font-size: 13pt; margin: 0 0 1mm; }
h2 { font-size: 9.5pt; margin: 2mm 0 1mm; border-bottom: 1px solid #adb5bd; }
p { margin: 0.8mm 0; }
.demo { border: 2px solid #e8590c; color: #e8590c; font-weight: bold; padding: 1mm 2mm; margin: 1mm 0; }
.meta { color: #495057; }
.grid { display: flex; gap: 4mm; align-items: flex-start; }
.grid .radar { flex: 0 0 84mm; }
.grid .radar img { width: 84mm; height: auto; }
.grid .scores { flex: 1 1 auto; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #dee2e6; padding: 0.25mm 1mm; text-align: left; vertical-align: top; line-height: 1.2; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.dim td { font-weight: bold; background: #f1f3f5; }
tr.total td { font-weight: bold; border-top: 2px solid #495057; }
.weak { margin: 0; padding-left: 5mm; }
.weak li { margin-bottom: 0.6mm; }
.sources { font-size: 7pt; color: #495057; margin-top: 1.5mm; }
section.campaign { break-before: page; page-break-before: always; }
@media print { a { color: inherit; text-decoration: none; } }
"""


def report_file_name(cpts_name: str, when: datetime) -> str:
    """``rapport-auto-evaluation-<cpts>-<AAAA-MM-JJ>.html`` with an ASCII slug of the CPTS name."""
    ascii_name = unicodedata.normalize("NFKD", cpts_name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "cpts"
    return f"rapport-auto-evaluation-{slug}-{when:%Y-%m-%d}.html"


def _aggregation_text(model: ScoringModel) -> str:
    if model.aggregation == "question_weights":
        return ("Chaque niveau (sous-dimension, dimension, score global) est la moyenne pondérée de ses questions notées "
                "répondues, avec les poids publiés sur la page « Méthode » ; " + model.overall_rule)
    return ("Une sous-dimension est la moyenne pondérée de ses questions notées, une dimension la moyenne de ses "
            "sous-dimensions, le score global la moyenne des trois dimensions.")


def _row(label: str, score: float | None, css: str = "", detail: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return (f"<tr{cls}><td>{escape(label)}</td><td class=\"num\">{escape(detail)}</td>"
            f"<td class=\"num\">{escape(score_text(score))}</td></tr>")


def _campaign_html(view, actions, rules, instrument: Instrument) -> str:
    """Second page of a campaign's report: who answered, where they split, the plan (every text escaped)."""
    analysis = view.analysis
    professions = ", ".join(f"{escape(p)} ({n})" for p, n in analysis.professions.items())
    state = (f"validé le {view.campaign.closed_at:%d/%m/%Y}" if not view.campaign.is_open
             else "en cours (non validé)")
    single = ("<p><strong>Un seul répondant</strong> : l'évaluation reflète un seul point de vue.</p>"
              if analysis.is_single_respondent else "")
    split_rows = "".join(
        f"<tr><td>{escape(q)}</td><td>{escape(instrument.subdimension(instrument.question(q).subdimension).label)}</td>"
        f"<td>{escape(analysis.questions[q].summary)}</td></tr>" for q in analysis.split_question_ids)
    split = (f"<table><thead><tr><th>Question</th><th>Sous-dimension</th><th>Répartition</th></tr></thead><tbody>{split_rows}"
             "</tbody></table>") if split_rows else "<p>Aucune question aux avis partagés.</p>"
    plan_rows = "".join(
        f"<tr><td>{escape(a.title)}</td><td>{escape(a.owner)}</td><td>{escape(a.due_date.strftime('%d/%m/%Y') if a.due_date else '')}</td>"
        f"<td>{escape(rules.statuses.get(a.status, a.status))}</td><td>{escape(instrument.subdimension(a.subdimension_id).label)}</td>"
        f"<td>{escape(a.means or '')}</td></tr>" for a in actions)
    plan = (f"<table><thead><tr><th>Action</th><th>Responsable</th><th>Échéance</th><th>Statut</th><th>Sous-dimension</th>"
            f"<th>Moyens</th></tr></thead><tbody>{plan_rows}</tbody></table>") if plan_rows else "<p>Aucune action au plan.</p>"
    return f"""<section class="campaign">
<h2>Campagne « {escape(view.campaign.title)} » : consensus {escape(state)}</h2>
<p>{len(view.people)} répondant(s) aux réponses soumises : {professions}. Règle « avis partagés » : {escape(rules.rule_text.replace('**', ''))}</p>
{single}
<h2>Questions aux avis partagés ({len(analysis.split_question_ids)})</h2>
{split}
<h2>Plan d'amélioration</h2>
{plan}
</section>"""


def assessment_report_html(assessment: Assessment, instrument: Instrument, model: ScoringModel, *,
                           radar_png: bytes | None, generated_at: datetime, register_name: str | None = None,
                           peer_message: str | None = None, campaign_view=None, actions=(), rules=None) -> str:
    """One A4 page: CPTS, date, versions, level, scores table, radar image, three weakest
    sub-dimensions with the thesis's advice, sources. A demo assessment is labelled as such. With a
    campaign (``campaign_view``, its ``actions`` and the collective ``rules``), a second page gives who
    answered, the split items and the improvement plan."""
    result = assessment.score_result
    if model.version != result.scoring_version:  # a submission frozen with another model: describe that one
        from observatory.instrument import load_scoring_model

        model = load_scoring_model(result.scoring_version)
    name = assessment.cpts_name or assessment.cpts_id
    if assessment.status == "submitted" and assessment.submitted_at is not None:
        status = f"Évaluation soumise le {assessment.submitted_at:%d/%m/%Y à %H:%M}"
    else:
        status = f"Évaluation en cours, non soumise (état au {generated_at:%d/%m/%Y à %H:%M})"
    author = f" — renseignée par {escape(assessment.author)}" if assessment.author else ""
    demo = ('<p class="demo">Démonstration : CPTS et réponses fictives, générées pour illustrer l\'outil ; '
            "ces scores ne décrivent aucune CPTS réelle.</p>") if assessment.is_demo else ""
    register = f" — registre : {escape(register_name)}" if register_name else ""

    rows = []
    for dim in instrument.dimensions:
        d = result.dimensions[dim.id]
        rows.append(_row(f"{dim.label}", d.score, "dim", f"{d.n_subdimensions_scored}/{d.n_subdimensions} sous-dim. notées"))
        for sid in dim.subdimension_ids:
            s = result.subdimensions[sid]
            detail = f"{s.n_scored_answered}/{s.n_scored_applicable} q. notées" if s.n_scored_applicable else "non notée"
            rows.append(_row(instrument.subdimension(sid).label, s.score, "", detail))
    rows.append(_row("Score global", result.overall, "total", result.maturity_label))

    radar = ""
    if radar_png:
        data = base64.b64encode(radar_png).decode("ascii")
        radar = (f'<div class="radar"><img alt="Radar des 19 sous-dimensions de {escape(name)}" '
                 f'src="data:image/png;base64,{data}"></div>')

    weakest = weakest_subdimensions(result, instrument, 3)
    if weakest:
        items = "".join(
            f"<li><strong>{escape(w.label)}</strong> ({escape(w.dimension_label)}, {escape(score_text(w.score))}/100) : "
            f"{escape(w.advice)} <em>(thèse, {escape(w.section)})</em></li>"
            for w in weakest
        )
        weak_html = f'<ol class="weak">{items}</ol>'
    else:
        weak_html = "<p>Aucune sous-dimension notée pour l'instant.</p>"

    source = instrument.raw.get("source", {})
    peers = f"<p>Pairs : {escape(peer_message)}.</p>" if peer_message else ""
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Auto-évaluation — {escape(name)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>Auto-évaluation de la CPTS : {escape(name)}</h1>
{demo}
<p class="meta">{escape(status)}{author}{register}.</p>
<p class="meta">Questionnaire v{escape(assessment.instrument_version)} (42 questions, 3 dimensions, 19 sous-dimensions) ;
notation v{escape(result.scoring_version)}. Niveau de maturité : <strong>{escape(result.maturity_label)}</strong>
({escape(result.maturity_reason)}) Complétude : {escape(score_text(result.completeness_pct, 0))} % des questions applicables,
{escape(score_text(result.scored_completeness_pct, 0))} % des questions notées.</p>
<div class="grid">
{radar}
<div class="scores">
<h2>Scores (0 à 100)</h2>
<table>
<thead><tr><th>Dimension / sous-dimension</th><th class="num">Réponses</th><th class="num">Score</th></tr></thead>
<tbody>
{''.join(rows)}
</tbody>
</table>
{peers}
</div>
</div>
<h2>Les trois sous-dimensions les plus faibles et ce que la thèse dit qui compte</h2>
{weak_html}
<div class="sources">
<p><strong>Sources.</strong> Questionnaire : {escape(source.get('reference', ''))} {escape(source.get('questions', ''))} ;
sous-dimensions : {escape(source.get('subdimensions', ''))}. Notation : {escape(model.title)} — {escape(model.raw.get('status', ''))}
Une question sans réponse ou non applicable n'est jamais comptée comme zéro. {escape(_aggregation_text(model))}</p>
<p>Document produit par l'Observatoire des CPTS le {generated_at:%d/%m/%Y à %H:%M}.</p>
</div>
{_campaign_html(campaign_view, actions, rules, instrument) if campaign_view is not None else ""}
</main>
</body>
</html>
"""
