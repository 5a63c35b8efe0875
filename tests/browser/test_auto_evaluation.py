"""Real browser: answer a few questions of the self-assessment, see the live score move, save the draft,
then open the page again in a NEW browser context (fresh profile, new session) and find the answers."""

from __future__ import annotations

import re

import pytest

from observatory import config
from observatory.assessments import AssessmentStore
from observatory.instrument import latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import drop_non_applicable, score_assessment
from observatory.self_assessment import score_text
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

MODEL = load_scoring_model(latest_scoring_version())
INSTRUMENT = load_instrument(MODEL.instrument_version)
CPTS_ID = "demo-0001"


def _open(page, base: str) -> None:
    """Deep link to the CPTS, as a shared link would be opened."""
    page.goto(f"{base}/auto-evaluation?cpts={CPTS_ID}")
    wait_for_app(page, timeout_ms=60000)
    page.get_by_role("heading", name="Auto-évaluation de la CPTS").first.wait_for(timeout=30000)
    page.get_by_text("Scores en direct").first.wait_for(timeout=30000)
    _question(page, "stTextInput", 1).locator("input").wait_for(timeout=30000)
    wait_for_app(page)


def _question(page, testid: str, number: int):
    return page.locator(f'[data-testid="{testid}"]').filter(has_text=re.compile(rf"^Q{number}\. "))


def _overall(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Score global").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_answers_are_saved_and_found_in_a_new_browser_context(tiny_db, tmp_path):
    user_db = tmp_path / "evaluations.duckdb"
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(user_db)}
    with streamlit_server(env) as base:
        with browser_page(height=1400) as (page, log):
            _open(page, base)
            latest = AssessmentStore(user_db).latest_submitted(CPTS_ID)  # demo answers pre-fill the page
            assert latest is not None
            q4_options = dict(zip(INSTRUMENT.question("Q4").option_ids, (o.label for o in INSTRUMENT.question("Q4").options), strict=False))
            new_q4 = next(o for o in ("q4_total", "q4_insuffisant") if o != latest.answers.get("Q4"))
            new_q2 = "q2_ingenierie" if latest.answers.get("Q2") != "q2_ingenierie" else "q2_fonctionnement"
            q2_label = INSTRUMENT.question("Q2").option(new_q2).label

            _question(page, "stRadio", 4).get_by_text(q4_options[new_q4], exact=True).click()
            wait_for_app(page)
            _question(page, "stRadio", 2).get_by_text(q2_label, exact=True).click()
            wait_for_app(page)
            date_input = _question(page, "stTextInput", 1).locator("input")
            date_input.fill("04/2019")
            date_input.press("Enter")
            wait_for_app(page)

            answers = drop_non_applicable(INSTRUMENT, {**latest.answers, "Q1": "04/2019", "Q2": new_q2, "Q4": new_q4})
            expected = score_assessment(INSTRUMENT, MODEL, answers, strict=False)
            assert _overall(page) == score_text(expected.overall)  # the live score follows the answers

            page.get_by_role("button", name="Enregistrer le brouillon").click()
            wait_for_app(page)
            page.get_by_text("Brouillon enregistré.").first.wait_for(timeout=30000)
            screenshot(page, "auto-evaluation-answered-and-saved")

            # Exports of the answers being edited, generated on click (deferred download buttons).
            with page.expect_download(timeout=60000) as csv_download:
                page.get_by_role("button", name="Télécharger les réponses et scores (CSV)").click()
            csv_text = open(csv_download.value.path(), encoding="utf-8-sig").read()
            assert csv_text.startswith("Rubrique;Identifiant;Dimension")
            assert f"Q4;Structure;Niveau de maturité;{INSTRUMENT.question('Q4').text};{q4_options[new_q4]};" in csv_text
            with page.expect_download(timeout=60000) as report_download:
                page.get_by_role("button", name=re.compile("^Télécharger le rapport imprimable")).click()
            assert report_download.value.suggested_filename.startswith("rapport-auto-evaluation-demo-cpts-du-secteur")
            report = open(report_download.value.path(), encoding="utf-8").read()
            assert report.startswith("<!DOCTYPE html>") and latest.cpts_name in report
            assert "data:image/png;base64," in report and "Démonstration : CPTS et réponses fictives" in report
            assert f"{score_text(expected.overall)}</td>" in report
            assert log.unexpected() == []

        draft = AssessmentStore(user_db).load_draft(CPTS_ID)
        assert draft is not None and draft.answers["Q4"] == new_q4 and draft.answers["Q1"] == "04/2019"

        with browser_page(height=1400) as (page, log):  # a new browser context: nothing shared but the server
            _open(page, base)
            page.get_by_text("Brouillon enregistré le").first.wait_for(timeout=30000)
            assert _question(page, "stTextInput", 1).locator("input").input_value() == "04/2019"
            assert _question(page, "stRadio", 4).get_by_role("radio", name=q4_options[new_q4]).is_checked()
            assert _question(page, "stRadio", 2).get_by_role("radio", name=q2_label).is_checked()
            assert _overall(page) == score_text(expected.overall)
            vega = page.locator('[data-testid="stVegaLiteChart"]').first
            vega.wait_for(timeout=30000)
            assert vega.bounding_box()["width"] > 300  # the radar is drawn, not collapsed
            screenshot(page, "auto-evaluation-reloaded-new-context")
            assert log.unexpected() == []
