"""The « Administration » page: reserved to administrators; accounts listed, the audit log verified and
exportable, hostile text in the log shown as text."""

from __future__ import annotations

from observatory.accounts import ADMIN, COORDINATOR
from tests.apphelpers import all_text, run_page, sign_in

PAGE = "pages/administration.py"


def test_the_page_is_reserved_to_administrators(app_env):
    for token in (None, sign_in("coord.x", COORDINATOR, cpts_ids=("demo-0001",))):
        at = run_page(PAGE, token=token)
        text = all_text(at)
        assert "Page réservée aux administrateurs" in text and "Journal d'audit" not in text
        assert not at.dataframe


def test_an_administrator_sees_accounts_and_an_intact_audit_log(app_env):
    sign_in("coord.y", COORDINATOR, cpts_ids=("demo-0002",))
    at = run_page(PAGE, token=sign_in("admin.z", ADMIN))
    text = all_text(at)
    assert "Journal d'audit" in text and "journal intact" in text
    accounts = next(d.value for d in at.dataframe if "Identifiant" in d.value.columns)
    assert {"coord.y", "admin.z"} <= set(accounts["Identifiant"])
    log = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert {"compte créé", "connexion"} <= set(log["Action"])
    assert at.get("download_button")
