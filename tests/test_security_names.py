"""Hostile names on every page and in every export.

A register imported by the real importer names its CPTS ``<img onerror=...>``, ``<script>``, Markdown
images and links, spreadsheet formulas and Streamlit directives; the register itself is named with HTML
and a link. Every page is opened on each of them: no Markdown source, no st.html block and no map
payload holds live markup, and no downloaded CSV cell starts a formula.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from observatory import config
from observatory.assessments import AssessmentStore, export_csv
from observatory.exports import csv_bytes, xlsx_bytes
from tests import profile_fixtures as pfx
from tests.apphelpers import markdown_sources, rendered, run_page
from tests.hostile import (
    FORMULA_STARTS,
    HOSTILE_AUTHOR,
    HOSTILE_CPTS_NAMES,
    HOSTILE_REGISTER_NAME,
    HTML_MARKERS,
    hostile_register_db,
    live_markdown,
)
from ui.navigation import PAGES


@pytest.fixture(scope="module")
def hostile(tiny_db, tmp_path_factory):
    return hostile_register_db(tiny_db, tmp_path_factory.mktemp("hostile"))


@pytest.fixture()
def hostile_env(hostile, tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    db, register_id, ids = hostile
    monkeypatch.setenv(config.ENV_DB, str(db))
    monkeypatch.setenv(config.ENV_USER_DB, str(tmp_path / "evaluations.duckdb"))
    st.cache_data.clear()
    st.cache_resource.clear()
    downloads: list[MemoryMediaFileStorage] = []

    class RecordingStorage(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            downloads.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", RecordingStorage)
    return register_id, ids, downloads


def downloaded_files(at, downloads) -> dict[str, bytes]:
    files = {}
    for button in at.get("download_button"):
        name = button.proto.url.rsplit("/", 1)[-1]
        for storage in downloads:
            try:
                files[button.proto.label] = storage.get_file(name).content
            except Exception:  # noqa: BLE001 (the file lives in one of the storages)
                continue
    return files


def assert_no_live_markup(at) -> None:
    sources = markdown_sources(at)
    leaks = [(found, s[:160]) for s in sources for found in live_markdown(s)]
    assert leaks == []
    for block in at.get("html"):
        body = block.proto.body
        assert not any(marker in body for marker in HTML_MARKERS), body[:300]
    for component in at.get("component_instance"):
        payload = json.loads(component.proto.json_args)
        text = json.dumps(payload, ensure_ascii=False)
        assert not any(marker in text for marker in HTML_MARKERS), [m for m in HTML_MARKERS if m in text]


def assert_csv_is_formula_free(content: bytes) -> None:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                assert cell.lstrip("+-").replace(",", "").replace(".", "").isdigit(), f"formule possible : {cell!r}"


PAGE_QUERIES = {
    "couverture": lambda rid, cid: {"registre": rid, "echelle": "departement", "departement": "01", "cpts": cid},
    "fiche-cpts": lambda rid, cid: {"registre": rid, "cpts": cid},
    "auto-evaluation": lambda rid, cid: {"registre": rid, "cpts": cid},
    "matrice": lambda rid, cid: {"registre": rid, "cpts": cid},
    "methode": lambda rid, cid: {"registre": rid},
    "accueil": lambda rid, cid: {"registre": rid},
    "synthese": lambda rid, cid: {"registre": rid},
    "administration": lambda rid, cid: {"registre": rid},
    "campagne": lambda rid, cid: {"registre": rid, "cpts": cid},
    "financement": lambda rid, cid: {"registre": rid, "echelle": "departement", "departement": "01", "cpts": cid},
}


def test_every_page_is_covered():
    assert set(PAGE_QUERIES) == {p.url_path for p in PAGES}


@pytest.mark.parametrize("case", list(HOSTILE_CPTS_NAMES))
@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_hostile_names_render_as_text(spec, case, hostile_env):
    register_id, ids, downloads = hostile_env
    at = run_page(spec.path, PAGE_QUERIES[spec.url_path](register_id, ids[case]))
    assert_no_live_markup(at)
    text = "\n".join(rendered(s) for s in markdown_sources(at))
    if spec.url_path in ("fiche-cpts", "auto-evaluation"):
        assert HOSTILE_CPTS_NAMES[case] in text  # shown, as text, exactly as written
    if spec.url_path in ("accueil", "couverture", "fiche-cpts"):
        assert HOSTILE_REGISTER_NAME in text
    for label, content in downloaded_files(at, downloads).items():
        if label.endswith("(CSV)") or "CSV" in label:
            assert_csv_is_formula_free(content)
        if "HTML" in label:
            assert not any(marker in content.decode("utf-8") for marker in HTML_MARKERS)


def test_france_map_tooltips_are_escaped(hostile_env):
    register_id, ids, _ = hostile_env
    at = run_page("pages/couverture.py", {"registre": register_id, "echelle": "france"})
    assert_no_live_markup(at)
    payload = "".join(c.proto.json_args for c in at.get("component_instance"))
    # The name reached the map, HTML-escaped (« &lt;img »; folium's JSON writes « & » as \u0026).
    assert "lt;img src=x" in payload


def test_assessment_exports_neutralise_names_and_authors(hostile, tmp_path):
    _, register_id, ids = hostile
    store = AssessmentStore(tmp_path / "evaluations.duckdb")
    cpts_id = ids["formula"]
    draft = store.save_draft(cpts_id, pfx.full_answers(cpts_id, pfx.dt.date(2025, 1, 1)), None,
                             cpts_name=HOSTILE_CPTS_NAMES["formula"], register_id=register_id, author=HOSTILE_AUTHOR)
    assessment = store.submit(cpts_id, draft.revision, author=HOSTILE_AUTHOR)
    content = export_csv(assessment)
    assert_csv_is_formula_free(content)
    rows = {row[4]: row[5] for row in csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";") if len(row) > 5}
    assert rows["CPTS"] == "'" + HOSTILE_CPTS_NAMES["formula"] and rows["Auteur"] == "'" + HOSTILE_AUTHOR


def test_table_exports_neutralise_every_text_cell():
    import openpyxl
    import pandas as pd

    frame = pd.DataFrame({"=Nom": list(HOSTILE_CPTS_NAMES.values()) + ["-2,5", "+33 1 23"], "n": range(8)})
    assert_csv_is_formula_free(csv_bytes(frame))
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"Tableau": frame})))
    cells = [c for row in book["Tableau"].iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)  # never a formula
    assert book["Tableau"]["A2"].value == HOSTILE_CPTS_NAMES["img"]  # text kept as written
    assert book["Tableau"]["A6"].quotePrefix  # « =HYPERLINK… » typed as text
