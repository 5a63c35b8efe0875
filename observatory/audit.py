"""The audit log: who did what, when, with what outcome. Append-only and tamper-evident.

Logins (successes and failures), imports, submissions, consensus, shares, role changes... are written
here by the data-access layer, never by pages. Nothing updates or deletes a row: the module has no such
function, and each row carries the SHA-256 of its content chained to the previous row's, so
:func:`verify_chain` detects a row changed or removed behind the application's back (in PostgreSQL, rules
also turn UPDATE and DELETE on the table into no-ops).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from observatory.userdb import POSTGRESQL, Cursor, UserDatabase

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_log (
        seq BIGINT PRIMARY KEY,
        occurred_at TIMESTAMP NOT NULL,
        actor_id VARCHAR,
        actor_label VARCHAR,
        action VARCHAR NOT NULL,
        target VARCHAR,
        outcome VARCHAR NOT NULL,
        detail VARCHAR,
        previous_hash VARCHAR NOT NULL,
        row_hash VARCHAR NOT NULL
    )""",
)
PG_APPEND_ONLY = (
    "CREATE OR REPLACE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING",
    "CREATE OR REPLACE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING",
)
GENESIS = "0" * 64

# What is recorded (French labels shown to administrators).
ACTIONS = {
    "login": "connexion",
    "login_failed": "connexion refusée",
    "login_throttled": "connexion bloquée (trop d'échecs)",
    "logout": "déconnexion",
    "session_expired": "session expirée",
    "user_created": "compte créé",
    "password_reset": "mot de passe réinitialisé",
    "role_changed": "rôle modifié",
    "user_disabled": "compte désactivé",
    "register_imported": "registre importé",
    "indicator_imported": "indicateur importé",
    "draft_saved": "brouillon enregistré",
    "assessment_submitted": "évaluation soumise",
    "campaign_opened": "campagne ouverte",
    "response_saved": "réponse individuelle enregistrée",
    "consensus_submitted": "consensus soumis",
    "plan_changed": "plan d'amélioration modifié",
    "share_changed": "partage avec l'ARS modifié",
    "access_denied": "accès refusé",
}
OUTCOMES = ("ok", "refusé", "erreur")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor_id: str | None
    actor_label: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None


def create_schema(db: UserDatabase, cursor: Cursor) -> None:
    for statement in SCHEMA:
        cursor.execute(db.ddl(statement))
    if db.backend == POSTGRESQL:
        for statement in PG_APPEND_ONLY:
            cursor.execute(statement)


def _row_hash(previous: str, seq: int, at: datetime, actor_id, actor_label, action, target, outcome, detail) -> str:
    payload = json.dumps([previous, seq, at.isoformat(), actor_id, actor_label, action, target, outcome, detail],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(db: UserDatabase, cursor: Cursor, at: datetime, action: str, outcome: str = "ok", *,
           actor_id: str | None = None, actor_label: str | None = None, target: str | None = None,
           detail: str | None = None) -> int:
    """Add a row inside the caller's transaction (so the action and its record commit together)."""
    if action not in ACTIONS or outcome not in OUTCOMES:
        raise ValueError(f"action ou résultat d'audit inconnu : {action}, {outcome}")
    if db.backend == POSTGRESQL:
        # Appends are chained: one at a time (held to the end of the transaction). DuckDB aborts one of two
        # concurrent appends instead, and UserDatabase.write re-runs it.
        cursor.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
    last = cursor.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq = int(last[0]["seq"]) + 1 if last else 1
    previous = last[0]["row_hash"] if last else GENESIS
    row_hash = _row_hash(previous, seq, at, actor_id, actor_label, action, target, outcome, detail)
    cursor.execute(
        "INSERT INTO audit_log (seq, occurred_at, actor_id, actor_label, action, target, outcome, detail, previous_hash, row_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor_id, actor_label, action, target, outcome, detail, previous, row_hash],
    )
    return seq


def entries(db: UserDatabase, limit: int = 5000, actions: Sequence[str] = ()) -> list[AuditEntry]:
    """Newest first."""
    where, params = db.in_list("action", list(actions)) if actions else ("TRUE", [])
    rows = db.read(f"SELECT seq, occurred_at AS at, actor_id, actor_label, action, target, outcome, detail FROM audit_log "
                   f"WHERE {where} ORDER BY seq DESC LIMIT ?", [*params, int(limit)])
    return [AuditEntry(**r) for r in rows]


def verify_chain(db: UserDatabase) -> tuple[bool, str]:
    """(intact, French sentence): recomputes every row's hash and the links between rows."""
    rows = db.read("SELECT * FROM audit_log ORDER BY seq")
    previous = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if int(row["seq"]) != expected_seq:
            return False, f"journal incomplet : la ligne {expected_seq} manque (trouvé {row['seq']})"
        if row["previous_hash"] != previous:
            return False, f"journal modifié : la ligne {row['seq']} ne suit plus la précédente"
        computed = _row_hash(previous, int(row["seq"]), row["occurred_at"], row["actor_id"], row["actor_label"], row["action"],
                             row["target"], row["outcome"], row["detail"])
        if computed != row["row_hash"]:
            return False, f"journal modifié : le contenu de la ligne {row['seq']} ne correspond plus à son empreinte"
        previous = row["row_hash"]
    return True, f"journal intact : {len(rows)} ligne(s), chaîne d'empreintes vérifiée"


def as_frame(rows: Sequence[AuditEntry]) -> pd.DataFrame:
    """French headers, for the administrators' table and export."""
    return pd.DataFrame([
        {"N°": e.seq, "Date": e.at, "Auteur": e.actor_label or e.actor_id or "anonyme",
         "Action": ACTIONS.get(e.action, e.action), "Cible": e.target or "", "Résultat": e.outcome,
         "Détail": e.detail or ""} for e in rows
    ], columns=["N°", "Date", "Auteur", "Action", "Cible", "Résultat", "Détail"])

