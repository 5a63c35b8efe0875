"""Import of a real CPTS register (python -m observatory import-register): reading, checks, atomic write,
re-application by the build. Every test builds its own tiny analytical database (tests/import_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import shapely

from observatory.__main__ import main
from observatory.registers.import_checks import ImportOptions, ReferenceData, check_register
from observatory.registers.import_geometry import detached_units
from observatory.registers.import_reading import ReadError, read_csv_bytes, read_register_file
from observatory.registers.import_values import match_columns, near_duplicate_names, normalize_code, parse_date
from observatory.registers.importer import MANIFEST_NAME, load_reference, reapply_imports
from tests.import_fixtures import (
    file_digest,
    leftover_temp_files,
    make_reference_db,
    query,
    unit_population,
    write_csv,
    write_xlsx,
)

HEADER = ["cpts_nom", "code_insee"]


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    imports = tmp_path / "imports"
    monkeypatch.setenv("OBSERVATOIRE_IMPORTS_DIR", str(imports))
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    return {"db": make_reference_db(db_dir / "observatoire.duckdb"), "imports": imports, "dir": tmp_path}


def run(env: dict, file: Path, name: str = "Registre test", *extra: str) -> int:
    return main(["import-register", str(file), "--name", name, "--db", str(env["db"]), "--as-of", "2026-01-01", *extra])


def units_of(db: Path, cpts_name: str) -> list[str]:
    frame = query(
        db,
        "SELECT l.commune_code FROM cpts_communes l JOIN cpts c USING (cpts_id) WHERE c.name = ? ORDER BY 1",
        [cpts_name],
    )
    return list(frame["commune_code"])


# ---- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04001", ("04001", False)),
        ("4001", ("04001", True)),
        ("4001.0", ("04001", True)),
        ("2a004", ("2A004", False)),
        ("2B033", ("2B033", False)),
        ("97411", ("97411", False)),
        (" 13 201 ", ("13201", False)),
        ("123", (None, False)),
        ("040011", (None, False)),
        ("4OO1", (None, False)),
        ("2C004", (None, False)),
    ],
)
def test_normalize_code(text, expected):
    assert normalize_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/2021", dt.date(2021, 3, 15)),
        ("2021-03-15", dt.date(2021, 3, 15)),
        ("2021-03-15 00:00:00", dt.date(2021, 3, 15)),
        ("03/2021", dt.date(2021, 3, 1)),
        ("5/3/2021", dt.date(2021, 3, 5)),
    ],
)
def test_parse_date_accepts_french_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2021", "2021/03/15", "15/03/21", "mars 2021", "13/2021", "01/01/1850"])
def test_parse_date_rejects(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_match_columns_ignores_case_accents_and_reports_unknown_headers():
    mapping, ignored = match_columns(["Nom CPTS", "Code-Insée ", "Date ACI", "Remarque"])
    assert mapping == {"cpts_name": "Nom CPTS", "commune_code": "Code-Insée ", "aci_date": "Date ACI"}
    assert ignored == ["Remarque"]


def test_match_columns_prefers_the_earliest_alias():
    mapping, ignored = match_columns(["code", "code_insee_source", "cpts"])
    assert mapping["commune_code"] == "code_insee_source"
    assert ignored == ["code"]


def test_near_duplicate_names():
    pairs = near_duplicate_names(
        ["CPTS Gapençais", "CPTS du Gapençais", "CPTS Sud 04", "CPTS Sud 06", "CPTS Nice Nord"]
    )
    assert pairs == [("CPTS Gapençais", "CPTS du Gapençais")]


# ---- reading ---------------------------------------------------------------------------------------


def test_read_semicolon_latin1_with_quotes_blank_lines_and_trailing_spaces(tmp_path):
    text = 'cpts_nom;code_insee\r\n"CPTS du Gapençais; Haute-Durance";05039  \r\n\r\n;;\r\nCPTS Côte Bleue ;4001\r\n'
    raw = read_register_file(_bytes_file(tmp_path / "r.csv", text.encode("cp1252")))
    assert (raw.encoding, raw.delimiter) == ("Windows-1252 (latin-1)", ";")
    assert list(raw.rows["line_number"]) == [2, 5]  # blank line 3 and separator-only line 4 skipped
    assert list(raw.rows["cpts_nom"]) == ["CPTS du Gapençais; Haute-Durance", "CPTS Côte Bleue"]
    assert list(raw.rows["code_insee"]) == ["05039", "4001"]  # strings, never numbers


def test_read_utf8_bom_comma_and_tab(tmp_path):
    raw = read_register_file(_bytes_file(tmp_path / "b.csv", "\ufeffcpts_nom,code_insee\nCPTS Été,2A004\n".encode()))
    assert raw.headers == ["cpts_nom", "code_insee"] and raw.encoding == "UTF-8 avec BOM"
    tab = read_csv_bytes(b"cpts_nom\tcode_insee\nCPTS A\t04001\n", "t.tsv")
    assert tab.delimiter == "\t" and list(tab.rows["code_insee"]) == ["04001"]


def test_read_multiline_quoted_field_keeps_the_starting_line():
    raw = read_csv_bytes(b'cpts_nom;code_insee\n"CPTS\nA";04001\nCPTS B;04004\n', "m.csv")
    assert list(raw.rows["line_number"]) == [2, 4]


def test_read_refuses_binary_and_xls(tmp_path):
    with pytest.raises(ReadError, match="octet nul"):
        read_register_file(_bytes_file(tmp_path / "x.csv", b"cpts_nom;code\n\x00\x01"))
    with pytest.raises(ReadError, match=r"\.xls"):
        read_register_file(_bytes_file(tmp_path / "x.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 20))
    with pytest.raises(ReadError, match="XLSX illisible"):
        read_register_file(_bytes_file(tmp_path / "x.xlsx", b"PK\x03\x04 broken"))


def _bytes_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---- successful imports ----------------------------------------------------------------------------


def test_semicolon_latin1_file_is_imported_with_rekeyed_and_padded_codes(env, capsys):
    rows = [
        ["Nom CPTS", "Code INSEE", "département", "date_projet_sante", "date_aci", "Remarque"],
        ["CPTS du Gapençais", "5043", "05", "01/2020", "15/03/2021", "ancien code"],
        ["CPTS du Gapençais", "05024", "05", "", "", ""],
        ["CPTS Côte Bleue", "4001", "4", "", "", ""],
    ]
    file = write_csv(env["dir"] / "registre.csv", rows, delimiter=";", encoding="cp1252")
    assert run(env, file) == 0
    out = capsys.readouterr().out
    assert "Windows-1252" in out and "point-virgule" in out
    assert "ligne 2, colonne « Code INSEE » : ancien code 05043 re-clé vers 05039 Aubessagne" in out
    assert "lignes 2, 4, colonne « Code INSEE » : 2 code(s) avaient perdu leur zéro initial" in out
    assert "colonnes ignorées (non reconnues) : Remarque" in out
    assert units_of(env["db"], "CPTS du Gapençais") == ["05024", "05039"]
    assert units_of(env["db"], "CPTS Côte Bleue") == ["04001"]
    cpts = query(env["db"], "SELECT * FROM cpts ORDER BY cpts_id")
    assert list(cpts["cpts_id"]) == ["import-registre-test-001", "import-registre-test-002"]
    gap = cpts[cpts["name"] == "CPTS du Gapençais"].iloc[0]
    assert gap["health_project_date"].date() == dt.date(2020, 1, 1) and gap["aci_date"].date() == dt.date(2021, 3, 15)
    assert gap["main_departement_code"] == "05"
    register = query(env["db"], "SELECT * FROM registers").iloc[0]
    assert (register["register_id"], register["kind"], bool(register["is_demo"])) == (
        "import-registre-test",
        "imported",
        False,
    )
    assert (register["region_code"], register["source_id"]) == ("93", "import-registre-test")
    source = query(env["db"], "SELECT * FROM sources").iloc[0]
    assert source["file_name"] == "registre.csv" and source["sha256"] == file_digest(file)
    assert source["vintage"] == "2026-01-01"
    assert leftover_temp_files(env["db"].parent) == []


def test_cpts_geometry_is_the_union_of_its_units(env):
    file = write_csv(env["dir"] / "g.csv", [HEADER, ["CPTS A", "05024"], ["CPTS A", "05039"], ["CPTS B", "06088"]])
    assert run(env, file) == 0
    frame = query(
        env["db"], "SELECT c.name, g.geometry_wkb FROM cpts_geometries g JOIN cpts c USING (cpts_id) ORDER BY 1"
    )
    geoms = {n: shapely.from_wkb(bytes(w)) for n, w in zip(frame["name"], frame["geometry_wkb"], strict=True)}
    assert set(geoms) == {"CPTS A", "CPTS B"}
    assert geoms["CPTS A"].area == pytest.approx(2.0) and geoms["CPTS A"].geom_type == "Polygon"  # adjacent squares
    assert geoms["CPTS B"].area == pytest.approx(1.0)


def test_utf8_bom_file(env):
    file = write_csv(env["dir"] / "bom.csv", [HEADER, ["CPTS Été", "04001"]], delimiter=",", bom=True)
    assert run(env, file) == 0
    assert units_of(env["db"], "CPTS Été") == ["04001"]


def test_xlsx_with_numeric_codes_and_date_cells(env, capsys):
    rows = [
        ["CPTS", "CODGEO", "date_aci"],
        ["CPTS Alpes", 4001, dt.datetime(2022, 6, 30)],
        ["CPTS Alpes", 4004.0, None],
        ["CPTS Corse", "2A004", None],
    ]
    file = write_xlsx(env["dir"] / "registre.xlsx", rows)
    assert run(env, file) == 0
    out = capsys.readouterr().out
    assert "feuille « CPTS »" in out and "lignes 2, 3" in out
    assert units_of(env["db"], "CPTS Alpes") == ["04001", "04004"]
    assert units_of(env["db"], "CPTS Corse") == ["2A004"]
    aci = query(env["db"], "SELECT aci_date FROM cpts WHERE name = 'CPTS Alpes'")["aci_date"].iloc[0]
    assert aci.date() == dt.date(2022, 6, 30)


@pytest.mark.parametrize(
    ("rows", "expected_in_report", "cpts_units"),
    [
        pytest.param(
            [["CPTS A", "04001"], ["CPTS A", "99999"]],
            "ligne 3, colonne « code_insee » : code 99999 inconnu du COG 2026",
            {"CPTS A": ["04001"]},
            id="unknown-code",
        ),
        pytest.param(
            [["CPTS A", "04001"], ["CPTS A", "04004"], ["CPTS A", "04001"]],
            "lignes 2, 4 : doublon : la CPTS « CPTS A » et le code 04001 figurent déjà ligne 2",
            {"CPTS A": ["04001", "04004"]},
            id="duplicate",
        ),
        pytest.param(
            [["CPTS A", "04001"], ["CPTS B", "04004"], ["CPTS B", "04001"]],
            "lignes 2, 4 : chevauchement : 04001 Aiglun est revendiquée par 2 CPTS : « CPTS A » (ligne 2),"
            " « CPTS B » (ligne 4) ; l'ARS doit arbitrer",
            {"CPTS A": ["04001"], "CPTS B": ["04001", "04004"]},
            id="overlap",
        ),
        pytest.param(
            [["CPTS A", "04001"], ["CPTS A", "04004"], ["CPTS A", "26367"]],
            "ligne 4, colonne « code_insee » : 26367 Venterol est dans la région 84 Auvergne-Rhône-Alpes,"
            " hors de la région du registre (93 Provence-Alpes-Côte d'Azur)",
            {"CPTS A": ["04001", "04004", "26367"]},
            id="outside-region",
        ),
        pytest.param(
            [["CPTS Marseille", "13055"], ["CPTS Marseille", "13201"]],
            "ligne 2, colonne « code_insee » : 13055 Marseille est découpée en 3 arrondissements municipaux",
            {"CPTS Marseille": ["13201", "13202", "13203"]},
            id="parent-city-expanded",
        ),
        pytest.param(
            [["CPTS A", "04999"], ["CPTS A", "04005"]],
            "ligne 2, colonne « code_insee » : ancien code 04999 correspondant à plusieurs communes",
            {"CPTS A": ["04005"]},
            id="ambiguous-old-code",
        ),
        pytest.param(
            [["CPTS A", "04001"], ["CPTS B", "04001", "surplus"]],
            "ligne 3 : valeurs au-delà de la dernière colonne",
            {"CPTS A": ["04001"], "CPTS B": ["04001"]},
            id="extra-values",
        ),
    ],
)
def test_warnings_name_the_line_and_the_import_proceeds(env, capsys, rows, expected_in_report, cpts_units):
    file = write_csv(env["dir"] / "w.csv", [HEADER, *rows])
    assert run(env, file) == 0
    out = capsys.readouterr().out
    warnings = out.split("Avertissements")[1].split("Informations")[0]
    assert expected_in_report in warnings
    for name, units in cpts_units.items():
        assert units_of(env["db"], name) == units


def test_commune_detached_from_the_rest_of_its_cpts_is_a_warning(env, capsys):
    # Fixture contours are unit squares side by side in fixture order: 04001|04004|04005|05024|05039|06088...
    rows = [
        HEADER,
        ["CPTS A", "04001"],
        ["CPTS A", "04004"],
        ["CPTS A", "06088"],
        ["CPTS B", "05024"],
        ["CPTS B", "05039"],
    ]
    assert run(env, write_csv(env["dir"] / "c.csv", rows)) == 0
    warnings = capsys.readouterr().out.split("Avertissements")[1].split("Informations")[0]
    assert (
        "ligne 4, colonne « code_insee » : territoire discontinu : dans la CPTS « CPTS A », 06088 Nice (ligne 4)"
        " ne touche(nt) pas le reste de son territoire" in warnings
    )
    assert "CPTS B" not in warnings


def test_detached_units_keeps_the_largest_connected_group():
    squares = {f"u{i}": shapely.box(x, 0, x + 1, 1) for i, x in enumerate([0, 1, 2, 5, 6, 9])}
    assert detached_units(list(squares), squares) == ["u3", "u4", "u5"]
    assert detached_units(["u0", "u1"], squares) == []
    assert detached_units(["u0", "u3", "absent"], squares) == ["u3"]  # tie: group of the smallest code kept


def test_strict_mode_refuses_warnings_and_leaves_the_database_untouched(env, capsys):
    before = file_digest(env["db"])
    file = write_csv(env["dir"] / "s.csv", [HEADER, ["CPTS A", "04001"], ["CPTS A", "99999"]])
    assert run(env, file, "Registre test", "--strict") == 1
    assert "mode strict" in capsys.readouterr().out
    assert file_digest(env["db"]) == before and leftover_temp_files(env["db"].parent) == []
    assert not env["imports"].exists()


def test_near_duplicate_names_and_same_unit_through_old_codes_are_information(env, capsys):
    rows = [HEADER, ["CPTS du Gapençais", "05043"], ["CPTS du Gapençais", "05141"], ["CPTS Gapençais", "04001"]]
    assert run(env, write_csv(env["dir"] / "n.csv", rows)) == 0
    infos = capsys.readouterr().out.split("Informations")[1]
    assert (
        "lignes 2, 4, colonne « cpts_nom » : noms de CPTS très proches : « CPTS Gapençais » et « CPTS du Gapençais »"
        in infos
    )
    assert "lignes 2, 3 : 05039 Aubessagne déjà attribuée(s) à la CPTS « CPTS du Gapençais »" in infos


def test_report_key_figures_are_computed_on_the_region(env):
    rows = [
        HEADER,
        ["CPTS A", "04001"],
        ["CPTS B", "06088"],
        ["CPTS B", "04001"],
        ["CPTS C", "13055"],
        ["CPTS C", "26367"],
    ]
    outcome_text = _run_and_read_report(env, rows)
    population = unit_population("93")
    covered = {"04001", "06088", "13201", "13202", "13203"}
    white = sorted(set(population) - covered)
    covered_pop = sum(population[c] for c in covered)
    assert "  CPTS : 3" in outcome_text
    assert f"  Unités territoriales couvertes : {len(covered) + 1}" in outcome_text  # + 26367 outside the region
    share = f"{100 * covered_pop / sum(population.values()):.1f}".replace(".", ",")
    assert f"dont {_fr(covered_pop)} couverts ({share} %)" in outcome_text
    white_pop = sum(population[c] for c in white)
    assert f"{len(white)} unités, {_fr(white_pop)} habitants" in outcome_text
    for code in white:
        assert f"    {code} " in outcome_text


def _fr(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def _run_and_read_report(env, rows) -> str:
    assert run(env, write_csv(env["dir"] / "k.csv", rows), "Registre chiffres") == 0
    return (env["imports"] / "import-registre-chiffres.rapport.txt").read_text(encoding="utf-8")


def test_stage_labels_national_and_ars(env):
    rows = [
        ["cpts_nom", "code_insee", "stade", "date_aci"],
        ["CPTS A", "04001", "aci", "01/06/2022"],
        ["CPTS B", "04004", "CPTS en fonctionnement", ""],
        ["CPTS C", "04005", "", ""],
    ]
    assert run(env, write_csv(env["dir"] / "st.csv", rows)) == 0
    cpts = query(env["db"], "SELECT name, ars_stage_code, notes FROM cpts ORDER BY name").set_index("name")
    assert cpts.loc["CPTS B", "ars_stage_code"] == "ars_fonctionnement"
    assert pd.isna(cpts.loc["CPTS A", "ars_stage_code"])
    assert "ACI signé" in cpts.loc["CPTS A", "notes"]


# ---- blocking errors -------------------------------------------------------------------------------

BLOCKING_CASES = [
    pytest.param(
        [["nom_commune", "code_insee"], ["A", "04001"]],
        "colonne obligatoire absente : nom de la CPTS",
        "ligne 1",
        id="missing-column",
    ),
    pytest.param([HEADER], "aucune ligne de données", None, id="no-data-row"),
    pytest.param(
        [HEADER, ["CPTS A", "04001"], ["", "04004"]],
        "nom de CPTS vide",
        "ligne 3, colonne « cpts_nom »",
        id="empty-name",
    ),
    pytest.param([HEADER, ["CPTS A", ""]], "code commune vide", "ligne 2, colonne « code_insee »", id="empty-code"),
    pytest.param(
        [HEADER, ["CPTS A", "04001"], ["CPTS A", "4O01X"]],
        "code commune « 4O01X » mal formé",
        "ligne 3",
        id="malformed-code",
    ),
    pytest.param(
        [["cpts_nom", "code_insee", "date_aci"], ["CPTS A", "04001", "31/02/2022"]],
        "date « 31/02/2022 » invalide",
        "ligne 2, colonne « date_aci »",
        id="bad-date",
    ),
    pytest.param(
        [
            ["cpts_nom", "code_insee", "date_lettre_intention", "date_aci"],
            ["CPTS A", "04001", "01/06/2022", "01/01/2021"],
        ],
        "dates incohérentes pour la CPTS « CPTS A » : ACI signé le 01/01/2021 avant lettre d'intention le 01/06/2022",
        "ligne 2",
        id="incoherent-dates",
    ),
    pytest.param(
        [["cpts_nom", "code_insee", "stade"], ["CPTS A", "04001", "aci"], ["CPTS A", "04004", "Pré-projet"]],
        "la CPTS « CPTS A » a plusieurs valeurs différentes : « aci » (ligne 2), « Pré-projet » (ligne 3)",
        "lignes 2, 3, colonne « stade »",
        id="two-stages",
    ),
    pytest.param(
        [["cpts_nom", "code_insee", "stade"], ["CPTS A", "04001", "presque fini"]],
        "stade « presque fini » inconnu",
        "ligne 2",
        id="unknown-stage",
    ),
    pytest.param(
        [["cpts_nom", "code_insee", "date_aci"], ["CPTS A", "04001", "01/01/2022"], ["CPTS A", "04004", "02/01/2022"]],
        "plusieurs valeurs différentes",
        "lignes 2, 3",
        id="two-aci-dates",
    ),
    pytest.param([HEADER, ["CPTS A", "99999"]], "aucune commune reconnue", None, id="nothing-recognised"),
]


@pytest.mark.parametrize(("rows", "message", "where"), BLOCKING_CASES)
def test_blocking_errors_write_nothing(env, capsys, rows, message, where):
    before = file_digest(env["db"])
    file = write_csv(env["dir"] / "bad.csv", rows)
    assert run(env, file) == 1
    out = capsys.readouterr().out
    errors = out.split("Erreurs bloquantes")[1].split("Avertissements")[0]
    assert message in errors
    if where:
        assert f"{where}" in errors
    assert "Rien n'a été écrit" in out
    assert file_digest(env["db"]) == before
    assert leftover_temp_files(env["db"].parent) == []
    assert not env["imports"].exists()


@pytest.mark.parametrize(
    ("file_bytes", "message"),
    [
        pytest.param(b"cpts_nom;code\n\x00\x00", "octet nul", id="binary"),
        pytest.param(b"", "fichier vide", id="empty-file"),
        pytest.param(b"cpts_nom;code_insee\nCPTS \x81\x8d;04001\n", "encodage non reconnu", id="bad-encoding"),
    ],
)
def test_unreadable_files_are_blocking(env, capsys, file_bytes, message):
    before = file_digest(env["db"])
    assert run(env, _bytes_file(env["dir"] / "u.csv", file_bytes)) == 1
    assert message in capsys.readouterr().out
    assert file_digest(env["db"]) == before and leftover_temp_files(env["db"].parent) == []


def test_bad_options_are_blocking(env, capsys):
    file = write_csv(env["dir"] / "o.csv", [HEADER, ["CPTS A", "04001"]])
    before = file_digest(env["db"])
    assert main(["import-register", str(file), "--name", "X", "--db", str(env["db"]), "--as-of", "01/01/2026"]) == 1
    assert "--as-of « 01/01/2026 » invalide" in capsys.readouterr().out
    assert run(env, file, "Registre", "--region", "99") == 1
    assert "région « 99 » inconnue" in capsys.readouterr().out
    assert main(["import-register", str(file), "--name", "X", "--db", str(env["dir"] / "absente.duckdb")]) == 1
    assert "base introuvable" in capsys.readouterr().out
    assert file_digest(env["db"]) == before


def test_failure_during_write_leaves_database_identical_and_no_temp_file(env, monkeypatch, capsys):
    from observatory.registers import importer

    real_write = importer.write_register

    def broken(con, data, source):  # writes into the copy, then fails as a full disk would
        real_write(con, data, source)
        raise OSError("disque plein (simulé)")

    monkeypatch.setattr(importer, "write_register", broken)
    before = file_digest(env["db"])
    assert run(env, write_csv(env["dir"] / "f.csv", [HEADER, ["CPTS A", "04001"]])) == 1
    assert "écriture impossible" in capsys.readouterr().out
    assert file_digest(env["db"]) == before and leftover_temp_files(env["db"].parent) == []


# ---- re-import and re-application by the build -----------------------------------------------------


def test_reimport_with_same_name_replaces_the_register(env):
    first = write_csv(env["dir"] / "v1.csv", [HEADER, ["CPTS A", "04001"], ["CPTS B", "04004"], ["CPTS C", "04005"]])
    assert run(env, first, "Registre PACA") == 0
    second = write_csv(env["dir"] / "v2.csv", [HEADER, ["CPTS A", "04001"], ["CPTS A", "04004"]])
    assert run(env, second, "Registre PACA") == 0
    assert list(query(env["db"], "SELECT name FROM cpts")["name"]) == ["CPTS A"]
    assert units_of(env["db"], "CPTS A") == ["04001", "04004"]
    assert len(query(env["db"], "SELECT * FROM registers")) == 1
    assert list(query(env["db"], "SELECT file_name FROM sources")["file_name"]) == ["v2.csv"]
    assert len(query(env["db"], "SELECT * FROM cpts_geometries")) == 1
    manifest = json.loads((env["imports"] / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert [e["original_file_name"] for e in manifest["imports"]] == ["v2.csv"]
    assert (env["imports"] / "import-registre-paca.csv").read_bytes() == second.read_bytes()


def test_reapply_imports_into_a_new_build(env, tmp_path):
    file = write_csv(env["dir"] / "r.csv", [HEADER, ["CPTS A", "05043"], ["CPTS B", "13055"]])
    assert run(env, file, "Registre PACA", "--region", "93") == 0
    assert run(env, write_csv(env["dir"] / "r2.csv", [HEADER, ["CPTS Z", "06088"]]), "Autre registre") == 0
    # The second stored copy gets damaged after its import: it must be skipped, not crash the build.
    (env["imports"] / "import-autre-registre.csv").write_text("cpts_nom;code_insee\n", encoding="utf-8")
    fresh = make_reference_db(tmp_path / "rebuilt.duckdb")
    import duckdb

    con = duckdb.connect(str(fresh))
    try:
        messages = reapply_imports(con, env["imports"])
    finally:
        con.close()
    assert len(messages) == 2
    assert any("« Registre PACA » ré-appliqué : 2 CPTS, 4 unités" in m for m in messages)
    assert any("« Autre registre » non ré-appliqué" in m and "modifiée" in m for m in messages)
    assert units_of(fresh, "CPTS A") == ["05039"]
    assert units_of(fresh, "CPTS B") == ["13201", "13202", "13203"]
    assert list(query(fresh, "SELECT register_id FROM registers")["register_id"]) == ["import-registre-paca"]
    assert query(fresh, "SELECT region_code FROM registers")["region_code"].iloc[0] == "93"


def test_reapply_skips_an_entry_that_no_longer_validates_and_a_broken_manifest(env, tmp_path):
    file = write_csv(env["dir"] / "r.csv", [HEADER, ["CPTS A", "04001"], ["CPTS A", "99999"]])
    assert run(env, file, "Registre strict") == 0
    manifest_path = env["imports"] / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["imports"][0]["strict"] = True  # the warning on line 3 now blocks
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    import duckdb

    fresh = make_reference_db(tmp_path / "rebuilt.duckdb")
    con = duckdb.connect(str(fresh))
    try:
        messages = reapply_imports(con, env["imports"])
        assert len(messages) == 1 and "ne passe plus les contrôles" in messages[0] and "ligne 3" in messages[0]
        assert con.execute("SELECT count(*) FROM registers").fetchone()[0] == 0
        manifest_path.write_text("{pas du json", encoding="utf-8")
        assert "manifeste des imports illisible" in reapply_imports(con, env["imports"])[0]
        assert reapply_imports(con, tmp_path / "aucun-dossier") == []
    finally:
        con.close()


def test_check_register_is_pure_and_returns_no_register_on_error(env):
    import duckdb

    con = duckdb.connect(str(env["db"]), read_only=True)
    try:
        reference: ReferenceData = load_reference(con)
    finally:
        con.close()
    raw = read_csv_bytes(b"cpts_nom;code_insee\nCPTS A;04001\nCPTS A;ABCDE\n", "p.csv")
    report, data = check_register(raw, reference, ImportOptions("P", None, dt.date(2026, 1, 1)))
    assert data is None and [f.lines for f in report.errors] == [(3,)]
    raw = read_csv_bytes(b"cpts_nom;code_insee\nCPTS A;04001\n", "p.csv")
    report, data = check_register(raw, reference, ImportOptions("P", None, dt.date(2026, 1, 1)))
    assert not report.errors and list(data.cpts_communes["commune_code"]) == ["04001"]
    assert data.cpts_missions.empty and data.cpts_geometries.empty  # geometries are added when writing
