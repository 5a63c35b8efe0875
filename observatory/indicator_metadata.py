"""The metadata block of an imported indicator: command-line options and/or a sidecar JSON file, checked
against the catalogue already in the database (an imported series keeps one definition across its years).

French words are accepted on the command line (``--direction plus_est_mieux``, ``--aggregation somme``,
``--classes jenks``) and stored as the catalogue's English codes. Every text that will be shown (label,
unit, source, licence, vintage, description) goes through :func:`observatory.safe_text.clean_name`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatory.indicator_catalogue import CHANGE_PREFIX, CODE_PATTERN, load_derived_definitions
from observatory.safe_text import clean_name

LEVELS = ("commune", "epci", "departement")
LEVEL_LABELS = {"commune": "commune", "epci": "EPCI", "departement": "département"}
DIRECTION_WORDS = {
    "plus_est_mieux": "higher_is_better", "higher_is_better": "higher_is_better", "hausse_favorable": "higher_is_better",
    "moins_est_mieux": "lower_is_better", "lower_is_better": "lower_is_better", "baisse_favorable": "lower_is_better",
    "neutre": "neutral", "neutral": "neutral",
}
AGGREGATION_WORDS = {
    "moyenne": "weighted_mean", "moyenne_ponderee": "weighted_mean", "taux": "weighted_mean", "weighted_mean": "weighted_mean",
    "somme": "sum", "effectif": "sum", "sum": "sum",
    "ratio": "ratio",
}
DIRECTION_LABELS = {"higher_is_better": "une valeur élevée est favorable", "lower_is_better":
                    "une valeur basse est favorable", "neutral": "neutre"}
CLASS_WORDS = {"quantiles": "quantiles", "jenks": "natural_breaks", "seuils_naturels": "natural_breaks",
               "natural_breaks": "natural_breaks"}
WEIGHT_SUFFIX = "__poids"
LONG_TEXT = 1000  # description
SHORT_TEXT = 150  # label, unit, source, licence, vintage
# Fields that define a series: they must not change from one imported year to the next.
SERIES_FIELDS = ("label", "unit", "direction", "aggregation", "level", "weight_code", "numerator_code",
                 "denominator_code", "scale_factor")
SERIES_FIELD_LABELS = {"label": "libellé", "unit": "unité", "direction": "sens", "aggregation": "agrégation",
                      "level": "niveau", "weight_code": "poids", "numerator_code": "numérateur",
                      "denominator_code": "dénominateur", "scale_factor": "facteur"}
SIDECAR_KEYS = ("code", "label", "unit", "direction", "level", "year", "vintage", "source", "licence", "aggregation",
                "weight", "weight_column", "numerator", "denominator", "scale", "value_column", "code_column",
                "decimals", "description", "classes", "threshold", "threshold_label")


class MetadataError(ValueError):
    """The metadata block is incomplete or invalid: the French messages say which field and why."""

    def __init__(self, problems: list[str]):
        super().__init__(" ; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class IndicatorMetadata:
    code: str
    label: str
    unit: str
    direction: str  # higher_is_better | lower_is_better | neutral
    level: str  # commune | epci | departement
    year: int
    vintage: str
    source: str
    licence: str
    aggregation: str  # weighted_mean | sum | ratio
    weight_code: str | None = None  # catalogue indicator used as weight (same year)
    weight_column: str | None = None  # or a column of the file (stored as <code>__poids)
    numerator_code: str | None = None  # ratio: stored counts
    denominator_code: str | None = None
    scale_factor: float | None = None
    value_column: str | None = None
    code_column: str | None = None
    decimals: int = 1
    description: str = ""
    class_method: str = "quantiles"  # quantiles | natural_breaks | thresholds
    class_breaks: tuple[float, ...] = ()
    threshold_value: float | None = None
    threshold_label: str | None = None

    @property
    def stored_weight_code(self) -> str | None:
        """The weight of the territorial aggregation: the file's column (stored) or a catalogue indicator."""
        if self.weight_column:
            return self.code + WEIGHT_SUFFIX
        return self.weight_code

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["class_breaks"] = list(self.class_breaks)
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> IndicatorMetadata:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["class_breaks"] = tuple(values.get("class_breaks") or ())
        return cls(**values)


def _word(value, words: dict[str, str], field: str, problems: list[str]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    key = re.sub(r"[^a-z_]", "", str(value).strip().lower().replace("-", "_").replace(" ", "_")
                 .replace("é", "e").replace("è", "e"))
    if key not in words:
        accepted = ", ".join(sorted({k for k in words if not re.search(r"[A-Z]", k)}))
        problems.append(f"{field} « {value} » inconnu (valeurs acceptées : {accepted})")
        return None
    return words[key]


def _text(value, field: str, problems: list[str], required: bool, max_length: int = SHORT_TEXT) -> str | None:
    if value is None or str(value).strip() == "":
        if required:
            problems.append(f"{field} manquant")
        return None
    text, problem = clean_name(value, max_length)
    if problem is not None:
        problems.append(f"{field} refusé : {problem.message}")
        return None
    return text


def _number(value, field: str, problems: list[str]) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).replace(",", ".").replace(" ", ""))
    except ValueError:
        problems.append(f"{field} « {value} » n'est pas un nombre")
        return None
    if math.isnan(number) or math.isinf(number):
        problems.append(f"{field} « {value} » n'est pas un nombre fini")
        return None
    return number


def read_sidecar(path: Path) -> dict:
    """The sidecar JSON (``--metadata``, or ``FICHIER.json`` beside the file): an object of the option names."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError([f"fichier de métadonnées {Path(path).name} illisible ({exc})"]) from exc
    if not isinstance(content, dict):
        raise MetadataError([f"fichier de métadonnées {Path(path).name} : un objet JSON est attendu"])
    unknown = sorted(set(content) - set(SIDECAR_KEYS))
    if unknown:
        raise MetadataError([f"fichier de métadonnées {Path(path).name} : clés inconnues {', '.join(unknown)}"
                             f" (clés acceptées : {', '.join(SIDECAR_KEYS)})"])
    return content


def parse_metadata(options: Mapping, file_name: str) -> IndicatorMetadata:
    """Options (sidecar values overridden by the command line) -> metadata; raises :class:`MetadataError`."""
    problems: list[str] = []
    code = str(options.get("code") or "").strip()
    if not code:
        problems.append("code manquant (--code)")
    elif not CODE_PATTERN.match(code) or code.startswith(CHANGE_PREFIX) or code.endswith(WEIGHT_SUFFIX):
        problems.append(f"code « {code} » invalide : 2 à 48 caractères, minuscules non accentuées, chiffres et _,"
                        f" commençant par une lettre (ni « {CHANGE_PREFIX}… » ni « …{WEIGHT_SUFFIX} », réservés)")
    label = _text(options.get("label"), "libellé (--label)", problems, True)
    unit = _text(options.get("unit"), "unité (--unit)", problems, True)
    source = _text(options.get("source"), "source (--source)", problems, True)
    licence = _text(options.get("licence"), "licence (--licence)", problems, True)
    direction = _word(options.get("direction"), DIRECTION_WORDS, "sens (--direction)", problems)
    if options.get("direction") in (None, ""):
        problems.append("sens manquant (--direction plus_est_mieux, moins_est_mieux ou neutre)")
    aggregation = _word(options.get("aggregation"), AGGREGATION_WORDS, "agrégation (--aggregation)", problems)
    if options.get("aggregation") in (None, ""):
        problems.append("agrégation manquante (--aggregation moyenne, somme ou ratio)")
    level = str(options.get("level") or "commune").strip().lower().replace("é", "e")
    if level not in LEVELS:
        problems.append(f"niveau « {options.get('level')} » inconnu (--level commune, epci ou departement)")
    year = None
    try:
        year = int(str(options.get("year")).strip())
        if not 1900 <= year <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"année (--year) « {options.get('year')} » invalide : un nombre à 4 chiffres est attendu")
    vintage = _text(options.get("vintage"), "millésime (--vintage)", problems, False) or (str(year) if year else "")
    description = _text(options.get("description"), "description (--description)", problems, False, LONG_TEXT)
    weight_code = str(options.get("weight") or "").strip() or None
    weight_column = _text(options.get("weight_column"), "colonne de poids (--weight-column)", problems, False)
    numerator = str(options.get("numerator") or "").strip() or None
    denominator = str(options.get("denominator") or "").strip() or None
    scale = _number(options.get("scale"), "facteur (--scale)", problems)
    if aggregation == "weighted_mean" and weight_code and weight_column:
        problems.append("--weight et --weight-column s'excluent : un seul poids")
    if aggregation != "weighted_mean" and (weight_code or weight_column):
        problems.append("un poids (--weight, --weight-column) ne sert qu'à l'agrégation « moyenne »")
    if aggregation == "ratio":
        if not numerator or not denominator:
            problems.append("l'agrégation ratio exige --numerator et --denominator (deux effectifs déjà importés)")
        if scale is not None and scale <= 0:
            problems.append("--scale doit être positif")
    elif numerator or denominator or scale is not None:
        problems.append("--numerator, --denominator et --scale ne servent qu'à l'agrégation ratio")
    decimals_value = _number(options.get("decimals"), "décimales (--decimals)", problems)
    if decimals_value is not None and (decimals_value != int(decimals_value) or not 0 <= decimals_value <= 6):
        problems.append("décimales (--decimals) : un entier de 0 à 6")
    decimals = int(decimals_value) if decimals_value is not None else (0 if aggregation == "sum" else 1)
    class_method, breaks = _classes(options.get("classes"), problems)
    threshold = _number(options.get("threshold"), "seuil (--threshold)", problems)
    threshold_label = _text(options.get("threshold_label"), "libellé du seuil (--threshold-label)", problems, False)
    if problems:
        raise MetadataError(problems)
    return IndicatorMetadata(
        code=code, label=label, unit=unit, direction=direction, level=level, year=year, vintage=vintage,
        source=source, licence=licence, aggregation=aggregation, weight_code=weight_code if aggregation == "weighted_mean" else None,
        weight_column=weight_column, numerator_code=numerator, denominator_code=denominator,
        scale_factor=(scale if scale is not None else 1.0) if aggregation == "ratio" else None,
        value_column=_text(options.get("value_column"), "colonne des valeurs", [], False),
        code_column=_text(options.get("code_column"), "colonne des codes", [], False),
        decimals=decimals, description=description or _default_description(label, source, vintage, file_name, level),
        class_method=class_method, class_breaks=breaks, threshold_value=threshold,
        threshold_label=threshold_label or (f"seuil de {threshold:g}".replace(".", ",") if threshold is not None else None),
    )


def _default_description(label, source, vintage, file_name, level) -> str:
    where = "" if level == "commune" else f" Valeurs publiées par {LEVEL_LABELS[level]} et attribuées à leurs communes."
    return f"{label} : indicateur importé du fichier « {file_name} » ({source}, {vintage}).{where}"


def _classes(value, problems: list[str]) -> tuple[str, tuple[float, ...]]:
    """« quantiles », « jenks » or « seuils:2,5;3;4 » (class breaks, ascending)."""
    if value is None or str(value).strip() == "":
        return "quantiles", ()
    text = str(value).strip()
    if text.lower().startswith("seuils:"):
        parts = [p.strip() for p in text.split(":", 1)[1].split(";") if p.strip()]
        numbers = [_number(p, "borne de classe", problems) for p in parts]
        if not numbers or any(n is None for n in numbers) or any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
            problems.append(f"classes « {text} » : bornes croissantes séparées par « ; » attendues (ex. seuils:2,5;3;4)")
            return "quantiles", ()
        if len(numbers) > 6:
            problems.append("classes : au plus 6 bornes (7 classes)")
        return "thresholds", tuple(numbers)
    method = _word(text, CLASS_WORDS, "classes (--classes)", problems)
    return method or "quantiles", ()


def check_against_catalogue(meta: IndicatorMetadata, catalogue: pd.DataFrame, stored_years: Mapping[str, list[int]]) -> list[str]:
    """Problems with the catalogue of the database: a reserved code, a series whose definition changes,
    a weight or counts missing for the year. ``stored_years``: indicator code -> years with values."""
    problems = []
    rows = {r["indicator_code"]: r for r in catalogue.to_dict("records")}
    derived = {d["indicator_code"] for d in load_derived_definitions().get("derived", [])}
    existing = rows.get(meta.code)
    if meta.code in derived:
        problems.append(f"code « {meta.code} » réservé à un indicateur dérivé (data/derived_indicators.json)")
    elif existing is not None and existing.get("origin") != "imported":
        problems.append(f"code « {meta.code} » déjà pris par un indicateur du catalogue (« {existing['label']} »)")
    elif existing is not None:
        old = {"label": existing["label"], "unit": existing["unit"], "direction": existing["direction"],
               "aggregation": existing["aggregation"], "level": existing["source_geo_level"],
               "weight_code": existing.get("weight_indicator_code"), "numerator_code": existing.get("numerator_indicator_code"),
               "denominator_code": existing.get("denominator_indicator_code"), "scale_factor": existing.get("scale_factor")}
        new = {"label": meta.label, "unit": meta.unit, "direction": meta.direction, "aggregation": meta.aggregation,
               "level": meta.level, "weight_code": meta.stored_weight_code, "numerator_code": meta.numerator_code,
               "denominator_code": meta.denominator_code, "scale_factor": meta.scale_factor}
        changed = [f"{SERIES_FIELD_LABELS[k]} « {_show(old[k])} » → « {_show(new[k])} »" for k in SERIES_FIELDS
                   if _show(old[k]) != _show(new[k])]
        if changed:
            years = ", ".join(str(y) for y in stored_years.get(meta.code, []))
            problems.append(f"l'indicateur « {meta.code} » est déjà importé ({years}) avec une autre définition :"
                            f" {' ; '.join(changed)} ; gardez la même définition pour une série, ou choisissez un autre code")
    if meta.weight_code:
        if meta.weight_code not in rows:
            problems.append(f"poids « {meta.weight_code} » absent du catalogue de la base")
        elif meta.year not in stored_years.get(meta.weight_code, []):
            problems.append(f"poids « {meta.weight_code} » sans valeur pour {meta.year}")
    for part, name in ((meta.numerator_code, "numérateur"), (meta.denominator_code, "dénominateur")):
        if part is None:
            continue
        row = rows.get(part)
        if row is None or row.get("aggregation") != "sum":
            problems.append(f"{name} « {part} » : un effectif (agrégation somme) déjà dans la base est attendu")
        elif meta.year not in stored_years.get(part, []):
            problems.append(f"{name} « {part} » sans valeur pour {meta.year} : importez-le d'abord pour cette année")
    return problems


def _show(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
