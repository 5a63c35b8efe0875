"""The full indicator catalogue (stored + derived) and the unit-level frame of any indicator for a year.

Stored indicators are rows of the `indicators` table: the catalogue of ``data/indicators.json`` and the
indicators imported with ``python -m observatory import-indicator``. Derived indicators are defined as data
in ``data/derived_indicators.json`` and computed on the fly from stored indicators and base quantities of
the communes (population, area): a ratio of two quantities, the change of a series between two of its
years, or the share of a territory's professionals who are members of a CPTS. A derived indicator shows up
only once all its ingredients are in the database. Pure (no database, no Streamlit): the caller passes the
values it reads through ``observatory.queries``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatory.config import DATA_DIR
from observatory.indicators import (
    AGGREGATIONS,
    IndicatorFrame,
    catalogue_entry,
    change_frame,
    format_number,
    indicator_frame,
    ratio_frame,
)

DERIVED_PATH = DATA_DIR / "derived_indicators.json"
DERIVED_KINDS = ("ratio", "change", "cpts_members_share")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")
CHANGE_MODES = ("difference", "relative_pct")
CHANGE_PREFIX = "evolution__"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")

ValuesFetcher = Callable[[str, int], pd.DataFrame]  # (indicator_code, year) -> geo_code, value


# ---------------------------------------------------------------------------------------------------
# Definitions (data/derived_indicators.json)
# ---------------------------------------------------------------------------------------------------


def load_derived_definitions(path: Path | None = None) -> dict:
    return json.loads(Path(path or DERIVED_PATH).read_text(encoding="utf-8"))


def validate_derived_definitions(data: dict) -> list[str]:
    """Problems in ``derived_indicators.json`` (empty list: valid), in French."""
    errors = []
    bases = data.get("base_quantities") or {}
    for name, base in bases.items():
        if not base.get("column") or not base.get("label") or not base.get("source_id"):
            errors.append(f"base_quantities.{name} : « column », « label » et « source_id » sont obligatoires")
    codes = [d.get("indicator_code") for d in data.get("derived", [])]
    if len(set(codes)) != len(codes):
        errors.append("derived : codes en double")
    for i, d in enumerate(data.get("derived", [])):
        where = f"derived[{i}] ({d.get('indicator_code')})"
        kind = d.get("kind")
        if not CODE_PATTERN.match(str(d.get("indicator_code") or "")):
            errors.append(f"{where} : code invalide (minuscules, chiffres et _)")
        if kind not in DERIVED_KINDS:
            errors.append(f"{where} : « kind » {kind!r} inconnu (attendu : {', '.join(DERIVED_KINDS)})")
            continue
        if kind == "change":
            missing = [k for k in ("label_template", "unit_template", "description_template") if not d.get(k)]
            if d.get("change_mode") not in CHANGE_MODES or d.get("applies_to") != "every_series" or missing:
                errors.append(f"{where} : évolution mal définie (change_mode, applies_to = every_series, {missing})")
            continue
        missing = [k for k in ("label", "unit", "description", "denominator") if not str(d.get(k) or "").strip()]
        if kind == "ratio" and not d.get("numerator"):
            missing.append("numerator")
        if missing:
            errors.append(f"{where} : champs obligatoires manquants {missing}")
        if not isinstance(d.get("on_profile", True), bool):
            errors.append(f"{where} : « on_profile » doit valoir true ou false")
        if d.get("direction") not in DIRECTIONS:
            errors.append(f"{where} : sens {d.get('direction')!r} invalide")
        if kind == "ratio" and not (isinstance(d.get("scale_factor"), (int, float)) and d["scale_factor"] > 0):
            errors.append(f"{where} : « scale_factor » doit être un nombre positif")
    return errors


# ---------------------------------------------------------------------------------------------------
# The full catalogue
# ---------------------------------------------------------------------------------------------------


def is_headline(entry: Mapping) -> bool:
    """An indicator shown for itself (profile, evolutions): not a weight, and not one of the catalogue's
    sums, which serve as weights of the APL (an imported count is shown)."""
    if entry.get("role") == "weight":
        return False
    return not (entry.get("origin") == "catalogue" and entry.get("aggregation") == "sum")


def _years(value) -> list[int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return sorted(int(y) for y in value)


def _derived_row(**fields) -> dict:
    row = {
        "source_id": None, "weight_indicator_code": None, "threshold_value": float("nan"), "threshold_label": None,
        "role": "indicator", "source_geo_level": "commune", "numerator_indicator_code": None,
        "denominator_indicator_code": None, "scale_factor": float("nan"), "class_method": None, "class_breaks": None,
        "origin": "derived", "base_indicator_code": None, "change_mode": None, "on_profile": True,
    }
    row.update(fields)
    return row


def full_catalogue(stored: pd.DataFrame, definitions: dict | None = None) -> pd.DataFrame:
    """``queries.indicator_catalogue`` plus the derived indicators whose ingredients are present, each with
    its years (a ratio: the years of its stored ingredients, else its base quantity's year; an evolution:
    every year of the series but the first). Per-CPTS derived indicators (member share) are not here:
    see :func:`members_share_definition`."""
    definitions = load_derived_definitions() if definitions is None else definitions
    bases = definitions.get("base_quantities", {})
    rows = []
    by_code = {r["indicator_code"]: r for r in stored.to_dict("records")}
    for d in definitions.get("derived", []):
        if d["kind"] == "ratio":
            inputs = [d["numerator"], d["denominator"]]
            stored_inputs = [c for c in inputs if c not in bases]
            if any(c not in by_code or by_code[c]["aggregation"] != "sum" for c in stored_inputs):
                continue  # an ingredient is missing (or is not a count)
            if stored_inputs:
                years = sorted(set.intersection(*(set(_years(by_code[c]["years"])) for c in stored_inputs)))
            else:
                years = sorted({bases[c]["year"] for c in inputs if bases[c].get("year") is not None})
            if not years:
                continue
            rows.append(_derived_row(
                indicator_code=d["indicator_code"], label=d["label"], unit=d["unit"], direction=d["direction"],
                aggregation="ratio", decimals=int(d.get("decimals", 1)), description=d["description"],
                numerator_indicator_code=d["numerator"], denominator_indicator_code=d["denominator"],
                scale_factor=float(d["scale_factor"]), class_method=d.get("class_method"), years=years,
                on_profile=bool(d.get("on_profile", True)),
            ))
        elif d["kind"] == "change":
            for code, base in by_code.items():
                years = _years(base["years"])
                if len(years) < 2 or not is_headline(base):
                    continue
                fmt = {"label": base["label"], "unit": base["unit"]}
                rows.append(_derived_row(
                    indicator_code=f"{CHANGE_PREFIX}{code}", label=d["label_template"].format(**fmt),
                    unit=d["unit_template"].format(**fmt), direction=base["direction"], aggregation="change",
                    decimals=int(base["decimals"]), description=d["description_template"].format(**fmt),
                    base_indicator_code=code, change_mode=d["change_mode"], class_method="quantiles",
                    years=years[1:], source_geo_level=base.get("source_geo_level") or "commune",
                ))
    out = stored.assign(base_indicator_code=None, change_mode=None, on_profile=True)
    if rows:
        out = pd.concat([out, pd.DataFrame(rows)], ignore_index=True)
    return out.reset_index(drop=True)


def shown_catalogue(catalogue: pd.DataFrame) -> pd.DataFrame:
    """What the indicator selector offers: indicators with at least one year, weights left out."""
    has_years = catalogue["years"].map(lambda years: len(_years(years)) > 0)
    return catalogue[has_years & (catalogue["role"] != "weight")].reset_index(drop=True)


def members_share_definition(definitions: dict | None = None) -> dict | None:
    definitions = load_derived_definitions() if definitions is None else definitions
    return next((d for d in definitions.get("derived", []) if d["kind"] == "cpts_members_share"), None)


# ---------------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------------


def _quantity(catalogue: pd.DataFrame, bases: dict, name: str, year: int, units: pd.DataFrame,
              fetch: ValuesFetcher) -> pd.Series:
    """A ratio ingredient on the units: a base quantity (a column of the units) or a stored count."""
    if name in bases:
        return pd.to_numeric(units[bases[name]["column"]], errors="coerce").astype("float64")
    values = fetch(name, year)
    return units["commune_code"].map(values.set_index("geo_code")["value"]).astype("float64")


def load_indicator_frame(
    catalogue: pd.DataFrame,
    indicator_code: str,
    year: int,
    units: pd.DataFrame,
    fetch: ValuesFetcher,
    definitions: dict | None = None,
) -> IndicatorFrame:
    """The indicator on every territorial unit for one year (``catalogue``: :func:`full_catalogue`;
    ``fetch(code, year)``: stored values). Raises ``ValueError`` (French) when an ingredient is missing."""
    definitions = load_derived_definitions() if definitions is None else definitions
    bases = definitions.get("base_quantities", {})
    entry = catalogue_entry(catalogue, indicator_code)
    aggregation = entry["aggregation"]
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"indicateur {indicator_code} : agrégation {aggregation!r} inconnue")
    if aggregation == "change":
        base_code = entry["base_indicator_code"]
        years = _years(catalogue_entry(catalogue, base_code).get("years"))
        previous = [y for y in years if y < int(year)]
        if int(year) not in years or not previous:
            raise ValueError(f"{entry['label']} : pas d'année précédant {year} pour « {base_code} »")
        current = load_indicator_frame(catalogue, base_code, int(year), units, fetch, definitions)
        before = load_indicator_frame(catalogue, base_code, previous[-1], units, fetch, definitions)
        return change_frame(entry, current, before)
    if aggregation == "ratio":
        numerator = _quantity(catalogue, bases, entry["numerator_indicator_code"], year, units, fetch)
        denominator = _quantity(catalogue, bases, entry["denominator_indicator_code"], year, units, fetch)
        published = fetch(indicator_code, year) if entry.get("origin") == "imported" else None
        return ratio_frame(entry, year, numerator, denominator, units, values=published)
    weight_code = entry.get("weight_indicator_code") if aggregation == "weighted_mean" else None
    weights = fetch(weight_code, year) if weight_code else None
    if weights is not None and weights.empty:
        weights = None  # indicator_frame then names the missing weight in French
    return indicator_frame(entry, year, fetch(indicator_code, year), weights, units)


# ---------------------------------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------------------------------


def source_ids_of(catalogue: pd.DataFrame, indicator_sources: pd.DataFrame, indicator_code: str, year: int,
                  definitions: dict | None = None) -> list[str]:
    """The sources behind one indicator in one year: its own (stored), or those of its ingredients."""
    definitions = load_derived_definitions() if definitions is None else definitions
    bases = definitions.get("base_quantities", {})
    entry = catalogue_entry(catalogue, indicator_code)
    if entry["origin"] != "derived":
        rows = indicator_sources[(indicator_sources["indicator_code"] == indicator_code)
                                 & (indicator_sources["year"] == int(year))]
        own = list(rows["source_id"]) or ([entry["source_id"]] if entry.get("source_id") else [])
        parts = [entry.get("numerator_indicator_code"), entry.get("denominator_indicator_code")]
        if entry["aggregation"] != "ratio":
            parts = [entry.get("weight_indicator_code")]
    elif entry["aggregation"] == "change":
        base = entry["base_indicator_code"]
        years = [y for y in _years(catalogue_entry(catalogue, base).get("years")) if y <= int(year)][-2:]
        own, parts = [], []
        for y in years:
            own += source_ids_of(catalogue, indicator_sources, base, y, definitions)
    else:
        own = [bases[c]["source_id"] for c in (entry["numerator_indicator_code"], entry["denominator_indicator_code"])
               if c in bases]
        parts = [c for c in (entry["numerator_indicator_code"], entry["denominator_indicator_code"]) if c not in bases]
    for part in parts:
        if part and part in set(catalogue["indicator_code"]) and part not in bases:
            own += source_ids_of(catalogue, indicator_sources, part, year, definitions)
    return list(dict.fromkeys(own))


def vintage_of(indicator_sources: pd.DataFrame, indicator_code: str, year: int) -> str | None:
    rows = indicator_sources[(indicator_sources["indicator_code"] == indicator_code)
                             & (indicator_sources["year"] == int(year))]
    return None if rows.empty else str(rows.iloc[0]["vintage"])


# ---------------------------------------------------------------------------------------------------
# Share of a territory's professionals who are members of the CPTS (per CPTS)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembersShare:
    low_pct: float | None
    high_pct: float | None  # None: open bracket (« 100 ou plus »)
    members_text: str  # the answer as given: « [51-100] »
    professionals: float
    year: int

    def text(self, decimals: int = 0) -> str:
        low = format_number(self.low_pct, decimals)
        if self.high_pct is None:
            return f"au moins {low} %"
        high = format_number(self.high_pct, decimals)
        return f"{low} %" if low == high else f"de {low} à {high} %"


def members_bracket(label: str) -> tuple[float, float | None] | None:
    """« [51-100] » -> (51, 100); « [100 ou plus] » -> (100, None); anything else -> None."""
    numbers = [float(n) for n in re.findall(r"\d+", label)]
    if len(numbers) == 2:
        return numbers[0], numbers[1]
    if len(numbers) == 1 and "plus" in label:
        return numbers[0], None
    return None


def members_share(bracket_label: str, professionals: float, year: int) -> MembersShare | None:
    """Members (a bracket from the questionnaire) over the professionals of the territory, as a range."""
    bracket = members_bracket(bracket_label)
    if bracket is None or not professionals or professionals <= 0 or math.isnan(professionals):
        return None
    low, high = bracket
    return MembersShare(100 * low / professionals, None if high is None else 100 * high / professionals,
                        bracket_label, float(professionals), int(year))


def provenance_text(catalogue: pd.DataFrame, indicator_sources: pd.DataFrame, sources: pd.DataFrame,
                    indicator_code: str, years, definitions: dict | None = None) -> str:
    """« Nom (producteur, millésime 1, millésime 2) ; ... » for an indicator over some years: every source
    behind it, each with the vintages of the years shown (plain text: the caller escapes it)."""
    entry = catalogue_entry(catalogue, indicator_code)
    if entry["aggregation"] == "change":  # the sources of the base indicator for both years compared
        base = entry["base_indicator_code"]
        base_years = _years(catalogue_entry(catalogue, base).get("years"))
        compared = {y for year in years for y in [b for b in base_years if b < int(year)][-1:] + [int(year)]}
        return provenance_text(catalogue, indicator_sources, sources, base, sorted(compared), definitions)
    vintages: dict[str, list[str]] = {}
    for year in sorted(int(y) for y in years):
        for source_id in source_ids_of(catalogue, indicator_sources, indicator_code, year, definitions):
            rows = indicator_sources[(indicator_sources["source_id"] == source_id) & (indicator_sources["year"] == year)]
            if rows.empty:
                found = sources.loc[sources["source_id"] == source_id, "vintage"]
                vintage = str(found.iloc[0]) if len(found) else str(year)
            else:
                vintage = str(rows.iloc[0]["vintage"])
            seen = vintages.setdefault(source_id, [])
            if vintage not in seen:
                seen.append(vintage)
    parts = []
    for source_id, texts in vintages.items():
        rows = sources[sources["source_id"] == source_id]
        if rows.empty:
            parts.append(f"{source_id} ({', '.join(texts)})")
            continue
        row = rows.iloc[0]
        publisher = row.get("publisher")
        who = f"{publisher}, " if isinstance(publisher, str) and publisher else ""
        licence = row.get("licence")
        tail = f" ; licence : {licence}" if row.get("origin", "").startswith("fichier importé") and isinstance(licence, str) else ""
        parts.append(f"{row['name']} ({who}{', '.join(texts)}){tail}")
    return " ; ".join(parts)
