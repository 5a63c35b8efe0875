"""Peers of a CPTS for the self-assessment: same register, same ACI size class, same national stage.

The assessments store never reads the analytical database, so joining each CPTS of a register with
its size class (population of its territory, :func:`observatory.funding.size_class`) and its national
stage at the register's reference date is done here, from the frames of :mod:`observatory.queries`
(``list_cpts``) and :func:`observatory.coverage.cpts_summary`. The page passes the peers' latest
submitted results to :func:`peer_comparison`, which applies the model's rule: a median is shown only
when at least ``min_peers`` peers have submitted an assessment scored with the same model version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from observatory.funding import size_class_labels
from observatory.scoring import PeerMedians, ScoreResult, peer_medians
from observatory.stages import UNKNOWN_STAGE, stage_label

STAGE_DATE_COLUMNS = ("preproject_date", "letter_of_intent_date", "health_project_date", "aci_date")
PROFILE_COLUMNS = (
    "cpts_id", "register_id", "name", "is_demo", "ars_stage_code", "main_departement_code", *STAGE_DATE_COLUMNS,
    "population_count", "commune_count", "size_class", "stage_code",
)


def cpts_profiles(cpts: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per CPTS of a register: its ``list_cpts`` columns plus population, number of communes,
    ACI size class (nullable Int64: unknown without territory) and national stage at the summary's date.

    ``cpts`` is :func:`observatory.queries.list_cpts`; ``summary`` is :func:`observatory.coverage.cpts_summary`
    of the same register. A CPTS without any commune (case studies) has no population and no size class,
    never a population of 0.
    """
    extra = summary[["cpts_id", "population_count", "communes_count", "size_class", "stage_code"]].rename(
        columns={"communes_count": "commune_count"}
    )
    out = cpts.merge(extra, on="cpts_id", how="left", validate="one_to_one")
    no_territory = out["commune_count"].fillna(0).eq(0)
    out["population_count"] = out["population_count"].astype("Int64").mask(no_territory)
    out["commune_count"] = out["commune_count"].fillna(0).astype("int64")
    out["size_class"] = out["size_class"].astype("Int64")
    out["stage_code"] = out["stage_code"].astype(object).where(out["stage_code"].notna(), None)
    return out[list(PROFILE_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class PeerGroup:
    """Who the peers are. ``unavailable_reason`` (French) is set when no peer group can be defined."""

    size_class: int | None
    stage_code: str | None
    cpts_ids: tuple[str, ...]
    unavailable_reason: str | None = None

    @property
    def description(self) -> str:
        """« CPTS de taille 2 (40 000 à 80 000 habitants) au stade « ACI signé » » (French)."""
        if self.size_class is None or self.stage_code is None:
            return "aucun groupe de pairs"
        size = size_class_labels().get(self.size_class, f"taille {self.size_class}")
        return f"CPTS de {size[0].lower()}{size[1:]} au stade « {stage_label(self.stage_code)} »"


def peer_group(profiles: pd.DataFrame, size_class: int | None, stage_code: str | None,
               exclude_cpts_id: str | None = None) -> PeerGroup:
    """The CPTS of ``profiles`` with this size class and national stage, ``exclude_cpts_id`` left out."""
    if size_class is None or pd.isna(size_class):
        return PeerGroup(None, stage_code, (), "taille ACI inconnue (pas de territoire ni de population renseignés)")
    if stage_code is None or stage_code == UNKNOWN_STAGE:
        why = "stade national inconnu" if stage_code == UNKNOWN_STAGE else "CPTS pas encore lancée à la date du registre"
        return PeerGroup(int(size_class), None, (), why)
    same = profiles[
        profiles["size_class"].eq(int(size_class)).fillna(False)
        & profiles["stage_code"].eq(stage_code).fillna(False)
        & profiles["cpts_id"].ne(exclude_cpts_id)
    ]
    return PeerGroup(int(size_class), str(stage_code), tuple(same["cpts_id"].astype(str)))


def peer_group_of(profiles: pd.DataFrame, cpts_id: str) -> PeerGroup:
    """Peers of a CPTS of the register (itself excluded)."""
    row = profiles[profiles["cpts_id"] == cpts_id]
    if row.empty:
        return PeerGroup(None, None, (), "CPTS absente du registre affiché")
    r = row.iloc[0]
    size = None if pd.isna(r["size_class"]) else int(r["size_class"])
    return peer_group(profiles, size, r["stage_code"], exclude_cpts_id=cpts_id)


@dataclass(frozen=True)
class PeerComparison:
    group: PeerGroup
    medians: PeerMedians | None  # None when the group is unavailable
    n_submitted: int  # peers whose latest submission is scored with the model version
    min_peers: int
    is_shown: bool
    message: str  # French: why the median is shown or hidden


def peer_comparison(group: PeerGroup, results: Iterable[ScoreResult], scoring_version: str,
                    min_peers: int = 5) -> PeerComparison:
    """Medians of the peers' latest results, shown only with at least ``min_peers`` of them.

    ``results`` are the latest submitted results of (some of) ``group.cpts_ids``; those scored with
    another model version are counted apart, never mixed in.
    """
    if group.unavailable_reason:
        return PeerComparison(group, None, 0, min_peers, False,
                              f"médiane des pairs indisponible : {group.unavailable_reason}")
    medians = peer_medians(results, scoring_version, min_peers=min_peers)
    n = medians.n_results
    other = (f" ; {medians.n_excluded_other_version} évaluation(s) notée(s) avec une autre version du modèle, non comptée(s)"
             if medians.n_excluded_other_version else "")
    if n < min_peers:
        # The exact number is not said: below the threshold, even a count narrows down who answered.
        return PeerComparison(group, medians, n, min_peers, False,
                              f"médiane des pairs masquée : moins de {min_peers} pairs ont soumis une évaluation "
                              f"notée avec ce modèle (seuil d'anonymat){other}")
    return PeerComparison(group, medians, n, min_peers, True,
                          f"médiane de {n} pairs ({group.description}){other}")
