"""Another allocation of the same money: proportional to population, optionally weighted by need
(« universalisme proportionné », thesis Discussion). Pure pandas: no database, no Streamlit.

The envelope is the total of the grid's ceilings over the CPTS that have one. Each CPTS i receives

    F_i = T × P_i × m_i / Σ_j P_j × m_j

where P_i is the population of its territory and m_i its need multiplier: 1 without need indicator;
with one, m_i = (R / V_i)^α for an indicator where higher is better (e.g. APL: a CPTS with half the
reference access gets twice the weight at α = 1), m_i = (V_i / R)^α where lower is better. V_i is the
indicator over the CPTS's territory (the catalogue's aggregation), R the same over all the CPTS of the
allocation (each commune once) and α ∈ [0, 1] the intensity. A CPTS without a value keeps m_i = 1.
Amounts are rounded to the euro by the largest remainder method, so they add up to T exactly.

Spread of funding per inhabitant: the Gini coefficient over inhabitants (each inhabitant carries the
amount per inhabitant of their CPTS): 0 when every inhabitant gets the same amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatory.funding import size_class_name
from observatory.indicators import aggregate

DIRECTIONS = ("higher_is_better", "lower_is_better")
FORMULA_LATEX = r"F_i = T \times \frac{P_i \, m_i}{\sum_j P_j \, m_j}"
MULTIPLIER_LATEX = {
    "higher_is_better": r"m_i = \left(\frac{R}{V_i}\right)^{\alpha}",
    "lower_is_better": r"m_i = \left(\frac{V_i}{R}\right)^{\alpha}",
}


def need_values(indicator_units: pd.DataFrame, links: pd.DataFrame, cpts_ids: list[str], aggregation: str) -> tuple[pd.Series, float]:
    """(value of the indicator over each CPTS's territory, the reference value over all their communes,
    each commune once). ``indicator_units``: ``IndicatorFrame.units`` (commune_code, value, weight)."""
    members = links.loc[links["cpts_id"].isin(set(cpts_ids)), ["cpts_id", "commune_code"]]
    frame = members.merge(indicator_units[["commune_code", "value", "weight"]], on="commune_code", how="left")
    weights = frame["weight"] if aggregation == "weighted_mean" else None
    values = aggregate(frame["value"], weights, groups=frame["cpts_id"], aggregation=aggregation)
    once = frame.drop_duplicates("commune_code")
    reference = aggregate(once["value"], once["weight"] if aggregation == "weighted_mean" else None,
                          aggregation=aggregation)
    return values.reindex(cpts_ids), float(reference)


def need_multipliers(values: pd.Series, reference: float, direction: str, intensity: float) -> pd.Series:
    """m_i (see the module docstring); 1 where the value is missing or not positive."""
    if direction not in DIRECTIONS:
        raise ValueError(f"sens d'indicateur inconnu pour un besoin : {direction!r} (attendu : {', '.join(DIRECTIONS)})")
    if not 0 <= intensity <= 1:
        raise ValueError(f"intensité hors de [0, 1] : {intensity}")
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    if math.isnan(reference) or reference <= 0:
        return pd.Series(1.0, index=v.index)
    usable = v.notna() & (v > 0)
    ratio = (reference / v) if direction == "higher_is_better" else (v / reference)
    return ratio.where(usable, 1.0).pow(intensity).where(usable, 1.0)


def allocate(total_eur: int, weights: pd.Series) -> pd.Series:
    """``total_eur`` split in proportion to ``weights``, in whole euros that add up to it exactly
    (largest remainder). All-zero weights split nothing (zeros)."""
    w = pd.to_numeric(weights, errors="coerce").fillna(0.0).clip(lower=0.0).astype("float64")
    total = int(round(total_eur))
    if w.sum() <= 0 or total <= 0:
        return pd.Series(0, index=w.index, dtype="int64")
    exact = w / w.sum() * total
    floors = np.floor(exact).astype("int64")
    left = total - int(floors.sum())
    # The euros left go to the largest fractional parts (ties: first in order, deterministic).
    order = np.argsort(-(exact - floors).to_numpy(), kind="stable")[:left]
    out = floors.to_numpy().copy()
    out[order] += 1
    return pd.Series(out, index=w.index, dtype="int64")


def weighted_gini(per_inhabitant: pd.Series, population: pd.Series) -> float:
    """Gini coefficient of an amount per inhabitant over inhabitants (population weights), from the Lorenz
    curve of grouped data: 0 = equal amounts; NaN when nothing to measure."""
    x = pd.to_numeric(per_inhabitant, errors="coerce").to_numpy(dtype="float64")
    p = pd.to_numeric(population, errors="coerce").to_numpy(dtype="float64")
    keep = ~np.isnan(x) & ~np.isnan(p) & (p > 0)
    x, p = x[keep], p[keep]
    if len(x) == 0 or (x * p).sum() <= 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    x, p = x[order], p[order]
    cum_p = np.concatenate([[0.0], np.cumsum(p) / p.sum()])
    cum_y = np.concatenate([[0.0], np.cumsum(x * p) / (x * p).sum()])
    return float(1.0 - np.sum((cum_p[1:] - cum_p[:-1]) * (cum_y[1:] + cum_y[:-1])))


@dataclass(frozen=True)
class NeedChoice:
    """A need indicator of the catalogue, its values and how strongly it weighs."""

    indicator_code: str
    label: str
    unit: str
    direction: str
    year: int
    intensity: float
    values: pd.Series  # by cpts_id
    reference: float


@dataclass(frozen=True)
class Allocation:
    table: pd.DataFrame
    total_eur: int
    gini_grid: float
    gini_alternative: float
    winners_count: int
    losers_count: int
    need: NeedChoice | None


def alternative_allocation(funding_rows: pd.DataFrame, need: NeedChoice | None = None) -> Allocation:
    """The grid's ceilings of the CPTS that have one (``funding_analysis.cpts_funding`` rows) next to the
    same total shared by population × need. Columns of ``table``: cpts_id, name, population_count,
    ceiling_eur, ceiling_per_inhabitant, need_value, multiplier, alternative_eur,
    alternative_per_inhabitant, difference_eur, difference_pct. Sorted by difference, largest gain first."""
    rows = funding_rows[funding_rows["ceiling_eur"].notna() & funding_rows["population_count"].notna()]
    rows = rows[rows["population_count"] > 0].reset_index(drop=True)
    population = rows["population_count"].astype("float64")
    ceiling = rows["ceiling_eur"].astype("float64")
    total = int(round(ceiling.sum()))
    if need is not None:
        values = need.values.reindex(rows["cpts_id"]).reset_index(drop=True)
        multiplier = need_multipliers(values, need.reference, need.direction, need.intensity)
    else:
        values = pd.Series(np.nan, index=rows.index)
        multiplier = pd.Series(1.0, index=rows.index)
    alternative = allocate(total, population * multiplier).astype("float64")
    table = pd.DataFrame({
        "cpts_id": rows["cpts_id"], "name": rows["name"], "population_count": rows["population_count"].astype("int64"),
        "size_class": rows["size_class"], "ceiling_eur": ceiling, "ceiling_per_inhabitant": ceiling / population,
        "need_value": values.astype("float64"), "multiplier": multiplier, "alternative_eur": alternative,
        "alternative_per_inhabitant": alternative / population, "difference_eur": alternative - ceiling,
        "difference_pct": (alternative - ceiling) / ceiling * 100,
    })  # fmt: skip
    table = table.sort_values(["difference_eur", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return Allocation(
        table=table,
        total_eur=total,
        gini_grid=weighted_gini(table["ceiling_per_inhabitant"], table["population_count"]),
        gini_alternative=weighted_gini(table["alternative_per_inhabitant"], table["population_count"]),
        winners_count=int((table["difference_eur"] > 0).sum()),
        losers_count=int((table["difference_eur"] < 0).sum()),
        need=need,
    )


def allocation_display(table: pd.DataFrame, need_label: str | None) -> pd.DataFrame:
    """French headers for display and exports (amounts rounded to the euro, per inhabitant to the cent)."""
    out = pd.DataFrame({
        "CPTS": table["name"],
        "Population": table["population_count"],
        "Taille ACI": [size_class_name(c, "") for c in table["size_class"]],
        "Plafond de la grille (€)": table["ceiling_eur"].round(0).astype("int64"),
        "Grille, par habitant (€)": table["ceiling_per_inhabitant"].round(2),
        "Répartition alternative (€)": table["alternative_eur"].round(0).astype("int64"),
        "Alternative, par habitant (€)": table["alternative_per_inhabitant"].round(2),
        "Écart (€)": table["difference_eur"].round(0).astype("int64"),
        "Écart (%)": table["difference_pct"].round(1),
    })  # fmt: skip
    if need_label:
        out.insert(3, need_label, table["need_value"].round(2))
        out.insert(4, "Multiplicateur de besoin", table["multiplier"].round(3))
    return out
