"""The XLSX workbook of a campaign, for a CPTS board and its ARS: the agreed answers, the scores under every
model version that can read them (side by side, never mixed), the members' answers spread by profession,
the respondents, their individual answers and the improvement plan.

Every cell is written by :func:`observatory.exports.append_row`, so a member's text starting
with « = » is shown as text, never run as a formula; the workbook contains no formula at all.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from observatory import exports
from observatory.campaigns import Action, CampaignRules, CampaignView
from observatory.instrument import Instrument, ScoringModel, load_scoring_model, scoring_versions
from observatory.model_insight import ROLE_LABELS, can_rescore, rescore
from observatory.scoring import answer_text, is_answered

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
SHEETS = ("Campagne", "Réponses retenues", "Scores par version", "Répartition", "Répondants", "Réponses individuelles",
          "Plan d'amélioration")


def workbook_file_name(cpts_name: str, title: str, when: datetime) -> str:
    def slug(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:50] or "cpts"

    return f"campagne-{slug(cpts_name)}-{slug(title)}-{when:%Y-%m-%d}.xlsx"


def _sheet(wb: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int] = ()) -> None:
    ws = wb.create_sheet(title)
    exports.append_row(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        exports.append_row(ws, row)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"


def _points(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def campaign_workbook(view: CampaignView, actions: Sequence[Action], instrument: Instrument, model: ScoringModel,
                      rules: CampaignRules, *, generated_at: datetime) -> bytes:
    """The workbook as bytes (written in memory, so a failure leaves nothing half-written)."""
    campaign = view.campaign
    answers = view.consensus_answers
    versions = [v for v in scoring_versions() if can_rescore(instrument.version, load_scoring_model(v))]
    results = {v: rescore(answers, instrument.version, load_scoring_model(v)) for v in versions}
    analysis = view.analysis
    wb = Workbook()
    wb.remove(wb.active)

    state = ("consensus validé le " + campaign.closed_at.strftime("%d/%m/%Y")) if not campaign.is_open else (
        "consensus enregistré, non validé" if campaign.consensus is not None else "proposition de consensus, non validée")
    meta = [
        ("CPTS", campaign.cpts_name or campaign.cpts_id), ("Identifiant CPTS", campaign.cpts_id), ("Campagne", campaign.title),
        ("Ouverte le", campaign.opened_at.strftime("%d/%m/%Y")), ("Réponses retenues", state),
        ("Coordinateur", view.coordinator.display_name if view.coordinator else ""),
        ("Répondants (réponses soumises)", len(view.people)),
        ("Professions", ", ".join(f"{p} ({n})" for p, n in analysis.professions.items())),
        ("Questions aux avis partagés", len(analysis.split_question_ids)),
        ("Questionnaire", f"v{instrument.version} (42 questions de la thèse, annexe 4, et précisions de l'Observatoire)"),
        ("Modèle de notation en vigueur", f"v{model.version} — {model.title}"),
        ("Données de démonstration", "oui (CPTS, membres et réponses fictifs)" if campaign.is_demo else "non"),
        ("Règle « avis partagés »", rules.rule_text.replace("**", "")),
        ("Produit le", generated_at.strftime("%d/%m/%Y à %H:%M") + " par l'Observatoire des CPTS"),
    ]
    _sheet(wb, SHEETS[0], ["Rubrique", "Valeur"], meta, (34, 110))

    rows = []
    for q in instrument.questions:
        rule = model.rule(q.id)
        spread = analysis.questions[q.id]
        shown = answer_text(q, answers) if is_answered(q, answers.get(q.id)) else ""
        row = [q.id, instrument.dimension(q.dimension).label, instrument.subdimension(q.subdimension).label, q.text, shown,
               ROLE_LABELS[rule.role]]
        row += [_points(results[v].result.question_points.get(q.id)) if results[v] else None for v in versions]
        row += [spread.n_answered, "oui" if spread.is_split else "", "oui" if spread.professions_disagree else ""]
        rows.append(row)
    _sheet(wb, SHEETS[1], ["Question", "Dimension", "Sous-dimension", "Intitulé", "Réponse retenue", f"Rôle (v{model.version})",
                           *[f"Points v{v}" for v in versions], "Répondants", "Avis partagés", "Professions divergent"], rows,
           (9, 12, 26, 60, 50, 12, *[10] * len(versions), 11, 12, 12))

    score_rows = [["Global", "Score global", *[_points(results[v].result.overall) if results[v] else None for v in versions]],
                  ["Global", "Niveau de maturité", *[results[v].result.maturity_label if results[v] else "" for v in versions]]]
    for d in instrument.dimensions:
        score_rows.append(["Dimension", d.label, *[_points(results[v].result.dimensions[d.id].score) if results[v] else None
                                                   for v in versions]])
    for s in instrument.subdimensions:
        score_rows.append(["Sous-dimension", s.label, *[_points(results[v].result.subdimensions[s.id].score) if results[v] else None
                                                        for v in versions]])
    notes = [" ".join(results[v].notes) for v in versions if results[v] and results[v].notes]
    score_rows.append(["Note", "Chaque colonne note les mêmes réponses avec une version du modèle ; les versions ne se "
                       "mélangent jamais. " + " ".join(notes), *[None] * len(versions)])
    _sheet(wb, SHEETS[2], ["Niveau", "Libellé", *[f"Modèle v{v}" for v in versions]], score_rows, (16, 44, *[12] * len(versions)))

    dist_rows = []
    for q in instrument.questions:
        counts = analysis.questions[q.id].counts
        for _, r in counts.iterrows():
            dist_rows.append([q.id, r["Réponse"], r["Profession"], int(r["Répondants"])])
    _sheet(wb, SHEETS[3], ["Question", "Réponse", "Profession", "Répondants"], dist_rows, (9, 70, 28, 11))

    people_rows = [[p.identity.display_name, rules.professions.get(p.identity.profession, p.identity.profession),
                    rules.roles.get(p.identity.cpts_role, p.identity.cpts_role), _points(p.result.overall),
                    round(p.result.completeness_pct)] for p in view.people]
    _sheet(wb, SHEETS[4], ["Répondant", "Profession", "Rôle dans la CPTS", f"Score global de ses réponses (v{model.version})",
                           "Complétude (%)"], people_rows, (30, 28, 34, 18, 12))

    names = [f"{p.identity.display_name} ({rules.professions.get(p.identity.profession, '')})" for p in view.people]
    individual = [[q.id, q.text, *[answer_text(q, p.answers) for p in view.people]] for q in instrument.questions]
    _sheet(wb, SHEETS[5], ["Question", "Intitulé", *names], individual, (9, 50, *[36] * len(names)))

    plan_rows = [[a.title, a.owner, a.due_date, rules.statuses.get(a.status, a.status),
                  instrument.subdimension(a.subdimension_id).label, a.question_id or "", a.means or ""] for a in actions]
    _sheet(wb, SHEETS[6], ["Action", "Responsable", "Échéance", "Statut", "Sous-dimension", "Question", "Moyens"], plan_rows,
           (40, 24, 12, 12, 30, 9, 70))
    for row in wb[SHEETS[6]].iter_rows(min_row=2, min_col=3, max_col=3):
        for cell in row:
            cell.number_format = "DD/MM/YYYY"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
