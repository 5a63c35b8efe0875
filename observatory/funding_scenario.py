"""Merge or split CPTS and see what changes (pure pandas: no database, no Streamlit).

A scenario rewrites a register's frames (``queries.list_cpts``, ``queries.cpts_units`` and the recorded
missions) and the caller recomputes everything with the same code as for the real register: coverage
(``coverage.coverage_snapshot``: populations, white zones, overlaps) and ceilings
(``funding_analysis.cpts_funding``). Nothing here is written anywhere.

Decisions written down once (the page shows them):
- a merged CPTS covers the union of the territories; each of its stage dates is the earliest of its
  members' (it is as advanced as the most advanced of them) and its missions are the union of theirs;
- a split moves communes from one CPTS to a new CPTS, which inherits the stage dates and the missions of
  the CPTS it comes from, or to an existing CPTS, which keeps its own; the source keeps at least one
  commune (removing a CPTS entirely is a merger).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from observatory.coverage import KeyFigures
from observatory.funding import size_class_name
from observatory.stages import stage_date_columns

MERGED_ID = "scenario-fusion"
NEW_ID = "scenario-nouvelle-cpts"
MAX_NAME_PARTS = 4


class ScenarioError(ValueError):
    """A scenario that cannot be applied; the message is French and says what to change."""


@dataclass(frozen=True)
class Merge:
    cpts_ids: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    cpts_id: str
    commune_codes: tuple[str, ...]
    destination_id: str | None = None  # None: a new CPTS


@dataclass(frozen=True)
class ScenarioRegister:
    """A register rewritten by a scenario, and which CPTS it touched before and after."""

    cpts: pd.DataFrame
    links: pd.DataFrame
    missions: dict[str, tuple[str, ...]] | None
    before_ids: tuple[str, ...]
    after_ids: tuple[str, ...]
    description: str


def _names(cpts: pd.DataFrame) -> dict[str, str]:
    return dict(zip(cpts["cpts_id"].astype(str), cpts["name"].astype(str), strict=True))


def merged_name(names: Sequence[str]) -> str:
    shown = list(names[:MAX_NAME_PARTS]) + ([f"{len(names) - MAX_NAME_PARTS} autres"] if len(names) > MAX_NAME_PARTS else [])
    return "Fusion : " + " + ".join(shown)


def apply_merge(
    cpts: pd.DataFrame,
    links: pd.DataFrame,
    missions: Mapping[str, tuple[str, ...]] | None,
    merge: Merge,
) -> ScenarioRegister:
    names = _names(cpts)
    ids = tuple(dict.fromkeys(merge.cpts_ids))
    unknown = [i for i in ids if i not in names]
    if unknown:
        raise ScenarioError(f"CPTS absente(s) du registre : {', '.join(unknown)}.")
    if len(ids) < 2:
        raise ScenarioError("Choisissez au moins deux CPTS à fusionner.")
    members = cpts[cpts["cpts_id"].isin(ids)]
    merged = members.iloc[0].copy()
    merged["cpts_id"] = MERGED_ID
    merged["name"] = merged_name([names[i] for i in ids])
    for column in stage_date_columns().values():  # as advanced as the most advanced member
        merged[column] = pd.to_datetime(members[column]).min()
    merged["notes"] = "Scénario de fusion (simulation)"
    new_cpts = pd.concat([cpts[~cpts["cpts_id"].isin(ids)], merged.to_frame().T], ignore_index=True)
    new_cpts = new_cpts.astype(cpts.dtypes.to_dict())
    territory = links[links["cpts_id"].isin(ids)].assign(cpts_id=MERGED_ID).drop_duplicates("commune_code")
    new_links = pd.concat([links[~links["cpts_id"].isin(ids)], territory], ignore_index=True)
    new_missions = None
    if missions is not None:
        new_missions = {k: v for k, v in missions.items() if k not in ids}
        union = {m for i in ids for m in missions.get(i, ())}
        order = [m for i in ids for m in missions.get(i, ())]
        new_missions[MERGED_ID] = tuple(dict.fromkeys(m for m in order if m in union))
    return ScenarioRegister(new_cpts, new_links, new_missions, ids, (MERGED_ID,),
                            f"Fusion de {len(ids)} CPTS : " + ", ".join(names[i] for i in ids) + ".")


def apply_split(
    cpts: pd.DataFrame,
    links: pd.DataFrame,
    missions: Mapping[str, tuple[str, ...]] | None,
    split: Split,
) -> ScenarioRegister:
    names = _names(cpts)
    if split.cpts_id not in names:
        raise ScenarioError(f"CPTS absente du registre : {split.cpts_id}.")
    own = set(links.loc[links["cpts_id"] == split.cpts_id, "commune_code"])
    moved = tuple(dict.fromkeys(c for c in split.commune_codes if c in own))
    if not moved:
        raise ScenarioError(f"Choisissez au moins une commune de « {names[split.cpts_id]} » à déplacer.")
    if len(moved) == len(own):
        raise ScenarioError(
            f"« {names[split.cpts_id]} » garderait zéro commune : laissez-lui au moins une commune (pour la faire "
            "disparaître dans une autre CPTS, utilisez la fusion)."
        )
    destination = split.destination_id
    if destination is not None and destination not in names:
        raise ScenarioError(f"CPTS de destination absente du registre : {destination}.")
    if destination == split.cpts_id:
        raise ScenarioError("La CPTS de destination doit être différente de la CPTS scindée.")
    kept = links[~((links["cpts_id"] == split.cpts_id) & links["commune_code"].isin(moved))]
    new_cpts, new_missions = cpts, None if missions is None else dict(missions)
    if destination is None:
        destination = NEW_ID
        row = cpts[cpts["cpts_id"] == split.cpts_id].iloc[0].copy()
        row["cpts_id"], row["name"] = NEW_ID, f"Nouvelle CPTS issue de {names[split.cpts_id]}"
        row["notes"] = "Scénario de scission (simulation)"
        new_cpts = pd.concat([cpts, row.to_frame().T], ignore_index=True).astype(cpts.dtypes.to_dict())
        if new_missions is not None:
            new_missions[NEW_ID] = tuple(missions.get(split.cpts_id, ()))
        target = names[split.cpts_id] + " → nouvelle CPTS"
    else:
        target = f"{names[split.cpts_id]} → {names[destination]}"
    added = pd.DataFrame({"cpts_id": destination, "commune_code": list(moved)})
    new_links = pd.concat([kept, added], ignore_index=True).drop_duplicates(["cpts_id", "commune_code"])
    return ScenarioRegister(new_cpts, new_links, new_missions, tuple(dict.fromkeys((split.cpts_id, split.destination_id or split.cpts_id))),
                            (split.cpts_id, destination), f"Scission : {len(moved)} commune(s) déplacée(s), {target}.")


# ---------------------------------------------------------------------------------------------------
# Before / after
# ---------------------------------------------------------------------------------------------------

COMPARISON_COLUMNS = ["Situation", "CPTS", "Population", "Taille ACI", "Plafond annuel (€)", "Plafond par habitant (€)"]


def comparison_table(before: pd.DataFrame, after: pd.DataFrame, scenario: ScenarioRegister) -> pd.DataFrame:
    """The touched CPTS before and after (``funding_analysis.cpts_funding`` rows), with a total line each."""
    rows = []
    for label, frame, ids in (("Avant", before, scenario.before_ids), ("Après", after, scenario.after_ids)):
        part = frame.set_index("cpts_id").reindex(list(ids))
        for cpts_id, r in part.iterrows():
            rows.append(_row(label, r["name"] if isinstance(r["name"], str) else cpts_id, r["population_count"],
                             r["size_class"], r["ceiling_eur"]))
        total_ceiling = part["ceiling_eur"].sum(min_count=1)
        rows.append(_row(f"{label} – total", f"{len(part)} CPTS", part["population_count"].sum(min_count=1), None,
                         total_ceiling))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _row(situation: str, name: str, population, size_class, ceiling) -> dict:
    pop = None if population is None or pd.isna(population) else int(population)
    amount = None if ceiling is None or pd.isna(ceiling) else round(float(ceiling))
    return {
        "Situation": situation, "CPTS": name, "Population": pop,
        "Taille ACI": size_class_name(size_class),
        "Plafond annuel (€)": amount,
        "Plafond par habitant (€)": round(amount / pop, 2) if amount is not None and pop else None,
    }  # fmt: skip


def coverage_table(before: KeyFigures, after: KeyFigures) -> pd.DataFrame:
    """Coverage of the displayed area before and after the scenario (same counting rules as Couverture)."""
    measures = [
        ("CPTS actives dans la zone", "cpts_count"),
        ("Population couverte", "population_covered"),
        ("Population en zone blanche", "white_zone_population"),
        ("Communes en zone blanche", "white_zone_units"),
        ("Communes en chevauchement", "overlap_units"),
    ]
    return pd.DataFrame(
        [{"Mesure": label, "Avant": int(getattr(before, attr)), "Après": int(getattr(after, attr)),
          "Écart": int(getattr(after, attr)) - int(getattr(before, attr))} for label, attr in measures]
    )  # fmt: skip
