"""Worked example of docs/import-indicateur.md: one year of the DREES « APL aux médecins généralistes de
moins de 65 ans » re-exported into a commune CSV as an outside analyst would hold it, to be imported with
``python -m observatory import-indicator`` and compared with the built-in indicator.

The workbook is read by the project's own reader (``observatory.readers.apl``); the CSV keeps the
workbook's commune codes as published (an older COG: the import re-keys them), its commune names, the
value and the standardised population that weights it, written the French way (« ; », decimal comma,
UTF-8 with BOM, as Excel saves it). Values keep their full precision so the round trip is exact.

    python scripts/export_apl_moins65.py [--year 2023] [--workbook ../shared/data/drees-apl/apl_generalistes.xlsx] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config  # noqa: E402
from observatory.readers.apl import read_apl_workbook  # noqa: E402

VALUE_HEADER = "APL aux médecins généralistes de moins de 65 ans"
HEADERS = ("Code commune INSEE", "Commune", VALUE_HEADER, "Population standardisée pour la médecine générale")


def french_number(value: float) -> str:
    """repr() keeps every digit (an exact round trip), with a decimal comma; empty for a missing value."""
    return "" if value != value else repr(float(value)).replace(".", ",")


def export_csv(workbook: Path, year: int) -> bytes:
    """The CSV bytes for one ``APL <year>`` sheet of the DREES workbook."""
    years = {y.year: y for y in read_apl_workbook(workbook)}
    if year not in years:
        raise SystemExit(f"Année {year} absente du classeur {workbook} (années : {', '.join(map(str, sorted(years)))})")
    rows = years[year].rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for record in rows.itertuples(index=False):
        writer.writerow([record.code, record.name or "", french_number(record.apl_mg_moins65),
                         french_number(record.pop_standardisee_mg)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--workbook", type=Path,
                        default=config.raw_data_dir() / "drees-apl" / "apl_generalistes.xlsx")
    parser.add_argument("--out", type=Path, default=None, help="défaut : apl_moins65_<année>.csv")
    args = parser.parse_args(argv)
    out = args.out or Path(f"apl_moins65_{args.year}.csv")
    out.write_bytes(export_csv(args.workbook, args.year))
    print(f"{out} écrit ({args.workbook.name}, feuille « APL {args.year} »)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
