"""AppTest of the frame and the home page."""

from __future__ import annotations

from tests.apphelpers import all_text, run_page, tables


def test_home_shows_register_banner_and_sources(app_env):
    at = run_page()
    text = all_text(at)
    assert "Observatoire des CPTS" in text
    assert "Démonstration" in text  # the default register is the demo one: bannered
    sources = tables(at)[0]
    assert {"Source", "Millésime", "Licence", "Empreinte SHA-256"} <= set(sources.columns)
    assert len(sources) >= 3
    assert at.selectbox(key="register_choice").value == "demo"


def test_missing_database_is_explained_in_french(monkeypatch, tmp_path):
    import streamlit as st

    from observatory import config

    monkeypatch.setenv(config.ENV_DB, str(tmp_path / "nowhere.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    from streamlit.testing.v1 import AppTest

    from tests.apphelpers import APP_PATH

    at = AppTest.from_file(APP_PATH, default_timeout=60)
    at.run()
    assert any("python -m observatory build" in e.value for e in at.error)


def test_database_of_an_older_schema_is_explained_in_french(monkeypatch, tmp_path, tiny_db):
    import shutil

    import duckdb
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from observatory import config
    from tests.apphelpers import APP_PATH

    old = tmp_path / "ancienne.duckdb"
    shutil.copyfile(tiny_db, old)
    con = duckdb.connect(str(old))
    con.execute("UPDATE build_info SET value = '1' WHERE key = 'schema_version'")
    con.close()
    monkeypatch.setenv(config.ENV_DB, str(old))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP_PATH, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("construite avec le schéma v1" in e.value and "python -m observatory build" in e.value for e in at.error)
