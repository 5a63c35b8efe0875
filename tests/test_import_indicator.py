"""``python -m observatory import-indicator``: metadata, the file checks (as strict as the register import),
the atomic write, series, ratios, EPCI and département levels, re-application by the build. Every test
works on its own copy of the tiny database built by the real build (tests/raw_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.indicator_catalogue import full_catalogue, load_indicator_frame
from observatory.indicator_import import reapply_indicator_imports
from observatory.indicator_import_checks import parse_number
from observatory.indicator_metadata import MetadataError, parse_metadata
from observatory.indicators import territory_value
from tests.import_fixtures import file_digest, leftover_temp_files, write_xlsx
from tests.indicator_fixtures import (
    COUNT_OPTIONS,
    POPULATION,
    RATE_OPTIONS,
    db_copy,
    query,
    run_import,
    values_of,
    write_lines,
)

RATE_HEADER = "codgeo;libgeo;part_80_plus"


@pytest.fixture()
def env(tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    imports = tmp_path / "imports"
    monkeypatch.setenv("OBSERVATOIRE_IMPORTS_DIR", str(imports))
    return {"db": db_copy(tiny_db, tmp_path / "db"), "imports": imports / "indicateurs", "dir": tmp_path}


def nothing_written(env: dict, before: str) -> bool:
    return (file_digest(env["db"]) == before and leftover_temp_files(env["db"].parent) == []
            and not (env["imports"] / "manifest.json").exists())


# ---- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3,75", 3.75), ("3.75", 3.75), ("1 234,5", 1234.5), ("1\u202f234", 1234.0), ("12,5 %", 12.5), ("-0,5", -0.5),
     ("1e3", 1000.0), ("", None), ("s", None), ("nd", None), ("N.D.", None), ("secret", None), ("-", None)],
)
def test_parse_number_french_formats_and_missing_markers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["abc", "1.234,5", "3,4,5", "inf", "NaN1", "12 ans"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_metadata_french_words_defaults_and_problems():
    options = dict(zip(RATE_OPTIONS[::2], RATE_OPTIONS[1::2], strict=True))
    meta = parse_metadata({k.removeprefix("--"): v for k, v in options.items()} | {"classes": "jenks"}, "f.csv")
    assert (meta.direction, meta.aggregation, meta.level, meta.class_method, meta.decimals) == (
        "neutral", "weighted_mean", "commune", "natural_breaks", 1)
    assert "f.csv" in meta.description and meta.vintage == "RP 2021, géographie 2024"
    with pytest.raises(MetadataError) as error:
        parse_metadata({"code": "Part-80", "label": "Part\u202e des 80 ans", "direction": "haut", "year": "21",
                        "aggregation": "somme", "weight": "x", "classes": "seuils:3;2"}, "f.csv")
    text = " | ".join(error.value.problems)
    for expected in ("code « Part-80 » invalide", "libellé (--label) refusé", "U+202E", "unité (--unit) manquant",
                     "sens (--direction) « haut » inconnu", "année (--year) « 21 » invalide", "source (--source) manquant",
                     "ne sert qu'à l'agrégation « moyenne »", "bornes croissantes"):
        assert expected in text, expected


# ---- a good file -----------------------------------------------------------------------------------


def test_rate_by_commune_is_imported_with_provenance_report_and_manifest(env, capsys):
    file = write_lines(env["dir"] / "insee_80.csv", [RATE_HEADER, "01001;Alpha;10,5", "1002;Bravo;8", "01004;Delta-et-Kilo (réunie);12,25",
                                                     "75101;Paris 1er;4,0", "01003;Charlie;s"], encoding="cp1252")
    assert run_import(env["db"], file, RATE_OPTIONS, "--classes", "seuils:5;10") == 0
    out = capsys.readouterr().out
    assert "Import de l'indicateur « Part des 80 ans ou plus » (part_80_ans_plus), année 2021" in out
    assert "encodage Windows-1252 (latin-1), séparateur point-virgule" in out
    assert "ligne 6, colonne « part_80_plus » : 1 valeur(s) vide(s) ou non diffusée(s)" in out
    assert "ligne 3, colonne « codgeo » : 1 code(s) avaient perdu leur zéro initial" in out
    assert values_of(env["db"], "part_80_ans_plus", 2021) == {"01001": 10.5, "01002": 8.0, "01004": 12.25, "75101": 4.0}
    row = query(env["db"], "SELECT * FROM indicators WHERE indicator_code = 'part_80_ans_plus'").iloc[0]
    assert (row["origin"], row["role"], row["aggregation"], row["weight_indicator_code"], row["class_method"]) == (
        "imported", "indicator", "weighted_mean", None, "thresholds")
    assert json.loads(row["class_breaks"]) == [5.0, 10.0]
    source = query(env["db"], "SELECT * FROM sources WHERE source_id = 'indicateur-part_80_ans_plus-2021'").iloc[0]
    assert (source["publisher"], source["vintage"], source["licence"], source["file_name"]) == (
        "INSEE, recensement de la population", "RP 2021, géographie 2024", "Licence Ouverte / Etalab 2.0", "insee_80.csv")
    assert source["sha256"] == file_digest(file)
    assert query(env["db"], "SELECT vintage FROM indicator_sources WHERE indicator_code = 'part_80_ans_plus'")[
        "vintage"].tolist() == ["RP 2021, géographie 2024"]
    manifest = json.loads((env["imports"] / "manifest.json").read_text(encoding="utf-8"))
    assert [e["import_id"] for e in manifest["imports"]] == ["part_80_ans_plus-2021"]
    assert (env["imports"] / "part_80_ans_plus-2021.csv").read_bytes() == file.read_bytes()
    assert "Bilan" in (env["imports"] / "part_80_ans_plus-2021.rapport.txt").read_text(encoding="utf-8")
    # France: mean weighted by the municipal population (no weight given), over the units with a value
    expected = (10.5 * 500 + 8 * 300 + 12.25 * 2000 + 4.0 * 1000) / (500 + 300 + 2000 + 1000)
    assert f"France entière (règle d'agrégation de l'indicateur) : {expected:.2f}".replace(".", ",") in out
    assert leftover_temp_files(env["db"].parent) == []


def test_xlsx_with_numeric_cells_and_sidecar_metadata(env, capsys):
    file = write_xlsx(env["dir"] / "ps.xlsx", [["Code INSEE", "Nom", "Effectif"], [1001, "Alpha", 3], [1004, "Delta", 12]])
    options = dict(zip(COUNT_OPTIONS[::2], COUNT_OPTIONS[1::2], strict=True))
    (env["dir"] / "ps.xlsx.json").write_text(json.dumps({k.removeprefix("--"): v for k, v in options.items()}),
                                             encoding="utf-8")
    assert run_import(env["db"], file, ["--year", "2025"]) == 0  # the option overrides the sidecar's year
    assert "feuille « CPTS »" in capsys.readouterr().out
    assert values_of(env["db"], "professionnels_sante", 2025) == {"01001": 3.0, "01004": 12.0}
    assert query(env["db"], "SELECT decimals FROM indicators WHERE indicator_code = 'professionnels_sante'").iloc[0, 0] == 0


# ---- broken files: nothing is written --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([RATE_HEADER, "01001;Alpha;10", "01002;Bravo;abc"],
         "ligne 3, colonne « part_80_plus » : valeur « abc » non numérique"),
        ([RATE_HEADER, "01001;Alpha;10", "01002;Bravo;8", "01001;Alpha bis;11"],
         "lignes 2, 4, colonne « codgeo » : doublon : le code 01001 figure déjà ligne 2 avec une autre valeur (10 contre 11)"),
        ([RATE_HEADER, "123;Alpha;10"], "ligne 2, colonne « codgeo » : code commune « 123 » mal formé"),
        ([RATE_HEADER, ";Alpha;10"], "ligne 2, colonne « codgeo » : code vide"),
        (["code_insee;taux;autre", "01001;1;2"], "ligne 1 : colonne des valeurs ambiguë : 2 colonnes (taux, autre)"),
        (["ville;valeur", "Alpha;1"], "colonne des codes (commune) introuvable"),
        ([RATE_HEADER], "aucune ligne de données sous l'en-tête"),
        ([RATE_HEADER, "99999;Nulle part;3"], "aucune valeur reconnue dans le fichier"),
        ([RATE_HEADER, "01001;Alpha;1.234,5"], "valeur « 1.234,5 » non numérique"),
    ],
)
def test_blocking_errors_name_line_and_column_and_write_nothing(env, capsys, lines, message):
    before = file_digest(env["db"])
    assert run_import(env["db"], write_lines(env["dir"] / "bad.csv", lines), RATE_OPTIONS) == 1
    out = capsys.readouterr().out
    assert message in out, out
    assert "Rien n'a été écrit" in out and nothing_written(env, before)


def test_negative_count_and_unreadable_files_are_blocking(env, capsys):
    before = file_digest(env["db"])
    file = write_lines(env["dir"] / "ps.csv", ["code_insee;effectif", "01001;-3"])
    assert run_import(env["db"], file, COUNT_OPTIONS) == 1
    assert "ligne 2, colonne « effectif » : effectif négatif (-3)" in capsys.readouterr().out
    (env["dir"] / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    assert run_import(env["db"], env["dir"] / "old.xls", COUNT_OPTIONS) == 1
    assert "format Excel ancien (.xls) non pris en charge" in capsys.readouterr().out
    assert run_import(env["db"], env["dir"] / "absent.csv", COUNT_OPTIONS) == 1
    assert "fichier introuvable" in capsys.readouterr().out
    assert run_import(env["db"], file, COUNT_OPTIONS[:4]) == 1  # metadata incomplete
    assert "métadonnées : sens manquant" in capsys.readouterr().out
    assert nothing_written(env, before)


def test_unknown_and_old_codes_and_identical_duplicates_are_warnings_with_lines(env, capsys):
    lines = ["code_insee;valeur;population standardisée", "01004;2,0;1500", "01005;3,0;500", "01999;2,0;10",
             "01011;2,5;100", "01012;1,5;300", "01010;4,0;600", "01004;2,0;1500", "75056;6,0;6000"]
    file = write_lines(env["dir"] / "apl.csv", lines)
    assert run_import(env["db"], file, RATE_OPTIONS, "--weight-column", "population standardisée") == 0
    out = capsys.readouterr().out
    for expected in (
        "ligne 3, colonne « code_insee » : ancien code 01005 re-clé vers 01004 Delta-et-Kilo (COG 2026)",
        "ligne 4, colonne « code_insee » : code 01999 inconnu du COG 2026 (ni commune actuelle, ni ancien code connu) : ligne ignorée",
        "lignes 2, 8, colonne « code_insee » : doublon : le code 01004 figure déjà ligne 2 avec la même valeur ; ligne ignorée",
        "lignes 5, 6, 7, colonne « code_insee » : 3 lignes rattachées à 01010 Mike-Nouvelle (COG 2026)",
        "ligne 9, colonne « code_insee » : 75056 Paris est découpée en 3 arrondissements municipaux : valeur attribuée à chacun",
    ):
        assert expected in out, expected
    values = values_of(env["db"], "part_80_ans_plus", 2021)
    assert values["01004"] == pytest.approx((2.0 * 1500 + 3.0 * 500) / 2000)  # weighted by the file's column
    assert values["01010"] == pytest.approx((2.5 * 100 + 1.5 * 300 + 4.0 * 600) / 1000)
    assert values["75101"] == values["75102"] == values["75103"] == 6.0
    weights = values_of(env["db"], "part_80_ans_plus__poids", 2021)
    assert weights["01004"] == 2000 and weights["01010"] == 1000
    assert weights["75101"] == pytest.approx(6000 * 1000 / 6000) and weights["75103"] == pytest.approx(3000)


def test_strict_mode_refuses_warnings(env, capsys):
    before = file_digest(env["db"])
    file = write_lines(env["dir"] / "s.csv", [RATE_HEADER, "01001;Alpha;10", "01999;Inconnue;3"])
    assert run_import(env["db"], file, RATE_OPTIONS, "--strict") == 1
    assert "mode strict" in capsys.readouterr().out and nothing_written(env, before)


def test_failure_during_write_leaves_database_identical(env, monkeypatch, capsys):
    from observatory import indicator_import

    def broken(con, *args):
        raise OSError("disque plein (simulé)")

    monkeypatch.setattr(indicator_import, "write_indicator", broken)
    before = file_digest(env["db"])
    assert run_import(env["db"], write_lines(env["dir"] / "f.csv", [RATE_HEADER, "01001;A;1"]), RATE_OPTIONS) == 1
    assert "écriture impossible" in capsys.readouterr().out and nothing_written(env, before)


# ---- series, ratios, other levels ------------------------------------------------------------------


def test_years_make_a_series_and_the_definition_cannot_change(env, capsys):
    file = write_lines(env["dir"] / "a.csv", [RATE_HEADER, "01001;Alpha;10"])
    assert run_import(env["db"], file, RATE_OPTIONS) == 0
    options = [o if o != "2021" else "2022" for o in RATE_OPTIONS]
    assert run_import(env["db"], write_lines(env["dir"] / "b.csv", [RATE_HEADER, "01001;Alpha;11"]), options) == 0
    assert query(env["db"], "SELECT DISTINCT year FROM indicator_values WHERE indicator_code = 'part_80_ans_plus'"
                 " ORDER BY 1")["year"].tolist() == [2021, 2022]
    catalogue = full_catalogue(_catalogue(env["db"]))
    assert "evolution__part_80_ans_plus" in set(catalogue["indicator_code"])
    capsys.readouterr()
    changed = [o if o != "% de la population" else "‰" for o in options]
    before = file_digest(env["db"])
    assert run_import(env["db"], write_lines(env["dir"] / "c.csv", [RATE_HEADER, "01001;Alpha;110"]), changed) == 1
    assert "déjà importé (2021, 2022) avec une autre définition : unité « % de la population » → « ‰ »" in capsys.readouterr().out
    assert file_digest(env["db"]) == before
    # re-importing a year replaces it, the other year stays
    assert run_import(env["db"], write_lines(env["dir"] / "d.csv", [RATE_HEADER, "01002;Bravo;7"]), options) == 0
    assert values_of(env["db"], "part_80_ans_plus", 2022) == {"01002": 7.0}
    assert values_of(env["db"], "part_80_ans_plus", 2021) == {"01001": 10.0}
    manifest = json.loads((env["imports"] / "manifest.json").read_text(encoding="utf-8"))
    assert [e["original_file_name"] for e in manifest["imports"]] == ["a.csv", "d.csv"]


def _catalogue(db: Path):
    from observatory import queries
    from observatory.db import open_readonly

    con = open_readonly(db)
    try:
        return queries.indicator_catalogue(con)
    finally:
        con.close()


def _frame(db: Path, code: str, year: int):
    from observatory import queries
    from observatory.db import open_readonly

    con = open_readonly(db)
    try:
        catalogue = full_catalogue(queries.indicator_catalogue(con))
        units = queries.territorial_units(con)
        return load_indicator_frame(catalogue, code, year, units, lambda c, y: queries.indicator_values(con, c, y))
    finally:
        con.close()


def test_ratio_of_two_imported_counts(env, capsys):
    patients = ["code_insee;n", "01001;50", "01002;30", "01004;100"]
    population = ["code_insee;n", "01001;500", "01002;300", "01004;2000"]
    base = ["--direction", "neutre", "--year", "2023", "--source", "CNAM", "--licence", "Licence Ouverte",
            "--aggregation", "somme", "--unit", "personnes"]
    assert run_import(env["db"], write_lines(env["dir"] / "p.csv", patients), ["--code", "patients_ald", "--label",
                                                                                 "Patients en ALD", *base]) == 0
    assert run_import(env["db"], write_lines(env["dir"] / "c.csv", population), ["--code", "consommants", "--label",
                                                                                   "Consommants", *base]) == 0
    rates = ["code_insee;taux", "01001;10,0", "01002;10,0", "01004;6,0"]  # 01004 published 6 % instead of 5 %
    options = ["--code", "part_ald", "--label", "Part des patients en ALD", "--unit", "%", "--direction", "neutre",
               "--year", "2023", "--source", "CNAM", "--licence", "Licence Ouverte", "--aggregation", "ratio",
               "--numerator", "patients_ald", "--denominator", "consommants", "--scale", "100"]
    capsys.readouterr()
    assert run_import(env["db"], write_lines(env["dir"] / "r.csv", rates), options) == 0
    out = capsys.readouterr().out
    assert "1 unité(s) dont le taux du fichier diffère de 100 × patients_ald / consommants au-delà de l'arrondi : 01004" in out
    data = _frame(env["db"], "part_ald", 2023)
    assert territory_value(data.units, data.entry) == pytest.approx(100 * 180 / 2800)  # Σ / Σ, not a mean of rates
    assert data.units.set_index("commune_code").loc["01004", "value"] == 6.0  # the map shows the published rate
    missing = [o if o != "consommants" else "absent" for o in options]
    assert run_import(env["db"], write_lines(env["dir"] / "r2.csv", rates), missing) == 1
    assert "dénominateur « absent » : un effectif (agrégation somme) déjà dans la base est attendu" in capsys.readouterr().out


def test_epci_rate_is_given_to_its_communes_and_departement_count_is_shared_by_population(env, capsys):
    epci = write_lines(env["dir"] / "epci.csv", ["siren;taux", "200000001;12,0", "200000002;8,0", "200099999;3"])
    assert run_import(env["db"], epci, [*RATE_OPTIONS, "--level", "epci"]) == 0
    assert "ligne 4, colonne « siren » : EPCI 200099999 inconnu du COG 2026 : ligne ignorée" in capsys.readouterr().out
    values = values_of(env["db"], "part_80_ans_plus", 2021)
    assert values["01001"] == 12.0 and values["01040"] == 8.0 and "01042" not in values  # 01042 is in no EPCI
    dep = write_lines(env["dir"] / "dep.csv", ["dep;effectif", "1;900", "75;60"])
    assert run_import(env["db"], dep, [*COUNT_OPTIONS, "--level", "departement"]) == 0
    counts = values_of(env["db"], "professionnels_sante", 2024)
    total_01 = sum(p for c, p in POPULATION.items() if c.startswith("01"))
    assert counts["01004"] == pytest.approx(900 * 2000 / total_01)
    assert sum(v for c, v in counts.items() if c.startswith("01")) == pytest.approx(900)
    assert counts["75102"] == pytest.approx(20)
    assert query(env["db"], "SELECT source_geo_level FROM indicators WHERE indicator_code = 'professionnels_sante'"
                 ).iloc[0, 0] == "departement"


def test_reserved_codes_and_missing_weight_year(env, capsys):
    file = write_lines(env["dir"] / "a.csv", [RATE_HEADER, "01001;Alpha;10"])
    taken = [o if o != "part_80_ans_plus" else "apl_mg" for o in RATE_OPTIONS]
    assert run_import(env["db"], file, taken) == 1
    assert "code « apl_mg » déjà pris par un indicateur du catalogue" in capsys.readouterr().out
    assert run_import(env["db"], file, [*RATE_OPTIONS, "--weight", "pop_standardisee_mg"]) == 1
    assert "poids « pop_standardisee_mg » sans valeur pour 2021" in capsys.readouterr().out
    derived = [o if o != "part_80_ans_plus" else "densite_population" for o in RATE_OPTIONS]
    assert run_import(env["db"], file, derived) == 1
    assert "réservé à un indicateur dérivé" in capsys.readouterr().out


# ---- re-application by the build -------------------------------------------------------------------


def test_build_reapplies_imports_and_skips_a_modified_copy(env, tiny_raw_dir, tmp_path, capsys):
    from observatory.build import build_database

    assert run_import(env["db"], write_lines(env["dir"] / "a.csv", [RATE_HEADER, "01001;Alpha;10"]), RATE_OPTIONS) == 0
    assert run_import(env["db"], write_lines(env["dir"] / "b.csv", ["code_insee;n", "01004;7"]), COUNT_OPTIONS) == 0
    rebuilt = tmp_path / "rebuilt.duckdb"
    report = build_database(tiny_raw_dir, rebuilt, imports_dir=env["imports"].parent)
    assert any("« Part des 80 ans ou plus » (part_80_ans_plus, 2021) ré-appliqué : 1 unités" in m for m in report.messages)
    assert values_of(rebuilt, "part_80_ans_plus", 2021) == {"01001": 10.0}
    assert values_of(rebuilt, "professionnels_sante", 2024) == {"01004": 7.0}
    (env["imports"] / "professionnels_sante-2024.csv").write_text("code_insee;n\n01004;8\n", encoding="utf-8")
    import duckdb

    con = duckdb.connect(str(rebuilt))
    try:
        messages = reapply_indicator_imports(con, env["imports"].parent)
    finally:
        con.close()
    assert any("professionnels" in m.lower() and "modifiée" in m for m in messages)
    (env["imports"] / "manifest.json").write_text("{pas du json", encoding="utf-8")
    con = duckdb.connect(str(rebuilt))
    try:
        assert "illisible" in reapply_indicator_imports(con, env["imports"].parent)[0]
    finally:
        con.close()


def test_a_long_file_with_a_year_column_is_read_one_year_at_a_time(env, capsys):
    lines = ["code_insee;annee;valeur", "01001;2020;9", "01001;2021;10", "01002;2021;8", "01002;2022;7"]
    file = write_lines(env["dir"] / "long.csv", lines)
    assert run_import(env["db"], file, RATE_OPTIONS) == 0
    out = capsys.readouterr().out
    assert "lignes 2, 5, colonne « annee » : 2 ligne(s) d'autres années (2020, 2022) ignorées" in out
    assert values_of(env["db"], "part_80_ans_plus", 2021) == {"01001": 10.0, "01002": 8.0}
    other = [o if o != "2021" else "2019" for o in RATE_OPTIONS]
    assert run_import(env["db"], file, other) == 1
    assert "aucune ligne pour l'année 2019 dans la colonne « annee » (années du fichier : 2020, 2021, 2022)" in (
        capsys.readouterr().out)
