"""The regional synthesis an ARS asks for (the thesis's annual or biennial survey, section 5): for a région
or France and one campaign (a calendar year of submissions), the response rate by département, the
distribution of maturity levels by size class and by stage, each CPTS's level for the map, and the
sub-dimensions most often among a CPTS's three weakest, flagged when they stay so over two campaigns.

Rules: levels come from the latest submission of each CPTS in the year as frozen with the current model
(submissions frozen with another version are counted apart, never mixed); the weakest sub-dimensions read
every latest submission with the current model (frozen scores, or answers rescored and said so);
every count that groups CPTS is shown only from ``min_count`` CPTS (the peers' anonymity threshold), and
a masked group says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from observatory.funding import size_class_labels
from observatory.instrument import Instrument, ScoringModel
from observatory.model_insight import rescore
from observatory.scoring import weakest_subdimensions
from observatory.stages import stage_label

MASKED = "masqué (moins de {n} CPTS)"


@dataclass(frozen=True)
class RegionalSynthesis:
    year: int
    scope: str  # French: « Île-de-France » or « France entière »
    scoring_version: str
    min_count: int
    n_cpts: int  # CPTS of the register in the scope, launched at its date
    n_participating: int  # with at least one submission in the year (any model version)
    n_assessed: int  # latest submission of the year scored with ``scoring_version``
    n_other_version: int
    response_rates: pd.DataFrame
    levels_by_size: pd.DataFrame  # group, level_id, CPTS (masked groups left out)
    levels_by_stage: pd.DataFrame
    masked_groups: tuple[str, ...]
    weakest: pd.DataFrame
    cpts_levels: pd.DataFrame  # cpts_id, name, level_id, level_label, score_text (map)
    weakest_shown: bool


def campaign_years(assessments: Sequence) -> list[int]:
    """Years with at least one submitted assessment, most recent first."""
    return sorted({a.submitted_at.year for a in assessments}, reverse=True)


def shared_in_year(assessments: Sequence, year: int) -> set[str]:
    """CPTS whose latest assessment of ``year`` is shared with the ARS (their level may be shown individually)."""
    return {cpts_id for cpts_id, a in _latest_in_year(assessments, year).items() if getattr(a, "shared_with_ars", False)}


def _latest_in_year(assessments: Sequence, year: int) -> dict:
    latest = {}
    for a in sorted(assessments, key=lambda a: (a.submitted_at, a.assessment_id)):
        if a.submitted_at.year == year:
            latest[a.cpts_id] = a
    return latest


def _weakest_counts(latest: Mapping, instrument: Instrument, model: ScoringModel) -> tuple[Counter, int]:
    """Sub-dimension -> CPTS where it is among the three weakest, every assessment read with ``model``
    (frozen scores when scored with it, else its answers rescored: one model, never a mix), and how many
    CPTS were read."""
    counts: Counter = Counter()
    n = 0
    for a in latest.values():
        if a.scoring_version == model.version:
            result = a.score_result
        else:
            again = rescore(a.answers, a.instrument_version, model)
            if again is None:
                continue
            result = again.result
        n += 1
        for w in weakest_subdimensions(result, instrument, 3):
            counts[w.subdimension_id] += 1
    return counts, n


def regional_synthesis(profiles: pd.DataFrame, departements: Mapping[str, tuple[str, str]], assessments: Sequence,
                       year: int, region_code: str | None, region_name: str | None, model: ScoringModel,
                       instrument: Instrument) -> RegionalSynthesis:
    """``profiles``: :func:`observatory.peers.cpts_profiles` of the register (main département, size class,
    national stage); ``departements``: code -> (name, région code); ``assessments``: every submitted
    assessment of the register's CPTS."""
    n_min = model.min_peers
    scope = profiles[profiles["stage_code"].notna()].copy()
    scope["departement_code"] = scope["main_departement_code"].astype(str)
    if region_code is not None:
        scope = scope[scope["departement_code"].map(lambda d: departements.get(d, ("", ""))[1]) == str(region_code)]
    ids = set(scope["cpts_id"].astype(str))
    mine = [a for a in assessments if a.cpts_id in ids]
    latest = _latest_in_year(mine, year)
    assessed = {c: a for c, a in latest.items() if a.scoring_version == model.version}

    rates = []
    for code, group in scope.groupby("departement_code"):
        n, k = len(group), sum(c in latest for c in group["cpts_id"].astype(str))
        shown = n >= n_min
        # text columns: a masked value shows « — », never « None » or 0
        rates.append({"Département": f"{code} — {departements.get(code, (code, ''))[0]}", "CPTS du registre": n,
                      "CPTS ayant répondu": str(k) if shown else "—",
                      "Taux de réponse (%)": f"{100 * k / n:.1f}".replace(".", ",") if shown else "—",
                      "Remarque": "" if shown else MASKED.format(n=n_min)})
    response_rates = pd.DataFrame(rates, columns=["Département", "CPTS du registre", "CPTS ayant répondu",
                                                   "Taux de réponse (%)", "Remarque"])

    rows = []
    for cpts_id, a in assessed.items():
        p = scope[scope["cpts_id"] == cpts_id].iloc[0]
        size = size_class_labels().get(int(p["size_class"]), "taille inconnue") if pd.notna(p["size_class"]) else "taille inconnue"
        rows.append({"cpts_id": cpts_id, "name": p["name"], "size": size, "stage": stage_label(p["stage_code"]),
                     "level_id": a.maturity_level_id or model.undetermined_id, "overall": a.overall_score})
    frame = pd.DataFrame(rows, columns=["cpts_id", "name", "size", "stage", "level_id", "overall"])
    masked: list[str] = []

    def by(column: str, title: str) -> pd.DataFrame:
        out = []
        for group, members in frame.groupby(column):
            if len(members) < n_min:
                masked.append(f"{title} « {group} » : {MASKED.format(n=n_min)}")
                continue
            for level, count in members["level_id"].value_counts().items():
                out.append({title: group, "level_id": level, "CPTS": int(count)})
        return pd.DataFrame(out, columns=[title, "level_id", "CPTS"])

    levels_by_size, levels_by_stage = by("size", "Taille"), by("stage", "Stade")
    labels = {b.id: b.label for b in model.bands} | {model.undetermined_id: model.undetermined_label}
    cpts_levels = frame.assign(level_label=frame["level_id"].map(labels),
                               score_text=frame["overall"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f}".replace(".", ",")))

    now, n_now = _weakest_counts(latest, instrument, model)
    before, n_before = _weakest_counts(_latest_in_year(mine, year - 1), instrument, model)
    weakest_shown = n_now >= n_min
    top_now = {s for s, _ in now.most_common(3)}
    top_before = {s for s, _ in before.most_common(3)} if n_before >= n_min else set()
    weakest = pd.DataFrame([{
        "Sous-dimension": instrument.subdimension(s).label, "Dimension": instrument.dimension(instrument.subdimension(s).dimension).label,
        "CPTS où elle est parmi les 3 plus faibles": n, "Part des CPTS évaluées (%)": round(100 * n / n_now, 1),
        f"Déjà parmi les plus fréquentes en {year - 1}": "oui" if s in top_now and s in top_before else "",
    } for s, n in now.most_common()] if weakest_shown else [])
    return RegionalSynthesis(
        year=year, scope=region_name or "France entière", scoring_version=model.version, min_count=n_min,
        n_cpts=len(scope), n_participating=len(latest), n_assessed=len(assessed), n_other_version=len(latest) - len(assessed),
        response_rates=response_rates, levels_by_size=levels_by_size, levels_by_stage=levels_by_stage,
        masked_groups=tuple(masked), weakest=weakest, cpts_levels=cpts_levels, weakest_shown=weakest_shown,
    )
