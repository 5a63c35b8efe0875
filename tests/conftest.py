"""Shared fixtures. Every test works on data it builds itself in temporary folders: the environment
variables below point the app, the build and the stores away from ``data/`` for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observatory import config


@pytest.fixture(scope="session", autouse=True)
def _isolated_paths(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("observatoire-env")
    saved = {k: os.environ.get(k) for k in (config.ENV_DB, config.ENV_USER_DB, config.ENV_CACHE_DIR, "OBSERVATOIRE_IMPORTS_DIR",
                                            config.ENV_USER_DATABASE_URL)}
    os.environ.pop(config.ENV_USER_DATABASE_URL, None)  # never a deployment's server: tests choose their backend
    os.environ[config.ENV_DB] = str(root / "absent-observatoire.duckdb")
    os.environ[config.ENV_USER_DB] = str(root / "evaluations.duckdb")
    os.environ[config.ENV_CACHE_DIR] = str(root / "raw-cache")
    os.environ["OBSERVATOIRE_IMPORTS_DIR"] = str(root / "imports")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def _pages_run_through_the_frame():
    """AppTest resets Streamlit's legacy multipage flag at every run, so each run would first execute the
    page script alone (``pages/`` exists) and ``ui.frame.page_context`` would rerun it through ``app.py``,
    losing a pending button click on the way. A served app is in that state only until ``st.navigation``
    first runs in the process (the browser tests cover that on a fresh server); AppTests model the steady
    state: every page runs inside the frame."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    yield
    PagesManager.__init__ = original


@pytest.fixture(scope="session")
def tiny_raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.raw_fixture import make_raw_fixture

    return make_raw_fixture(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory, tiny_raw_dir: Path) -> Path:
    """The analytical database built by the real build pipeline from the tiny raw fixture."""
    from observatory.build import build_database

    path = tmp_path_factory.mktemp("db") / "observatoire.duckdb"
    build_database(tiny_raw_dir, path)
    return path


@pytest.fixture()
def app_env(tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the tiny database and a fresh user database, with cold caches."""
    import streamlit as st

    monkeypatch.setenv(config.ENV_DB, str(tiny_db))
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "evaluations.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return tiny_db


@pytest.fixture(scope="session")
def real_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database built once by the real build from the REAL raw data (tests marked real_data share it;
    open it read-only, or copy it before writing)."""
    from observatory.build import build_database

    raw = config.raw_data_dir()
    assert (raw / "etalab-decoupage-administratif" / "communes.json").exists(), (
        f"données brutes absentes dans {raw} (../shared/data ou OBSERVATOIRE_RAW_DIR)"
    )
    folder = tmp_path_factory.mktemp("real")
    path = folder / "observatoire.duckdb"
    build_database(raw, path, imports_dir=folder / "imports")
    return path


@pytest.fixture(scope="session")
def postgres_url():
    """One real PostgreSQL server for the whole run (tests.pg_server); each test takes its own schema."""
    from tests.pg_server import postgres_server

    with postgres_server() as url:
        yield url


def fresh_postgres_schema(url: str) -> str:
    """A new, empty schema on the test server; the returned URL makes it the default (search_path)."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")  # a generated identifier, not user input
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture()
def pg_location(postgres_url) -> str:
    """A fresh PostgreSQL schema (for the tests that only make sense on a server: concurrency, roles)."""
    return fresh_postgres_schema(postgres_url)


@pytest.fixture(params=["duckdb", "postgresql"])
def user_location(request, tmp_path):
    """Where a store test keeps its user data: the same test runs on both backends."""
    if request.param == "duckdb":
        return str(tmp_path / "utilisateurs.duckdb")
    return fresh_postgres_schema(request.getfixturevalue("postgres_url"))
