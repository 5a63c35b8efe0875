"""The printable one-page report (self-contained HTML, A4, radar as an embedded PNG)."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from html import unescape

import pytest

from observatory.instrument import load_instrument, load_scoring_model
from observatory.radar import radar_chart, radar_png
from observatory.report import assessment_report_html, report_file_name
from observatory.scoring import score_assessment, weakest_subdimensions
from observatory.self_assessment import live_assessment, radar_series, score_text

INSTRUMENT = load_instrument("1")
MODEL = load_scoring_model("1")
ANSWERS = {"Q2": "q2_fonctionnement", "Q3": ["q3_medecin_traitant"], "Q4": "q4_partiel", "Q12": "q12_21_30",
           "Q22": "q22_oui", "Q33": "q33_oui", "Q34": "q34_non", "Q41": "q41_satisfaits", "Q1": "03/2020"}
WHEN = datetime(2025, 3, 14, 9, 30)


def _assessment(name: str = "CPTS <Sud> & Co", is_demo: bool = False, submitted: bool = True):
    result = score_assessment(INSTRUMENT, MODEL, ANSWERS)
    a = live_assessment("x-1", name, "demo", ANSWERS, result, is_demo=is_demo, author="Dr Martin", now=WHEN)
    if submitted:
        a = type(a)(**{**a.__dict__, "status": "submitted", "submitted_at": WHEN})
    return a, result


@pytest.fixture(scope="module")
def png() -> bytes:
    _, result = _assessment()
    labels, series = radar_series(result, INSTRUMENT, "subdimensions", cpts_label="CPTS Sud")
    return radar_png(radar_chart(series, labels, "Profil"))


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_report_holds_the_page_content(png):
    assessment, result = _assessment()
    html = assessment_report_html(assessment, INSTRUMENT, MODEL, radar_png=png, generated_at=WHEN,
                                  register_name="Registre test", peer_message="médiane des pairs masquée : 2 pairs ont soumis (5 requis)")
    text = _text(html)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    assert "@page { size: A4 portrait" in html
    assert "CPTS <Sud> & Co" in text and "&lt;Sud&gt; &amp; Co" in html  # escaped, never raw HTML
    assert "Évaluation soumise le 14/03/2025 à 09:30" in text
    assert "Questionnaire v1" in text and "notation v1" in text
    assert result.maturity_label in text
    for sub in INSTRUMENT.subdimensions:
        assert sub.label in text
    for s in result.subdimensions.values():
        if s.score is not None:
            assert score_text(s.score) in text
    assert "Score global" in text and score_text(result.overall) in text
    for w in weakest_subdimensions(result, INSTRUMENT, 3):
        assert w.label in text and w.advice in text and w.section in text
    assert "Annexe 4" in text and "Tableau 8" in text and "Université de Paris" in text
    assert "médiane des pairs masquée : 2 pairs ont soumis (5 requis)" in text
    assert "Démonstration" not in text
    # the radar is embedded, self-contained: no external resource at all
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in html and "https://" not in html


def test_demo_and_draft_are_labelled():
    assessment, _ = _assessment(is_demo=True, submitted=False)
    html = assessment_report_html(assessment, INSTRUMENT, MODEL, radar_png=None, generated_at=WHEN)
    text = _text(html)
    assert "Démonstration : CPTS et réponses fictives" in text
    assert "Évaluation en cours, non soumise (état au 14/03/2025 à 09:30)" in text
    assert "<img" not in html  # no radar given, no broken image


def test_empty_assessment_has_no_weak_point_and_no_score():
    result = score_assessment(INSTRUMENT, MODEL, {})
    a = live_assessment("x", "Vide", None, {}, result, is_demo=False, author=None, now=WHEN)
    text = _text(assessment_report_html(a, INSTRUMENT, MODEL, radar_png=None, generated_at=WHEN))
    assert "Aucune sous-dimension notée pour l'instant." in text
    assert "Non déterminé" in text and "—" in text


def test_file_name_is_an_ascii_slug():
    assert report_file_name("CPTS Côte d'Émeraude / Sud", WHEN) == "rapport-auto-evaluation-cpts-cote-d-emeraude-sud-2025-03-14.html"
