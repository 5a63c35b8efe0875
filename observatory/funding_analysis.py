"""What the ACI grid implies for a set of CPTS (pure pandas: no database, no Streamlit).

From a coverage summary (``coverage.cpts_summary``: population of each CPTS's whole territory, stage at the
date) and the missions of a register, this module computes each CPTS's annual ceiling under a dated grid
(``observatory.funding``), then what a regional decision-maker asks: totals by stage, by mission and by
grid, ceilings per inhabitant, the CPTS whose population sits near a class limit, and what merging two
CPTS of the same département would change.

Decisions written down once (the page shows them):
- a ceiling is what the grid gives at 100 % achievement, never a payment;
- only CPTS that signed the ACI at the date have a ceiling; a CPTS without a dated stage (imported
  register without stages) is counted as a signatory only under an explicit hypothesis;
- missions: those the register records as started at the date, or a stated hypothesis (the four missions
  socles that signing the ACI requires, or all six);
- « near a limit »: population within 5 % of 40 000, 80 000 or 175 000 (the grid's limits), on either side;
- a merger's population is that of the union of the two territories (a shared commune counts once), its
  missions the union of both, its ceiling the grid's for that population.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatory import funding
from observatory.stages import UNKNOWN_STAGE

ACI_STAGE = "aci"
MISSION_RULES: dict[str, str] = {
    "registre": "Missions du registre démarrées à la date",
    "socles": "Hypothèse : les quatre missions socles",
    "toutes": "Hypothèse : les six missions (maximum de la grille)",
}
NEAR_LIMIT_SHARE = 0.05
SOCLE_MISSIONS: tuple[str, ...] = tuple(
    code for code, mission in funding.load_grids().missions.items() if mission.kind == "socle"
)

CEILING_RULES = (
    "Plafond : montant annuel maximal que la grille ACI prévoit pour la taille de la CPTS et ses missions, à "
    "100 % d'atteinte des indicateurs. Ce n'est pas un montant versé.",
    "Seules les CPTS signataires de l'ACI à la date ont un plafond ; les autres sont comptées à part.",
    "La population d'une CPTS est celle de toutes ses communes (même hors de la zone affichée) ; « par "
    "habitant couvert » divise le total par la population des communes couvertes par ces CPTS, chacune une fois.",
)


@dataclass(frozen=True)
class Assumptions:
    """The hypotheses a ceiling depends on (all shown on the page and written in the exports)."""

    grid_id: str
    mission_rule: str = "registre"  # a key of MISSION_RULES
    unknown_stage_as_aci: bool = False  # count CPTS with no dated stage as ACI signatories
    member_counts: tuple[tuple[str, int], ...] = ()  # (cpts_id, members) where known (size-4 bonus)

    def __post_init__(self) -> None:
        if self.mission_rule not in MISSION_RULES:
            raise ValueError(f"règle de missions inconnue : {self.mission_rule!r} (attendu : {', '.join(MISSION_RULES)})")
        if self.grid_id not in funding.load_grids().grids:
            raise ValueError(f"grille ACI inconnue : {self.grid_id!r}")


def register_missions(missions: pd.DataFrame, as_of) -> dict[str, tuple[str, ...]] | None:
    """cpts_id -> missions started on or before ``as_of`` (no start date: counted), in the grid's order;
    None when the register records no mission at all (« non renseignées », not « aucune »)."""
    if missions is None or missions.empty:
        return None
    day = pd.Timestamp(as_of).normalize()
    started = missions[pd.to_datetime(missions["start_date"]).isna() | (pd.to_datetime(missions["start_date"]) <= day)]
    order = {code: i for i, code in enumerate(funding.MISSION_CODES)}
    out: dict[str, tuple[str, ...]] = {}
    for cpts_id, codes in started.groupby("cpts_id")["mission_code"]:
        known = sorted({c for c in codes.astype(str) if c in order}, key=order.get)
        out[str(cpts_id)] = tuple(known)
    return out


def missions_under(rule: str, cpts_id: str, recorded: Mapping[str, tuple[str, ...]] | None) -> tuple[str, ...] | None:
    """Missions of one CPTS under a rule; None when the rule is « registre » and the register has none."""
    if rule == "socles":
        return SOCLE_MISSIONS
    if rule == "toutes":
        return funding.MISSION_CODES
    if recorded is None:
        return None
    return tuple(recorded.get(cpts_id, ()))


# ---------------------------------------------------------------------------------------------------
# Ceilings of every CPTS
# ---------------------------------------------------------------------------------------------------

FUNDING_COLUMNS = (
    "cpts_id", "name", "stage_code", "has_aci", "aci_basis", "population_count", "communes_count", "size_class",
    "departement_codes", "region_codes", "missions", "ceiling_eur", "ceiling_status", "per_inhabitant_eur",
    "lines",
)  # fmt: skip


def cpts_funding(
    summary: pd.DataFrame,
    recorded_missions: Mapping[str, tuple[str, ...]] | None,
    assumptions: Assumptions,
) -> pd.DataFrame:
    """One row per CPTS active at the summary's date (started CPTS only) with its ceiling under
    ``assumptions``. ``lines`` holds the breakdown as (component_code, label, mission_code, amount) tuples;
    ``ceiling_eur`` is NaN for a CPTS without ACI or whose ceiling the grid cannot compute."""
    members = dict(assumptions.member_counts)
    rows = []
    active = summary[summary["is_active"]] if "is_active" in summary.columns else summary
    for r in active.itertuples(index=False):
        stage = r.stage_code
        population = int(r.population_count) if int(r.communes_count) > 0 else None
        if stage == ACI_STAGE:
            has_aci, basis = True, "ACI signé à la date"
        elif stage == UNKNOWN_STAGE and assumptions.unknown_stage_as_aci:
            has_aci, basis = True, "stade inconnu, compté comme signataire (hypothèse)"
        elif stage == UNKNOWN_STAGE:
            has_aci, basis = False, "stade inconnu (registre sans dates)"
        else:
            has_aci, basis = False, "pas d'ACI signé à la date"
        missions = missions_under(assumptions.mission_rule, str(r.cpts_id), recorded_missions)
        ceiling, status, lines = math.nan, "", ()
        if not has_aci:
            status = "sans ACI : pas de plafond"
        elif population is None:
            status = "population inconnue (aucune commune)"
        elif missions is None:
            status = "missions non renseignées dans le registre"
        else:
            breakdown = funding.funding_ceiling(population, list(missions), assumptions.grid_id, members.get(str(r.cpts_id)))
            if breakdown.total_eur is None:
                status = "non calculable avec cette grille (mission socle manquante)"
            else:
                ceiling = float(breakdown.total_eur)
                status = "plafond calculé"
                lines = tuple((x.component_code, x.label, x.mission_code, x.amount_eur) for x in breakdown.lines)
        rows.append({
            "cpts_id": str(r.cpts_id), "name": str(r.name), "stage_code": stage, "has_aci": has_aci,
            "aci_basis": basis, "population_count": population, "communes_count": int(r.communes_count),
            "size_class": funding.size_class_or_none(population), "departement_codes": str(r.departement_codes),
            "region_codes": str(r.region_codes), "missions": missions if missions is not None else (),
            "ceiling_eur": ceiling, "ceiling_status": status,
            "per_inhabitant_eur": ceiling / population if population and not math.isnan(ceiling) else math.nan,
            "lines": lines,
        })  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(FUNDING_COLUMNS))
    frame["size_class"] = frame["size_class"].astype("Int64")
    frame["population_count"] = frame["population_count"].astype("Int64")
    frame["ceiling_eur"] = frame["ceiling_eur"].astype("float64")
    frame["per_inhabitant_eur"] = frame["per_inhabitant_eur"].astype("float64")
    return frame


def in_area(funding_rows: pd.DataFrame, links: pd.DataFrame, level: str, code: str | None) -> pd.DataFrame:
    """The CPTS with at least one commune in the area (the coverage page's rule), sorted by name.
    ``links``: ``CoverageSnapshot.links`` (cpts_id, commune_code, departement_code, region_code)."""
    column = {"france": None, "region": "region_code", "departement": "departement_code"}[level]
    ids = set(links["cpts_id"]) if column is None else set(links.loc[links[column] == code, "cpts_id"])
    rows = funding_rows[funding_rows["cpts_id"].isin(ids)]
    return rows.sort_values(["name", "cpts_id"]).reset_index(drop=True)


def with_ceiling(funding_rows: pd.DataFrame) -> pd.DataFrame:
    return funding_rows[funding_rows["ceiling_eur"].notna()]


def covered_population(cpts_ids: Iterable[str], links: pd.DataFrame, units: pd.DataFrame) -> int:
    """Population of the communes of these CPTS, each commune once (their whole territories)."""
    codes = set(links.loc[links["cpts_id"].isin(set(cpts_ids)), "commune_code"])
    return int(units.loc[units["commune_code"].isin(codes), "population_count"].sum())


@dataclass(frozen=True)
class AreaTotals:
    cpts_count: int
    aci_count: int
    without_aci_count: int
    not_computable_count: int
    total_eur: float
    covered_population: int  # communes of the CPTS with a ceiling, each once
    per_inhabitant_eur: float | None
    size4_count: int  # CPTS with a ceiling in size 4 (bonus candidates when members are unknown)


def area_totals(funding_rows: pd.DataFrame, links: pd.DataFrame, units: pd.DataFrame) -> AreaTotals:
    ceiling = with_ceiling(funding_rows)
    population = covered_population(ceiling["cpts_id"], links, units)
    total = float(ceiling["ceiling_eur"].sum())
    return AreaTotals(
        cpts_count=len(funding_rows),
        aci_count=int(funding_rows["has_aci"].sum()),
        without_aci_count=int((~funding_rows["has_aci"]).sum()),
        not_computable_count=int((funding_rows["has_aci"] & funding_rows["ceiling_eur"].isna()).sum()),
        total_eur=total,
        covered_population=population,
        per_inhabitant_eur=total / population if population else None,
        size4_count=int((ceiling["size_class"] == 4).sum()),
    )


def by_stage(funding_rows: pd.DataFrame, stage_labels: Mapping[str, str]) -> pd.DataFrame:
    """One row per stage present: CPTS, population of their territories, ceiling total (ACI only)."""
    rows = []
    order = {code: i for i, code in enumerate(stage_labels)}
    for stage, group in sorted(funding_rows.groupby("stage_code"), key=lambda kv: order.get(kv[0], 99)):
        ceiling = group["ceiling_eur"].sum(min_count=1)
        population = int(group["population_count"].fillna(0).sum())
        rows.append({
            "Stade à la date": stage_labels.get(stage, stage),
            "CPTS": len(group),
            "dont avec un plafond": int(group["ceiling_eur"].notna().sum()),
            "Population de leurs territoires": population,
            "Plafond total (€)": None if pd.isna(ceiling) else round(float(ceiling)),
            "Plafond par habitant (€)": None if pd.isna(ceiling) or not population else round(float(ceiling) / population, 2),
        })  # fmt: skip
    return pd.DataFrame(rows)


def by_component(funding_rows: pd.DataFrame) -> pd.DataFrame:
    """Ceiling total per grid component (structure, each mission, or fixed / variable parts)."""
    mission_labels = {code: m.label for code, m in funding.load_grids().missions.items()}
    amounts: dict[str, list] = {}
    for lines in with_ceiling(funding_rows)["lines"]:
        for code, label, mission, amount in lines:
            entry = amounts.setdefault(code, [label, mission_labels.get(mission, "—") if mission else "—", 0, 0])
            entry[2] += 1
            entry[3] += amount
    return pd.DataFrame(
        [{"Composante": label, "Mission": mission, "CPTS": n, "Montant total (€)": total}
         for label, mission, n, total in amounts.values()],
        columns=["Composante", "Mission", "CPTS", "Montant total (€)"],
    )  # fmt: skip


def grid_comparison(
    summary: pd.DataFrame,
    recorded_missions: Mapping[str, tuple[str, ...]] | None,
    assumptions: Assumptions,
    area_ids: set[str],
    links: pd.DataFrame,
    units: pd.DataFrame,
    as_of,
) -> pd.DataFrame:
    """The area's total ceiling under every dated grid (same missions and stage hypotheses)."""
    try:
        in_force = funding.grid_for_date(pd.Timestamp(as_of).date()).grid_id
    except funding.FundingError:
        in_force = None
    rows = []
    for grid in funding.load_grids().grids.values():
        other = Assumptions(grid.grid_id, assumptions.mission_rule, assumptions.unknown_stage_as_aci,
                            assumptions.member_counts)
        rows_grid = cpts_funding(summary[summary["cpts_id"].isin(area_ids)], recorded_missions, other)
        totals = area_totals(rows_grid, links, units)
        rows.append({
            "Grille": grid.label,
            "Source": f"{grid.source} ({grid.source_date})",
            "Appliquée à partir du": grid.valid_from.strftime("%d/%m/%Y"),
            "En vigueur à la date": "oui" if grid.grid_id == in_force else "non",
            "CPTS avec un plafond": int(rows_grid["ceiling_eur"].notna().sum()),
            "Non calculables": totals.not_computable_count,
            "Plafond total (€)": round(totals.total_eur),
            "Par habitant couvert (€)": None if totals.per_inhabitant_eur is None else round(totals.per_inhabitant_eur, 2),
        })  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------------


def _representative(klass: int) -> int:
    """A population inside a size class (its lowest one) to price « what if it crossed the limit »."""
    return next(c.population_min for c in funding.load_grids().size_classes if c.size_class == klass)


def near_limits(funding_rows: pd.DataFrame, grid_id: str, share: float = NEAR_LIMIT_SHARE) -> pd.DataFrame:
    """CPTS whose population is within ``share`` of a class limit (either side), with what crossing it
    would change to their ceiling (same missions). Every active CPTS with a population is considered;
    the change is priced only where a ceiling is computable."""
    limits = funding.class_limits()
    rows = []
    for r in funding_rows[funding_rows["population_count"].notna()].itertuples(index=False):
        population = int(r.population_count)
        for limit in limits:
            gap = population - limit
            if abs(gap) > share * limit:
                continue
            klass = funding.size_class(population)
            below = klass <= funding.size_class(limit - 1) if limit > 0 else False
            other = klass + 1 if below else klass - 1
            change = math.nan
            if not math.isnan(r.ceiling_eur) and r.missions is not None:
                crossed = funding.funding_ceiling(_representative(other), list(r.missions), grid_id)
                if crossed.total_eur is not None:
                    change = float(crossed.total_eur) - float(r.ceiling_eur)
            rows.append({
                "cpts_id": r.cpts_id, "name": r.name, "population_count": population, "limit": limit,
                "gap_pct": gap / limit * 100, "side": "sous la limite" if below else "au-dessus de la limite",
                "size_class": klass, "other_size_class": other, "ceiling_eur": r.ceiling_eur,
                "ceiling_change_eur": change,
            })  # fmt: skip
    columns = ["cpts_id", "name", "population_count", "limit", "gap_pct", "side", "size_class", "other_size_class",
               "ceiling_eur", "ceiling_change_eur"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).sort_values(["limit", "gap_pct"]).reset_index(drop=True)


def cliff_curve(grid_id: str, low: int = 5_000, high: int = 1_000_000, points_per_class: int = 40) -> pd.DataFrame:
    """Ceiling per inhabitant against population for the whole grid, one segment per size class (so the
    drop at each limit shows as a cliff): population, per_inhabitant_eur, size_class, series (missions).
    Per-mission grid: two series (four missions socles; all six); fixed + variable grid: one."""
    grid = funding.load_grids().grids[grid_id]
    series = {"Les quatre missions socles": SOCLE_MISSIONS, "Les six missions (maximum)": funding.MISSION_CODES}
    if grid.model != "per_mission":
        series = {"Part fixe + part variable (missions socles)": SOCLE_MISSIONS}
    rows = []
    for label, missions in series.items():
        for c in funding.load_grids().size_classes:
            start = max(low, c.population_min, 1)
            stop = min(high, c.population_max if c.population_max is not None else high)
            if start >= stop:
                continue
            amount = funding.funding_ceiling(start, list(missions), grid_id).total_eur
            for population in np.unique(np.geomspace(start, stop, points_per_class).round().astype(int)):
                rows.append({"population_count": int(population), "per_inhabitant_eur": amount / population,
                             "size_class": c.size_class, "series": label, "ceiling_eur": amount})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# Mergers
# ---------------------------------------------------------------------------------------------------


def merger_effects(
    funding_rows: pd.DataFrame, links: pd.DataFrame, units: pd.DataFrame, grid_id: str, top: int | None = None
) -> pd.DataFrame:
    """Every pair of CPTS with a ceiling that share a département: the ceiling of the two apart, of the
    merged CPTS (union of territories and missions), and the loss (positive: merging costs money).
    Sorted by loss, largest first."""
    rows_by_id = {r["cpts_id"]: r for r in with_ceiling(funding_rows).to_dict("records")}
    if len(rows_by_id) < 2:
        return pd.DataFrame(columns=_MERGER_COLUMNS)
    # Population shared by two CPTS (a commune both claim) counts once in their merger.
    claimed = links.loc[links["cpts_id"].isin(set(rows_by_id)), ["cpts_id", "commune_code"]].drop_duplicates()
    shared_units = claimed[claimed.duplicated("commune_code", keep=False)]
    pop = units.set_index("commune_code")["population_count"]
    shared: dict[tuple[str, str], int] = {}
    for code, group in shared_units.groupby("commune_code"):
        ids = sorted(group["cpts_id"])
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                shared[(a, b)] = shared.get((a, b), 0) + int(pop.get(code, 0))
    by_dept: dict[str, list[str]] = {}
    for cpts_id, row in rows_by_id.items():
        for dept in (d for d in str(row["departement_codes"]).split(", ") if d):
            by_dept.setdefault(dept, []).append(cpts_id)
    seen: set[tuple[str, str]] = set()
    rows = []
    for dept, ids in sorted(by_dept.items()):
        ids = sorted(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                ra, rb = rows_by_id[a], rows_by_id[b]
                population = int(ra["population_count"]) + int(rb["population_count"]) - shared.get((a, b), 0)
                missions = [m for m in funding.MISSION_CODES if m in set(ra["missions"]) | set(rb["missions"])]
                merged = funding.funding_ceiling(population, missions, grid_id).total_eur
                if merged is None:
                    continue
                apart = float(ra["ceiling_eur"]) + float(rb["ceiling_eur"])
                rows.append({
                    "cpts_id_a": a, "name_a": ra["name"], "cpts_id_b": b, "name_b": rb["name"], "departement_code": dept,
                    "population_a": int(ra["population_count"]), "population_b": int(rb["population_count"]),
                    "merged_population": population, "merged_size_class": funding.size_class(population),
                    "ceiling_apart_eur": apart, "ceiling_merged_eur": float(merged), "loss_eur": apart - float(merged),
                })  # fmt: skip
    frame = pd.DataFrame(rows, columns=_MERGER_COLUMNS).sort_values("loss_eur", ascending=False, kind="stable")
    return frame.head(top).reset_index(drop=True) if top else frame.reset_index(drop=True)


_MERGER_COLUMNS = [
    "cpts_id_a", "name_a", "cpts_id_b", "name_b", "departement_code", "population_a", "population_b",
    "merged_population", "merged_size_class", "ceiling_apart_eur", "ceiling_merged_eur", "loss_eur",
]  # fmt: skip
