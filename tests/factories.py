"""A tiny analytical database, written with the real schema (``observatory.store``), for read-side tests.

``make_analytical_db(path)`` writes it and returns ``path``. Open it with
``observatory.db.open_readonly(path)``. Everything is small and hand-checkable:

Territory (2 régions, 3 départements, 18 territorial units, simple 0.1° squares, WGS84):
- région ``11`` « Région Alpha »: département ``75`` « Ville-Capitale » (city ``75056``, NOT a territorial
  unit, split into arrondissements ``75101``-``75104``) and département ``91`` « Essonne-Test »
  (communes ``91001``-``91010``);
- région ``94`` « Région Bêta »: département ``2A`` « Corse-Test » (communes ``2A001``-``2A004``);
  ``2A`` checks that codes stay strings.
Populations: see ``UNITS`` below (the parent city's population is the sum of its arrondissements,
so summing territorial units gives the total once).

Registers:
- ``demo-test`` (kind demo, all France, as of 2024-06-30), 4 CPTS (stage dates in ``DEMO_CPTS``):
  ``demo-test-a`` Alpha (75101, 75102; ACI 2020-12-01), ``demo-test-b`` Bêta (75103, 75104, 91001;
  lettre d'intention 2021-02-01), ``demo-test-c`` Gamma (91001-91004; ACI 2023-01-15), ``demo-test-d``
  Delta (2A001, 2A002; pré-projet 2022-03-01 only). ``91001`` is claimed by Bêta and Gamma (overlap from
  2021-05-01); ``91005``-``91010``, ``2A003``, ``2A004`` are white zones.
- ``import-test`` (kind imported, région ``94`` only, no dates at all): ``import-test-i1`` (2A001, 2A003)
  and ``import-test-i2`` (2A004). Everything outside région 94 is « hors registre »; ``2A002`` is a white
  zone.

Indicators (catalogue rows + values for 2022 and 2023 on every territorial unit): ``apl_mg`` (weighted
mean, weight ``pop_standardisee_mg``, threshold 2.5) and ``pop_standardisee_mg`` (sum).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import shapely

from geo.shapes import dissolve, to_wkb
from observatory.schema import SCHEMA_VERSION
from observatory.store import create_schema, insert_frame

DEMO_REGISTER_ID = "demo-test"
IMPORTED_REGISTER_ID = "import-test"
IMPORTED_REGION = "94"

REGIONS = {"11": "Région Alpha", "94": "Région Bêta"}
DEPARTEMENTS = {"75": ("Ville-Capitale", "11"), "91": ("Essonne-Test", "11"), "2A": ("Corse-Test", "94")}

# code, name, unit_type, parent, département, population, epci, (column, row) of its 0.1° square
UNITS: list[tuple] = [
    ("75101", "Capitale 1er", "arrondissement_municipal", "75056", "75", 20_000, "200054781", (0, 5)),
    ("75102", "Capitale 2e", "arrondissement_municipal", "75056", "75", 30_000, "200054781", (1, 5)),
    ("75103", "Capitale 3e", "arrondissement_municipal", "75056", "75", 25_000, "200054781", (0, 6)),
    ("75104", "Capitale 4e", "arrondissement_municipal", "75056", "75", 15_000, "200054781", (1, 6)),
    ("91001", "Ablon-Test", "commune", None, "91", 10_000, "200000001", (0, 4)),
    ("91002", "Bures-Test", "commune", None, "91", 8_000, "200000001", (1, 4)),
    ("91003", "Crosne-Test", "commune", None, "91", 6_000, "200000001", (2, 4)),
    ("91004", "Draveil-Test", "commune", None, "91", 4_000, "200000001", (0, 3)),
    ("91005", "Étampes-Test", "commune", None, "91", 3_000, "200000001", (1, 3)),
    ("91006", "Fleury-Test", "commune", None, "91", 2_500, "200000002", (2, 3)),
    ("91007", "Gif-Test", "commune", None, "91", 2_000, "200000002", (0, 2)),
    ("91008", "Igny-Test", "commune", None, "91", 1_500, "200000002", (1, 2)),
    ("91009", "Juvisy-Test", "commune", None, "91", 1_000, "200000002", (2, 2)),
    ("91010", "Lardy-Test", "commune", None, "91", 500, "200000002", (2, 5)),
    ("2A001", "Ajaccio-Test", "commune", None, "2A", 5_000, "200000003", (5, 0)),
    ("2A002", "Bastelica-Test", "commune", None, "2A", 1_200, "200000003", (6, 0)),
    ("2A003", "Calcatoggio-Test", "commune", None, "2A", 800, "200000003", (5, 1)),
    ("2A004", "Dans-Test", "commune", None, "2A", 300, "200000003", (6, 1)),
]
PARENT_CITY = ("75056", "Ville-Capitale", "75")
# Chefs-lieux (map labels): the capital city of région 11, Ajaccio-Test of région 94, a préfecture in 91.
CHEFS_LIEUX = {"75056": "region", "2A001": "region", "91001": "departement"}

EPCI = [
    ("200054781", "Métropole Test", "METRO"),
    ("200000001", "CC du Nord-Test", "CC"),
    ("200000002", "CC du Sud-Test", "CC"),
    ("200000003", "CA Corse-Test", "CA"),
]

D = dt.date
# cpts_id suffix, name, units, (pré-projet, lettre d'intention, projet de santé, ACI)
DEMO_CPTS: list[tuple] = [
    ("a", "CPTS Alpha", ["75101", "75102"], (D(2019, 3, 1), D(2019, 9, 1), D(2020, 6, 1), D(2020, 12, 1))),
    ("b", "CPTS Bêta", ["75103", "75104", "91001"], (D(2020, 1, 15), D(2021, 2, 1), None, None)),
    ("c", "CPTS Gamma", ["91001", "91002", "91003", "91004"], (D(2021, 5, 1), D(2021, 11, 1), D(2022, 6, 1), D(2023, 1, 15))),
    ("d", "CPTS Delta", ["2A001", "2A002"], (D(2022, 3, 1), None, None, None)),
]  # fmt: skip
IMPORTED_CPTS: list[tuple] = [
    ("i1", "CPTS du Golfe", ["2A001", "2A003"]),
    ("i2", "CPTS de la Montagne", ["2A004"]),
]

FALLBACK_STAGES = [
    # stage_code, vocabulary, rank, label, national_stage_code, color, description
    ("pre_projet", "national", 1, "Pré-projet", None, "#c6dbef", "Initiative en phase de pré-projet."),
    ("lettre_intention", "national", 2, "Lettre d'intention validée", None, "#6baed6", "Lettre d'intention validée par l'ARS."),
    ("projet_sante", "national", 3, "Projet de santé validé", None, "#2171b5", "Projet de santé validé, ACI en négociation."),
    ("aci", "national", 4, "ACI signé", None, "#08306b", "Contrat ACI signé."),
    ("inconnu", "national", 0, "Stade inconnu", None, "#969696", "Aucune date de stade connue."),
]  # fmt: skip


def _square(col: int, row: int) -> shapely.Polygon:
    x0, y0 = 2.0 + col * 0.1, 48.0 + row * 0.1
    return shapely.box(x0, y0, x0 + 0.1, y0 + 0.1)


def _region_of(dept: str) -> str:
    return DEPARTEMENTS[dept][1]


def apl_value(index: int, year: int) -> float:
    """Deterministic APL-like values between 1.5 and 5.7 (some below the 2.5 threshold)."""
    return round(1.5 + (index % 7) * 0.7 + (0.1 if year == 2023 else 0.0), 2)


def weight_value(population: int, index: int, year: int) -> float:
    """Standardised population: the real population times an age factor (0.9, 1.0 or 1.1)."""
    return float(population) * (0.9 + (index % 3) * 0.1) * (1.0 if year == 2022 else 1.01)


def stages_frame() -> pd.DataFrame:
    """The project's stage vocabulary if ``observatory.stages`` provides it, else a minimal national one."""
    try:
        from observatory.stages import stages_frame as project_stages

        frame = project_stages()
    except (ImportError, AttributeError):
        frame = None
    if frame is None or not len(frame):
        frame = pd.DataFrame(
            FALLBACK_STAGES,
            columns=["stage_code", "vocabulary", "rank", "label", "national_stage_code", "color", "description"],
        )
    if "inconnu" not in set(frame["stage_code"]):
        row = pd.DataFrame([FALLBACK_STAGES[-1]], columns=frame.columns[:7])
        frame = pd.concat([frame, row], ignore_index=True)
    return frame


def _frames() -> dict[str, pd.DataFrame]:
    units = pd.DataFrame(
        [
            {
                "commune_code": code,
                "name": name,
                "unit_type": kind,
                "parent_commune_code": parent,
                "departement_code": dept,
                "region_code": _region_of(dept),
                "epci_code": epci,
                "population_count": pop,
                "is_territorial_unit": True,
                "geometry_source": "test",
                "area_km2": 100.0,
                "centroid_lon": _square(*cell).centroid.x,
                "centroid_lat": _square(*cell).centroid.y,
                "chef_lieu": CHEFS_LIEUX.get(code),
            }
            for code, name, kind, parent, dept, pop, epci, cell in UNITS
        ]
    )
    geoms = [_square(*u[7]) for u in UNITS]
    city_code, city_name, city_dept = PARENT_CITY
    city_units = units[units["parent_commune_code"] == city_code]
    city = {
        "commune_code": city_code,
        "name": city_name,
        "unit_type": "commune",
        "parent_commune_code": None,
        "departement_code": city_dept,
        "region_code": _region_of(city_dept),
        "epci_code": "200054781",
        "population_count": int(city_units["population_count"].sum()),
        "is_territorial_unit": False,
        "geometry_source": "test",
        "area_km2": 400.0,
        "centroid_lon": 2.1,
        "centroid_lat": 48.6,
        "chef_lieu": CHEFS_LIEUX.get(city_code),
    }
    communes = pd.concat([units, pd.DataFrame([city])], ignore_index=True)
    city_geom = shapely.union_all([g for u, g in zip(UNITS, geoms, strict=True) if u[3] == city_code])
    commune_geometries = pd.DataFrame(
        {"commune_code": [u[0] for u in UNITS] + [city_code], "geometry_wkb": to_wkb(geoms + [city_geom])}
    )

    dept_geoms = dissolve(geoms, [u[4] for u in UNITS])
    departements = pd.DataFrame(
        [
            {
                "departement_code": code,
                "name": name,
                "region_code": region,
                "zone": "metro",
                "population_count": int(units.loc[units["departement_code"] == code, "population_count"].sum()),
                "geometry_wkb": shapely.to_wkb(dept_geoms[code]),
            }
            for code, (name, region) in DEPARTEMENTS.items()
        ]
    )
    region_geoms = dissolve(geoms, [_region_of(u[4]) for u in UNITS])
    regions = pd.DataFrame(
        [
            {
                "region_code": code,
                "name": name,
                "zone": "metro",
                "population_count": int(units.loc[units["region_code"] == code, "population_count"].sum()),
                "geometry_wkb": shapely.to_wkb(region_geoms[code]),
            }
            for code, name in REGIONS.items()
        ]
    )
    epci = pd.DataFrame(
        [
            {
                "epci_code": code,
                "name": name,
                "epci_type": kind,
                "population_count": int(units.loc[units["epci_code"] == code, "population_count"].sum()),
            }
            for code, name, kind in EPCI
        ]
    )

    geom_by_code = dict(zip([u[0] for u in UNITS], geoms, strict=True))
    registers = pd.DataFrame(
        [
            {
                "register_id": DEMO_REGISTER_ID,
                "name": "Registre de démonstration (test)",
                "kind": "demo",
                "is_demo": True,
                "region_code": None,
                "as_of_date": D(2024, 6, 30),
                "source_id": None,
                "description": "Registre fictif de test.",
            },
            {
                "register_id": IMPORTED_REGISTER_ID,
                "name": "Registre importé Région Bêta (test)",
                "kind": "imported",
                "is_demo": False,
                "region_code": IMPORTED_REGION,
                "as_of_date": None,
                "source_id": None,
                "description": "Registre importé sans dates, limité à une région.",
            },
        ]
    )
    cpts_rows, link_rows, geom_rows = [], [], []
    for suffix, name, members, (pre, loi, ps, aci) in DEMO_CPTS:
        cpts_id = f"{DEMO_REGISTER_ID}-{suffix}"
        cpts_rows.append(
            {
                "cpts_id": cpts_id,
                "register_id": DEMO_REGISTER_ID,
                "name": name,
                "is_demo": True,
                "ars_stage_code": None,
                "association_date": pre,
                "preproject_date": pre,
                "letter_of_intent_date": loi,
                "health_project_date": ps,
                "aci_date": aci,
                "main_departement_code": members[0][:2],
                "notes": None,
            }
        )
        link_rows += [{"cpts_id": cpts_id, "commune_code": m} for m in members]
        geom_rows.append(
            {"cpts_id": cpts_id, "geometry_wkb": shapely.to_wkb(shapely.union_all([geom_by_code[m] for m in members]))}
        )
    for suffix, name, members in IMPORTED_CPTS:
        cpts_id = f"{IMPORTED_REGISTER_ID}-{suffix}"
        cpts_rows.append(
            {
                "cpts_id": cpts_id,
                "register_id": IMPORTED_REGISTER_ID,
                "name": name,
                "is_demo": False,
                "ars_stage_code": None,
                "association_date": None,
                "preproject_date": None,
                "letter_of_intent_date": None,
                "health_project_date": None,
                "aci_date": None,
                "main_departement_code": "2A",
                "notes": "importé sans dates",
            }
        )
        link_rows += [{"cpts_id": cpts_id, "commune_code": m} for m in members]
        geom_rows.append(
            {"cpts_id": cpts_id, "geometry_wkb": shapely.to_wkb(shapely.union_all([geom_by_code[m] for m in members]))}
        )
    cpts = pd.DataFrame(cpts_rows)
    for col in ("association_date", "preproject_date", "letter_of_intent_date", "health_project_date", "aci_date"):
        cpts[col] = pd.to_datetime(cpts[col])

    indicators = pd.DataFrame(
        [
            {
                "indicator_code": "apl_mg",
                "label": "Accessibilité potentielle localisée aux médecins généralistes",
                "unit": "consultations par an et par habitant",
                "direction": "higher_is_better",
                "source_id": "drees-apl",
                "weight_indicator_code": "pop_standardisee_mg",
                "aggregation": "weighted_mean",
                "threshold_value": 2.5,
                "threshold_label": "seuil de sous-densité (2,5)",
                "decimals": 1,
                "description": "APL aux médecins généralistes (test).",
            },
            {
                "indicator_code": "pop_standardisee_mg",
                "label": "Population standardisée (médecins généralistes)",
                "unit": "habitants",
                "direction": "neutral",
                "source_id": "drees-apl",
                "weight_indicator_code": None,
                "aggregation": "sum",
                "threshold_value": None,
                "threshold_label": None,
                "decimals": 0,
                "description": "Population standardisée par l'âge (test).",
            },
        ]
    )
    # Columns added with imported indicators (schema v2): both rows are catalogue indicators held by commune.
    indicators = indicators.assign(origin="catalogue", role="indicator", source_geo_level="commune",
                                   numerator_indicator_code=None, denominator_indicator_code=None,
                                   scale_factor=None, class_method=None, class_breaks=None)
    indicator_sources = pd.DataFrame([{"indicator_code": code, "year": year, "source_id": "drees-apl",
                                       "vintage": f"APL {year}"}
                                      for code in ("apl_mg", "pop_standardisee_mg") for year in (2022, 2023)])
    value_rows = []
    for year in (2022, 2023):
        for i, u in enumerate(UNITS):
            value_rows.append(("apl_mg", "commune", u[0], year, apl_value(i, year)))
            value_rows.append(("pop_standardisee_mg", "commune", u[0], year, weight_value(u[5], i, year)))
    indicator_values = pd.DataFrame(value_rows, columns=["indicator_code", "geo_level", "geo_code", "year", "value"])

    sources = pd.DataFrame(
        [
            {
                "source_id": "drees-apl",
                "name": "APL aux médecins généralistes (test)",
                "publisher": "DREES",
                "version": "test",
                "vintage": "APL 2022-2023",
                "licence": "Licence Ouverte",
                "origin": "jeu de test",
                "file_name": "apl-test.xlsx",
                "sha256": "0" * 64,
                "retrieved_at": "2026-01-01",
            },
            {
                "source_id": "cog-2026",
                "name": "COG (test)",
                "publisher": "INSEE",
                "version": "test",
                "vintage": "COG 2026",
                "licence": "Licence Ouverte",
                "origin": "jeu de test",
                "file_name": "communes-test.json",
                "sha256": "1" * 64,
                "retrieved_at": "2026-01-01",
            },
        ]
    )
    return {
        "build_info": pd.DataFrame({"key": ["schema_version", "cog_vintage"], "value": [SCHEMA_VERSION, "COG 2026"]}),
        "sources": sources,
        "regions": regions,
        "departements": departements,
        "epci": epci,
        "communes": communes,
        "commune_geometries": commune_geometries,
        "indicators": indicators,
        "indicator_values": indicator_values,
        "indicator_sources": indicator_sources,
        "stages": stages_frame(),
        "registers": registers,
        "cpts": cpts,
        "cpts_communes": pd.DataFrame(link_rows),
        "cpts_geometries": pd.DataFrame(geom_rows),
    }


def make_analytical_db(path: Path) -> Path:
    """Write the tiny analytical database described in this module's docstring at ``path``."""
    path = Path(path)
    con = duckdb.connect(str(path))
    try:
        create_schema(con)
        for table, frame in _frames().items():
            insert_frame(con, table, frame)
    finally:
        con.close()
    return path


def unit_index(code: str) -> int:
    """Position of a unit in ``UNITS`` (the index used by :func:`apl_value` and :func:`weight_value`)."""
    return [u[0] for u in UNITS].index(code)


__all__ = [
    "DEMO_REGISTER_ID",
    "IMPORTED_REGISTER_ID",
    "IMPORTED_REGION",
    "UNITS",
    "DEMO_CPTS",
    "IMPORTED_CPTS",
    "make_analytical_db",
    "stages_frame",
    "apl_value",
    "weight_value",
    "unit_index",
]


class Clock:
    """A deterministic clock for the user-data stores: each call returns one minute later than the last."""

    def __init__(self, start=None):
        import datetime as _dt

        self.now = start or _dt.datetime(2026, 3, 1, 10, 0)

    def __call__(self):
        import datetime as _dt

        value = self.now
        self.now += _dt.timedelta(minutes=1)
        return value
