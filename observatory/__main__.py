"""Command line: ``python -m observatory build | import-register FILE --name NAME | schema-doc``."""

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

    sub.add_parser("schema-doc", help="régénère docs/schema.md depuis observatory/schema.py")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        from observatory.build import run_build

        return run_build(raw_dir=args.raw_dir or config.raw_data_dir(), db_path=args.db or config.database_path())
    if args.command == "import-register":
        from observatory.registers.importer import run_import_cli

        return run_import_cli(args)
    if args.command == "schema-doc":
        from observatory.schema import schema_markdown

        (config.REPO_ROOT / "docs" / "schema.md").write_text(schema_markdown() + "\n", encoding="utf-8")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
