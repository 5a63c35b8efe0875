"""Local accounts in Debian's Chromium on a fresh server: log in from the sidebar, log out, a session that
went idle ends, and five wrong passwords block the account for a while."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from observatory import accounts as ac
from observatory import config
from observatory.assessments import AssessmentStore
from tests.browser.harness import browser_page, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
PASSWORD = "un mot de passe assez long"


def log_in(page, login: str, password: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    if sidebar.get_by_label("Identifiant").count() == 0 or not sidebar.get_by_label("Identifiant").first.is_visible():
        sidebar.get_by_text("Se connecter", exact=True).first.click()
    sidebar.get_by_label("Identifiant").first.fill(login)
    sidebar.get_by_label("Mot de passe").first.fill(password)
    sidebar.get_by_role("button", name="Se connecter").first.click()
    wait_for_app(page)


def test_login_logout_expiry_and_throttling(tiny_db, tmp_path):
    user_db = tmp_path / "evaluations.duckdb"
    store = ac.Accounts(AssessmentStore(user_db).db)
    store.create_user("coord.test", "Claire Coordinatrice", PASSWORD, ac.COORDINATOR, cpts_ids=["demo-0001"])
    store.create_user("cible.test", "Compte visé", PASSWORD, ac.MEMBER, cpts_ids=["demo-0002"])
    store.db.close()
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(user_db)}
    with streamlit_server(env) as base, browser_page(width=1280, height=900) as (page, log):
        page.goto(f"{base}/accueil")
        wait_for_app(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Non connecté").first.wait_for(timeout=30000)

        log_in(page, "coord.test", PASSWORD)
        sidebar.get_by_text("Claire Coordinatrice").first.wait_for(timeout=30000)
        assert "coordinateur de CPTS" in sidebar.inner_text()
        screenshot(page, "connexion-connecte")

        sidebar.get_by_role("button", name="Se déconnecter").click()
        wait_for_app(page)
        sidebar.get_by_text("Non connecté").first.wait_for(timeout=30000)

        # Idle for longer than the session allows (the store's clock is moved back, as 31 minutes would).
        log_in(page, "coord.test", PASSWORD)
        sidebar.get_by_text("Claire Coordinatrice").first.wait_for(timeout=30000)
        con = duckdb.connect(str(user_db))
        con.execute("UPDATE sessions SET last_seen_at = ?", [dt.datetime.now() - dt.timedelta(minutes=31)])
        con.close()
        page.get_by_role("link", name="Méthode").first.click()
        wait_for_app(page)
        sidebar.get_by_text("Votre session a expiré").first.wait_for(timeout=30000)
        assert "Claire Coordinatrice" not in sidebar.inner_text()

        # Five wrong passwords, then even the right one is refused for a while.
        for _ in range(ac.MAX_FAILURES):
            log_in(page, "cible.test", "pas le bon mot de passe")
            sidebar.get_by_text("Identifiant ou mot de passe incorrect").first.wait_for(timeout=30000)
        log_in(page, "cible.test", PASSWORD)
        sidebar.get_by_text("Trop de tentatives").first.wait_for(timeout=30000)
        screenshot(page, "connexion-bloquee")
        assert log.unexpected() == []
    actions = [e.action for e in __import__("observatory.audit", fromlist=["entries"]).entries(
        AssessmentStore(user_db).db)]
    assert actions.count("login_failed") == ac.MAX_FAILURES and "login_throttled" in actions
    assert {"login", "logout", "session_expired"} <= set(actions)
