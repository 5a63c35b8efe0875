"""Territorial indicators: aggregation and classes, driven by the `indicators` catalogue (pure pandas).

Nothing here knows a particular indicator: how to aggregate (``aggregation``: weighted_mean or sum), with
which weight (``weight_indicator_code``, same year), the reference threshold (``threshold_value``) and the
display decimals all come from the catalogue row; map classes come from ``data/indicator_classes.json``
(quantiles when an indicator has none). A new catalogue row works without code change.

Aggregating over a territory follows DREES's rule for the APL: the mean of the communes' values weighted
by their standardised population (the catalogue's weight indicator). A weighted mean with no weight
indicator falls back to the municipal population.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatory.config import DATA_DIR
from observatory.coverage import COVERED, OVERLAP, WHITE_ZONE, CoverageSnapshot

# weighted_mean and sum (catalogue), ratio (Σ numerator / Σ denominator of two counts), change (derived
# indicators: the aggregate of one year minus that of the previous year, see observatory.derived_indicators).
AGGREGATIONS = ("weighted_mean", "sum", "ratio", "change")
STORED_AGGREGATIONS = ("weighted_mean", "sum")  # what :func:`aggregate` computes from values (and weights)
INDICATOR_CLASSES_PATH = DATA_DIR / "indicator_classes.json"


# ---------------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------------


def catalogue_entry(catalogue: pd.DataFrame, indicator_code: str) -> dict:
    """The catalogue row of one indicator as a dict (NaN -> None)."""
    rows = catalogue[catalogue["indicator_code"] == indicator_code]
    if rows.empty:
        raise KeyError(f"indicateur inconnu dans le catalogue : {indicator_code!r}")
    entry = rows.iloc[0].to_dict()
    for key, value in entry.items():
        if not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value):
            entry[key] = None
    if entry.get("aggregation") not in AGGREGATIONS:
        raise ValueError(
            f"catalogue des indicateurs, {indicator_code} : agrégation {entry.get('aggregation')!r} inconnue"
            f" (attendu : {', '.join(AGGREGATIONS)})"
        )
    return entry


def format_number(value: float | None, decimals: int = 0) -> str:
    """French number formatting: thin spaces for thousands, decimal comma ('3,7', '12 345')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    text = f"{value:,.{int(decimals)}f}"
    return text.replace(",", "\u202f").replace(".", ",")


# ---------------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------------


def aggregate(
    values: pd.Series,
    weights: pd.Series | None = None,
    groups: pd.Series | None = None,
    aggregation: str = "weighted_mean",
) -> float | pd.Series:
    """Aggregate unit values (aligned on the same index as ``weights`` and ``groups``).

    ``weighted_mean``: sum(value × weight) / sum(weight) over units having both (plain mean when
    ``weights`` is None); ``sum``: sum of values. With ``groups``, one result per group (Series),
    else a float (NaN when nothing to aggregate).
    """
    if aggregation not in STORED_AGGREGATIONS:
        raise ValueError(f"agrégation inconnue : {aggregation!r} (attendu : {', '.join(STORED_AGGREGATIONS)})")
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    if aggregation == "sum":
        w = pd.Series(1.0, index=v.index)
        keep = v.notna()
        numerator = v.where(keep, 0.0)
    else:
        w = pd.Series(1.0, index=v.index) if weights is None else pd.to_numeric(weights, errors="coerce")
        w = w.reindex(v.index).astype("float64")
        keep = v.notna() & w.notna() & (w > 0)
        numerator = (v * w).where(keep, 0.0)
    denominator = w.where(keep, 0.0)
    if groups is None:
        if aggregation == "sum":
            return float(numerator.sum()) if keep.any() else float("nan")
        total = denominator.sum()
        return float(numerator.sum() / total) if total > 0 else float("nan")
    g = groups.reindex(v.index)
    num = numerator.groupby(g).sum()
    if aggregation == "sum":
        return num.where(keep.groupby(g).any())
    den = denominator.groupby(g).sum()
    return num / den.where(den > 0)


@dataclass
class IndicatorFrame:
    """Unit-level values of one indicator for one year, with their weight and population.

    A ``ratio`` indicator also carries ``numerator`` and ``denominator`` columns (the two counts); a
    ``change`` indicator carries ``parts`` (« current » and « previous »: the frames of the two years it
    compares), because the change over a territory is the difference of the two aggregates, not the
    aggregate of the communes' differences."""

    entry: dict
    year: int
    units: pd.DataFrame  # commune_code, value, weight, population_count (+ unit columns passed in)
    parts: dict | None = None


def _mapped(units: pd.DataFrame, values: pd.DataFrame | None) -> pd.Series:
    """(geo_code, value) rows onto the units' commune_code (NaN where absent)."""
    if values is None:
        return pd.Series(np.nan, index=units.index, dtype="float64")
    return units["commune_code"].map(values.set_index("geo_code")["value"]).astype("float64")


def ratio_frame(
    entry: dict, year: int, numerators: pd.DataFrame | pd.Series, denominators: pd.DataFrame | pd.Series,
    units: pd.DataFrame, values: pd.DataFrame | None = None,
) -> IndicatorFrame:
    """A ratio indicator: ``scale_factor`` × numerator / denominator per unit (or the published rate in
    ``values`` when given), aggregated as Σ numerator / Σ denominator over the units having both counts.
    ``numerators``/``denominators``: (geo_code, value) rows, or Series aligned on ``units``."""
    frame = units.copy()
    frame["numerator"] = numerators.astype("float64") if isinstance(numerators, pd.Series) else _mapped(frame, numerators)
    frame["denominator"] = (denominators.astype("float64") if isinstance(denominators, pd.Series)
                            else _mapped(frame, denominators))
    scale = float(entry.get("scale_factor") or 1.0)
    computed = scale * frame["numerator"] / frame["denominator"].where(frame["denominator"] > 0)
    frame["value"] = computed if values is None else _mapped(frame, values)
    frame["weight"] = np.nan
    return IndicatorFrame(entry, int(year), frame)


def change_frame(entry: dict, current: IndicatorFrame, previous: IndicatorFrame) -> IndicatorFrame:
    """The change of an indicator between two of its years (``entry['change_mode']``: difference or
    relative_pct), per unit for maps and per territory from the two aggregates."""
    frame = current.units.drop(columns=[c for c in ("numerator", "denominator") if c in current.units]).copy()
    before = frame["commune_code"].map(previous.units.set_index("commune_code")["value"])
    frame["value"] = _change(frame["value"], before, entry.get("change_mode"))
    frame["weight"] = np.nan
    return IndicatorFrame(entry, current.year, frame, parts={"current": current, "previous": previous})


def _change(now, before, mode: str | None):
    if mode == "relative_pct":
        if isinstance(now, pd.Series):
            return (now / before.where(before != 0) - 1) * 100
        return (now / before - 1) * 100 if before not in (0, None) and not pd.isna(before) else float("nan")
    return now - before


def indicator_frame(
    entry: dict, year: int, values: pd.DataFrame, weights: pd.DataFrame | None, units: pd.DataFrame
) -> IndicatorFrame:
    """Join the values (geo_code, value) and weights (geo_code, value of the weight indicator, same year)
    onto the territorial units. Units without value keep NaN (they are counted as « non disponible »)."""
    frame = units.copy()
    frame["value"] = frame["commune_code"].map(values.set_index("geo_code")["value"]).astype("float64")
    if entry.get("aggregation") == "weighted_mean":
        if entry.get("weight_indicator_code") and weights is None:
            raise ValueError(
                f"indicateur {entry['indicator_code']} : poids {entry['weight_indicator_code']} manquant pour {year}"
            )
        if weights is not None:
            frame["weight"] = frame["commune_code"].map(weights.set_index("geo_code")["value"]).astype("float64")
        else:
            frame["weight"] = frame["population_count"].astype("float64")
    else:
        frame["weight"] = np.nan
    return IndicatorFrame(entry, int(year), frame)


def territory_value(frame: pd.DataFrame, entry: dict, parts: dict | None = None) -> float:
    """The indicator over the units of ``frame`` (rows of an :class:`IndicatorFrame`), by its aggregation."""
    aggregation = entry["aggregation"]
    if aggregation == "ratio":
        known = frame["numerator"].notna() & frame["denominator"].notna()
        denominator = frame.loc[known, "denominator"].sum()
        scale = float(entry.get("scale_factor") or 1.0)
        return float(scale * frame.loc[known, "numerator"].sum() / denominator) if denominator > 0 else float("nan")
    if aggregation == "change":
        if not parts:
            raise ValueError(f"indicateur {entry.get('indicator_code')} : évolution sans ses deux années")
        codes = set(frame["commune_code"])
        values = []
        for name in ("current", "previous"):
            part = parts[name]
            values.append(territory_value(part.units[part.units["commune_code"].isin(codes)], part.entry, part.parts))
        return float(_change(values[0], values[1], entry.get("change_mode")))
    weights = frame["weight"] if aggregation == "weighted_mean" else None
    return aggregate(frame["value"], weights, aggregation=aggregation)


def _territory_row(kind: str, code: str, label: str, frame: pd.DataFrame, entry: dict, parts: dict | None = None) -> dict:
    value = territory_value(frame, entry, parts)
    has_value = frame["value"].notna()
    pop = frame["population_count"].astype("float64")
    threshold = entry.get("threshold_value")
    below = pop.where(has_value & (frame["value"] < threshold), 0.0).sum() if threshold is not None else np.nan
    pop_with_value = pop.where(has_value, 0.0).sum()
    return {
        "territory_kind": kind,
        "territory_code": code,
        "territory_label": label,
        "value": value,
        "population_count": int(pop.sum()),
        "units_count": int(len(frame)),
        "units_with_value": int(has_value.sum()),
        "population_below_threshold": below,
        "share_below_threshold_pct": (below / pop_with_value * 100) if pop_with_value > 0 else np.nan,
    }


TERRITORY_KINDS = ("cpts", "zone_blanche", "departement", "region", "france")


def indicator_by_territory(
    data: IndicatorFrame,
    snapshot: CoverageSnapshot,
    departement_code: str | None = None,
    region_code: str | None = None,
    cpts_ids: Iterable[str] | None = None,
    area_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The indicator aggregated over CPTS territories, the white zone, the département, the région, France.

    ``data`` must cover all France (for the France row). CPTS rows: ``cpts_ids`` or, by default, the
    CPTS active at the snapshot date with a unit in the département (else the région); each over its
    whole territory. The white zone is that of the département (else the région, else France).
    Columns: territory_kind, territory_code, territory_label, value, population_count, units_count,
    units_with_value, population_below_threshold, share_below_threshold_pct (population of units whose
    value is below the catalogue threshold, over the population of units with a value).
    """
    names = dict(area_names or {})
    units = data.units.merge(
        snapshot.units[["commune_code", "status"]], on="commune_code", how="left", suffixes=("", "_status")
    )
    entry = data.entry
    if "departement_code" not in units.columns or "region_code" not in units.columns:
        units = units.merge(
            snapshot.units[["commune_code", "departement_code", "region_code"]], on="commune_code", how="left"
        )
    if departement_code is not None and region_code is None:
        match = snapshot.units.loc[snapshot.units["departement_code"] == departement_code, "region_code"]
        region_code = match.iloc[0] if len(match) else None

    links = snapshot.links
    if cpts_ids is None:
        active = set(snapshot.cpts.loc[snapshot.cpts["is_active"], "cpts_id"])
        if departement_code is not None:
            in_area = links.loc[links["departement_code"] == departement_code, "cpts_id"]
        elif region_code is not None:
            in_area = links.loc[links["region_code"] == region_code, "cpts_id"]
        else:
            in_area = links["cpts_id"]
        cpts_ids = sorted(set(in_area) & active)
    cpts_names = dict(zip(snapshot.cpts["cpts_id"], snapshot.cpts["name"], strict=True))

    rows = []
    for cid in cpts_ids:
        members = links.loc[links["cpts_id"] == cid, "commune_code"]
        rows.append(
            _territory_row("cpts", cid, cpts_names.get(cid, cid), units[units["commune_code"].isin(members)], entry,
                           data.parts)
        )

    if departement_code is not None:
        scope, scope_code, scope_name = (
            units["departement_code"] == departement_code,
            departement_code,
            names.get(departement_code, departement_code),
        )
    elif region_code is not None:
        scope, scope_code, scope_name = (
            units["region_code"] == region_code,
            region_code,
            names.get(region_code, region_code),
        )
    else:
        scope, scope_code, scope_name = pd.Series(True, index=units.index), "FR", "France"
    white = units[scope & (units["status"] == WHITE_ZONE)]
    rows.append(_territory_row("zone_blanche", scope_code, f"Zone blanche – {scope_name}", white, entry, data.parts))
    if departement_code is not None:
        dept = units[units["departement_code"] == departement_code]
        rows.append(
            _territory_row(
                "departement",
                departement_code,
                f"Département – {names.get(departement_code, departement_code)}",
                dept,
                entry,
                data.parts,
            )
        )
    if region_code is not None:
        reg = units[units["region_code"] == region_code]
        rows.append(
            _territory_row("region", region_code, f"Région – {names.get(region_code, region_code)}", reg, entry,
                           data.parts)
        )
    rows.append(_territory_row("france", "FR", "France", units, entry, data.parts))
    return pd.DataFrame(rows)


def indicator_by_status(data: IndicatorFrame, snapshot: CoverageSnapshot) -> pd.DataFrame:
    """The indicator over covered units vs white-zone units (France), e.g. « l'APL est-elle plus basse
    en zone blanche ? ». Columns as :func:`indicator_by_territory`."""
    units = data.units.merge(snapshot.units[["commune_code", "status"]], on="commune_code", how="left")
    groups = {
        "couvert": ("Communes couvertes par une CPTS", units["status"].isin([COVERED, OVERLAP])),
        "zone_blanche": ("Communes en zone blanche", units["status"] == WHITE_ZONE),
    }
    return pd.DataFrame(
        [_territory_row(kind, kind, label, units[mask], data.entry, data.parts) for kind, (label, mask) in groups.items()]
    )


# ---------------------------------------------------------------------------------------------------
# Classes for maps
# ---------------------------------------------------------------------------------------------------

# ColorBrewer ramps by number of classes, low values first: RdYlBu (red = low) for directional
# indicators, Blues for neutral ones. More than 7 classes is unreadable on a map: refused.
_RDYLBU = {
    2: ["#fc8d59", "#91bfdb"],
    3: ["#fc8d59", "#ffffbf", "#91bfdb"],
    4: ["#d7191c", "#fdae61", "#abd9e9", "#2c7bb6"],
    5: ["#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6"],
    6: ["#d73027", "#fc8d59", "#fee090", "#e0f3f8", "#91bfdb", "#4575b4"],
    7: ["#d73027", "#fc8d59", "#fee090", "#ffffbf", "#e0f3f8", "#91bfdb", "#4575b4"],
}
_BLUES = {
    2: ["#deebf7", "#3182bd"],
    3: ["#deebf7", "#9ecae1", "#3182bd"],
    4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
    5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
    7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
}
MAX_CLASSES = 7
NO_DATA_COLOR = "#bdbdbd"
NO_DATA_LABEL = "Non disponible"


def class_colors(n: int, direction: str = "neutral") -> list[str]:
    """``n`` colours from low to high values; low values red when higher is better, blue when lower is."""
    if n <= 0:
        return []
    if n > MAX_CLASSES:
        raise ValueError(f"trop de classes pour une carte : {n} (au plus {MAX_CLASSES})")
    if n == 1:
        return ["#9ecae1"]
    ramp = list((_BLUES if direction == "neutral" else _RDYLBU)[n])
    return ramp[::-1] if direction == "lower_is_better" else ramp


@dataclass
class Classification:
    """Class breaks (inner, ascending; lower bounds included) with French labels and colours."""

    method: str
    breaks: list[float]
    labels: list[str]
    colors: list[str]
    source: str | None = None

    def assign(self, values: pd.Series) -> pd.Series:
        """Class index (0 = lowest) per value; <NA> for missing values."""
        v = pd.to_numeric(values, errors="coerce")
        idx = np.searchsorted(np.asarray(self.breaks, dtype=float), v.to_numpy(dtype=float), side="right")
        return pd.Series(idx, index=values.index).where(v.notna()).astype("Int64")

    def color_of(self, value) -> str:
        if value is None or pd.isna(value):
            return NO_DATA_COLOR
        return self.colors[int(np.searchsorted(np.asarray(self.breaks, dtype=float), float(value), side="right"))]


def load_indicator_classes(path: Path | None = None) -> dict:
    return json.loads(Path(path or INDICATOR_CLASSES_PATH).read_text(encoding="utf-8"))


def validate_indicator_classes(data: dict) -> list[str]:
    """Problems in ``indicator_classes.json`` (empty list: valid), in French."""
    errors = []
    for code, spec in data.get("classes", {}).items():
        where = f"indicator_classes.json, classes.{code}"
        breaks = spec.get("breaks")
        if not isinstance(breaks, list) or not breaks or not all(isinstance(b, (int, float)) for b in breaks):
            errors.append(f"{where} : « breaks » doit être une liste non vide de nombres")
        elif any(a >= b for a, b in zip(breaks, breaks[1:], strict=False)):
            errors.append(f"{where} : bornes non strictement croissantes {breaks}")
        if not str(spec.get("source") or "").strip():
            errors.append(f"{where} : « source » manquante")
    return errors


def class_labels(breaks: list[float], decimals: int = 1) -> list[str]:
    """French labels: « moins de 2,5 », « de 2,5 à moins de 3 », ..., « 5 ou plus »."""
    fmt = [format_number(b, decimals).rstrip("0").rstrip(",") if decimals else format_number(b, 0) for b in breaks]
    if not breaks:
        return ["toutes valeurs"]
    labels = [f"moins de {fmt[0]}"]
    labels += [f"de {a} à moins de {b}" for a, b in zip(fmt, fmt[1:], strict=False)]
    labels.append(f"{fmt[-1]} ou plus")
    return labels


CLASS_METHODS = ("quantiles", "natural_breaks", "thresholds")
CLASS_METHOD_LABELS = {"quantiles": "quantiles", "natural_breaks": "seuils naturels (Jenks)",
                       "thresholds": "seuils fixés"}
JENKS_SAMPLE = 500  # quantile points given to Fisher-Jenks: 0.25 s, where all 35,000 values take minutes


def _distribution_breaks(v: pd.Series, method: str, k: int) -> list[float]:
    """Inner class breaks from the values' own distribution, by mapclassify (a maintained library of
    choropleth schemes): ``quantiles`` (about as many units per class) or ``natural_breaks`` (Fisher-Jenks,
    classes as homogeneous as possible, computed on 500 evenly spaced quantiles of the values: exact on
    small sets, deterministic, and safe with ties, where Jenks-Caspall can loop and k-means is random)."""
    import warnings

    import mapclassify  # imported here: ~1 s, only when a map needs classes

    array = v.to_numpy(dtype=float)
    with warnings.catch_warnings():  # « not enough unique values »: fewer classes, which is the intent
        warnings.simplefilter("ignore")
        if method == "quantiles":
            return [float(b) for b in mapclassify.Quantiles(array, k=k).bins[:-1]]  # last bin = the maximum
        sample = np.quantile(array, np.linspace(0, 1, JENKS_SAMPLE), method="closest_observation")
        distinct = len(np.unique(sample))
        if distinct < 2:
            return []
        return [float(b) for b in mapclassify.FisherJenks(sample, k=min(k, distinct)).bins[:-1]]


def classify(
    values: pd.Series,
    method: str = "quantiles",
    k: int = 5,
    breaks: list[float] | None = None,
    decimals: int = 1,
    direction: str = "neutral",
) -> Classification:
    """Classes for a choropleth: ``thresholds`` (given ``breaks``), ``quantiles`` (k classes of roughly
    equal numbers of units) or ``natural_breaks`` (Jenks-Caspall); equal breaks merge once rounded to the
    display precision, so fewer classes may come back."""
    if method == "thresholds":
        if not breaks:
            raise ValueError("classes par seuils : liste de bornes vide")
        inner = sorted(float(b) for b in breaks)
        source = None
    elif method in ("quantiles", "natural_breaks"):
        if not 2 <= k <= MAX_CLASSES:
            raise ValueError(f"nombre de classes invalide : {k} (entre 2 et {MAX_CLASSES})")
        v = pd.to_numeric(values, errors="coerce").dropna()
        if v.empty:
            inner = []
        else:
            # Round to the display precision so labels and class membership agree.
            inner = sorted(set(round(b, decimals) for b in _distribution_breaks(v, method, k)))
            inner = [b for b in inner if v.min() < b <= v.max()]
            if not inner and v.max() > v.min():
                # Heavy ties (e.g. most values equal) collapse every quantile: equal intervals instead,
                # so that different values still get different colours.
                step = (v.max() - v.min()) / k
                inner = sorted(
                    {round(float(v.min() + i * step), decimals) for i in range(1, k)}
                    - {round(float(v.min()), decimals)}
                )
        count = len(inner) + 1
        source = f"{CLASS_METHOD_LABELS[method]} ({count} classe{'s' if count > 1 else ''})"
    else:
        raise ValueError(f"méthode de classement inconnue : {method!r} (attendu : {', '.join(CLASS_METHODS)})")
    return Classification(method, inner, class_labels(inner, decimals), class_colors(len(inner) + 1, direction), source)


def classify_indicator(entry: dict, values: pd.Series, classes: dict | None = None, k: int = 5) -> Classification:
    """Classes for an indicator: its thresholds from ``indicator_classes.json`` (catalogue) or from its own
    import (``class_method`` thresholds + ``class_breaks``), else its ``class_method`` (quantiles by
    default) over ``values``: pass the indicator's whole distribution (every unit of France for the year)
    so that maps of different départements share one legend."""
    classes = load_indicator_classes() if classes is None else classes
    spec = classes.get("classes", {}).get(entry["indicator_code"])
    decimals = int(entry.get("decimals") or 0)
    direction = entry.get("direction") or "neutral"
    method = entry.get("class_method") or "quantiles"
    if spec is None and method == "thresholds" and entry.get("class_breaks"):
        spec = {"breaks": json.loads(entry["class_breaks"]), "source": "seuils fixés à l'import de l'indicateur."}
    if spec:
        result = classify(values, "thresholds", breaks=spec["breaks"], decimals=max(decimals, 1), direction=direction)
        result.source = spec.get("source")
        return result
    return classify(values, method if method in ("quantiles", "natural_breaks") else "quantiles", k=k,
                    decimals=decimals, direction=direction)
