"""The French import report: what was read, errors / warnings / information with line numbers, key figures.

Printed by ``python -m observatory import-register`` and saved beside the copy of the imported file.
"""

from __future__ import annotations

import dataclasses

from observatory.registers.import_checks import Finding, ImportOptions, ImportReport
from observatory.registers.import_reading import DELIMITER_LABELS, RawTable

WHITE_ZONES_SHOWN = 100


@dataclasses.dataclass
class ImportOutcome:
    report: ImportReport
    raw: RawTable | None
    options: ImportOptions | None
    written: bool = False
    closing: list[str] = dataclasses.field(default_factory=list)  # what was (not) written, in French


def _fr_int(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _fr_pct(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") + " %"


def _section(title: str, findings: list[Finding]) -> list[str]:
    lines = [f"{title} ({len(findings)})"]
    ordered = sorted(findings, key=lambda f: (f.lines[0] if f.lines else 0))
    lines += [f"  - {f.text()}" for f in ordered] or ["  (aucune)"]
    return lines + [""]


def format_report(outcome: ImportOutcome) -> str:
    """The French report: what was read, errors / warnings / information with line numbers, key figures."""
    raw, report, options = outcome.raw, outcome.report, outcome.options
    lines = []
    if options is not None:
        lines.append(f"Import du registre « {options.name} » (date de référence {options.as_of:%d/%m/%Y})")
    if raw is not None:
        how = (
            f"encodage {raw.encoding}, séparateur {DELIMITER_LABELS.get(raw.delimiter, raw.delimiter)}"
            if raw.file_format == "CSV"
            else f"feuille « {raw.sheet} »"
        )
        lines.append(f"Fichier {raw.file_name} : {raw.file_format}, {how}, en-tête ligne {raw.header_line}.")
    lines.append("")
    lines += _section("Erreurs bloquantes", report.errors)
    lines += _section("Avertissements", report.warnings)
    lines += _section("Informations", report.infos)
    stats = report.stats
    if stats is not None:
        lines += [
            "Bilan",
            f"  Lignes lues : {_fr_int(stats.rows_read)}",
            f"  CPTS : {stats.cpts_count}",
            f"  Unités territoriales couvertes : {_fr_int(stats.units_covered)}",
            f"  Population couverte : {_fr_int(stats.population_covered)} habitants",
            f"  Région {stats.region_code} {stats.region_name} : {_fr_int(stats.region_population)} habitants,"
            f" dont {_fr_int(stats.population_covered_in_region)} couverts ({_fr_pct(stats.coverage_share_pct)})",
            f"  Zones blanches de la région (unités dans aucune CPTS) : {len(stats.white_zone_units)} unités,"
            f" {_fr_int(stats.white_zone_population)} habitants",
        ]
        for code, name, population in stats.white_zone_units[:WHITE_ZONES_SHOWN]:
            lines.append(f"    {code} {name} ({_fr_int(population)} hab.)")
        if len(stats.white_zone_units) > WHITE_ZONES_SHOWN:
            lines.append(f"    ... et {len(stats.white_zone_units) - WHITE_ZONES_SHOWN} autres")
        lines.append("")
    lines += outcome.closing
    return "\n".join(lines) + "\n"
