"""Checking an indicator file read by the register import's reader (``import_reading``) against the
reference tables: metadata, columns, codes, numbers, duplicates; then the values per territorial unit.

Pure: a :class:`RawTable` + :class:`IndicatorReference` + :class:`IndicatorMetadata` in, an
:class:`ImportReport` (errors, warnings, information with file line numbers, in French, the same
:class:`Finding` as the register import) and, when nothing blocks, the values per COG 2026 unit. The rules
are documented for users in docs/import-indicateur.md (keep both in step).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatory.indicator_metadata import LEVEL_LABELS, IndicatorMetadata
from observatory.registers.import_checks import Finding, ImportReport
from observatory.registers.import_reading import LINE_COLUMN, RawTable
from observatory.registers.import_values import normalize_code, normalize_departement, normalize_label

# Accepted headers for the code column, per level, compared after normalize_label.
CODE_ALIASES = {
    "commune": ("code_insee", "code_commune", "codgeo", "insee", "depcom", "com", "code_commune_insee", "code"),
    "epci": ("siren", "code_epci", "siren_epci", "epci", "code_siren", "codgeo", "code"),
    "departement": ("code_departement", "departement", "dep", "code_dep", "codgeo", "code"),
}
# Columns that name the territory: never taken for the value column.
NAME_ALIASES = ("nom", "libelle", "libgeo", "commune", "nom_commune", "libelle_commune", "nom_epci", "libelle_epci",
                "nom_departement", "libelle_departement", "territoire", "name", "lib", "annee", "year", "millesime")
# Cells meaning « no value published » (statistical secret, not available): a missing value, not an error.
YEAR_ALIASES = ("annee", "year", "millesime")
MISSING_MARKERS = {"", "s", "nd", "n_d", "na", "nc", "n_c", "secret", "secret_statistique", "nan", "x"}
MISSING_SYMBOLS = {"-", "–", "—", "?", "."}
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
EPCI_PATTERN = re.compile(r"^\d{9}$")
LINES_SHOWN = 15


@dataclass
class IndicatorReference:
    units: pd.DataFrame  # queries.indicator_import_units (every commune and arrondissement)
    code_history: pd.DataFrame  # old_code, commune_code
    areas: pd.DataFrame  # level, code, name (EPCI and départements)


@dataclass
class IndicatorStats:
    rows_read: int
    values_kept: int
    units_with_value: int
    units_total: int
    population_with_value: int
    population_total: int
    departements_without_value: list[str] = field(default_factory=list)
    minimum: float = float("nan")
    median: float = float("nan")
    maximum: float = float("nan")


@dataclass
class IndicatorValues:
    """What the import writes: per COG 2026 territorial unit (geo_code), the value and, when the file gives
    one, the weight."""

    values: pd.DataFrame  # geo_code, value
    weights: pd.DataFrame | None  # geo_code, value (weight column), or None


def parse_number(text: str) -> float | None:
    """« 3,75 », « 1 234,5 », « 12,5 % », « 1.2e3 » -> float; a missing-value marker -> None.
    Raises ValueError for anything else (the caller reports line and column)."""
    value = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").strip()
    if value.endswith("%"):
        value = value[:-1]
    if value in MISSING_SYMBOLS or normalize_label(value) in MISSING_MARKERS:
        return None
    if "," in value and "." in value:  # « 1.234,5 » (thousands dot) — ambiguous elsewhere, refused
        raise ValueError(text)
    if not NUMBER_PATTERN.match(value):
        raise ValueError(text)
    number = float(value.replace(",", "."))
    if math.isinf(number) or math.isnan(number):
        raise ValueError(text)
    return number


def _find_column(headers: list[str], wanted: str | None, aliases: tuple[str, ...], taken: set[str]) -> str | None:
    normalized = {h: normalize_label(h) for h in headers}
    if wanted:
        target = normalize_label(wanted)
        return next((h for h in headers if h == wanted or normalized[h] == target), None)
    for alias in aliases:
        found = [h for h in headers if normalized[h] == alias and h not in taken]
        if found:
            return found[0]
    return None


class _IndicatorChecker:
    def __init__(self, raw: RawTable, reference: IndicatorReference, meta: IndicatorMetadata):
        self.raw, self.ref, self.meta = raw, reference, meta
        self.report = ImportReport()
        units = reference.units
        self.all_codes = units.set_index("commune_code", drop=False).to_dict("index")
        self.units = units[units["is_territorial_unit"].astype(bool)].reset_index(drop=True)
        self.children = {
            parent: sorted(group["commune_code"])
            for parent, group in self.units.dropna(subset=["parent_commune_code"]).groupby("parent_commune_code")
        }
        self.history = {old: sorted(g["commune_code"]) for old, g in reference.code_history.groupby("old_code")}
        self.area_names = {
            level: dict(zip(group["code"], group["name"], strict=True)) for level, group in reference.areas.groupby("level")
        }

    def error(self, message, lines=(), column=None):
        self.report.errors.append(Finding(message, tuple(sorted(lines)), column))

    def warn(self, message, lines=(), column=None):
        self.report.warnings.append(Finding(message, tuple(sorted(lines)), column))

    def inform(self, message, lines=(), column=None):
        self.report.infos.append(Finding(message, tuple(sorted(lines)), column))

    def label(self, code: str) -> str:
        return f"{code} {self.all_codes[code]['name']}"

    # ---- columns -------------------------------------------------------------------------------
    def columns(self) -> bool:
        headers, meta = self.raw.headers, self.meta
        self.code_column = _find_column(headers, meta.code_column, CODE_ALIASES[meta.level], set())
        if self.code_column is None:
            wanted = f"« {meta.code_column} »" if meta.code_column else f"un en-tête parmi {', '.join(CODE_ALIASES[meta.level])}"
            self.error(f"colonne des codes ({LEVEL_LABELS[meta.level]}) introuvable : attendu {wanted} ;"
                       f" en-têtes trouvés : {', '.join(headers) or 'aucun'}", (self.raw.header_line,))
            return False
        self.weight_column = None
        if meta.weight_column:
            self.weight_column = _find_column(headers, meta.weight_column, (), set())
            if self.weight_column is None:
                self.error(f"colonne de poids « {meta.weight_column} » introuvable ; en-têtes trouvés : {', '.join(headers)}",
                           (self.raw.header_line,))
                return False
        taken = {self.code_column, self.weight_column}
        if meta.value_column:
            self.value_column = _find_column(headers, meta.value_column, (), set())
            if self.value_column is None:
                self.error(f"colonne des valeurs « {meta.value_column} » introuvable ; en-têtes trouvés : {', '.join(headers)}",
                           (self.raw.header_line,))
                return False
        else:
            candidates = [h for h in headers if h not in taken and normalize_label(h) not in NAME_ALIASES]
            if len(candidates) != 1:
                what = "aucune colonne" if not candidates else f"{len(candidates)} colonnes ({', '.join(candidates)})"
                self.error(f"colonne des valeurs ambiguë : {what} en plus du code ; indiquez-la avec --value-column",
                           (self.raw.header_line,))
                return False
            self.value_column = candidates[0]
        if self.value_column in taken:
            self.error(f"la colonne « {self.value_column} » ne peut servir à la fois de code, de poids et de valeur",
                       (self.raw.header_line,))
            return False
        self.year_column = _find_column(headers, None, YEAR_ALIASES, taken | {self.value_column})
        ignored = [h for h in headers if h not in taken | {self.value_column, self.year_column}]
        self.inform(f"code : « {self.code_column} » ; valeurs : « {self.value_column} »"
                    + (f" ; poids : « {self.weight_column} »" if self.weight_column else "")
                    + (f" ; année : « {self.year_column} » (seules les lignes de {self.meta.year} sont lues)"
                       if self.year_column else "")
                    + (f" ; colonnes ignorées : {', '.join(ignored)}" if ignored else ""), (self.raw.header_line,))
        if self.raw.extra_value_lines:
            self.warn("valeurs au-delà de la dernière colonne d'en-tête, ignorées", self.raw.extra_value_lines)
        return True

    # ---- rows ----------------------------------------------------------------------------------
    def parse_rows(self) -> list[dict]:
        """One record per usable line: line, raw code, normalised code, value, weight."""
        records, missing_lines, seen = [], [], {}
        padded_lines, percent_lines = [], []
        other_years: dict[str, list[int]] = {}
        for row in self.raw.rows.to_dict("records"):
            line = int(row[LINE_COLUMN])
            if self.year_column and row[self.year_column].strip() != str(self.meta.year):
                other_years.setdefault(row[self.year_column].strip() or "(vide)", []).append(line)
                continue
            raw_code = row[self.code_column]
            if not raw_code:
                self.error("code vide", (line,), self.code_column)
                continue
            code = self.normalize(raw_code, line)
            if code is None:
                continue
            if self.meta.level == "commune" and normalize_code(raw_code)[1]:
                padded_lines.append(line)
            text = row[self.value_column]
            try:
                value = parse_number(text)
            except ValueError:
                self.error(f"valeur « {text} » non numérique (attendu un nombre, ex. 3,75 ou 1234 ;"
                           " cellule vide ou « s », « nd » pour une valeur non diffusée)", (line,), self.value_column)
                continue
            if text.strip().endswith("%"):
                percent_lines.append(line)
            if value is None:
                missing_lines.append(line)
                continue
            if value < 0 and self.meta.aggregation == "sum":
                self.error(f"effectif négatif ({text}) : un indicateur agrégé par somme compte des personnes ou des"
                           " actes", (line,), self.value_column)
                continue
            weight = None
            if self.weight_column:
                wtext = row[self.weight_column]
                try:
                    weight = parse_number(wtext)
                except ValueError:
                    self.error(f"poids « {wtext} » non numérique", (line,), self.weight_column)
                    continue
                if weight is None or weight < 0:
                    self.warn(f"poids {'manquant' if weight is None else 'négatif'} pour le code {raw_code} :"
                              " ligne ignorée (la valeur ne peut pas être pondérée)", (line,), self.weight_column)
                    continue
            if code in seen:
                first = seen[code]
                if first["value"] == value and first["weight"] == weight:
                    self.warn(f"doublon : le code {code} figure déjà ligne {first['line']} avec la même valeur ;"
                              " ligne ignorée", (line, first["line"]), self.code_column)
                else:
                    self.error(f"doublon : le code {code} figure déjà ligne {first['line']} avec une autre valeur"
                               f" ({_fr(first['value'])} contre {_fr(value)}) ; gardez une seule ligne par code",
                               (line, first["line"]), self.code_column)
                continue
            record = {"line": line, "code": code, "value": value, "weight": weight}
            seen[code] = record
            records.append(record)
        if other_years:
            years = ", ".join(sorted(other_years))
            lines = [line for ls in other_years.values() for line in ls]
            if records or seen:
                self.inform(f"{len(lines)} ligne(s) d'autres années ({years}) ignorées : importez chaque année avec"
                            " son --year", lines, self.year_column)
            elif not self.report.errors:
                self.error(f"aucune ligne pour l'année {self.meta.year} dans la colonne « {self.year_column} »"
                           f" (années du fichier : {years})", (self.raw.header_line,), self.year_column)
        if missing_lines:
            self.warn(f"{len(missing_lines)} valeur(s) vide(s) ou non diffusée(s) (secret statistique) : lignes"
                      " gardées sans valeur (« non disponible »)", missing_lines, self.value_column)
        if padded_lines:
            self.inform(f"{len(padded_lines)} code(s) avaient perdu leur zéro initial et ont été complétés",
                        padded_lines, self.code_column)
        if percent_lines:
            self.inform("signe % retiré des valeurs (l'unité déclarée fait foi : "
                        f"« {self.meta.unit} »)", percent_lines, self.value_column)
        return records

    def normalize(self, raw_code: str, line: int) -> str | None:
        level = self.meta.level
        if level == "commune":
            code, _ = normalize_code(raw_code)
            if code is None:
                self.error(f"code commune « {raw_code} » mal formé (attendu : 5 caractères, ex. 04001 ou 2A004)",
                           (line,), self.code_column)
            return code
        if level == "epci":
            code = raw_code.replace(" ", "")
            if re.fullmatch(r"\d+\.0+", code):
                code = code.split(".")[0]
            if not EPCI_PATTERN.match(code):
                self.error(f"SIREN d'EPCI « {raw_code} » mal formé (attendu : 9 chiffres)", (line,), self.code_column)
                return None
            return code
        code = normalize_departement(raw_code)
        if not re.fullmatch(r"\d{2}|2[AB]|97\d", code):
            self.error(f"code département « {raw_code} » mal formé (ex. 04, 2A, 974)", (line,), self.code_column)
            return None
        return code

    # ---- codes -> units --------------------------------------------------------------------------
    def resolve(self, records: list[dict]) -> pd.DataFrame:
        """Rows (line, unit, value, weight, share): each record spread on the COG 2026 units it covers."""
        level = self.meta.level
        out = []
        population = dict(zip(self.units["commune_code"], self.units["population_count"].astype(float), strict=True))
        if level != "commune":
            column = "epci_code" if level == "epci" else "departement_code"
            members = {k: sorted(g["commune_code"]) for k, g in self.units.groupby(column)}
            known = self.area_names.get(level, {})
            unknown = [r for r in records if r["code"] not in known]
            for r in unknown:
                self.warn(f"{LEVEL_LABELS[level]} {r['code']} inconnu du COG 2026 : ligne ignorée", (r["line"],),
                          self.code_column)
            for r in records:
                if r["code"] in known:
                    out += self.spread(r, members.get(r["code"], []), population)
            return pd.DataFrame(out, columns=["line", "unit", "value", "weight", "share"])
        cities_with_children = set()
        direct = {r["code"] for r in records if r["code"] in self.all_codes}
        for r in records:
            code = r["code"]
            if code not in self.all_codes:
                targets = [t for t in self.history.get(code, []) if t in self.all_codes]
                if not targets:
                    self.warn(f"code {code} inconnu du COG 2026 (ni commune actuelle, ni ancien code connu) : ligne ignorée",
                              (r["line"],), self.code_column)
                    continue
                if len(targets) > 1:
                    self.warn(f"ancien code {code} correspondant à plusieurs communes du COG 2026"
                              f" ({', '.join(self.label(t) for t in targets)}) : ligne ignorée", (r["line"],), self.code_column)
                    continue
                self.warn(f"ancien code {code} re-clé vers {self.label(targets[0])} (COG 2026)", (r["line"],), self.code_column)
                code = targets[0]
            if bool(self.all_codes[code]["is_territorial_unit"]):
                out.append({"line": r["line"], "unit": code, "value": r["value"], "weight": r["weight"], "share": 1.0})
                continue
            children = self.children.get(code, [])
            if any(c in direct for c in children):
                cities_with_children.add(code)
                self.inform(f"{self.label(code)} : ville entière ignorée, ses arrondissements figurent dans le fichier",
                            (r["line"],), self.code_column)
                continue
            self.warn(f"{self.label(code)} est découpée en {len(children)} arrondissements municipaux : "
                      + ("valeur attribuée à chacun" if self.meta.aggregation != "sum"
                         else "effectif réparti au prorata de leur population"), (r["line"],), self.code_column)
            out += self.spread(r, children, population)
        frame = pd.DataFrame(out, columns=["line", "unit", "value", "weight", "share"])
        return frame

    def spread(self, record: dict, units: list[str], population: dict[str, float]) -> list[dict]:
        """An area's value on its units: a rate to each unit; a count (and a weight) by population share."""
        total = sum(population.get(u, 0.0) for u in units)
        rows = []
        for unit in units:
            share = population.get(unit, 0.0) / total if total > 0 else 1.0 / len(units)
            split = self.meta.aggregation == "sum"
            rows.append({
                "line": record["line"], "unit": unit, "value": record["value"] * share if split else record["value"],
                "weight": None if record["weight"] is None else record["weight"] * share, "share": share,
            })
        return rows

    def merge(self, rows: pd.DataFrame) -> IndicatorValues:
        """Several rows on one unit (old codes merged since): summed for a count; for a rate, mean weighted
        by the file's weight column (the DREES rule for the APL), else plain mean with a warning."""
        aggregation = self.meta.aggregation
        groups = rows.groupby("unit")
        sizes = groups.size()
        merged_units = sizes[sizes > 1].index
        for unit in merged_units:
            lines = sorted(rows.loc[rows["unit"] == unit, "line"])
            if aggregation == "sum":
                how = "effectifs additionnés"
            elif self.weight_column:
                how = f"valeurs moyennées en pondérant par « {self.weight_column} », poids additionnés"
            else:
                how = "valeurs moyennées sans pondération (aucune colonne de poids)"
            self.warn(f"{len(lines)} lignes rattachées à {self.label(unit)} (COG 2026) : {how}", lines, self.code_column)
        if aggregation == "sum":
            values = groups["value"].sum()
        elif self.weight_column:
            w = rows["weight"].astype(float)
            weighted = (rows["value"] * w).groupby(rows["unit"]).sum()
            total = w.groupby(rows["unit"]).sum()
            values = weighted / total.where(total > 0)
        else:
            values = groups["value"].mean()
        frame = pd.DataFrame({"geo_code": values.index.astype(str), "value": values.to_numpy(dtype=float)})
        weights = None
        if self.weight_column:
            w = rows["weight"].astype(float).groupby(rows["unit"]).sum()
            weights = pd.DataFrame({"geo_code": w.index.astype(str), "value": w.to_numpy(dtype=float)})
        frame = frame[frame["value"].notna()].sort_values("geo_code", ignore_index=True)
        return IndicatorValues(frame, weights.sort_values("geo_code", ignore_index=True) if weights is not None else None)

    def stats(self, data: IndicatorValues) -> IndicatorStats:
        units = self.units
        has = units["commune_code"].isin(set(data.values["geo_code"]))
        without = units.loc[~has].groupby("departement_code").size()
        totals = units.groupby("departement_code").size()
        empty = sorted(d for d, n in without.items() if n == totals[d])
        v = data.values["value"]
        return IndicatorStats(
            rows_read=len(self.raw.rows), values_kept=len(v), units_with_value=int(has.sum()), units_total=len(units),
            population_with_value=int(units.loc[has, "population_count"].sum()),
            population_total=int(units["population_count"].sum()), departements_without_value=empty,
            minimum=float(v.min()) if len(v) else float("nan"), median=float(v.median()) if len(v) else float("nan"),
            maximum=float(v.max()) if len(v) else float("nan"),
        )

    def run(self) -> tuple[ImportReport, IndicatorValues | None, IndicatorStats | None]:
        if not self.columns():
            return self.report, None, None
        if self.raw.rows.empty:
            self.error("aucune ligne de données sous l'en-tête")
            return self.report, None, None
        records = self.parse_rows()
        rows = self.resolve(records)
        if rows.empty:
            if not self.report.errors:
                self.error("aucune valeur reconnue dans le fichier : rien à importer")
            return self.report, None, None
        data = self.merge(rows)
        stats = self.stats(data)
        if stats.departements_without_value:
            shown = ", ".join(stats.departements_without_value[:20])
            more = len(stats.departements_without_value) - 20
            self.inform(f"{len(stats.departements_without_value)} département(s) sans aucune valeur : {shown}"
                        + (f" et {more} autres" if more > 0 else ""))
        if self.report.errors:
            return self.report, None, stats
        return self.report, data, stats


def _fr(value: float) -> str:
    text = f"{value:.10g}"
    return text.replace(".", ",")


def check_indicator_file(
    raw: RawTable, reference: IndicatorReference, meta: IndicatorMetadata
) -> tuple[ImportReport, IndicatorValues | None, IndicatorStats | None]:
    """Validate ``raw`` for ``meta``; the values are None when a blocking error was found."""
    return _IndicatorChecker(raw, reference, meta).run()


def ratio_mismatches(values: pd.DataFrame, numerators: pd.DataFrame, denominators: pd.DataFrame, scale: float,
                     decimals: int) -> list[str]:
    """Units whose published rate differs from scale × numerator / denominator by more than rounding."""
    frame = values.set_index("geo_code")["value"].to_frame("value")
    frame["numerator"] = numerators.set_index("geo_code")["value"]
    frame["denominator"] = denominators.set_index("geo_code")["value"]
    known = frame.dropna()
    known = known[known["denominator"] > 0]
    computed = scale * known["numerator"] / known["denominator"]
    tolerance = np.maximum(0.5 * 10.0 ** (-decimals), 1e-6 * computed.abs())
    return sorted(known.index[(known["value"] - computed).abs() > tolerance])
