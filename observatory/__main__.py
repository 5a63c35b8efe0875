"""Command line: ``python -m observatory build | import-register FILE --name NAME | import-indicator FILE ... |
users … | audit … | schema-doc``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from observatory import config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m observatory", description="Observatoire des CPTS")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="construit data/observatoire.duckdb à partir des données brutes")
    build.add_argument("--raw-dir", type=Path, default=None, help="dossier des données brutes (défaut ../shared/data)")
    build.add_argument("--db", type=Path, default=None, help="base à écrire (défaut data/observatoire.duckdb)")

    imp = sub.add_parser("import-register", help="importe un registre réel de CPTS (CSV ou XLSX)")
    imp.add_argument("file", type=Path, help="fichier CSV ou XLSX (voir docs/import-registre.md)")
    imp.add_argument("--name", required=True, help="nom du registre affiché dans l'application")
    imp.add_argument("--region", default=None, help="code INSEE de la région du registre (déduit sinon)")
    imp.add_argument("--as-of", default=None, help="date de référence du registre (AAAA-MM-JJ)")
    imp.add_argument("--strict", action="store_true", help="refuse le fichier au moindre avertissement")
    imp.add_argument("--db", type=Path, default=None, help="base à modifier (défaut data/observatoire.duckdb)")

    ind = sub.add_parser("import-indicator", help="importe un indicateur territorial (CSV ou XLSX par commune, EPCI"
                         " ou département ; voir docs/import-indicateur.md)")
    ind.add_argument("file", type=Path, help="fichier CSV ou XLSX : une ligne par code, une colonne de valeurs")
    ind.add_argument("--metadata", type=Path, default=None,
                     help="fichier JSON des métadonnées (défaut : FICHIER.json s'il existe) ; les options l'emportent")
    ind.add_argument("--code", help="code de l'indicateur (minuscules, chiffres, _), ex. part_80_ans_plus")
    ind.add_argument("--label", help="libellé français affiché")
    ind.add_argument("--unit", help="unité, ex. « % de la population »")
    ind.add_argument("--direction", help="plus_est_mieux, moins_est_mieux ou neutre")
    ind.add_argument("--level", help="niveau géographique du fichier : commune (défaut), epci ou departement")
    ind.add_argument("--year", help="année de référence (plusieurs années d'un même code forment une série)")
    ind.add_argument("--vintage", help="millésime affiché (défaut : l'année), ex. « RP 2021, géographie 2024 »")
    ind.add_argument("--source", help="producteur et jeu de données, ex. « INSEE, recensement de la population »")
    ind.add_argument("--licence", help="licence, ex. « Licence Ouverte / Etalab 2.0 »")
    ind.add_argument("--aggregation", help="moyenne (taux, pondérée), somme (effectif) ou ratio (de deux effectifs)")
    ind.add_argument("--weight", help="moyenne : code d'un indicateur de la base servant de poids (défaut : population)")
    ind.add_argument("--weight-column", dest="weight_column", help="moyenne : colonne du fichier servant de poids")
    ind.add_argument("--numerator", help="ratio : code de l'effectif au numérateur (déjà importé)")
    ind.add_argument("--denominator", help="ratio : code de l'effectif au dénominateur (déjà importé)")
    ind.add_argument("--scale", help="ratio : facteur, ex. 100 (pourcentage) ou 10000 (pour 10 000 habitants)")
    ind.add_argument("--value-column", dest="value_column", help="colonne des valeurs (défaut : la seule autre colonne)")
    ind.add_argument("--code-column", dest="code_column", help="colonne des codes (défaut : reconnue par son en-tête)")
    ind.add_argument("--decimals", help="décimales affichées (défaut : 1 ; 0 pour une somme)")
    ind.add_argument("--description", help="définition affichée sous l'indicateur")
    ind.add_argument("--classes", help="classes de carte : quantiles (défaut), jenks, ou seuils:2,5;3;4")
    ind.add_argument("--threshold", help="seuil de référence (part de la population sous le seuil)")
    ind.add_argument("--threshold-label", dest="threshold_label", help="libellé du seuil")
    ind.add_argument("--strict", action="store_true", help="refuse le fichier au moindre avertissement")
    ind.add_argument("--db", type=Path, default=None, help="base à modifier (défaut data/observatoire.duckdb)")

    sub.add_parser("schema-doc", help="régénère docs/schema.md depuis observatory/schema.py")

    from observatory.accounts_cli import add_parsers

    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        from observatory.build import run_build

        return run_build(raw_dir=args.raw_dir or config.raw_data_dir(), db_path=args.db or config.database_path())
    if args.command == "import-register":
        from observatory.registers.importer import run_import_cli

        return run_import_cli(args)
    if args.command == "import-indicator":
        from observatory.indicator_import import run_import_cli as run_indicator_import

        return run_indicator_import(args)
    if args.command in ("users", "audit"):
        from observatory.accounts_cli import run

        return run(args)
    if args.command == "schema-doc":
        from observatory.schema import schema_markdown

        (config.REPO_ROOT / "docs" / "schema.md").write_text(schema_markdown() + "\n", encoding="utf-8")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
