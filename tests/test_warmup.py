"""The server's warm-up (``serve.py`` → ``ui.warmup``) on the tiny database: every step succeeds, and the first
visitor's Couverture and Fiche CPTS then read the expensive parts (maps, assessment view) from the caches
instead of computing them. A page whose calls drifted from the warm-up's (another signature, another
CPTS) would compute again here, and the test fails."""

from __future__ import annotations

import logging

import pytest
from streamlit.runtime.pages_manager import PagesManager

from observatory import coverage_map, maps, profile
from tests.apphelpers import all_text, run_page
from ui import warmup


@pytest.fixture()
def warmed(app_env, monkeypatch, caplog):
    # The map component is registered with a running server only; the multipage switch is a class attribute
    # that must not leak into the other AppTests.
    monkeypatch.setattr("ui.map_component.register_component", lambda: None)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", PagesManager.uses_pages_directory)
    with caplog.at_level(logging.INFO, logger=warmup.LOG.name):
        timings = warmup.warm_up()
        prepared = warmup.warm_dates()
    return timings, prepared, caplog


def _refuse(name: str):
    def refused(*_args, **_kwargs):
        raise AssertionError(f"{name} computed again after the warm-up")

    return refused


def test_every_step_succeeds(warmed):
    timings, prepared, caplog = warmed
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
    assert {"registres", "évaluations de démonstration", "carte (fond)", "carte (vue France)",
            "fiche CPTS par défaut"} <= set(timings)
    assert prepared > 1  # every date of the France view, then the areas


def test_first_visitor_reads_the_warmed_caches(warmed, monkeypatch):
    monkeypatch.setattr(coverage_map, "base_map", _refuse("coverage base map"))
    monkeypatch.setattr(coverage_map, "view_script", _refuse("coverage view"))
    monkeypatch.setattr(maps, "cpts_profile_map", _refuse("Fiche CPTS map"))
    monkeypatch.setattr(profile, "assessment_view", _refuse("Fiche CPTS assessment view"))

    couverture = run_page("pages/couverture.py")
    assert not couverture.error, [e.value for e in couverture.error]
    fiche = run_page("pages/fiche-cpts.py")
    assert not fiche.error, [e.value for e in fiche.error]
    assert "Auto-évaluation" in all_text(fiche)
