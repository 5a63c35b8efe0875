"""Every page opened as each role on a real (imported) register: what must not be visible or writable is not.

CPTS X has a submitted assessment it did not share; CPTS Y shared its own with the ARS. The register's
communes are in région 84. Roles: the public, a member and the coordinator of X, the ARS of région 84, the
ARS of région 93, an administrator.
"""

from __future__ import annotations

import datetime as dt

import pytest

from observatory import config
from observatory.accounts import ADMIN, COORDINATOR, MEMBER, REGIONAL
from observatory.assessments import AssessmentStore
from tests import profile_fixtures as pfx
from tests.apphelpers import all_text, run_page, sign_in

X_NAME, Y_NAME = "CPTS du Plateau-Test", "CPTS du Val-Test"
ROLES = ("public", "membre X", "coordinateur X", "ARS 84", "ARS 93", "admin")


@pytest.fixture()
def real_register(app_env, tmp_path, monkeypatch):
    import streamlit as st

    db, register_id = pfx.imported_db_copy(app_env, tmp_path / "import")
    monkeypatch.setenv(config.ENV_DB, str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    x, y = pfx.cpts_of(db, X_NAME), pfx.cpts_of(db, Y_NAME)
    user_db = config.user_database_path()
    pfx.submit_assessment(user_db, x, X_NAME, register_id, dt.datetime(2025, 4, 1, 9, 0))
    shared = pfx.submit_assessment(user_db, y, Y_NAME, register_id, dt.datetime(2025, 4, 2, 9, 0))
    AssessmentStore(user_db).set_shared(shared.assessment_id, True)
    tokens = {
        "public": None,
        "membre X": sign_in("membre.x", MEMBER, cpts_ids=(x,)),
        "coordinateur X": sign_in("coord.x", COORDINATOR, cpts_ids=(x,)),
        "ARS 84": sign_in("ars.84", REGIONAL, regions=("84",)),
        "ARS 93": sign_in("ars.93", REGIONAL, regions=("93",)),
        "admin": sign_in("admin.roles", ADMIN),
    }
    return register_id, x, y, tokens


def open_as(register, role: str, page: str, **query):
    register_id, _, _, tokens = register
    return run_page(page, {"registre": register_id, **query}, token=tokens[role])


def sees_assessment(at) -> bool:
    return "Dernière évaluation soumise le" in all_text(at)


@pytest.mark.parametrize("role", ROLES)
def test_fiche_cpts(real_register, role):
    _, x, y, _ = real_register
    sees_x = sees_assessment(open_as(real_register, role, "pages/fiche-cpts.py", cpts=x))
    sees_y = sees_assessment(open_as(real_register, role, "pages/fiche-cpts.py", cpts=y))
    assert sees_x == (role in ("membre X", "coordinateur X", "admin"))
    assert sees_y == (role in ("ARS 84", "admin"))  # Y shared its assessment with its ARS only


@pytest.mark.parametrize("role", ROLES)
def test_auto_evaluation(real_register, role):
    _, x, _, _ = real_register
    at = open_as(real_register, role, "pages/auto-evaluation.py", cpts=x)
    answers = any(w.key and w.key.startswith(f"ae|{x}|") for w in at.radio)
    submit = any(b.label == "Soumettre…" for b in at.button)
    assert answers == (role in ("membre X", "coordinateur X"))
    assert submit == (role == "coordinateur X")
    if not answers:
        assert "Pour répondre" in all_text(at) or "ne permet pas de répondre" in all_text(at)


@pytest.mark.parametrize("role", ROLES)
def test_campagne(real_register, role):
    _, x, _, _ = real_register
    text = all_text(open_as(real_register, role, "pages/campagne.py", cpts=x))
    assert ("Accès réservé" in text) == (role in ("public", "ARS 84", "ARS 93"))


@pytest.mark.parametrize("role", ROLES)
def test_matrice_coloured_by_a_cpts(real_register, role):
    _, x, _, _ = real_register
    at = open_as(real_register, role, "pages/matrice.py", cpts=x)
    at.radio(key="matrice_mode").set_value("cpts").run()
    text = all_text(at)
    coloured = "n'est pas colorée" not in text
    assert coloured == (role in ("membre X", "coordinateur X", "admin"))
    assert "n'a soumis aucune auto-évaluation" not in text  # a hidden assessment is never said not to exist


@pytest.mark.parametrize("role", ROLES)
def test_synthese(real_register, role):
    text = all_text(open_as(real_register, role, "pages/synthese.py"))
    reserved = "Synthèse réservée" in text or "Aucune région de ce registre dans le périmètre" in text
    assert reserved == (role not in ("ARS 84", "admin"))


@pytest.mark.parametrize("role", ROLES)
def test_administration(real_register, role):
    text = all_text(open_as(real_register, role, "pages/administration.py"))
    assert ("Journal d'audit" in text) == (role == "admin")
