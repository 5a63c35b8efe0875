"""AppTest of the « Matrice » page: the matrix the page renders (its HTML, parsed) holds exactly the
elements of Figure 6 each in its cell, coloured by the national distribution (default), a CPTS's scores
or its peers' median, for a demo CPTS with and without assessment, a case study and an imported CPTS;
the element details and the presentation mode (steps, large type)."""

from __future__ import annotations

import datetime as dt
import statistics
from html.parser import HTMLParser

import pytest

from observatory import config
from observatory import matrix as mx
from observatory.accounts import ADMIN
from observatory.assessments import AssessmentStore
from observatory.demo_assessments import load_case_study_answers
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import answer_text, score_assessment
from tests import profile_fixtures as pfx
from tests.apphelpers import all_text, run_page, sign_in
from tests.test_matrix import EXPECTED_CELLS

PAGE = "pages/matrice.py"
ROW_IDS = {"Structure": "structure", "Processus": "processus", "Résultats": "resultats"}
MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)


class MatrixParser(HTMLParser):
    """Rows of the rendered matrix: row label, row classes, and per column its elements
    (element id -> {label, classes, score text, status})."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self.font_px: int | None = None
        self.caption = ""
        self._row = self._cell = self._element = self._span = None
        self._in_row_header = self._in_style = self._in_caption = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "style":
            self._in_style = True
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._row = {"label": "", "classes": classes, "cells": []}
        elif tag == "th" and a.get("scope") == "row":
            self._in_row_header = True
        elif tag == "td" and self._row is not None:
            self._cell = {}
            self._row["cells"].append(self._cell)
        elif tag == "div" and "cm-el" in classes and self._cell is not None:
            self._element = {"label": "", "classes": classes, "score": "", "status": ""}
            self._cell[a["data-element"]] = self._element
        elif tag == "span" and self._element is not None:
            self._span = next((c for c in ("cm-label", "cm-score", "cm-status") if c in classes), None)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        elif tag == "caption":
            self._in_caption = False
        elif tag == "tr":
            if self._row and self._row["cells"]:
                self.rows.append(self._row)
            self._row = None
        elif tag == "th":
            self._in_row_header = False
        elif tag == "td":
            self._cell = None
        elif tag == "div":
            self._element = None
        elif tag == "span":
            self._span = None

    def handle_data(self, data):
        if self._in_style and self.font_px is None and "font-size:" in data:
            self.font_px = int(data.split("font-size:")[1].split("px")[0])
        if self._in_caption:
            self.caption += data
        if self._in_row_header and self._row is not None:
            self._row["label"] += data
        if self._element is not None and self._span is not None:
            key = {"cm-label": "label", "cm-score": "score", "cm-status": "status"}[self._span]
            self._element[key] += data


def parsed(at, index: int = -1) -> MatrixParser:
    """The rendered matrix: the last HTML block (in presentation mode, the first is the current row)."""
    blocks = at.get("html")
    assert len(blocks) in (1, 2)
    parser = MatrixParser()
    parser.feed(blocks[index].proto.body)
    return parser


def cells_by_element(parser: MatrixParser) -> dict[str, dict]:
    return {eid: e for row in parser.rows for cell in row["cells"] for eid, e in cell.items()}


def assert_figure_6(parser: MatrixParser) -> None:
    actual = {}
    for row in parser.rows:
        for column_id, cell in zip(mx.COLUMN_IDS, row["cells"], strict=True):
            actual[(ROW_IDS[row["label"]], column_id)] = {e["label"] for e in cell.values()}
    assert actual == EXPECTED_CELLS


def score_text(value: float) -> str:
    return f"{value:.0f}"


def element_expectations(scores: dict[str, float | None]) -> dict[str, str]:
    """Element id -> the score text its cell must show (mean of its answered sub-dimensions), or status."""
    matrix = mx.load_matrix()
    ids = mx.resolve_subdimensions(matrix, {s.label: s.id for s in INSTRUMENT.subdimensions})
    out = {}
    for e in matrix.elements:
        if e.kind == "context":
            out[e.element_id] = mx.STATUS_CONTEXT
            continue
        values = [scores[s] for s in ids[e.element_id] if scores.get(s) is not None]
        out[e.element_id] = score_text(sum(values) / len(values)) if values else mx.STATUS_MISSING
    return out


def assert_colours(parser: MatrixParser, scores: dict[str, float | None]) -> None:
    cells = cells_by_element(parser)
    for element_id, expected in element_expectations(scores).items():
        cell = cells[element_id]
        if expected in (mx.STATUS_CONTEXT, mx.STATUS_MISSING):
            assert cell["score"] == "" and cell["status"].startswith(expected), element_id
        else:
            assert cell["score"] == expected, element_id


def demo_cpts(db) -> list[tuple[str, str]]:
    frame = pfx.query(db, "SELECT cpts_id, name FROM cpts WHERE register_id = 'demo' ORDER BY name, cpts_id")
    return list(zip(frame["cpts_id"], frame["name"], strict=True))


def test_default_is_the_national_distribution_with_every_element_of_figure_6_in_its_cell(app_env):
    user_db = config.user_database_path()
    for i in range(5):  # five more CPTS assessed, so that sub-dimensions reach the minimum of 5 answers
        pfx.submit_assessment(user_db, f"custom:test-{i}", f"CPTS test {i}", "demo", dt.datetime(2025, 2, 1 + i, 9))
    # Real CPTS enter the national distribution for someone logged in (the public sees demo data only).
    at = run_page(PAGE, token=sign_in("admin.matrice", ADMIN))
    assert at.radio(key="matrice_mode").value == "national"
    parser = parsed(at)
    assert_figure_6(parser)
    latest = [a.score_result for a in AssessmentStore(user_db).all_latest_submitted()]
    medians = {}
    for sub in INSTRUMENT.subdimensions:
        values = [r.subdimensions[sub.id].score for r in latest if r.subdimensions[sub.id].score is not None]
        medians[sub.id] = statistics.median(values) if len(values) >= MODEL.min_peers else None
    assert sum(m is not None for m in medians.values()) >= 10  # the national view does colour the matrix
    assert_colours(parser, medians)
    demo_count = sum(a.is_demo for a in AssessmentStore(user_db).all_latest_submitted())
    assert f"soumises : {len(latest)} CPTS, dont {demo_count} de démonstration" in parser.caption


def test_a_demo_cpts_coloured_by_its_latest_scores_with_its_answers(app_env):
    cpts_id, name = demo_cpts(app_env)[-1]
    submitted = pfx.submit_assessment(config.user_database_path(), cpts_id, name, "demo", dt.datetime(2025, 3, 1, 9))
    at = run_page(PAGE, {"cpts": cpts_id})
    at.radio(key="matrice_mode").set_value("cpts").run()
    parser = parsed(at)
    assert_figure_6(parser)
    assert_colours(parser, {sid: s["score"] for sid, s in submitted.scores["subdimensions"].items()})
    at.selectbox(key="matrice_element").set_value("gouvernance").run()
    questions = next(t.value for t in at.table if "N°" in t.value.columns)
    assert questions["N°"].tolist() == list(INSTRUMENT.subdimension("gouvernance").question_ids)
    answers = questions.set_index("N°")[f"Réponse de {name}"]
    for qid in answers.index:
        assert answers[qid] == (answer_text(INSTRUMENT.question(qid), submitted.answers) or "sans réponse")
    assert "cm-selected" in cells_by_element(parsed(at))["gouvernance"]["classes"]
    assert any("Ce qu'en dit la thèse" in m.value for m in at.markdown)


def test_user_data_on_postgresql_and_a_write_by_another_instance_shows_at_once(app_env, pg_location, monkeypatch):
    """The deployment setting points the whole app at PostgreSQL; an assessment submitted by another instance
    (another store on the same server) changes the store's counter, so the next run shows it."""
    monkeypatch.setenv(config.ENV_USER_DATABASE_URL, pg_location)
    cpts_id, name = demo_cpts(app_env)[-1]
    at = run_page(PAGE, {"cpts": cpts_id})  # the demo assessments are loaded into PostgreSQL
    at.radio(key="matrice_mode").set_value("cpts").run()
    demo = AssessmentStore(pg_location).latest_submitted(cpts_id)
    assert demo is not None and demo.is_demo
    assert_colours(parsed(at), {sid: s["score"] for sid, s in demo.scores["subdimensions"].items()})
    answers = pfx.full_answers("autre-instance", dt.date(2031, 1, 1))
    submitted = pfx.submit_assessment(pg_location, cpts_id, name, "demo", dt.datetime(2031, 1, 1, 9), answers=answers)
    assert submitted.scores["subdimensions"] != demo.scores["subdimensions"]  # the page has something to change
    at.run()
    assert_colours(parsed(at), {sid: s["score"] for sid, s in submitted.scores["subdimensions"].items()})
    assert not config.user_database_path().exists()  # the default DuckDB file was never needed


def test_a_demo_cpts_without_assessment_is_not_coloured(app_env):
    cpts_id, name = demo_cpts(app_env)[0]
    at = run_page(PAGE, {"cpts": cpts_id})
    AssessmentStore(config.user_database_path()).replace_demo_assessments([])
    at.radio(key="matrice_mode").set_value("cpts").run()
    assert f"« {name} » n'a soumis aucune auto-évaluation" in all_text(at)
    assert_colours(parsed(at), {})
    at.radio(key="matrice_mode").set_value("peer_median").run()
    assert "médiane des pairs" in all_text(at).lower()


def test_a_case_study_is_coloured_by_its_published_partial_answers(app_env):
    at = run_page(PAGE, {"cpts": "these-A"})
    assert at.selectbox(key="matrice_cpts_these-idf-2021").value == "these-A"
    at.radio(key="matrice_mode").set_value("cpts").run()
    answers = load_case_study_answers()["A"]
    result = score_assessment(INSTRUMENT, MODEL, answers, strict=False)
    parser = parsed(at)
    assert_figure_6(parser)
    assert_colours(parser, {sid: s.score for sid, s in result.subdimensions.items()})
    at.selectbox(key="matrice_element").set_value("ressources").run()
    questions = next(t.value for t in at.table if "N°" in t.value.columns).set_index("N°")
    column = next(c for c in questions.columns if c.startswith("Réponse de"))
    assert questions.at["Q12", column] == answer_text(INSTRUMENT.question("Q12"), answers)
    at.radio(key="matrice_mode").set_value("peer_median").run()
    assert "Pas de pairs pour une étude de cas" in all_text(at)


def test_an_imported_cpts_has_no_peers_nor_assessment(app_env, tmp_path, monkeypatch):
    import streamlit as st

    db, register_id = pfx.imported_db_copy(app_env, tmp_path / "import")
    monkeypatch.setenv(config.ENV_DB, str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    cpts_id = pfx.cpts_of(db, "CPTS du Val-Test")
    at = run_page(PAGE, {"registre": register_id, "cpts": cpts_id})
    assert_figure_6(parsed(at))
    at.radio(key="matrice_mode").set_value("peer_median").run()
    assert "indisponible : stade national inconnu" in all_text(at)
    at.radio(key="matrice_mode").set_value("cpts").run()
    assert "« CPTS du Val-Test » n'a soumis aucune auto-évaluation" in all_text(at)


def test_presentation_mode_steps_through_the_dimensions_in_large_type(app_env):
    at = run_page(PAGE, {"presentation": "1"})
    assert len(at.get("html")) == 2  # the current row in large type, then the whole matrix
    assert_figure_6(parsed(at))
    assert parsed(at).font_px == 14

    def step_state():
        heading = next(m.value for m in at.markdown if m.value.startswith("## "))
        slide = parsed(at, 0)
        assert slide.font_px == 22
        highlighted = [r["label"] for r in parsed(at).rows if "cm-highlight" in r["classes"]]
        return heading.splitlines()[0], [r["label"] for r in slide.rows], highlighted

    assert step_state() == ("## 1/3 · Structure", ["Structure"], ["Structure"])
    slide = cells_by_element(parsed(at, 0))
    assert set(slide) == {e.element_id for e in mx.load_matrix().elements if e.row == "structure"}
    at.button(key="matrice_next").click().run()
    assert step_state() == ("## 2/3 · Processus", ["Processus"], ["Processus"])
    at.button(key="matrice_previous").click().run()
    at.button(key="matrice_previous").click().run()
    assert step_state() == ("## 3/3 · Résultats", ["Résultats"], ["Résultats"])
    assert all(r["classes"] == {"cm-dimmed"} for r in parsed(at).rows if r["label"] != "Résultats")


def test_the_toggle_switches_presentation_mode_through_the_link(app_env):
    at = run_page(PAGE)
    assert not any(m.value.startswith("## 1/3") for m in at.markdown) and parsed(at).font_px == 14
    at.toggle(key="matrice_presentation").set_value(True).run()
    assert at.query_params["presentation"] == "1"
    assert parsed(at, 0).font_px == 22 and any(m.value.startswith("## 1/3") for m in at.markdown)
    at.toggle(key="matrice_presentation").set_value(False).run()
    assert "presentation" not in at.query_params and parsed(at).font_px == 14


@pytest.mark.parametrize("index", [0, -1])
def test_the_chosen_cpts_travels_in_the_link(app_env, index):
    cpts_id, _ = demo_cpts(app_env)[index]
    at = run_page(PAGE, {"cpts": cpts_id})
    assert at.selectbox(key="matrice_cpts_demo").value == cpts_id and at.query_params["cpts"] == cpts_id
