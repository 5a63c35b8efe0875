"""Real browser: a campaign with three members of different professions, a split item, the consensus, a
plan with two actions, and the XLSX workbook downloaded and opened with openpyxl."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from observatory import config
from observatory.assessments import AssessmentStore
from observatory.campaign_store import CampaignStore
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

PORT = 8613  # the range given to this branch's servers (8610-8619)
TARGET = "these-B"  # a thesis case study: no demo campaign there
MEMBERS = (("Dr Martin", "Médecin", "Présidence", "Oui"), ("Inès Petit", "Infirmier ou infirmière", "Membre du bureau", "Non"),
           ("Paul Roy", "Pharmacien ou pharmacienne", "Adhérent ou adhérente", "Non"))


def choose(page, container, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` inside ``container``."""
    box = container.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    choice = page.get_by_role("option", name=option, exact=True).first
    for _ in range(3):  # right after typing in a text input, the first click may only move the focus
        box.click()
        try:
            choice.wait_for(timeout=3000)
            break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: click again
            continue
    choice.click()


def radio(page, number: int, label: str) -> None:
    question = page.locator('[data-testid="stRadio"]').filter(has_text=re.compile(rf"^Q{number}\. "))
    question.get_by_text(label, exact=True).click()
    wait_for_app(page)


def open_expander(page, text: str) -> None:
    """Open the expander whose header holds ``text`` unless it is open already (it stays open across reruns).
    A click that lands while the page is still rerunning can be lost on a loaded machine: click again."""
    expander = page.locator('[data-testid="stExpander"]').filter(has=page.locator("summary", has_text=text)).first
    expander.wait_for(timeout=30000)
    for _ in range(4):
        if expander.locator("details[open]").count():
            break
        expander.locator("summary").first.click()
        wait_for_app(page)
        try:
            expander.locator("details[open]").first.wait_for(timeout=10000)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: click again
            continue
    expander.locator("details[open]").first.wait_for(timeout=30000)


def add_member(page, form, name: str, profession: str, role: str) -> None:
    field = form.get_by_label("Nom et prénom")
    field.wait_for(state="visible", timeout=30000)
    field.fill(name)
    choose(page, form, "Profession", profession)
    choose(page, form, "Rôle dans la CPTS", role)
    form.get_by_role("button", name="Enregistrer ce membre").click()
    wait_for_app(page)


def test_campaign_consensus_plan_and_xlsx(tiny_db, tmp_path):
    user_db = tmp_path / "evaluations.duckdb"
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(user_db)}
    with streamlit_server(env, port=PORT) as base, browser_page(width=1440, height=900) as (page, log):
        page.goto(f"{base}/campagne?cpts={TARGET}")
        wait_for_app(page, timeout_ms=60000)
        page.get_by_role("heading", name="Auto-évaluation collective").first.wait_for(timeout=30000)

        # A coordinator opens the campaign.
        lead_form = page.locator('[data-testid="stMain"] [data-testid="stForm"]').first  # the sidebar holds the login form
        add_member(page, lead_form, "Claire Coordinatrice", "Coordinateur ou coordinatrice", "Coordination de la CPTS")
        page.get_by_text("Membre enregistré").first.wait_for(timeout=30000)
        choose(page, page, "Coordinateur de la campagne", "Claire Coordinatrice — Coordinateur ou coordinatrice (Coordination de la CPTS)")
        wait_for_app(page)
        page.get_by_role("button", name="Ouvrir la campagne").click()
        wait_for_app(page)
        page.get_by_text("ouverte.").first.wait_for(timeout=30000)

        # Three members of different professions answer; Q22 splits them.
        for name, profession, role, q22 in MEMBERS:
            open_expander(page, "Je ne suis pas dans la liste")
            member_form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_label("Nom et prénom")).last
            add_member(page, member_form, name, profession, role)
            page.get_by_text(f"vous répondez au nom de {name}").first.wait_for(timeout=30000)
            radio(page, 2, "CPTS en fonctionnement")
            open_expander(page, "Ressources")
            radio(page, 14, "Oui, déjà recruté(e)")
            open_expander(page, "Système d'information et communication")
            radio(page, 22, q22)
            page.get_by_role("button", name="Soumettre mes réponses").click()
            wait_for_app(page)
            page.get_by_text("Réponses soumises").first.wait_for(timeout=30000)

        # Distribution: the split item, by profession.
        page.get_by_text("2. Répartition et avis partagés", exact=True).click()
        wait_for_app(page)
        page.get_by_text("Questions aux avis partagés (1)").first.wait_for(timeout=30000)
        detail = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=re.compile(r"« Oui » : 1 \(Médecin\) ; « Non » : 2"))
        detail.first.wait_for(timeout=30000)  # the detailed question's caption: Q22, split by profession
        assert "Avis partagés (écart de 100 points)" in detail.first.inner_text()
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30000)
        screenshot(page, "campagne-repartition")

        # Consensus, validated as the CPTS's assessment.
        page.get_by_text("3. Consensus", exact=True).click()
        wait_for_app(page)
        page.locator('[data-testid="stCaptionContainer"]').filter(has_text=re.compile("⚠ 3 réponses")).first.wait_for(timeout=30000)
        screenshot(page, "campagne-consensus")
        page.get_by_role("button", name="Valider le consensus et soumettre l'évaluation de la CPTS").click()
        wait_for_app(page)
        page.get_by_text("Consensus validé").first.wait_for(timeout=30000)

        # Plan: a suggested action, then a free one.
        page.get_by_text("4. Plan d'amélioration", exact=True).click()
        wait_for_app(page)
        page.get_by_role("button", name="Ajouter l'action au plan").click()
        wait_for_app(page)
        page.get_by_text("Action ajoutée au plan.").first.wait_for(timeout=30000)
        choose(page, page, "Partir de", "Action libre")
        wait_for_app(page)
        form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_label("Moyens")).first
        form.get_by_label("Action", exact=True).fill("Soirée d'accueil des nouveaux adhérents")
        form.get_by_role("button", name="Ajouter l'action au plan").click()
        wait_for_app(page)
        page.get_by_text("Action ajoutée au plan.").first.wait_for(timeout=30000)
        screenshot(page, "campagne-plan")

        # Export: the workbook, opened with openpyxl.
        page.get_by_text("5. Exports", exact=True).click()
        wait_for_app(page)
        with page.expect_download(timeout=60000) as download:
            page.get_by_role("button", name="Télécharger le classeur (XLSX)").click()
        assert download.value.suggested_filename.startswith("campagne-cpts-b-etude-de-cas-de-la-these-auto-evaluation-2026-")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        workbook = load_workbook(saved)
        assert log.unexpected() == []

    people = list(workbook["Répondants"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[1]) for r in people] == [(n, p) for n, p, _, _ in MEMBERS]
    plan = list(workbook["Plan d'amélioration"].iter_rows(values_only=True))[1:]
    assert len(plan) == 2 and plan[1][0] == "Soirée d'accueil des nouveaux adhérents"
    answers = {r[0]: r for r in workbook["Réponses retenues"].iter_rows(values_only=True)}
    assert answers["Q22"][4] == "Non" and "oui" in answers["Q22"]  # agreed answer, split flag
    store = CampaignStore(AssessmentStore(user_db))
    campaign = store.campaigns(TARGET)[0]
    assert campaign.status == "closed" and store.base.get(campaign.assessment_id).campaign_id == campaign.campaign_id
    assert len(store.responses(campaign.campaign_id, submitted_only=True)) == 3
