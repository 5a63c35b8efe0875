"""The user-data store and the analytical database when something is wrong with them: a file held by another
process, read-only, corrupt, written by another version, rebuilt while the app runs; a PostgreSQL server that
does not answer, or a role with read rights only. Each page says the true cause in French and what to do; no
traceback, no path, no address, no process id. Store-level cases run on both user-data backends."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from observatory import config, storage_errors
from observatory.assessments import AssessmentStore, StoreUnavailableError
from observatory.userdb import UserDatabase
from tests import pg_server
from tests import profile_fixtures as pfx
from tests.apphelpers import all_text, run_page

REPO = config.REPO_ROOT
LEAK_HINTS = ("PID ", "Traceback", "bin/python", "IO Error", "duckdb.", ".duckdb", "/tmp/", "postgresql:", "127.0.0.1",
              "psycopg")


def assert_explained(at, fragment: str) -> None:
    text = all_text(at)
    assert fragment in text, text[:3000]
    assert not any(hint in text for hint in LEAK_HINTS), [h for h in LEAK_HINTS if h in text]
    assert not at.exception


def use_user_db(monkeypatch, location: Path | str) -> None:
    """Point the app at a user-data location: a DuckDB file, or a PostgreSQL URL (the deployment setting)."""
    import streamlit as st

    if str(location).startswith("postgresql://"):
        monkeypatch.setenv(config.ENV_USER_DATABASE_URL, str(location))
    else:
        monkeypatch.delenv(config.ENV_USER_DATABASE_URL, raising=False)
        monkeypatch.setenv(config.ENV_USER_DB, str(location))
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture()
def held_user_db(app_env, tmp_path, monkeypatch):
    """A user database held open for writing by another process (as a second app instance would)."""
    path = tmp_path / "evaluations-tenue.duckdb"
    AssessmentStore(path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(path)!r})\nprint('held', flush=True)\ntime.sleep(120)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    use_user_db(monkeypatch, path)
    yield path
    holder.kill()
    holder.wait()


def make_read_only(path: Path) -> None:
    """Really unwritable, even for root (CI runs as root): the immutable attribute, else file permissions."""
    import os

    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i impossible ici ({done.stderr.decode().strip()}) : lecture seule non simulable en root")
    else:
        path.chmod(0o444)


def undo_read_only(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o644)


def test_user_db_held_by_another_process(held_user_db):
    at = run_page("pages/auto-evaluation.py")
    assert_explained(at, "ouverte en écriture par un autre programme")
    fiche = run_page("pages/fiche-cpts.py")  # the profile goes on without the assessments
    assert_explained(fiche, "ouverte en écriture par un autre programme")
    assert fiche.header and fiche.get("component_instance")  # identity and map still shown


@pytest.fixture(params=["duckdb", "postgresql"])
def read_only_location(request, tmp_path):
    """User data holding one submission, that the app may read but not write: a DuckDB file made unwritable, or
    a PostgreSQL role given read rights only."""
    if request.param == "postgresql":
        location = request.getfixturevalue("pg_location")
        pfx.submit_assessment(location, "custom:ro", "CPTS en lecture seule", None, dt.datetime(2025, 3, 1, 9, 0))
        yield pg_server.role_url(location, pg_server.READ_GRANTS)
        return
    path = tmp_path / "evaluations-ro.duckdb"
    pfx.submit_assessment(path, "custom:ro", "CPTS en lecture seule", None, dt.datetime(2025, 3, 1, 9, 0))
    make_read_only(path)
    try:
        yield path
    finally:
        undo_read_only(path)


def test_user_db_read_only_is_readable_and_says_why_nothing_can_be_saved(app_env, read_only_location, monkeypatch):
    store = AssessmentStore(read_only_location)
    assert store.read_only and [a.cpts_id for a in store.history("custom:ro")] == ["custom:ro"]
    with pytest.raises(StoreUnavailableError, match="lecture seule"):
        store.save_draft("custom:ro", {}, None)
    use_user_db(monkeypatch, read_only_location)
    at = run_page("pages/auto-evaluation.py")
    assert_explained(at, "est en lecture seule")
    assert "verrouillée" not in all_text(at)  # the old, wrong cause


def test_corrupt_user_db(app_env, tmp_path, monkeypatch):
    path = tmp_path / "evaluations-corrompue.duckdb"
    path.write_bytes(b"ceci n'est pas une base" * 500)
    use_user_db(monkeypatch, path)
    assert_explained(run_page("pages/auto-evaluation.py"), "est endommagée")
    matrice = run_page("pages/matrice.py")
    assert_explained(matrice, "est endommagée")
    assert matrice.get("html")  # the matrix is still drawn


def test_user_db_of_another_schema_version(app_env, user_location, monkeypatch):
    AssessmentStore(user_location)
    db = UserDatabase(user_location)
    db.write(lambda c: c.execute("UPDATE schema_info SET value = '0' WHERE key = 'schema_version'"))
    db.close()
    use_user_db(monkeypatch, user_location)
    assert_explained(run_page("pages/auto-evaluation.py"), "est au schéma v0")


def test_user_data_server_unreachable(app_env, monkeypatch):
    use_user_db(monkeypatch, pg_server.unreachable_url())
    assert_explained(run_page("pages/auto-evaluation.py"), "La base des évaluations est injoignable")
    fiche = run_page("pages/fiche-cpts.py")  # the profile goes on without the assessments
    assert_explained(fiche, "est injoignable")
    assert fiche.header and fiche.get("component_instance")


@pytest.mark.parametrize("page", ["pages/accueil.py", "pages/couverture.py", "pages/fiche-cpts.py"])
def test_corrupt_analytical_database(page, app_env, tmp_path, monkeypatch):
    import streamlit as st

    broken = tmp_path / "observatoire-corrompue.duckdb"
    broken.write_bytes(b"\x00garbage" * 4096)
    monkeypatch.setenv(config.ENV_DB, str(broken))
    st.cache_data.clear()
    st.cache_resource.clear()
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert_explained(at, "La base de données de l'observatoire est endommagée")


def test_analytical_database_of_another_schema(app_env, tmp_path, monkeypatch):
    import streamlit as st

    old = tmp_path / "observatoire-v0.duckdb"
    shutil.copyfile(app_env, old)
    con = duckdb.connect(str(old))
    con.execute("UPDATE build_info SET value = '0' WHERE key = 'schema_version'")
    con.close()
    monkeypatch.setenv(config.ENV_DB, str(old))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_page()
    assert_explained(at, "construite avec le schéma v0")


def test_a_rebuilt_database_is_reloaded_by_the_running_app(app_env, tmp_path, monkeypatch):
    import streamlit as st

    db = tmp_path / "observatoire.duckdb"
    shutil.copyfile(app_env, db)
    monkeypatch.setenv(config.ENV_DB, str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run_page("pages/accueil.py")
    before = set(at.selectbox(key="register_choice").options)
    imported, register_id = pfx.imported_db_copy(app_env, tmp_path / "import")
    replacement = db.with_name("nouvelle.duckdb")
    shutil.copyfile(imported, replacement)
    replacement.replace(db)  # what a build or an import does: a rename over the file
    at.run()
    assert not at.exception
    assert any("reconstruite" in t.value for t in at.toast)
    after = set(at.selectbox(key="register_choice").options)
    assert len(after) == len(before) + 1


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (OSError(28, "No space left on device"), storage_errors.DISK_FULL),
        (PermissionError(13, "Permission denied"), storage_errors.READ_ONLY),
        (OSError(30, "Read-only file system"), storage_errors.READ_ONLY),
        (duckdb.IOException('Could not set lock on file "x": Conflicting lock is held in python (PID 1)'),
         storage_errors.LOCKED),
        (duckdb.IOException('The file "x" exists, but it is not a valid DuckDB database file!'), storage_errors.CORRUPT),
        (duckdb.IOException("Trying to read a database file with version number 99"), storage_errors.OTHER_VERSION),
        (RuntimeError('connection failed: connection to server at "10.0.0.5", port 5432 failed: Connection refused'),
         storage_errors.UNREACHABLE),
        (ConnectionRefusedError(111, "Connection refused"), storage_errors.UNREACHABLE),
        (RuntimeError("connection failed: connection timeout expired"), storage_errors.UNREACHABLE),
        (RuntimeError('FATAL:  password authentication failed for user "observatoire"'), storage_errors.REFUSED),
        (RuntimeError("permission denied for table assessments"), storage_errors.READ_ONLY),
        (RuntimeError("cannot execute INSERT in a read-only transaction"), storage_errors.READ_ONLY),
        (RuntimeError("inattendu"), storage_errors.UNKNOWN),
    ],
)
def test_storage_causes_are_named(error, cause):
    problem = storage_errors.diagnose(error, "La base")
    assert problem.cause == cause and problem.message.startswith("La base ")
    assert not any(hint in problem.message for hint in ("PID ", "bin/python", "10.0.0.5", "5432", "observatoire\""))


def test_a_cause_is_found_through_chained_errors():
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as inner:
            raise RuntimeError("écriture") from inner
    except RuntimeError as outer:
        assert storage_errors.cause_of(outer) == storage_errors.DISK_FULL
