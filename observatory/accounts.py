"""Accounts, roles, sessions and login throttling, with no external service.

Roles (what each may see and do is decided in :mod:`observatory.access`):

* ``admin``: registers, users, imports, campaigns, the audit log;
* ``regional_viewer`` (ARS, CPAM) of one or several régions: maps, registers, the région's aggregated
  maturity results, and individual assessments only where the CPTS shared them;
* ``cpts_coordinator`` and ``cpts_member`` of their own CPTS: answer; consensus and plan for coordinators;
  history; anonymous peer medians;
* ``public``: anyone not logged in — maps, methods and demo data. The embedded demo needs no login.

Passwords are hashed with Argon2id (argon2-cffi, salted, memory-hard). A session is a random token
that only its holder knows; the store keeps its SHA-256, an idle timeout and an absolute lifetime.
After :data:`MAX_FAILURES` failed attempts within :data:`THROTTLE_WINDOW` a login is refused, without
checking the password, until the window has passed; each attempt is in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from observatory import audit
from observatory.safe_text import clean_name
from observatory.userdb import Cursor, DuplicateKey, UserDatabase, UserDataError

ADMIN, REGIONAL, COORDINATOR, MEMBER, PUBLIC = "admin", "regional_viewer", "cpts_coordinator", "cpts_member", "public"
ROLES = {
    ADMIN: "administrateur",
    REGIONAL: "lecteur régional (ARS, CPAM)",
    COORDINATOR: "coordinateur de CPTS",
    MEMBER: "membre de CPTS",
}
MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)
_TOUCH_EVERY = timedelta(minutes=1)
# Argon2id, the library's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4): about 0.1 s here.
_HASHER = PasswordHasher()
# A hash to verify against when the login is unknown, so that both cases take the same time.
_DUMMY_HASH = _HASHER.hash("compte inexistant : temps constant")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        user_id VARCHAR PRIMARY KEY,
        login VARCHAR NOT NULL UNIQUE,
        display_name VARCHAR NOT NULL,
        password_hash VARCHAR,
        role VARCHAR NOT NULL,
        regions VARCHAR NOT NULL DEFAULT '',
        cpts_ids VARCHAR NOT NULL DEFAULT '',
        person_id VARCHAR,
        external_subject VARCHAR,
        is_active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash VARCHAR PRIMARY KEY,
        user_id VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        last_seen_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS login_attempts (
        login VARCHAR NOT NULL,
        occurred_at TIMESTAMP NOT NULL,
        succeeded BOOLEAN NOT NULL
    )""",
)


class AccountError(UserDataError):
    """A refused account operation (French message)."""


class LoginRefused(AccountError):
    """Wrong login or password, disabled account, or throttled (the message does not say which login exists)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking. Every data-access function takes one; pages get it from the frame."""

    user_id: str | None
    label: str
    role: str
    regions: tuple[str, ...] = ()
    cpts_ids: tuple[str, ...] = ()
    person_id: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.role != PUBLIC

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, "public (non connecté)")


ANONYMOUS = Caller(None, "visiteur non connecté", PUBLIC)
SYSTEM = Caller("systeme", "application (chargement des données de démonstration)", ADMIN)


@dataclass(frozen=True)
class Session:
    token: str  # known only to the browser session that logged in
    caller: Caller
    expires_at: datetime


@dataclass
class Accounts:
    """Accounts and sessions in a user-data database (DuckDB file or PostgreSQL)."""

    db: UserDatabase
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().replace(microsecond=0))

    def create_schema(self) -> None:
        def operation(cursor: Cursor) -> None:
            for statement in SCHEMA:
                cursor.execute(self.db.ddl(statement))
            audit.create_schema(self.db, cursor)

        self.db.write(operation)

    # -- administration (command line and admin page) ----------------------------------------------------

    def create_user(self, login: str, display_name: str, password: str, role: str, *, regions: Sequence[str] = (),
                    cpts_ids: Sequence[str] = (), person_id: str | None = None, actor: Caller = SYSTEM) -> Caller:
        login = _checked_login(login)
        name = _checked(display_name, "nom affiché")
        _check_password(password)
        _check_role(role, regions, cpts_ids)
        now = self.clock()
        user_id = f"u-{uuid.uuid4().hex[:12]}"

        def operation(cursor: Cursor) -> Caller:
            try:
                cursor.execute(
                    "INSERT INTO users (user_id, login, display_name, password_hash, role, regions, cpts_ids, person_id,"
                    " is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?)",
                    [user_id, login, name, _HASHER.hash(password), role, ",".join(regions), ",".join(cpts_ids),
                     person_id, now, now],
                )
            except DuplicateKey as exc:
                raise AccountError(f"l'identifiant « {login} » est déjà pris") from exc
            audit.append(self.db, cursor, now, "user_created", actor_id=actor.user_id, actor_label=actor.label,
                         target=login, detail=f"rôle : {ROLES[role]}{_scope_text(regions, cpts_ids)}")
            return Caller(user_id, name, role, tuple(regions), tuple(cpts_ids), person_id)

        return self.db.write(operation)

    def reset_password(self, login: str, password: str, actor: Caller = SYSTEM) -> None:
        _check_password(password)
        now = self.clock()

        def operation(cursor: Cursor) -> None:
            user = self._user_row(cursor, login)
            cursor.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE user_id = ?",
                           [_HASHER.hash(password), now, user["user_id"]])
            cursor.execute("DELETE FROM sessions WHERE user_id = ?", [user["user_id"]])  # old sessions end
            audit.append(self.db, cursor, now, "password_reset", actor_id=actor.user_id, actor_label=actor.label,
                         target=user["login"])

        self.db.write(operation)

    def set_role(self, login: str, role: str, *, regions: Sequence[str] = (), cpts_ids: Sequence[str] = (),
                 actor: Caller = SYSTEM) -> None:
        _check_role(role, regions, cpts_ids)
        now = self.clock()

        def operation(cursor: Cursor) -> None:
            user = self._user_row(cursor, login)
            cursor.execute("UPDATE users SET role = ?, regions = ?, cpts_ids = ?, updated_at = ? WHERE user_id = ?",
                           [role, ",".join(regions), ",".join(cpts_ids), now, user["user_id"]])
            cursor.execute("DELETE FROM sessions WHERE user_id = ?", [user["user_id"]])  # rights apply at once
            audit.append(self.db, cursor, now, "role_changed", actor_id=actor.user_id, actor_label=actor.label,
                         target=user["login"],
                         detail=f"{ROLES.get(user['role'], user['role'])} → {ROLES[role]}{_scope_text(regions, cpts_ids)}")

        self.db.write(operation)

    def set_active(self, login: str, active: bool, actor: Caller = SYSTEM) -> None:
        now = self.clock()

        def operation(cursor: Cursor) -> None:
            user = self._user_row(cursor, login)
            cursor.execute("UPDATE users SET is_active = ?, updated_at = ? WHERE user_id = ?",
                           [active, now, user["user_id"]])
            if not active:
                cursor.execute("DELETE FROM sessions WHERE user_id = ?", [user["user_id"]])
                audit.append(self.db, cursor, now, "user_disabled", actor_id=actor.user_id, actor_label=actor.label,
                             target=user["login"])

        self.db.write(operation)

    def list_users(self) -> list[dict]:
        return self.db.read("SELECT login, display_name, role, regions, cpts_ids, is_active, created_at, updated_at "
                            "FROM users ORDER BY login")

    @staticmethod
    def _user_row(cursor: Cursor, login: str) -> dict:
        rows = cursor.execute("SELECT * FROM users WHERE login = ?", [str(login).strip().lower()])
        if not rows:
            raise AccountError(f"aucun compte « {str(login)[:80]} »")
        return rows[0]

    # -- login, sessions -----------------------------------------------------------------------------

    def login(self, login: str, password: str) -> Session:
        """A new session, or :class:`LoginRefused` (same message whatever is wrong, except throttling)."""
        login = str(login or "").strip().lower()[:120]
        now = self.clock()
        since = now - THROTTLE_WINDOW
        failures = self.db.read("SELECT count(*) AS n FROM login_attempts WHERE login = ? AND occurred_at > ? AND NOT succeeded",
                                [login, since])[0]["n"]
        if failures >= MAX_FAILURES:
            self.db.write(lambda c: audit.append(self.db, c, now, "login_throttled", "refusé", actor_label=login,
                                                 target=login))
            minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
            raise LoginRefused(f"Trop de tentatives de connexion échouées pour ce compte : réessayez dans {minutes} "
                               "minutes, ou demandez à l'administrateur de réinitialiser le mot de passe.")
        rows = self.db.read("SELECT * FROM users WHERE login = ?", [login])
        user = rows[0] if rows else None
        valid = _verify(user["password_hash"] if user and user["password_hash"] else _DUMMY_HASH, password or "")
        if not (user and valid and user["is_active"]):
            def failed(cursor: Cursor) -> None:
                cursor.execute("INSERT INTO login_attempts (login, occurred_at, succeeded) VALUES (?, ?, FALSE)", [login, now])
                audit.append(self.db, cursor, now, "login_failed", "refusé", actor_label=login, target=login,
                             detail="compte désactivé" if user and valid else "identifiant ou mot de passe incorrect")

            self.db.write(failed)
            raise LoginRefused("Identifiant ou mot de passe incorrect (ou compte désactivé).")
        token = secrets.token_urlsafe(32)
        caller = _caller(user)
        expires = now + SESSION_LIFETIME

        def succeeded(cursor: Cursor) -> None:
            cursor.execute("INSERT INTO login_attempts (login, occurred_at, succeeded) VALUES (?, ?, TRUE)", [login, now])
            cursor.execute("DELETE FROM login_attempts WHERE login = ? AND NOT succeeded", [login])
            cursor.execute("DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", [now, now - SESSION_IDLE])
            cursor.execute("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)"
                           " VALUES (?, ?, ?, ?, ?)", [_token_hash(token), user["user_id"], now, now, expires])
            audit.append(self.db, cursor, now, "login", actor_id=user["user_id"], actor_label=user["display_name"],
                         target=login)

        self.db.write(succeeded)
        return Session(token, caller, expires)

    def resume(self, token: str | None) -> Caller | None:
        """The identity of a live session (and its idle timer restarted), or ``None`` when it has expired,
        was ended, or its account was disabled or changed since. Called at every page run: the idle timer
        is written at most once a minute."""
        if not token:
            return None
        now = self.clock()
        key = _token_hash(token)
        rows = self.db.read(
            "SELECT s.user_id, s.last_seen_at, s.expires_at, u.* FROM sessions s JOIN users u ON u.user_id = s.user_id"
            " WHERE s.token_hash = ?", [key])
        if not rows:
            return None
        row = rows[0]
        if row["expires_at"] <= now or row["last_seen_at"] + SESSION_IDLE <= now or not row["is_active"]:
            def expire(cursor: Cursor) -> None:
                cursor.execute("DELETE FROM sessions WHERE token_hash = ?", [key])
                audit.append(self.db, cursor, now, "session_expired", actor_id=row["user_id"],
                             actor_label=row["display_name"], target=row["login"])

            self.db.write(expire)
            return None
        if now - row["last_seen_at"] >= _TOUCH_EVERY:
            self.db.write(lambda c: c.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", [now, key]))
        return _caller(row)

    def logout(self, token: str | None) -> None:
        if not token:
            return
        now = self.clock()
        key = _token_hash(token)

        def operation(cursor: Cursor) -> None:
            rows = cursor.execute("SELECT u.user_id, u.display_name, u.login FROM sessions s JOIN users u "
                                  "ON u.user_id = s.user_id WHERE s.token_hash = ?", [key])
            cursor.execute("DELETE FROM sessions WHERE token_hash = ?", [key])
            if rows:
                audit.append(self.db, cursor, now, "logout", actor_id=rows[0]["user_id"],
                             actor_label=rows[0]["display_name"], target=rows[0]["login"])

        self.db.write(operation)

    def identity_for_subject(self, subject: str, claimed: Caller) -> Caller:
        """OpenID Connect: the account bound to the provider's subject, created on first login with the role
        the claims give (:func:`observatory.oidc.identity_from_claims`)."""
        now = self.clock()

        def operation(cursor: Cursor) -> Caller:
            rows = cursor.execute("SELECT * FROM users WHERE external_subject = ?", [subject])
            if rows:
                user = rows[0]
                if (user["role"], user["regions"], user["cpts_ids"]) != (
                        claimed.role, ",".join(claimed.regions), ",".join(claimed.cpts_ids)):
                    cursor.execute("UPDATE users SET role = ?, regions = ?, cpts_ids = ?, updated_at = ? WHERE user_id = ?",
                                   [claimed.role, ",".join(claimed.regions),
                                    ",".join(claimed.cpts_ids), now, user["user_id"]])
                    audit.append(self.db, cursor, now, "role_changed", actor_label="fournisseur d'identité",
                                 target=user["login"], detail=f"→ {ROLES[claimed.role]}")
                    user = cursor.execute("SELECT * FROM users WHERE user_id = ?", [user["user_id"]])[0]
            else:
                user_id = f"u-{uuid.uuid4().hex[:12]}"
                cursor.execute(
                    "INSERT INTO users (user_id, login, display_name, password_hash, role, regions, cpts_ids,"
                    " external_subject, is_active, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, TRUE, ?, ?)",
                    [user_id, f"oidc:{subject}"[:120], claimed.label, claimed.role,
                     ",".join(claimed.regions), ",".join(claimed.cpts_ids), subject, now, now])
                audit.append(self.db, cursor, now, "user_created", actor_label="fournisseur d'identité",
                             target=f"oidc:{subject}", detail=f"rôle : {ROLES[claimed.role]}")
                user = cursor.execute("SELECT * FROM users WHERE user_id = ?", [user_id])[0]
            if not user["is_active"]:
                raise LoginRefused("Compte désactivé par l'administrateur.")
            audit.append(self.db, cursor, now, "login", actor_id=user["user_id"], actor_label=user["display_name"],
                         target=user["login"], detail="OpenID Connect")
            return _caller(user)

        return self.db.write(operation)


def _caller(row: dict) -> Caller:
    return Caller(row["user_id"], row["display_name"], row["role"], _split(row["regions"]), _split(row["cpts_ids"]),
                    row.get("person_id"))


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(v for v in (text or "").split(",") if v)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _checked(text: str, what: str, max_length: int = 80) -> str:
    cleaned, problem = clean_name(text or "", max_length)
    if not cleaned:
        raise AccountError(f"{what} obligatoire")
    if problem is not None:
        raise AccountError(f"{what} refusé : {problem.message}")
    return cleaned


def _checked_login(login: str) -> str:
    value = _checked(login, "identifiant", 120).lower()
    if any(c.isspace() for c in value):
        raise AccountError("identifiant refusé : pas d'espace (ex. prenom.nom ou une adresse électronique)")
    return value


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères")


def _check_role(role: str, regions: Sequence[str], cpts_ids: Sequence[str]) -> None:
    if role not in ROLES:
        raise AccountError(f"rôle « {role} » inconnu ; rôles : {', '.join(ROLES)}")
    if role == REGIONAL and not regions:
        raise AccountError("un lecteur régional doit avoir au moins une région (codes INSEE, ex. 93)")
    if role in (COORDINATOR, MEMBER) and not cpts_ids:
        raise AccountError("un coordinateur ou un membre de CPTS doit être rattaché à sa CPTS (identifiant)")


def _scope_text(regions: Sequence[str], cpts_ids: Sequence[str]) -> str:
    if regions:
        return f" ; régions : {', '.join(regions)}"
    if cpts_ids:
        return f" ; CPTS : {', '.join(cpts_ids)}"
    return ""
