"""Malformed and hostile register files: each is refused with a French message naming the cause, and
nothing is written (database and imports folder byte-identical, no temporary file left)."""

from __future__ import annotations

import time

import pytest

from observatory.registers.import_reading import ReadError, read_register_file
from observatory.registers.import_report import format_report
from observatory.registers.importer import import_register
from tests.hostile import BAD_REGISTER_NAMES, bad_register_files
from tests.import_fixtures import file_digest, leftover_temp_files, make_reference_db, write_csv

ENGLISH_HINTS = ("error", "field larger", "expected", "unexpected", "File name too long", "Traceback")


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory):
    return make_reference_db(tmp_path_factory.mktemp("ref") / "observatoire.duckdb")


def _snapshot(folder):
    return {p.name: file_digest(p) for p in folder.iterdir() if p.is_file()} if folder.exists() else {}


@pytest.mark.parametrize("bad", bad_register_files(), ids=lambda b: b.case)
def test_bad_file_is_refused_in_french_and_writes_nothing(bad, reference_db, tmp_path):
    imports = tmp_path / "imports"
    source = bad.write(tmp_path)
    before_db, before_imports = file_digest(reference_db), _snapshot(imports)
    started = time.perf_counter()
    outcome = import_register(source, "Registre de test", reference_db, imports, as_of="2026-01-01")
    seconds = time.perf_counter() - started
    report = format_report(outcome)
    assert not outcome.written
    assert bad.expected in report, report[:2000]
    assert "Rien n'a été écrit" in report
    assert not any(hint in report for hint in ENGLISH_HINTS), report[:2000]
    assert file_digest(reference_db) == before_db and _snapshot(imports) == before_imports
    assert leftover_temp_files(reference_db.parent) == []
    assert len(report) < 20_000  # a 5 MB name is never echoed back whole
    assert seconds < 10, f"{bad.case}: {seconds:.1f} s"


def test_a_20000_column_file_is_refused_in_under_two_seconds(tmp_path):
    wide = next(b for b in bad_register_files() if b.case == "20000_colonnes")
    path = wide.write(tmp_path)
    started = time.perf_counter()
    with pytest.raises(ReadError, match="20\u202f000 colonnes"):
        read_register_file(path)
    assert time.perf_counter() - started < 2.0


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    import tracemalloc

    bomb = next(b for b in bad_register_files() if b.case == "bombe_xlsx").write(tmp_path)
    assert bomb.stat().st_size < 2_000_000  # 300 MB of text, compressed
    tracemalloc.start()
    with pytest.raises(ReadError, match="décompressé"):
        read_register_file(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50_000_000  # the 300 MB name is never materialised


@pytest.mark.parametrize("case", BAD_REGISTER_NAMES, ids=list(BAD_REGISTER_NAMES))
def test_bad_register_name_is_refused(case, reference_db, tmp_path):
    name, expected = BAD_REGISTER_NAMES[case]
    source = write_csv(tmp_path / "ok.csv", [["cpts_nom", "code_insee"], ["CPTS A", "04001"]])
    before = file_digest(reference_db)
    outcome = import_register(source, name, reference_db, tmp_path / "imports", as_of="2026-01-01")
    report = format_report(outcome)
    assert not outcome.written and expected in report, report
    assert "File name too long" not in report and file_digest(reference_db) == before
    assert not (tmp_path / "imports").exists() or not any((tmp_path / "imports").iterdir())


def test_a_line_break_inside_a_quoted_name_is_kept_as_a_space(tmp_path):
    raw = read_register_file(write_csv(tmp_path / "alt-entree.csv", [["cpts_nom", "code_insee"], ["CPTS du\nNord", "04001"]]))
    assert raw.rows["cpts_nom"].tolist() == ["CPTS du Nord"]
