"""Hostile input, as data: the names, links and files of the security and bad-input suite.

Every table here is used by the tests (tests/test_security_*.py) and by ``scripts/hostile_input_report.py``,
which prints the suite's case counts and outcomes.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from observatory.registers.importer import import_register
from tests.import_fixtures import write_csv
from tests.profile_fixtures import query

# An outside address that must never be requested (nothing listens on port 9 of the loopback).
OUTSIDE = "http://127.0.0.1:9"

# Names a register file or a form may carry. Each holds a marker that must never appear unescaped in a
# Markdown source, an HTML page, a tooltip or as the first character of a spreadsheet cell.
HOSTILE_CPTS_NAMES = {
    "img": 'CPTS <img src=x onerror="window.pwned=1;document.title=\'pwned\'">',
    "script": "CPTS <script>window.pwned=2</script> Nord",
    "markdown_image": f"CPTS ![p]({OUTSIDE}/x.png) Sud",
    "markdown_link": f"CPTS [cliquez ici]({OUTSIDE}/phish) Est",
    "formula": f'=HYPERLINK("{OUTSIDE}/f";"clic") CPTS',
    "at_formula": "@SUM(1+1) CPTS :red[rouge] $x^2$ **gras**",
}
HOSTILE_REGISTER_NAME = f"Registre <img src=x onerror=alert(1)> [lien]({OUTSIDE}/r)"
HOSTILE_AUTHOR = '=HYPERLINK("http://127.0.0.1:9/a";"auteur")'

# Substrings that betray unescaped markup in a Markdown source (escaped text shows « \< », « \[ »...).
MARKDOWN_MARKERS = ("<img", "<script", "![p](", "](http", ":red[", "$x^2$", "**gras**")
_LIVE_MARKDOWN = re.compile("|".join("(?<!\\\\)" + re.escape(m) for m in MARKDOWN_MARKERS))


def live_markdown(source: str) -> list[str]:
    """Markers present in a Markdown source without the backslash that makes them text."""
    return _LIVE_MARKDOWN.findall(source)
# ... and in HTML (a tooltip, an st.html block, a report, a map page, which has script tags of its own).
HTML_MARKERS = ("<img src=x", "<script>window.pwned")
FORMULA_STARTS = ("=", "+", "-", "@")


def hostile_register_db(tiny_db: Path, folder: Path) -> tuple[Path, str, dict[str, str]]:
    """A copy of the tiny database with a register of hostile names imported by the real importer:
    (database, register_id, {case: cpts_id})."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "observatoire.duckdb"
    shutil.copyfile(tiny_db, db)
    codes = {"img": ["01001", "01002"], "script": ["01003"], "markdown_image": ["01008"],
             "markdown_link": ["01004"], "formula": ["01006"], "at_formula": ["01007"]}
    rows = [["cpts_nom", "code_insee"]] + [[HOSTILE_CPTS_NAMES[case], code] for case, cs in codes.items() for code in cs]
    csv_path = write_csv(folder / "registre-hostile.csv", rows)
    outcome = import_register(csv_path, HOSTILE_REGISTER_NAME, db, folder / "imports", as_of="2026-01-01")
    assert outcome.written, outcome.report
    register_id = str(query(db, "SELECT register_id FROM registers WHERE name = ?", [HOSTILE_REGISTER_NAME]).iloc[0, 0])
    ids = {case: str(query(db, "SELECT cpts_id FROM cpts WHERE name = ?", [name]).iloc[0, 0])
           for case, name in HOSTILE_CPTS_NAMES.items()}
    return db, register_id, ids


# ---------------------------------------------------------------------------------------------------
# Crafted deep links: applied to every parameter every page reads.
# ---------------------------------------------------------------------------------------------------

CRAFTED_VALUES = {
    "sql": "1' OR '1'='1'; DROP TABLE cpts; --",
    "html": '<img src=x onerror="window.pwned=3">',
    "markdown_image": f"![p]({OUTSIDE}/x.png)",
    "markdown_link": f"[lien]({OUTSIDE}/l)",
    "very_long": "A" * 100_000,
    "nul": "abc\x00def",
    "negative_number": "-1",
    "negative_date": "-0001-01-01",
    "impossible_date": "2024-02-30",
    "far_date": "9999-12-31",
    "unicode_controls": "demo\u202e\u200b-0001",
    "path": "../../etc/passwd",
    "empty": "",
}
PARAMETERS = ("registre", "cpts", "echelle", "region", "departement", "date", "presentation", "version",
              # Financement's simulator
              "grille", "missions", "inconnu", "membres", "scenario", "fusion", "scinder", "communes", "vers",
              "besoin", "annee", "intensite")


# ---------------------------------------------------------------------------------------------------
# Malformed register files: each is built in the test's folder and must be refused cleanly, with a
# French message naming the cause (and the line or column when there is one), writing nothing.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadFile:
    case: str
    file_name: str
    make: Callable[[], bytes]  # built on demand: some cases are tens of megabytes
    expected: str  # a fragment of the French message

    def write(self, folder: Path) -> Path:
        path = Path(folder) / self.file_name
        path.write_bytes(self.make())
        return path


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip_bomb_xlsx(name_chars: int) -> bytes:
    """A valid workbook whose one shared string (a CPTS name) is ``name_chars`` long: tiny compressed."""
    good = zipfile.ZipFile(io.BytesIO(_xlsx([["cpts_nom", "code_insee"], ["PLACEHOLDER", "01001"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in good.infolist():
            data = good.read(info.filename)
            if b"PLACEHOLDER" in data:
                data = data.replace(b"PLACEHOLDER", b"A" * name_chars)
            bomb.writestr(info.filename, data)
    return out.getvalue()


def _wide_csv(columns: int) -> bytes:
    header = ";".join(["cpts_nom", "code_insee"] + [f"c{i}" for i in range(columns - 2)])
    row = ";".join(["CPTS A", "01001"] + ["x"] * (columns - 2))
    return f"{header}\n{row}\n".encode()


def bad_register_files() -> list[BadFile]:
    header = "cpts_nom;code_insee\n"
    long_field = "B" * 140_000
    return [
        BadFile("vide", "vide.csv", lambda: b"", "fichier vide"),
        BadFile("blancs", "blancs.csv", lambda: b"\n\n  \n", "fichier vide"),
        BadFile("entete_seule", "entete.csv", lambda: _csv(header), "aucune ligne de données"),
        BadFile("sans_colonne_code", "sans-code.csv", lambda: _csv("cpts_nom;autre\nCPTS A;x\n"), "colonne obligatoire absente"),
        BadFile("sans_colonne_nom", "sans-nom.csv", lambda: _csv("code_insee\n01001\n"), "colonne obligatoire absente"),
        BadFile("octet_nul", "nul.csv", lambda: header.encode() + b"CPTS\x00A;01001\n", "octet nul"),
        BadFile("binaire", "binaire.csv", lambda: bytes(range(256)) * 4, "octet nul"),
        BadFile("xls_ancien", "ancien.xls", lambda: b"\xd0\xcf\x11\xe0" + b"\x00" * 64, ".xls"),
        BadFile("xlsx_casse", "casse.xlsx", lambda: b"PK\x03\x04 casse", "XLSX illisible"),
        BadFile("xlsx_vide", "vide.xlsx", lambda: _xlsx([]), "classeur vide"),
        BadFile("utf16_casse", "u16.csv", lambda: b"\xff\xfe" + b"\x00\xd8", "UTF-16"),
        BadFile("code_vide", "code-vide.csv", lambda: _csv(header + "CPTS A;\n"), "code commune vide"),
        BadFile("nom_vide", "nom-vide.csv", lambda: _csv(header + ";01001\n"), "nom de CPTS vide"),
        BadFile("code_mal_forme", "code.csv", lambda: _csv(header + "CPTS A;1A001X\n"), "mal formé"),
        BadFile("code_inconnu", "inconnu.csv", lambda: _csv(header + "CPTS A;99999\n"), "99999"),
        BadFile("date_invalide", "date.csv", lambda: _csv("cpts_nom;code_insee;date_aci\nCPTS A;01001;31/02/2024\n"), "invalide"),
        BadFile("stade_inconnu", "stade.csv", lambda: _csv("cpts_nom;code_insee;stade\nCPTS A;01001;Super stade\n"), "inconnu"),
        BadFile("guillemet_non_ferme", "guillemet.csv", lambda: _csv(header + '"CPTS A;01001\nCPTS B;01002\n'), "guillemet"),
        BadFile("guillemet_mal_place", "guillemet2.csv", lambda: _csv(header + '"CPTS A"x;01001\n'), "guillemet"),
        BadFile("champ_enorme", "champ.csv", lambda: _csv(header + f'"{long_field}";01001\n'), "caractères"),
        BadFile("nom_5_mo", "nom5mo.csv", lambda: _csv(header + "C" * 5_000_000 + ";01001\n"), "caractères"),
        BadFile("nom_trop_long", "long.csv", lambda: _csv(header + "CPTS " + "x" * 300 + ";01001\n"), "au plus 150"),
        BadFile("nom_rtl", "rtl.csv", lambda: _csv(header + "CPTS \u202eNORD;01001\n"), "bidirectionnel"),
        BadFile("nom_zero_width", "zw.csv", lambda: _csv(header + "CPTS\u200bNord;01001\n"), "invisible"),
        BadFile("nom_controle", "ctrl.csv", lambda: _csv(header + "CPTS \x1b[31mrouge;01001\n"), "contrôle"),
        BadFile("entete_controle", "ctrl-entete.csv", lambda: _csv("cpts_nom;code\x07insee\nCPTS A;01001\n"), "contrôle"),
        BadFile("20000_colonnes", "large.csv", lambda: _wide_csv(20_000), "colonnes"),
        BadFile("2000_colonnes", "large2.csv", lambda: _wide_csv(2_000), "colonnes"),
        BadFile("trop_de_lignes", "lignes.csv", lambda: _csv(header + "CPTS A;01001\n" * 250_000), "lignes"),
        BadFile("bombe_xlsx", "bombe.xlsx", lambda: _zip_bomb_xlsx(300_000_000), "décompressé"),
        BadFile("nom_xlsx_long", "long.xlsx", lambda: _xlsx([["cpts_nom", "code_insee"], ["N" * 5000, "01001"]]), "caractères"),
        BadFile("xlsx_large", "large.xlsx", lambda: _xlsx([["cpts_nom", "code_insee"] + [f"c{i}" for i in range(300)]]), "colonnes"),
        BadFile("fichier_trop_gros", "gros.csv", lambda: _csv(header + ("CPTS A;01001;" + "z" * 80 + "\n") * 260_000), "octets"),
        BadFile("inconnu_repete", "repete.csv", lambda: _csv(header + "CPTS A;99998\nCPTS A;99998\n"), "99998"),
        BadFile("latin1_inconnu", "latin1.csv", lambda: _csv(header + "CPTS Été;99997\n", "cp1252"), "99997"),
        BadFile("separateur_absent", "sep.csv", lambda: _csv("cpts_nom code_insee\nCPTS A 01001\n"), "colonne obligatoire absente"),
    ]


# Names given on the command line (--name), refused before anything is read.
BAD_REGISTER_NAMES = {
    "vide": ("", "lettres ou des chiffres"),
    "ponctuation": ("!!!", "lettres ou des chiffres"),
    "5000_caracteres": ("R" * 5000, "au plus 150"),
    "rtl": ("Registre \u202eevil", "bidirectionnel"),
    "zero_width": ("Registre\u200b", "invisible"),
    "controle": ("Registre \x1b[2J", "contrôle"),
}
