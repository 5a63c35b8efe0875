"""Checking a register file read by :mod:`import_reading` against the reference tables of the database.

Pure: a :class:`RawTable` + :class:`ReferenceData` in, an :class:`ImportReport` (errors, warnings,
information, each with its file line numbers, in French) and, when nothing blocks, a
:class:`RegisterData` ready to be written. The rules are documented for users in docs/import-registre.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from observatory.registers import RegisterData
from observatory.registers.import_geometry import detached_units
from observatory.registers.import_reading import LINE_COLUMN, RawTable
from observatory.registers.import_values import (
    DATE_FIELDS,
    FIELD_ALIASES,
    FIELD_LABELS,
    PER_CPTS_FIELDS,
    REQUIRED_FIELDS,
    STAGE_DATE_FIELDS,
    match_columns,
    near_duplicate_names,
    normalize_code,
    normalize_departement,
    normalize_label,
    parse_date,
    register_id_for,
    stage_lookup,
)
from observatory.safe_text import clean_name, plain_text

MAX_LINES_SHOWN = 15


@dataclass(frozen=True)
class Finding:
    message: str
    lines: tuple[int, ...] = ()
    column: str | None = None

    def text(self) -> str:
        where = []
        if self.lines:
            shown = ", ".join(str(n) for n in self.lines[:MAX_LINES_SHOWN])
            more = len(self.lines) - MAX_LINES_SHOWN
            where.append(
                ("ligne " if len(self.lines) == 1 else "lignes ") + shown + (f" et {more} autres" if more > 0 else "")
            )
        if self.column:
            where.append(f"colonne « {self.column} »")
        return f"{', '.join(where)} : {self.message}" if where else self.message


@dataclass
class ImportStats:
    rows_read: int
    cpts_count: int
    units_covered: int
    population_covered: int
    region_code: str
    region_name: str
    region_population: int
    population_covered_in_region: int
    white_zone_units: list[tuple[str, str, int]]  # (code, name, population) of region units in no CPTS

    @property
    def coverage_share_pct(self) -> float:
        return 100.0 * self.population_covered_in_region / self.region_population if self.region_population else 0.0

    @property
    def white_zone_population(self) -> int:
        return sum(p for _, _, p in self.white_zone_units)


@dataclass
class ImportReport:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    infos: list[Finding] = field(default_factory=list)
    stats: ImportStats | None = None

    def blocks(self, strict: bool) -> bool:
        return bool(self.errors) or (strict and bool(self.warnings))


@dataclass
class ReferenceData:
    communes: pd.DataFrame  # commune_code, name, unit_type, parent_commune_code, departement_code, region_code, population_count, is_territorial_unit
    code_history: pd.DataFrame  # old_code, commune_code
    regions: pd.DataFrame  # region_code, name
    stages: pd.DataFrame  # stage_code, vocabulary, rank, label, national_stage_code
    # commune_code, geometry (shapely); empty: no contiguity check and no CPTS contour
    unit_geometries: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["commune_code", "geometry"]))


@dataclass(frozen=True)
class ImportOptions:
    name: str
    region_code: str | None
    as_of: dt.date
    strict: bool = False


def _lines_of(values: dict[str, list[int]]) -> str:
    return ", ".join(
        f"« {v} » (ligne{'s' if len(ls) > 1 else ''} {', '.join(map(str, ls[:5]))})" for v, ls in values.items()
    )


@dataclass
class _Row:
    line: int
    name: str
    code: str
    per_cpts: dict[str, object]  # field → parsed value (date, stage row, key)
    raw_per_cpts: dict[str, str]
    departement: str | None


class _Checker:
    """One pass over the file; collects findings and the resolved CPTS → units assignment."""

    def __init__(self, raw: RawTable, reference: ReferenceData, options: ImportOptions):
        self.raw, self.ref, self.options = raw, reference, options
        self.report = ImportReport()
        self.communes = reference.communes.set_index("commune_code", drop=False).to_dict("index")
        units = reference.communes[reference.communes["is_territorial_unit"].astype(bool)]
        self.children = {
            parent: sorted(group["commune_code"])
            for parent, group in units.dropna(subset=["parent_commune_code"]).groupby("parent_commune_code")
        }
        self.history = {old: sorted(group["commune_code"]) for old, group in reference.code_history.groupby("old_code")}
        self.region_names = dict(zip(reference.regions["region_code"], reference.regions["name"], strict=True))
        self.stages = stage_lookup(reference.stages)
        self.rows: list[_Row] = []
        self.assignments: dict[str, dict[str, list[int]]] = {}  # cpts name → unit → lines
        self.row_units: dict[int, list[str]] = {}  # file line → units it gives
        self.cpts_values: dict[str, dict[str, object]] = {}

    # ---- helpers -------------------------------------------------------------------------------
    def error(self, message: str, lines=(), column=None) -> None:
        self.report.errors.append(Finding(message, tuple(sorted(lines)), column))

    def warn(self, message: str, lines=(), column=None) -> None:
        self.report.warnings.append(Finding(message, tuple(sorted(lines)), column))

    def inform(self, message: str, lines=(), column=None) -> None:
        self.report.infos.append(Finding(message, tuple(sorted(lines)), column))

    def label(self, code: str) -> str:
        return f"{code} {self.communes[code]['name']}"

    def region_label(self, code: str) -> str:
        return f"{code} {self.region_names.get(code, '(région inconnue)')}"

    # ---- steps ---------------------------------------------------------------------------------
    def run(self) -> tuple[ImportReport, RegisterData | None]:
        name_problem = clean_name(self.options.name)[1]
        if name_problem is not None:
            self.error(f"nom de registre --name refusé : {name_problem.message}")
        elif not register_id_for(self.options.name).removeprefix("import-"):
            self.error(
                f"nom de registre « {self.options.name} » invalide : il doit contenir des lettres ou des chiffres"
            )
        if self.options.region_code and self.options.region_code not in self.region_names:
            self.error(
                f"région « {plain_text(self.options.region_code, 40)} » inconnue (--region attend un code INSEE de région, ex. 93)"
            )
        self.columns, ignored = match_columns(self.raw.headers)
        missing = [f for f in REQUIRED_FIELDS if f not in self.columns]
        for fld in missing:
            self.error(
                f"colonne obligatoire absente : {FIELD_LABELS[fld]} (en-têtes acceptés : {', '.join(FIELD_ALIASES[fld])}) ;"
                f" en-têtes trouvés : {', '.join(self.raw.headers) or 'aucun'}",
                (self.raw.header_line,),
            )
        if missing:
            return self.report, None
        if ignored:
            self.inform(f"colonnes ignorées (non reconnues) : {', '.join(ignored)}", (self.raw.header_line,))
        if self.raw.extra_value_lines:
            self.warn("valeurs au-delà de la dernière colonne d'en-tête, ignorées", self.raw.extra_value_lines)
        if self.raw.rows.empty:
            self.error("aucune ligne de données sous l'en-tête")
            return self.report, None
        self.parse_rows()
        self.check_per_cpts_values()
        self.resolve_codes()
        region = self.choose_region()
        if region:
            self.check_regions(region)
        self.check_overlaps()
        self.check_names()
        self.check_contiguity()
        stats = self.compute_stats(region) if region else None
        self.report.stats = stats
        if self.report.errors or not self.assignments:
            if not self.assignments and not self.report.errors:
                self.error("aucune commune reconnue dans le fichier : rien à importer")
            return self.report, None
        return self.report, self.build_register(region)

    def parse_rows(self) -> None:
        col = self.columns
        padded_lines, padded_example = [], None
        has_stage_data = any(f in col for f in ("stage",) + DATE_FIELDS)
        if not has_stage_data:
            self.inform("aucune colonne de stade ni de date : les CPTS seront affichées au stade « inconnu »")
        for record in self.raw.rows.to_dict("records"):
            line = int(record[LINE_COLUMN])
            name, name_problem = clean_name(record[col["cpts_name"]])
            raw_code = record[col["commune_code"]]
            if not name:
                self.error("nom de CPTS vide", (line,), col["cpts_name"])
            elif name_problem is not None:
                self.error(f"nom de CPTS refusé : {name_problem.message}", (line,), col["cpts_name"])
                name = ""  # the row is not imported
            if not raw_code:
                self.error("code commune vide", (line,), col["commune_code"])
                continue
            code, padded = normalize_code(raw_code)
            if code is None:
                self.error(
                    f"code commune « {raw_code} » mal formé (attendu : 5 caractères, ex. 04001 ou 2A004)",
                    (line,),
                    col["commune_code"],
                )
                continue
            if padded:
                padded_lines.append(line)
                padded_example = padded_example or f"{raw_code} → {code}"
            per_cpts, raw_values = {}, {}
            for fld in PER_CPTS_FIELDS:
                text = record.get(col[fld], "") if fld in col else ""
                if not text:
                    continue
                raw_values[fld] = text
                if fld == "cpts_key":
                    per_cpts[fld] = text
                elif fld == "stage":
                    stage = self.stages.get(normalize_label(text))
                    if stage is None:
                        self.error(
                            f"stade « {text} » inconnu ; valeurs acceptées : {self.accepted_stages()}",
                            (line,),
                            col[fld],
                        )
                    else:
                        per_cpts[fld] = stage
                else:
                    try:
                        per_cpts[fld] = parse_date(text)
                    except ValueError:
                        self.error(
                            f"date « {text} » invalide ; formats acceptés : JJ/MM/AAAA, AAAA-MM-JJ, MM/AAAA",
                            (line,),
                            col[fld],
                        )
            dep = (
                normalize_departement(record[col["departement"]])
                if "departement" in col and record[col["departement"]]
                else None
            )
            if name:
                self.rows.append(_Row(line, name, code, per_cpts, raw_values, dep))
        if padded_lines:
            self.inform(
                f"{len(padded_lines)} code(s) avaient perdu leur zéro initial et ont été complétés (ex. {padded_example})",
                padded_lines,
                col["commune_code"],
            )

    def accepted_stages(self) -> str:
        if self.ref.stages.empty:
            return "aucune (vocabulaire des stades absent de la base : reconstruisez-la)"
        return ", ".join(f"« {label} »" for label in self.ref.stages.sort_values(["vocabulary", "rank"])["label"])

    def check_per_cpts_values(self) -> None:
        """One value per CPTS for its id, stage and dates; stage dates in the national order."""
        by_name: dict[str, list[_Row]] = {}
        for row in self.rows:
            by_name.setdefault(row.name, []).append(row)
        for name, rows in by_name.items():
            values: dict[str, object] = {}
            for fld in PER_CPTS_FIELDS:
                seen: dict[str, list[int]] = {}
                parsed = {}
                for row in rows:
                    if fld in row.per_cpts:
                        shown = row.raw_per_cpts[fld]
                        key = str(row.per_cpts[fld]["stage_code"] if fld == "stage" else row.per_cpts[fld])
                        seen.setdefault(key, []).append(row.line)
                        parsed[key] = (row.per_cpts[fld], shown)
                if len(seen) > 1:
                    texts = {parsed[k][1]: ls for k, ls in seen.items()}
                    self.error(
                        f"la CPTS « {name} » a plusieurs valeurs différentes : {_lines_of(texts)}",
                        sorted(line for ls in seen.values() for line in ls),
                        self.columns[fld],
                    )
                elif seen:
                    key = next(iter(seen))
                    values[fld] = parsed[key][0]
                    values[fld + "_lines"] = seen[key]
            self.check_stage_order(name, values)
            self.cpts_values[name] = values
        keys: dict[str, dict[str, list[int]]] = {}
        for name, values in self.cpts_values.items():
            if "cpts_key" in values:
                keys.setdefault(str(values["cpts_key"]), {})[name] = values["cpts_key_lines"]
        for key, names in keys.items():
            if len(names) > 1:
                self.error(
                    f"l'identifiant « {key} » désigne plusieurs CPTS : {_lines_of(names)}",
                    sorted(line for ls in names.values() for line in ls),
                    self.columns["cpts_key"],
                )

    def check_stage_order(self, name: str, values: dict) -> None:
        dated = [(fld, label, values[fld]) for fld, _, label in STAGE_DATE_FIELDS if fld in values]
        for (f1, l1, d1), (f2, l2, d2) in zip(dated, dated[1:], strict=False):
            if d2 < d1:
                self.error(
                    f"dates incohérentes pour la CPTS « {name} » : {l2} le {d2:%d/%m/%Y} avant {l1} le {d1:%d/%m/%Y}",
                    sorted(set(values[f1 + "_lines"][:1] + values[f2 + "_lines"][:1])),
                    self.columns[f2],
                )
        for fld, _, label in STAGE_DATE_FIELDS + (("association_date", "", "création de l'association"),):
            if fld in values and values[fld] > self.options.as_of:
                self.warn(
                    f"CPTS « {name} » : date de {label} ({values[fld]:%d/%m/%Y}) postérieure à la date de référence"
                    f" du registre ({self.options.as_of:%d/%m/%Y})",
                    values[fld + "_lines"][:1],
                    self.columns[fld],
                )
        stage = values.get("stage")
        if stage is not None and stage["vocabulary"] == "national" and dated:
            ranks = {code: i for i, (_, code, _) in enumerate(STAGE_DATE_FIELDS)}
            last_fld, last_label, _ = dated[-1]
            last_code = next(code for fld, code, _ in STAGE_DATE_FIELDS if fld == last_fld)
            if ranks.get(stage["stage_code"], 99) < ranks[last_code]:
                self.warn(
                    f"CPTS « {name} » : stade déclaré « {stage['label']} » alors que la date de {last_label} est renseignée ;"
                    " les dates font foi",
                    values["stage_lines"][:1],
                    self.columns["stage"],
                )

    def resolve_codes(self) -> None:
        code_column = self.columns["commune_code"]
        first_seen: dict[tuple[str, str], int] = {}
        for row in self.rows:
            code = row.code
            first = first_seen.setdefault((row.name, code), row.line)
            if first != row.line:
                self.warn(
                    f"doublon : la CPTS « {row.name} » et le code {code} figurent déjà ligne {first} ; ligne ignorée",
                    (row.line, first),
                )
                continue
            if code not in self.communes:
                targets = self.history.get(code, [])
                if not targets:
                    self.warn(
                        f"code {code} inconnu du COG 2026 (ni commune actuelle, ni ancien code connu) : ligne ignorée",
                        (row.line,),
                        code_column,
                    )
                    continue
                if len(targets) > 1:
                    self.warn(
                        f"ancien code {code} correspondant à plusieurs communes du COG 2026"
                        f" ({', '.join(self.label(t) for t in targets)}) : ligne ignorée, précisez la commune",
                        (row.line,),
                        code_column,
                    )
                    continue
                self.warn(
                    f"ancien code {code} re-clé vers {self.label(targets[0])} (COG 2026)", (row.line,), code_column
                )
                code = targets[0]
            units = [code]
            if not bool(self.communes[code]["is_territorial_unit"]):
                units = self.children.get(code, [])
                self.warn(
                    f"{self.label(code)} est découpée en {len(units)} arrondissements municipaux : la CPTS « {row.name} »"
                    f" reçoit toute la ville ({units[0] if units else ''}–{units[-1] if units else ''}) ;"
                    " vérifiez qu'elle ne couvre pas seulement certains arrondissements",
                    (row.line,),
                    code_column,
                )
            if row.departement and row.departement != self.communes[code]["departement_code"]:
                self.warn(
                    f"département indiqué {row.departement}, mais {self.label(code)} est dans le département"
                    f" {self.communes[code]['departement_code']}",
                    (row.line,),
                    self.columns["departement"],
                )
            self.assign(row, units)

    def assign(self, row: _Row, units: list[str]) -> None:
        claimed = self.assignments.setdefault(row.name, {})
        repeated = [u for u in units if u in claimed]
        if repeated:  # the same unit reached through another code (old code, whole city + arrondissements)
            firsts = sorted({claimed[u][0] for u in repeated})
            shown = ", ".join(self.label(u) for u in repeated[:5]) + (" ..." if len(repeated) > 5 else "")
            self.inform(
                f"{shown} déjà attribuée(s) à la CPTS « {row.name} » par une autre ligne (code {row.code} ici) :"
                " gardée(s) une fois",
                (row.line, *firsts),
            )
        for unit in units:
            claimed.setdefault(unit, []).append(row.line)
        self.row_units[row.line] = units

    def choose_region(self) -> str | None:
        if self.options.region_code:
            if self.options.region_code in self.region_names:
                self.inform(
                    f"région du registre : {self.region_label(self.options.region_code)} (indiquée par --region)"
                )
                return self.options.region_code
            return None
        regions = pd.Series(
            [self.communes[units[0]]["region_code"] for units in self.row_units.values() if units], dtype=object
        )
        if regions.empty:
            return None
        counts = regions.value_counts()
        best = sorted(counts[counts == counts.max()].index)[0]
        self.inform(
            f"région du registre : {self.region_label(best)} (déduite : {counts[best]} lignes sur {len(regions)})"
        )
        return best

    def check_regions(self, region: str) -> None:
        for line, units in self.row_units.items():
            outside = [u for u in units if self.communes[u]["region_code"] != region]
            if outside:
                other = self.communes[outside[0]]["region_code"]
                self.warn(
                    f"{self.label(outside[0])} est dans la région {self.region_label(other)}, hors de la région du registre"
                    f" ({self.region_label(region)})",
                    (line,),
                    self.columns["commune_code"],
                )

    def check_overlaps(self) -> None:
        claims: dict[str, dict[str, list[int]]] = {}
        for name, units in self.assignments.items():
            for unit, lines in units.items():
                claims.setdefault(unit, {})[name] = lines
        for unit in sorted(claims):
            if len(claims[unit]) > 1:
                names = dict(sorted(claims[unit].items()))
                self.warn(
                    f"chevauchement : {self.label(unit)} est revendiquée par {len(names)} CPTS : {_lines_of(names)} ; l'ARS doit arbitrer",
                    sorted(line for ls in names.values() for line in ls),
                )

    def check_names(self) -> None:
        first_line = {}
        for row in self.rows:
            first_line.setdefault(row.name, row.line)
        for name in list(self.assignments):
            if not self.assignments[name]:
                del self.assignments[name]
        for name in first_line:
            if name not in self.assignments:
                self.warn(
                    f"la CPTS « {name} » n'a aucune commune reconnue : elle n'est pas importée", (first_line[name],)
                )
        for a, b in near_duplicate_names(list(first_line)):
            self.inform(
                f"noms de CPTS très proches : « {a} » et « {b} » ; s'il s'agit de la même CPTS, corrigez le fichier",
                sorted((first_line[a], first_line[b])),
                self.columns["cpts_name"],
            )

    def check_contiguity(self) -> None:
        geometries = dict(
            zip(self.ref.unit_geometries["commune_code"], self.ref.unit_geometries["geometry"], strict=True)
        )
        if not geometries:
            return
        for name in sorted(self.assignments):
            detached = detached_units(list(self.assignments[name]), geometries)
            if detached:
                lines = sorted({self.assignments[name][u][0] for u in detached})
                shown = ", ".join(f"{self.label(u)} (ligne {self.assignments[name][u][0]})" for u in detached[:10])
                self.warn(
                    f"territoire discontinu : dans la CPTS « {name} », {shown} ne touche(nt) pas le reste de son"
                    " territoire ; vérifiez le code (homonyme d'une autre commune ?) ou s'il s'agit d'une île ou d'une enclave",
                    lines,
                    self.columns["commune_code"],
                )

    def compute_stats(self, region: str) -> ImportStats:
        communes = self.ref.communes
        units = communes[communes["is_territorial_unit"].astype(bool)]
        covered = {u for claimed in self.assignments.values() for u in claimed}
        population = dict(zip(units["commune_code"], units["population_count"].astype("int64"), strict=True))
        in_region = units[units["region_code"] == region]
        white = in_region[~in_region["commune_code"].isin(covered)].sort_values("commune_code")
        return ImportStats(
            rows_read=len(self.raw.rows),
            cpts_count=len(self.assignments),
            units_covered=len(covered),
            population_covered=int(sum(population.get(u, 0) for u in covered)),
            region_code=region,
            region_name=self.region_names.get(region, ""),
            region_population=int(in_region["population_count"].sum()),
            population_covered_in_region=int(
                in_region[in_region["commune_code"].isin(covered)]["population_count"].sum()
            ),
            white_zone_units=[
                (c, n, int(p))
                for c, n, p in zip(white["commune_code"], white["name"], white["population_count"], strict=True)
            ],
        )

    def build_register(self, region: str) -> RegisterData:
        register_id = register_id_for(self.options.name)
        names = sorted(self.assignments, key=lambda n: (normalize_label(n), n))
        cpts_rows, link_rows = [], []
        for i, name in enumerate(names, start=1):
            cpts_id = f"{register_id}-{i:03d}"
            values = self.cpts_values.get(name, {})
            stage = values.get("stage")
            units = sorted(self.assignments[name])
            deps = pd.Series([self.communes[u]["departement_code"] for u in units]).value_counts()
            notes = []
            if "cpts_key" in values:
                notes.append(f"identifiant dans le fichier : {values['cpts_key']}")
            if stage is not None:
                notes.append(f"stade déclaré dans le fichier : {stage['label']}")
            cpts_rows.append(
                {
                    "cpts_id": cpts_id,
                    "register_id": register_id,
                    "name": name,
                    "is_demo": False,
                    "ars_stage_code": stage["stage_code"]
                    if stage is not None and stage["vocabulary"] != "national"
                    else None,
                    "association_date": values.get("association_date"),
                    "preproject_date": values.get("preproject_date"),
                    "letter_of_intent_date": values.get("letter_of_intent_date"),
                    "health_project_date": values.get("health_project_date"),
                    "aci_date": values.get("aci_date"),
                    "main_departement_code": sorted(deps[deps == deps.max()].index)[0],
                    "notes": " ; ".join(notes) or None,
                }
            )
            link_rows += [{"cpts_id": cpts_id, "commune_code": u} for u in units]
        units_count = len({row["commune_code"] for row in link_rows})
        register = pd.DataFrame(
            [
                {
                    "register_id": register_id,
                    "name": self.options.name,
                    "kind": "imported",
                    "is_demo": False,
                    "region_code": region,
                    "as_of_date": self.options.as_of,
                    "source_id": register_id,
                    "description": f"Registre importé du fichier « {self.raw.file_name} » : {len(names)} CPTS,"
                    f" {units_count} unités territoriales ; date de référence {self.options.as_of:%d/%m/%Y}.",
                }
            ]
        )
        return RegisterData(
            register=register,
            cpts=pd.DataFrame(cpts_rows),
            cpts_communes=pd.DataFrame(link_rows, columns=["cpts_id", "commune_code"]),
            cpts_missions=pd.DataFrame(columns=["cpts_id", "mission_code", "start_date"]),
            cpts_geometries=pd.DataFrame(columns=["cpts_id", "geometry_wkb"]),
        )


def check_register(
    raw: RawTable, reference: ReferenceData, options: ImportOptions
) -> tuple[ImportReport, RegisterData | None]:
    """Validate ``raw``; the RegisterData (without geometries) is None when a blocking error was found."""
    return _Checker(raw, reference, options).run()
