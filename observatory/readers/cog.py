"""Reader of the COG 2026 files of ``@etalab/decoupage-administratif`` (JSON arrays, as published).

Builds the territorial tables: communes (communes-actuelles of metropolitan France and the DROM, plus
the 45 arrondissements municipaux), the passage table old code -> COG 2026 code, EPCI, départements and
régions (without outlines: those are dissolved later from the commune geometries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from observatory.readers import finding
from observatory.schema import TABLES_BY_NAME

SOURCE_ID = "cog-2026"
ZONES = ("metro", "drom")
COMMUNE = "commune"
ARRONDISSEMENT = "arrondissement_municipal"


class CogFormatError(ValueError):
    """A COG file does not have the expected structure."""


@dataclass
class CogData:
    communes: pd.DataFrame  # columns of `communes`; geometry-derived columns still empty
    code_history: pd.DataFrame  # columns of `commune_code_history`
    rekey_map: dict[str, str]  # one COG 2026 code per old code (ambiguities resolved, see below)
    epci: pd.DataFrame
    departements: pd.DataFrame  # geometry_wkb still empty
    regions: pd.DataFrame  # geometry_wkb still empty
    findings: list[dict] = field(default_factory=list)


def read_json_records(path: Path) -> list[dict]:
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CogFormatError(f"Fichier COG illisible : {path} ({exc})") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise CogFormatError(f"Fichier COG inattendu : {path} (un tableau JSON d'objets est attendu)")
    return records


def departement_of(commune_code: str) -> str:
    """Département of a commune code: 3 characters in the DROM (97x), else 2 (2A, 2B included)."""
    return commune_code[:3] if commune_code.startswith("97") else commune_code[:2]


def read_cog(folder_files: dict[str, Path]) -> CogData:
    """Read ``communes.json``, ``epci.json``, ``departements.json`` and ``regions.json`` (paths by file name)."""
    commune_records = read_json_records(folder_files["communes.json"])
    epci_records = read_json_records(folder_files["epci.json"])
    departement_records = read_json_records(folder_files["departements.json"])
    region_records = read_json_records(folder_files["regions.json"])
    findings: list[dict] = []

    communes = build_communes(commune_records, epci_records, folder_files["communes.json"], findings)
    history, rekey_map = build_code_history(commune_records, communes, findings)
    epci = build_epci(epci_records, communes)
    departements = build_departements(departement_records, communes, folder_files["departements.json"])
    regions = build_regions(region_records, communes, folder_files["regions.json"])
    communes["chef_lieu"] = chef_lieu_levels(communes["commune_code"], departement_records, region_records)
    check_population_not_double_counted(communes, findings)
    return CogData(communes, history, rekey_map, epci, departements, regions, findings)


def _require(record: dict, keys: tuple[str, ...], path: Path, index: int) -> None:
    missing = [k for k in keys if record.get(k) in (None, "")]
    if missing:
        raise CogFormatError(f"{path}, enregistrement {index} (code {record.get('code')}) : champ(s) manquant(s) {missing}")


def build_communes(commune_records: list[dict], epci_records: list[dict], path: Path, findings: list[dict]) -> pd.DataFrame:
    epci_of = {}
    for epci in epci_records:
        for member in epci.get("membres", []):
            if member["code"] in epci_of:
                findings.append(finding(SOURCE_ID, "commune_in_several_epci", member["code"],
                                        f"Commune membre de plusieurs EPCI ({epci_of[member['code']]}, {epci['code']}) : le premier est retenu."))
                continue
            epci_of[member["code"]] = epci["code"]

    rows = []
    for i, rec in enumerate(commune_records):
        kind = rec.get("type")
        if kind == "commune-actuelle" and rec.get("zone") in ZONES:
            _require(rec, ("code", "nom", "population"), path, i)
            rows.append(_commune_row(rec, COMMUNE, None, epci_of.get(rec["code"])))
    parents = {r["commune_code"] for r in rows}
    for i, rec in enumerate(commune_records):
        if rec.get("type") == "arrondissement-municipal" and rec.get("commune") in parents:
            _require(rec, ("code", "nom", "population", "commune"), path, i)
            # An arrondissement belongs to its parent's EPCI (EPCI member lists name the parent city).
            rows.append(_commune_row(rec, ARRONDISSEMENT, rec["commune"], epci_of.get(rec["commune"])))

    frame = pd.DataFrame(rows, columns=TABLES_BY_NAME["communes"].column_names)
    split_parents = set(frame.loc[frame["unit_type"] == ARRONDISSEMENT, "parent_commune_code"])
    frame["is_territorial_unit"] = ~frame["commune_code"].isin(split_parents)
    frame["population_count"] = frame["population_count"].astype("int64")
    for name in ("area_km2", "centroid_lon", "centroid_lat"):
        frame[name] = frame[name].astype("float64")
    if frame["commune_code"].duplicated().any():
        dupes = sorted(frame.loc[frame["commune_code"].duplicated(), "commune_code"])
        raise CogFormatError(f"{path} : codes communes en double {dupes[:10]}")
    for code in frame.loc[frame["epci_code"].isna() & (frame["unit_type"] == COMMUNE), "commune_code"]:
        findings.append(finding(SOURCE_ID, "commune_without_epci", code, "Commune membre d'aucun EPCI à fiscalité propre (epci.json)."))
    return frame.sort_values("commune_code", ignore_index=True)


def _commune_row(rec: dict, unit_type: str, parent: str | None, epci_code: str | None) -> dict:
    code = rec["code"]
    return {
        "commune_code": code,
        "name": rec["nom"],
        "unit_type": unit_type,
        "parent_commune_code": parent,
        "departement_code": rec.get("departement") or departement_of(code),
        "region_code": rec.get("region"),
        "epci_code": epci_code,
        "population_count": int(rec["population"]),
        "is_territorial_unit": True,
        "geometry_source": None,
        "area_km2": None,
        "centroid_lon": None,
        "centroid_lat": None,
        "chef_lieu": None,
    }


def chef_lieu_levels(codes: pd.Series, departement_records: list[dict], region_records: list[dict]) -> pd.Series:
    """« region » for the chef-lieu of a région, « departement » for a préfecture, None otherwise (what map
    labels rank first). A chef-lieu of a région is also its département's: the higher level is kept."""
    levels: dict[str, str] = {}
    for records, level in ((departement_records, "departement"), (region_records, "region")):
        for rec in records:
            if rec.get("zone") in ZONES and rec.get("chefLieu"):
                levels[str(rec["chefLieu"])] = level
    return codes.map(levels).astype(object).where(codes.isin(levels.keys()), None)


def build_code_history(commune_records: list[dict], communes: pd.DataFrame, findings: list[dict]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Old code -> COG 2026 code, from ``anciensCodes`` and from the chef-lieu of communes déléguées/associées.

    Arrondissement codes map to themselves, so a lookup through this table accepts them as they are.
    When an old code leads to two communes (a former associated commune transferred from one commune
    to another), the current chef-lieu of the déléguée/associée wins for re-keying: it is the present
    relationship, ``anciensCodes`` is history.
    """
    current = set(communes["commune_code"])
    from_ancient: dict[str, set[str]] = {}
    from_chef_lieu: dict[str, str] = {}
    for rec in commune_records:
        if rec.get("type") == "commune-actuelle" and rec.get("code") in current:
            for old in rec.get("anciensCodes") or []:
                from_ancient.setdefault(old, set()).add(rec["code"])
        elif rec.get("type") in ("commune-deleguee", "commune-associee"):
            if rec.get("chefLieu") in current and rec["code"] != rec["chefLieu"]:
                from_chef_lieu[rec["code"]] = rec["chefLieu"]

    pairs = set()
    rekey_map: dict[str, str] = {}
    for old in sorted(set(from_ancient) | set(from_chef_lieu)):
        if old in current:
            findings.append(finding(SOURCE_ID, "old_code_is_current", old, "Ancien code qui est aussi un code commune en vigueur : ignoré dans la table de passage."))
            continue
        targets = set(from_ancient.get(old, set()))
        if old in from_chef_lieu:
            targets.add(from_chef_lieu[old])
        pairs.update((old, t) for t in targets)
        if old in from_chef_lieu:
            rekey_map[old] = from_chef_lieu[old]
        else:
            rekey_map[old] = sorted(targets)[0]
        if len(targets) > 1:
            findings.append(finding(
                SOURCE_ID, "ambiguous_old_code", old,
                f"Ancien code rattaché à plusieurs communes ({', '.join(sorted(targets))}) ; retenu pour les re-clés : {rekey_map[old]}.",
            ))
    arrondissements = communes.loc[communes["unit_type"] == ARRONDISSEMENT, "commune_code"]
    pairs.update((code, code) for code in arrondissements)
    history = pd.DataFrame(sorted(pairs), columns=["old_code", "commune_code"])
    return history, rekey_map


def build_epci(epci_records: list[dict], communes: pd.DataFrame) -> pd.DataFrame:
    # Population = sum of the members' 2026 populations, consistent with `communes` (the file's own
    # populationMunicipale is the DGCL's, of another vintage).
    member_population = communes[communes["unit_type"] == COMMUNE].groupby("epci_code")["population_count"].sum()
    rows = [
        {
            "epci_code": rec["code"],
            "name": rec["nom"],
            "epci_type": rec.get("type"),
            "population_count": int(member_population.get(rec["code"], 0)),
        }
        for rec in epci_records
        if rec["code"] in member_population.index
    ]
    frame = pd.DataFrame(rows, columns=TABLES_BY_NAME["epci"].column_names)
    frame["population_count"] = frame["population_count"].astype("int64")
    return frame.sort_values("epci_code", ignore_index=True)


def _unit_population(communes: pd.DataFrame, key: str) -> pd.Series:
    return communes[communes["is_territorial_unit"]].groupby(key)["population_count"].sum()


def build_departements(records: list[dict], communes: pd.DataFrame, path: Path) -> pd.DataFrame:
    population = _unit_population(communes, "departement_code")
    rows = []
    for i, rec in enumerate(records):
        if rec.get("zone") in ZONES:
            _require(rec, ("code", "nom", "region"), path, i)
            rows.append({
                "departement_code": rec["code"],
                "name": rec["nom"],
                "region_code": rec["region"],
                "zone": rec["zone"],
                "population_count": int(population.get(rec["code"], 0)),
                "geometry_wkb": None,
            })
    frame = pd.DataFrame(rows, columns=TABLES_BY_NAME["departements"].column_names)
    frame["population_count"] = frame["population_count"].astype("int64")
    return frame.sort_values("departement_code", ignore_index=True)


def build_regions(records: list[dict], communes: pd.DataFrame, path: Path) -> pd.DataFrame:
    population = _unit_population(communes, "region_code")
    rows = []
    for i, rec in enumerate(records):
        if rec.get("zone") in ZONES:
            _require(rec, ("code", "nom"), path, i)
            rows.append({
                "region_code": rec["code"],
                "name": rec["nom"],
                "zone": rec["zone"],
                "population_count": int(population.get(rec["code"], 0)),
                "geometry_wkb": None,
            })
    frame = pd.DataFrame(rows, columns=TABLES_BY_NAME["regions"].column_names)
    frame["population_count"] = frame["population_count"].astype("int64")
    return frame.sort_values("region_code", ignore_index=True)


def check_population_not_double_counted(communes: pd.DataFrame, findings: list[dict]) -> None:
    """The arrondissements of a split city must add up to the city: otherwise totals depend on the level."""
    arrondissements = communes[communes["unit_type"] == ARRONDISSEMENT]
    sums = arrondissements.groupby("parent_commune_code")["population_count"].sum()
    parents = communes.set_index("commune_code")["population_count"]
    for parent, total in sums.items():
        if int(parents[parent]) != int(total):
            findings.append(finding(
                SOURCE_ID, "population_mismatch", parent,
                f"Population de la commune ({int(parents[parent])}) différente de la somme de ses arrondissements ({int(total)}).",
            ))
