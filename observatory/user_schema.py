"""The user-data schema: one version for everything the app writes (assessments and their drafts, CPTS added
by users, campaigns, responses, improvement plans, accounts, sessions, the audit log), on either backend of
:mod:`observatory.userdb` (the DuckDB file or PostgreSQL).

``schema_info`` holds the version. :func:`open_schema` runs in the transaction that opens the store: an
empty database is created at v1 and brought to the current version by the same steps that migrate an older
file (one code path, so a migrated file and a new one have the same tables), and a failed step leaves the
database as it was. Statements are written in DuckDB's words; :meth:`UserDatabase.ddl` adapts type names.

Versions: v1 assessments and custom CPTS; v2 (campaigns) identities, campaigns, campaign responses,
improvement actions and ``assessments.campaign_id``; v3 (shared store) accounts, sessions, login attempts
and the audit log (their DDL lives in :mod:`observatory.accounts` and :mod:`observatory.audit`),
``assessments.shared_with_ars`` (a CPTS decides per assessment whether its ARS may see it individually), an
insertion order on campaigns, responses and actions (ties between rows written in the same second; DuckDB's
``rowid`` has no PostgreSQL equivalent), and on PostgreSQL ``data_version_seq``, a counter every committed
write moves on so that the caches of every app instance notice any change, whichever instance wrote it.

:func:`data_version` is that change token. On PostgreSQL, a sequence moved on *after* each commit
(:func:`bump_data_version`): sequences are not transactional, so concurrent writers never wait for nor
conflict on it (a row updated by every write transaction would serialise them all), and a reader that sees
the new value is sure to see the committed data; a crash between the commit and the increment only delays
other instances' caches until the next write. On DuckDB, the file itself: every commit writes its journal,
so the size and modification times of the file and its journal change (a stat, where one more write per
commit would cost as much as the write itself: each operation opens the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from observatory import accounts, audit
from observatory.storage_errors import OTHER_VERSION, StorageProblem
from observatory.userdb import POSTGRESQL, Cursor, UserDatabase, UserDataUnavailable

SCHEMA_VERSION = "3"
# Two app instances opening a new PostgreSQL database at once would both create the tables: the opening
# transaction holds this advisory lock (an arbitrary constant of this application) until it ends.
_PG_SCHEMA_LOCK = 7_441_530_011

V1_SQL = (
    """CREATE TABLE IF NOT EXISTS schema_info (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS assessments (
        assessment_id VARCHAR PRIMARY KEY,
        cpts_id VARCHAR NOT NULL,
        cpts_name VARCHAR,
        register_id VARCHAR,
        status VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted')),
        instrument_version VARCHAR NOT NULL,
        scoring_version VARCHAR,
        answers_json VARCHAR NOT NULL,
        scores_json VARCHAR,
        overall_score DOUBLE,
        maturity_level_id VARCHAR,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        submitted_at TIMESTAMP,
        revision INTEGER NOT NULL,
        author VARCHAR,
        is_demo BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    """CREATE TABLE IF NOT EXISTS custom_cpts (
        cpts_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        departement_code VARCHAR,
        ars_stage_code VARCHAR,
        population_count BIGINT,
        created_at TIMESTAMP NOT NULL,
        author VARCHAR,
        notes VARCHAR
    )""",
)

# People are identities (name, profession, role in the CPTS) with an account_id that accounts can fill.
CAMPAIGN_SQL = (
    """CREATE TABLE IF NOT EXISTS identities (
        identity_id VARCHAR PRIMARY KEY,
        cpts_id VARCHAR NOT NULL,
        display_name VARCHAR NOT NULL,
        profession VARCHAR NOT NULL,
        cpts_role VARCHAR NOT NULL,
        account_id VARCHAR,
        created_at TIMESTAMP NOT NULL,
        is_demo BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    """CREATE TABLE IF NOT EXISTS campaigns (
        campaign_id VARCHAR PRIMARY KEY,
        cpts_id VARCHAR NOT NULL,
        cpts_name VARCHAR,
        register_id VARCHAR,
        title VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
        instrument_version VARCHAR NOT NULL,
        coordinator_identity_id VARCHAR NOT NULL,
        opened_at TIMESTAMP NOT NULL,
        closed_at TIMESTAMP,
        consensus_json VARCHAR,
        consensus_revision INTEGER NOT NULL DEFAULT 0,
        assessment_id VARCHAR,
        updated_at TIMESTAMP NOT NULL,
        is_demo BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    """CREATE TABLE IF NOT EXISTS campaign_responses (
        response_id VARCHAR PRIMARY KEY,
        campaign_id VARCHAR NOT NULL,
        identity_id VARCHAR NOT NULL,
        answers_json VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('draft', 'submitted')),
        revision INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        submitted_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS improvement_actions (
        action_id VARCHAR PRIMARY KEY,
        cpts_id VARCHAR NOT NULL,
        campaign_id VARCHAR,
        subdimension_id VARCHAR NOT NULL,
        question_id VARCHAR,
        origin VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        owner VARCHAR NOT NULL,
        due_date DATE,
        means VARCHAR,
        status VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        revision INTEGER NOT NULL,
        is_demo BOOLEAN NOT NULL DEFAULT FALSE
    )""",
)

ORDERED_TABLES = ("campaigns", "campaign_responses", "improvement_actions")  # carry ``insertion_order``


def _run(db: UserDatabase, cursor: Cursor, statements) -> None:
    for statement in statements:
        cursor.execute(db.ddl(statement))


def _v1_to_v2(db: UserDatabase, cursor: Cursor) -> None:
    """The campaign tables, and the campaign an assessment came from (NULL for the assessments submitted
    alone, which v1 assessments all are)."""
    cursor.execute("ALTER TABLE assessments ADD COLUMN campaign_id VARCHAR")
    _run(db, cursor, CAMPAIGN_SQL)


def _v2_to_v3(db: UserDatabase, cursor: Cursor) -> None:
    """Accounts, sessions and the audit log in the same database; the ARS share of each assessment (no
    existing assessment is shared: consent is given per assessment, after the fact); the insertion order
    (existing rows numbered in their DuckDB ``rowid`` order, which is how ties were broken in v2); the
    change counter."""
    cursor.execute("ALTER TABLE assessments ADD COLUMN shared_with_ars BOOLEAN NOT NULL DEFAULT FALSE")
    cursor.execute("CREATE SEQUENCE IF NOT EXISTS insertion_order_seq")
    for table in ORDERED_TABLES:  # identifiers from the constant above
        cursor.execute(f"ALTER TABLE {table} ADD COLUMN insertion_order BIGINT DEFAULT nextval('insertion_order_seq')")
    _run(db, cursor, accounts.SCHEMA)
    audit.create_schema(db, cursor)
    if db.backend == POSTGRESQL:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS data_version_seq")


# from_version -> (to_version, step); each step runs in the store's opening transaction.
MIGRATIONS: dict[str, tuple[str, Callable[[UserDatabase, Cursor], None]]] = {
    "1": ("2", _v1_to_v2),
    "2": ("3", _v2_to_v3),
}


_HAS_SCHEMA_INFO = ("SELECT count(*) AS n FROM information_schema.tables "
                    "WHERE table_name = 'schema_info' AND table_schema = current_schema()")
_VERSION = "SELECT value FROM schema_info WHERE key = 'schema_version'"


def stored_version(cursor: Cursor) -> str | None:
    """The schema version of the database (None: no user-data schema yet), inside a transaction."""
    if not cursor.execute(_HAS_SCHEMA_INFO)[0]["n"]:
        return None
    rows = cursor.execute(_VERSION)
    return rows[0]["value"] if rows else None


def read_version(db: UserDatabase) -> str | None:
    """:func:`stored_version` for a database that can only be read."""
    if not db.read(_HAS_SCHEMA_INFO)[0]["n"]:
        return None
    rows = db.read(_VERSION)
    return rows[0]["value"] if rows else None


def other_version(db: UserDatabase, version: str, why: str) -> UserDataUnavailable:
    return UserDataUnavailable(StorageProblem(
        OTHER_VERSION, f"{db.label} est au schéma v{version}, cette version de l'application attend v{SCHEMA_VERSION} {why}"))


def open_schema(db: UserDatabase, cursor: Cursor) -> None:
    """Create the schema in an empty database, or migrate an older one step by step (inside the caller's
    transaction: a failed step leaves the database as it was). A newer or unknown version is refused."""
    if db.backend == POSTGRESQL:
        cursor.execute(f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})")
    version = stored_version(cursor)
    if version is None:
        _run(db, cursor, V1_SQL)
        cursor.execute("INSERT INTO schema_info (key, value) VALUES ('schema_version', '1')")
        version = "1"
    if version == SCHEMA_VERSION:
        return
    while version != SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise other_version(db, version, "et ne sait pas la convertir : l'administrateur doit utiliser une version "
                                             "plus récente de l'Observatoire (ou celle qui l'a écrite).")
        version, step = MIGRATIONS[version]
        step(db, cursor)
    cursor.execute("UPDATE schema_info SET value = ? WHERE key = 'schema_version'", [version])


def can_write(db: UserDatabase, cursor: Cursor) -> bool:
    """Whether this connection may write user data. A DuckDB file opened for writing can; a PostgreSQL role
    may have been given read rights only (a reporting replica, a consultation instance)."""
    if db.backend != POSTGRESQL:
        return True
    rows = cursor.execute(
        "SELECT has_table_privilege('assessments', 'INSERT') AND has_table_privilege('assessments', 'UPDATE')"
        " AND has_table_privilege('assessments', 'DELETE') AND has_sequence_privilege('data_version_seq', 'USAGE')"
        " AND current_setting('transaction_read_only') = 'off' AS can_write")
    return bool(rows[0]["can_write"])


def bump_data_version(db: UserDatabase) -> None:
    """After a committed write: the change token moves on (see the module docstring; nothing to do on DuckDB)."""
    if db.backend == POSTGRESQL:
        db.write(lambda cursor: cursor.execute("SELECT nextval('data_version_seq') AS version"))


def data_version(db: UserDatabase) -> int:
    """A token that changes with every committed write of user data, by any instance or process."""
    if db.backend == POSTGRESQL:
        rows = db.read("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS version FROM data_version_seq")
        return int(rows[0]["version"])
    token: list[int] = []
    for name in (db.location.target, db.location.target + ".wal"):
        try:
            stat = os.stat(name)
            token += [stat.st_size, stat.st_mtime_ns]
        except FileNotFoundError:
            token += [0, 0]
    return hash(tuple(token))
