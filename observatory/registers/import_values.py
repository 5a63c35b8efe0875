"""Values of a register file: accepted headers, commune codes, dates, stages, CPTS names.

Pure functions used by :mod:`import_checks`; the accepted headers and formats are documented for users
in docs/import-registre.md (keep both in step).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from difflib import SequenceMatcher

import pandas as pd

# Accepted headers per field, compared after normalize_label (case, accents, spaces, punctuation).
# Order matters: when several headers match one field, the earliest alias wins.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "cpts_name": ("cpts_nom", "nom_cpts", "cpts", "nom", "nom_de_la_cpts", "libelle_cpts"),
    "commune_code": ("code_insee", "code_commune", "insee", "codgeo", "code_insee_source", "code", "depcom"),
    "cpts_key": ("cpts_id", "identifiant", "id_cpts", "identifiant_cpts"),
    "stage": ("stade", "stade_cpts", "statut", "etape"),
    "preproject_date": ("date_preprojet", "date_pre_projet"),
    "letter_of_intent_date": ("date_lettre_intention", "date_lettre_d_intention"),
    "health_project_date": ("date_projet_sante", "date_projet_de_sante"),
    "aci_date": ("date_aci", "date_signature_aci"),
    "association_date": ("date_creation", "date_creation_association"),
    "departement": ("departement", "code_departement", "dep", "dept"),
}
REQUIRED_FIELDS = ("cpts_name", "commune_code")
FIELD_LABELS = {"cpts_name": "nom de la CPTS", "commune_code": "code commune"}
# Stage date columns in the national order (architecture.md): a later stage never precedes an earlier one.
STAGE_DATE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("preproject_date", "pre_projet", "pré-projet"),
    ("letter_of_intent_date", "lettre_intention", "lettre d'intention"),
    ("health_project_date", "projet_sante", "projet de santé"),
    ("aci_date", "aci", "ACI signé"),
)
DATE_FIELDS = tuple(f for f, _, _ in STAGE_DATE_FIELDS) + ("association_date",)
PER_CPTS_FIELDS = ("cpts_key", "stage") + DATE_FIELDS  # one value per CPTS, possibly repeated on each row
CODE_PATTERN = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
NAME_STOP_WORDS = {"cpts", "de", "du", "des", "la", "le", "les", "d", "l", "et", "en", "sur", "su", "di"}
NEAR_DUPLICATE_RATIO = 0.9


def normalize_label(text: str) -> str:
    """'Code INSEE ', 'code_insee', 'Code-Insée' → 'code_insee'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def register_id_for(name: str) -> str:
    return "import-" + normalize_label(name).replace("_", "-")


def match_columns(headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """Field → header found in the file, and the headers no field uses (ignored)."""
    normalized = {h: normalize_label(h) for h in headers}
    mapping: dict[str, str] = {}
    for fld, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            found = [h for h in headers if normalized[h] == alias and h not in mapping.values()]
            if found:
                mapping[fld] = found[0]
                break
    return mapping, [h for h in headers if h not in mapping.values()]


def normalize_code(text: str) -> tuple[str | None, bool]:
    """A commune code as a 5-character string (None if malformed) and whether a lost leading zero was restored."""
    code = text.replace(" ", "").upper()
    if re.fullmatch(r"\d+\.0+", code):  # a numeric cell exported as 4001.0
        code = code.split(".")[0]
    padded = bool(re.fullmatch(r"\d{4}", code))
    if padded:
        code = "0" + code
    return (code if CODE_PATTERN.match(code) else None), padded


def normalize_departement(text: str) -> str:
    dep = text.replace(" ", "").upper()
    return "0" + dep if re.fullmatch(r"\d", dep) else dep


def parse_date(text: str) -> dt.date:
    """JJ/MM/AAAA (or - .), AAAA-MM-JJ (time part ignored), MM/AAAA (first day of the month)."""
    value = text.strip()
    patterns = (
        (r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?", ("y", "m", "d")),
        (r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", ("d", "m", "y")),
        (r"(\d{1,2})/(\d{4})", ("m", "y")),
    )
    for pattern, parts in patterns:
        match = re.fullmatch(pattern, value)
        if match:
            numbers = dict(zip(parts, (int(g) for g in match.groups()), strict=True))
            if not 1900 <= numbers["y"] <= 2100:
                raise ValueError(value)
            return dt.date(numbers["y"], numbers["m"], numbers.get("d", 1))  # ValueError if 31/02
    raise ValueError(value)


def stage_lookup(stages: pd.DataFrame) -> dict[str, dict]:
    """Normalized code or label → stage row, for national and ARS vocabularies."""
    lookup = {}
    for row in stages.to_dict("records"):
        for text in (row["stage_code"], row["label"]):
            if text:
                lookup.setdefault(normalize_label(str(text)), row)
    return lookup


def name_key(name: str) -> str:
    words = [w for w in normalize_label(name).split("_") if w and w not in NAME_STOP_WORDS]
    return "".join(words)


def near_duplicate_names(names: list[str]) -> list[tuple[str, str]]:
    """Pairs of distinct names that are probably the same CPTS (« CPTS Gapençais » / « CPTS du Gapençais »)."""
    keys = {n: name_key(n) for n in names}
    pairs = []
    ordered = sorted(names)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            ka, kb = keys[a], keys[b]
            if re.findall(r"\d+", ka) != re.findall(r"\d+", kb):
                continue  # « Sud 04 » and « Sud 06 » are different CPTS
            if ka == kb or SequenceMatcher(None, ka, kb).ratio() >= NEAR_DUPLICATE_RATIO:
                pairs.append((a, b))
    return pairs
