"""Accounts, sessions, throttling and the audit log, on both user-data backends (DuckDB file, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from observatory import accounts as ac
from observatory import audit
from observatory.userdb import UserDatabase

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self, start: datetime = datetime(2026, 12, 1, 9, 0)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def accounts(user_location, clock):
    store = ac.Accounts(UserDatabase(user_location), clock)
    store.create_schema()
    yield store
    store.db.close()


def test_passwords_are_salted_argon2_hashes(accounts):
    accounts.create_user("ars.paca", "ARS PACA", PASSWORD, ac.REGIONAL, regions=["93"])
    accounts.create_user("ars.bis", "ARS bis", PASSWORD, ac.REGIONAL, regions=["93"])
    hashes = [r["password_hash"] for r in accounts.db.read("SELECT password_hash FROM users ORDER BY login")]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]  # salted
    assert PASSWORD not in "".join(hashes)


def test_login_then_resume_then_logout(accounts):
    created = accounts.create_user("coord.nord", "Coordinatrice Nord", PASSWORD, ac.COORDINATOR, cpts_ids=["demo-0001"])
    session = accounts.login("Coord.Nord ", PASSWORD)
    assert session.caller == created and accounts.resume(session.token) == created
    stored = accounts.db.read("SELECT token_hash FROM sessions")
    assert stored and stored[0]["token_hash"] != session.token  # only a hash of the token is kept
    accounts.logout(session.token)
    assert accounts.resume(session.token) is None


@pytest.mark.parametrize(("advance", "alive"), [({"minutes": 29}, True), ({"minutes": 31}, False)])
def test_sessions_expire_when_idle(accounts, clock, advance, alive):
    accounts.create_user("membre", "Membre", PASSWORD, ac.MEMBER, cpts_ids=["demo-0001"])
    session = accounts.login("membre", PASSWORD)
    clock.advance(**advance)
    assert (accounts.resume(session.token) is not None) == alive


def test_sessions_end_after_their_lifetime_even_when_active(accounts, clock):
    accounts.create_user("membre", "Membre", PASSWORD, ac.MEMBER, cpts_ids=["demo-0001"])
    session = accounts.login("membre", PASSWORD)
    for _ in range(20):  # active every 25 minutes: 8 h 20 in all
        clock.advance(minutes=25)
        if accounts.resume(session.token) is None:
            break
    assert accounts.resume(session.token) is None and clock.now - datetime(2026, 12, 1, 9, 0) <= ac.SESSION_LIFETIME + timedelta(minutes=25)


def test_wrong_password_unknown_login_and_disabled_account_say_the_same(accounts):
    accounts.create_user("admin", "Administrateur", PASSWORD, ac.ADMIN)
    messages = []
    for login, password in (("admin", "mauvais mot de passe"), ("personne", PASSWORD)):
        with pytest.raises(ac.LoginRefused) as refused:
            accounts.login(login, password)
        messages.append(str(refused.value))
    accounts.set_active("admin", False)
    with pytest.raises(ac.LoginRefused) as refused:
        accounts.login("admin", PASSWORD)
    assert messages[0] == messages[1] == str(refused.value)


def test_throttling_after_five_failures_even_with_the_right_password(accounts, clock):
    accounts.create_user("cible", "Cible", PASSWORD, ac.MEMBER, cpts_ids=["demo-0001"])
    for _ in range(ac.MAX_FAILURES):
        with pytest.raises(ac.LoginRefused, match="incorrect"):
            accounts.login("cible", "devine")
    with pytest.raises(ac.LoginRefused, match="Trop de tentatives"):
        accounts.login("cible", PASSWORD)
    clock.advance(minutes=16)
    assert accounts.login("cible", PASSWORD).caller.role == ac.MEMBER


def test_a_role_change_or_a_reset_ends_open_sessions(accounts):
    accounts.create_user("lecteur", "Lecteur", PASSWORD, ac.REGIONAL, regions=["93"])
    first = accounts.login("lecteur", PASSWORD)
    accounts.set_role("lecteur", ac.REGIONAL, regions=["93", "84"])
    assert accounts.resume(first.token) is None
    second = accounts.login("lecteur", PASSWORD)
    assert second.caller.regions == ("93", "84")
    accounts.reset_password("lecteur", "un autre mot de passe long")
    assert accounts.resume(second.token) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"login": "x", "password": "court", "role": ac.ADMIN}, "trop court"),
        ({"login": "x", "password": PASSWORD, "role": "dieu"}, "inconnu"),
        ({"login": "x", "password": PASSWORD, "role": ac.REGIONAL}, "au moins une région"),
        ({"login": "x", "password": PASSWORD, "role": ac.MEMBER}, "rattaché à sa CPTS"),
        ({"login": "a b", "password": PASSWORD, "role": ac.ADMIN}, "pas d'espace"),
        ({"login": "x\u202ey", "password": PASSWORD, "role": ac.ADMIN}, "bidirectionnel"),
    ],
)
def test_bad_accounts_are_refused_in_french(accounts, kwargs, message):
    with pytest.raises(ac.AccountError, match=message):
        accounts.create_user(kwargs["login"], "Nom", kwargs["password"], kwargs["role"])


def test_a_login_is_taken_once(accounts):
    accounts.create_user("double", "Un", PASSWORD, ac.ADMIN)
    with pytest.raises(ac.AccountError, match="déjà pris"):
        accounts.create_user("DOUBLE", "Deux", PASSWORD, ac.ADMIN)


def test_every_login_attempt_and_account_change_is_audited_in_an_intact_chain(accounts):
    accounts.create_user("audit", "Audit", PASSWORD, ac.ADMIN)
    with pytest.raises(ac.LoginRefused):
        accounts.login("audit", "faux")
    session = accounts.login("audit", PASSWORD)
    accounts.logout(session.token)
    actions = [e.action for e in audit.entries(accounts.db)]
    assert actions == ["logout", "login", "login_failed", "user_created"]
    assert audit.verify_chain(accounts.db)[0]


def test_a_tampered_audit_row_is_detected(accounts):
    accounts.create_user("audit", "Audit", PASSWORD, ac.ADMIN)
    accounts.login("audit", PASSWORD)
    if accounts.db.backend == "postgresql":
        # Rules make UPDATE and DELETE no-ops on the server: the log cannot even be changed through SQL.
        accounts.db.write(lambda c: c.execute("UPDATE audit_log SET detail = 'effacé' WHERE seq = 1"))
        assert audit.verify_chain(accounts.db)[0]
        accounts.db.write(lambda c: c.execute("DROP RULE audit_log_no_update ON audit_log"))
    accounts.db.write(lambda c: c.execute("UPDATE audit_log SET detail = 'effacé' WHERE seq = 1"))
    intact, message = audit.verify_chain(accounts.db)
    assert not intact and "ligne 1" in message
