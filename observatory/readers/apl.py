"""Reader of the DREES APL workbook to general practitioners (``apl_generalistes.xlsx``, as published).

Each sheet ``APL <year>`` has title and note lines, a header line (line 9 in the December 2024 release),
a units line under it, then one row per commune of the COG of the year. Codes are re-keyed to COG 2026;
several source rows landing on one unit are aggregated as the DREES prescribes: APL weighted by the
standardised population, populations summed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatory.readers import finding

SOURCE_ID = "drees-apl"
SHEET_PATTERN = re.compile(r"^APL (\d{4})$")
HEADER_SEARCH_LINES = 20
# Our column -> how its header starts in the workbook (the population headers carry the year N-2).
HEADER_PREFIXES = {
    "code": "Code commune",
    "name": "Commune",
    "apl_mg": "APL aux médecins généralistes",
    "apl_mg_moins65": "APL aux médecins généralistes de moins de 65 ans",
    "pop_standardisee_mg": "Population standardisée",
    "population_totale_apl": "Population totale",
}
WEIGHTED = ("apl_mg", "apl_mg_moins65")
SUMMED = ("pop_standardisee_mg", "population_totale_apl")
INDICATOR_CODES = WEIGHTED + SUMMED


class AplFormatError(ValueError):
    """The APL workbook does not have the expected layout."""


@dataclass
class AplYear:
    year: int
    rows: pd.DataFrame  # source rows: line, code, name and the four values
    units: pd.DataFrame = field(default_factory=pd.DataFrame)  # per COG 2026 unit after re-keying


def read_apl_workbook(path: Path) -> list[AplYear]:
    """Every ``APL <year>`` sheet of the workbook, in year order."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise AplFormatError(f"Classeur APL illisible : {path} ({exc})") from exc
    try:
        years = []
        for sheet_name in workbook.sheetnames:
            match = SHEET_PATTERN.match(sheet_name.strip())
            if match:
                rows = _read_sheet(list(workbook[sheet_name].iter_rows(values_only=True)), path, sheet_name)
                years.append(AplYear(int(match.group(1)), rows))
    finally:
        workbook.close()
    if not years:
        raise AplFormatError(f"{path} : aucune feuille « APL <année> » (feuilles : {', '.join(workbook.sheetnames)})")
    return sorted(years, key=lambda y: y.year)


def _find_header(lines: list[tuple], path: Path, sheet: str) -> tuple[int, dict[str, int]]:
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        cells = [str(c).strip() if c is not None else "" for c in line]
        if cells and cells[0].startswith(HEADER_PREFIXES["code"]):
            positions = {}
            for key, prefix in HEADER_PREFIXES.items():
                # Longest matching prefix wins: "APL ... de moins de 65 ans" also starts like "APL ...".
                candidates = [i for i, c in enumerate(cells) if c == prefix or c.startswith(prefix)]
                if key == "apl_mg":
                    candidates = [i for i in candidates if cells[i] == prefix]
                if not candidates:
                    raise AplFormatError(f"{path}, feuille « {sheet} », ligne {index + 1} : colonne « {prefix}… » introuvable")
                positions[key] = candidates[0]
            return index, positions
    raise AplFormatError(
        f"{path}, feuille « {sheet} » : ligne d'en-tête (« {HEADER_PREFIXES['code']} ») introuvable dans les"
        f" {HEADER_SEARCH_LINES} premières lignes"
    )


def _read_sheet(lines: list[tuple], path: Path, sheet: str) -> pd.DataFrame:
    header_index, positions = _find_header(lines, path, sheet)
    records = []
    # The line after the header holds units ("En nombre de..."), not a commune.
    for index in range(header_index + 2, len(lines)):
        line = lines[index]
        code = line[positions["code"]] if len(line) > positions["code"] else None
        if code is None or str(code).strip() == "":
            continue
        code = str(code).strip()
        if isinstance(line[positions["code"]], (int, float)):
            raise AplFormatError(f"{path}, feuille « {sheet} », ligne {index + 1} : code commune numérique ({code}), texte attendu")
        record = {"line": index + 1, "code": code, "name": line[positions["name"]]}
        for key in INDICATOR_CODES:
            value = line[positions[key]]
            if value is None or (isinstance(value, str) and value.strip() == ""):
                record[key] = np.nan
                continue
            try:
                record[key] = float(value)
            except (TypeError, ValueError) as exc:
                raise AplFormatError(
                    f"{path}, feuille « {sheet} », ligne {index + 1}, colonne « {HEADER_PREFIXES[key]}… » : valeur non numérique {value!r}"
                ) from exc
        records.append(record)
    return pd.DataFrame(records, columns=["line", "code", "name", *INDICATOR_CODES])


def rekey_to_units(year: AplYear, unit_codes: set[str], rekey_map: dict[str, str], sheet_label: str | None = None) -> list[dict]:
    """Fill ``year.units`` (one row per territorial unit); return the data-quality findings."""
    label = sheet_label or f"APL {year.year}"
    findings: list[dict] = []
    rows = year.rows.copy()
    targets = []
    for code in rows["code"]:
        if code in unit_codes:
            targets.append(code)
        elif rekey_map.get(code) in unit_codes:
            target = rekey_map[code]
            targets.append(target)
            findings.append(finding(SOURCE_ID, "rekeyed_code", code, f"{label} : ligne du code {code} rattachée à l'unité COG 2026 {target}."))
        else:
            targets.append(None)
            findings.append(finding(SOURCE_ID, "unknown_code", code, f"{label} : code {code} absent du COG 2026 et de la table de passage : ligne ignorée."))
    rows["unit_code"] = targets
    rows = rows[rows["unit_code"].notna()]
    incomplete = rows[list(INDICATOR_CODES)].isna().any(axis=1)
    for code in rows.loc[incomplete, "code"]:
        findings.append(finding(SOURCE_ID, "missing_value", code, f"{label} : valeur(s) manquante(s) pour le code {code}."))
    year.units = aggregate_rows(rows)
    for unit, count in rows.groupby("unit_code").size().items():
        if count > 1:
            merged = ", ".join(sorted(rows.loc[rows["unit_code"] == unit, "code"]))
            findings.append(finding(
                SOURCE_ID, "aggregated_rows", unit,
                f"{label} : {count} lignes ({merged}) agrégées (APL pondéré par la population standardisée, populations sommées).",
            ))
    return findings


def aggregate_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per ``unit_code``: APL weighted by the standardised population, populations summed (DREES rule).

    A value missing in one row leaves the others' weighted mean intact (its weight is dropped).
    """
    out = {}
    weights = rows["pop_standardisee_mg"]
    for key in WEIGHTED:
        known = rows[key].notna() & weights.notna()
        weighted = (rows[key] * weights).where(known).groupby(rows["unit_code"]).sum(min_count=1)
        total_weight = weights.where(known).groupby(rows["unit_code"]).sum(min_count=1)
        out[key] = weighted / total_weight.replace(0, np.nan)
    for key in SUMMED:
        out[key] = rows[key].groupby(rows["unit_code"]).sum(min_count=1)
    frame = pd.DataFrame(out)
    frame.index.name = "unit_code"
    return frame.sort_index()


def indicator_value_rows(years: list[AplYear]) -> pd.DataFrame:
    """Rows of ``indicator_values`` (geo_level commune) for every year and indicator, NULL values dropped."""
    parts = []
    for year in years:
        long = year.units.reset_index().melt(id_vars="unit_code", var_name="indicator_code", value_name="value")
        long = long[long["value"].notna()]
        parts.append(pd.DataFrame({
            "indicator_code": long["indicator_code"],
            "geo_level": "commune",
            "geo_code": long["unit_code"],
            "year": year.year,
            "value": long["value"].astype("float64"),
        }))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["indicator_code", "geo_level", "geo_code", "year", "value"])
    frame["year"] = frame["year"].astype("int32")
    return frame.sort_values(["indicator_code", "geo_level", "geo_code", "year"], ignore_index=True)


def sanity_figures(units: pd.DataFrame, threshold: float = 2.5) -> dict[str, float]:
    """Figures to compare with the DREES publication: median APL over units, population-weighted mean
    (standardised population, DREES rule), share of the (non-standardised) population below the threshold."""
    apl = units["apl_mg"]
    known = apl.notna()
    weights = units["pop_standardisee_mg"].where(known)
    population = units["population_totale_apl"].where(known)
    return {
        "median_apl_mg": float(apl.median()),
        "weighted_mean_apl_mg": float((apl * weights).sum() / weights.sum()),
        "population_share_below_threshold_pct": float(100 * population[apl < threshold].sum() / population.sum()),
    }
