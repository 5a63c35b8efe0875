"""Writers of the analytical database under stress: parallel imports, a kill -9 during an import or a
build, a writer waiting for another. Nothing is lost, nothing is half-written, leftovers are cleaned."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from observatory import config
from observatory.build import build_database
from observatory.write_lock import WriteLockTimeout, exclusive_write, lock_path, stale_temporary_files
from tests.import_fixtures import file_digest, write_csv

REPO = config.REPO_ROOT


def _registers(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT name FROM registers WHERE kind = 'imported'").fetchall()}
    finally:
        con.close()


def _manifest_names(imports: Path) -> set[str]:
    path = imports / "manifest.json"
    return {e["name"] for e in json.loads(path.read_text(encoding="utf-8"))["imports"]} if path.exists() else set()


def _import_command(csv_path: Path, name: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "observatory", "import-register", str(csv_path), "--name", name,
            "--db", str(db), "--as-of", "2026-01-01"]


def _env(imports: Path) -> dict[str, str]:
    return {**os.environ, "OBSERVATOIRE_IMPORTS_DIR": str(imports)}


def _register_files(folder: Path, count: int) -> list[Path]:
    codes = ["01001", "01002", "01003", "01004", "01006", "01007", "01008", "01009"]
    return [write_csv(folder / f"registre-{i}.csv", [["cpts_nom", "code_insee"], [f"CPTS Parallèle {i}", codes[i]]])
            for i in range(count)]


@pytest.mark.parametrize("trial", range(3))
def test_parallel_imports_lose_nothing(trial, tiny_db, tmp_path):
    db, imports = tmp_path / "observatoire.duckdb", tmp_path / "imports"
    shutil.copyfile(tiny_db, db)
    files = _register_files(tmp_path, 3)
    names = [f"Import parallèle {trial}-{i}" for i in range(len(files))]
    processes = [subprocess.Popen(_import_command(f, n, db), cwd=REPO, env=_env(imports), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for f, n in zip(files, names, strict=True)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * len(files), outputs
    assert all("écrit" in out for out, _ in outputs)
    assert _registers(db) == set(names)  # every import is in the database...
    assert _manifest_names(imports) == set(names)  # ... and in the manifest re-applied by every build
    assert stale_temporary_files(db) == []


def _kill_when(process: subprocess.Popen, folder: Path, pattern: str, timeout_s: float = 120) -> bool:
    """kill -9 ``process`` as soon as a file matching ``pattern`` appears in ``folder``; False if it never did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if any(folder.glob(pattern)):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    process.wait()
    return False


def test_import_killed_midway_leaves_the_database_intact_and_the_next_writer_cleans_up(tiny_db, tmp_path):
    db, imports = tmp_path / "observatoire.duckdb", tmp_path / "imports"
    shutil.copyfile(tiny_db, db)
    before = file_digest(db)
    (first, second) = _register_files(tmp_path, 2)
    process = subprocess.Popen(_import_command(first, "Import tué", db), cwd=REPO, env=_env(imports),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = _kill_when(process, tmp_path, f".{db.name}.*.import.tmp")
    assert killed, "l'import s'est terminé avant d'écrire sa copie : rien à tester"
    assert file_digest(db) == before and _registers(db) == set()
    assert stale_temporary_files(db) != []  # what the killed writer left
    done = subprocess.run(_import_command(second, "Import suivant", db), cwd=REPO, env=_env(imports),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _registers(db) == {"Import suivant"} and stale_temporary_files(db) == []


def test_build_killed_midway_keeps_the_previous_database_and_the_next_build_cleans_up(tiny_raw_dir, tiny_db, tmp_path):
    db = tmp_path / "observatoire.duckdb"
    shutil.copyfile(tiny_db, db)
    before = file_digest(db)
    env = {**os.environ, "OBSERVATOIRE_IMPORTS_DIR": str(tmp_path / "imports")}
    process = subprocess.Popen([sys.executable, "-m", "observatory", "build", "--raw-dir", str(tiny_raw_dir),
                                "--db", str(db)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = _kill_when(process, tmp_path, f"{db.name}.tmp-*")
    assert killed, "la construction s'est terminée avant d'écrire son fichier temporaire"
    assert file_digest(db) == before
    leftovers = stale_temporary_files(db)
    assert leftovers
    messages: list[str] = []
    build_database(tiny_raw_dir, db, progress=messages.append, allow_fetch=False, imports_dir=tmp_path / "imports")
    assert stale_temporary_files(db) == []
    assert any("abandonnés" in m and leftovers[0].name in m for m in messages)


def test_a_writer_waits_for_the_lock_then_says_why_it_gives_up(tmp_path):
    db = tmp_path / "observatoire.duckdb"
    db.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from observatory.write_lock import exclusive_write\n"
        f"with exclusive_write({str(db)!r}):\n    print('held', flush=True); time.sleep(30)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        told: list[str] = []
        with pytest.raises(WriteLockTimeout, match="en cours d'écriture par un autre programme"):
            with exclusive_write(db, wait_s=0.5, on_wait=told.append):
                pass
        assert told and "attente" in told[0]
    finally:
        holder.kill()
        holder.wait()
    with exclusive_write(db, wait_s=5):  # a killed holder's lock is released by the kernel
        assert lock_path(db).exists()
