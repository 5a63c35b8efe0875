"""The user-data store: self-assessment drafts, submitted assessments and their history.

It lives in its OWN DuckDB file (``config.user_database_path()``, default ``data/evaluations.duckdb``),
which the data build never opens: rebuilding the analytical database never loses anyone's answers.

Life cycle of an assessment
---------------------------
* **Draft**: at most one per CPTS (its id is ``draft:<cpts_id>``, so two concurrent first saves collide on
  the primary key rather than creating two drafts). Every save increments ``revision``. Saves use
  *optimistic concurrency*: the caller passes the revision it loaded; if another session saved in
  between, :class:`ConcurrentEditError` says who saved and when, unless ``force=True`` (explicit
  last-write-wins).
* **Submission** (:meth:`AssessmentStore.submit`) validates the draft strictly, scores it, and inserts a
  new, dated, immutable row with the answers, the frozen scores (``scores_json``) and the instrument and
  scoring versions used. The draft is then **deleted** in the same transaction: the next cycle starts
  with :meth:`AssessmentStore.start_draft_from_latest`, which pre-fills a new draft from the latest
  submission (the thesis suggests a yearly or biennial survey, section 5).
* **Immutability**: no method updates a submitted row. The only deletion of submitted rows is
  :meth:`AssessmentStore.replace_demo_assessments`, restricted to ``is_demo`` rows: generated data, and
  assessments made on a demo CPTS (a draft carries the ``is_demo`` flag the page gives it, and its
  submission inherits it). Drafts are never deleted by it.

Every write runs in one transaction (BEGIN/COMMIT, ROLLBACK on any error). Each operation opens its own
connection (Streamlit serves sessions on threads; a shared DuckDB connection is not thread-safe) and
retries briefly when another process holds the file lock or a write-write conflict aborts a commit.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from observatory import config
from observatory.exports import csv_rows_bytes
from observatory.instrument import (
    Instrument,
    ScoringModel,
    latest_instrument_version,
    latest_scoring_version,
    load_instrument,
    load_scoring_model,
)
from observatory.safe_text import MAX_NAME_LENGTH, clean_name
from observatory.scoring import ScoreResult, answer_text, score_assessment
from observatory.storage_errors import OTHER_VERSION, READ_ONLY, StorageProblem, diagnose

# v1: assessments and custom CPTS. v2 (campaigns): identities, campaigns, campaign responses, improvement
# actions, and assessments.campaign_id; a v1 file is migrated in place when the store opens it.
SCHEMA_VERSION = "2"
DRAFT_PREFIX = "draft:"
CUSTOM_CPTS_PREFIX = "custom:"

_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8)  # about 1.5 s in total, then the error surfaces
# DuckDB keeps one database instance per file and process, opened by the first connection and closed with
# the last one: two threads opening and closing the same file at once can collide ("already attached").
# Opening and closing are quick, so they are serialised; queries and transactions still run in parallel.
_OPEN_CLOSE_LOCK = threading.Lock()

_SCHEMA_SQL = (
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

# Added by schema v2 (observatory/campaign_store.py reads and writes them). People are identities (name,
# profession, role in the CPTS) with an empty account_id, so that accounts can be attached later.
_CAMPAIGN_SCHEMA_SQL = (
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


def _migrate_v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Schema v1 -> v2: the campaign tables, and the campaign an assessment came from (NULL for the
    assessments submitted alone, which v1 assessments all are)."""
    con.execute("ALTER TABLE assessments ADD COLUMN campaign_id VARCHAR")
    for statement in _CAMPAIGN_SCHEMA_SQL:
        con.execute(statement)


# from_version -> (to_version, step); each step runs in the store's opening transaction.
_MIGRATIONS = {"1": ("2", _migrate_v1_to_v2)}

_COLUMNS = ("assessment_id", "cpts_id", "cpts_name", "register_id", "status", "instrument_version", "scoring_version",
            "answers_json", "scores_json", "overall_score", "maturity_level_id", "created_at", "updated_at", "submitted_at",
            "revision", "author", "is_demo", "campaign_id")
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM assessments"


class AssessmentStoreError(RuntimeError):
    """A store operation failed (message in French)."""


STORE_LABEL = "La base des évaluations"


class StoreUnavailableError(AssessmentStoreError):
    """The file cannot be used as asked (locked, read-only, disk full, corrupt, other schema): ``problem``
    names the cause and what to do, in French; the original error is chained for the server log."""

    def __init__(self, problem: StorageProblem):
        super().__init__(problem.message)
        self.problem = problem
        self.storage_cause = problem.cause

    @classmethod
    def from_error(cls, exc: BaseException) -> StoreUnavailableError:
        return cls(diagnose(exc, STORE_LABEL))


class ConcurrentEditError(AssessmentStoreError):
    """The draft changed since the caller loaded it."""

    def __init__(self, message: str, current_revision: int | None, current_author: str | None,
                 current_updated_at: datetime | None):
        super().__init__(message)
        self.current_revision = current_revision
        self.current_author = current_author
        self.current_updated_at = current_updated_at


@dataclass(frozen=True)
class Draft:
    cpts_id: str
    cpts_name: str | None
    register_id: str | None
    answers: dict[str, Any]
    revision: int
    instrument_version: str
    created_at: datetime
    updated_at: datetime
    author: str | None
    is_demo: bool


@dataclass(frozen=True)
class Assessment:
    """A submitted assessment: answers and scores frozen with their versions."""

    assessment_id: str
    cpts_id: str
    cpts_name: str | None
    register_id: str | None
    status: str
    instrument_version: str
    scoring_version: str
    answers: dict[str, Any]
    scores: dict[str, Any]
    overall_score: float | None
    maturity_level_id: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime
    revision: int
    author: str | None
    is_demo: bool
    campaign_id: str | None = None  # the campaign whose consensus it is (None: submitted by one respondent)

    @property
    def score_result(self) -> ScoreResult:
        return ScoreResult.from_dict(self.scores)


@dataclass(frozen=True)
class CustomCpts:
    cpts_id: str
    name: str
    departement_code: str | None
    ars_stage_code: str | None
    population_count: int | None
    created_at: datetime
    author: str | None
    notes: str | None


MAX_AUTHOR_LENGTH = 80


def _checked_text(value: str | None, label: str, max_length: int) -> str | None:
    """Names and authors are outside text: normalised, and refused (French message) when they hold control
    or invisible characters or are too long. The store is the gate, whatever page or script calls it."""
    if value is None:
        return None
    cleaned, problem = clean_name(value, max_length)
    if problem is not None:
        raise AssessmentStoreError(f"{label} refusé : {problem.message}.")
    return cleaned or None


def _fmt_when(ts: datetime | None) -> str:
    return ts.strftime("le %d/%m/%Y à %H:%M") if ts else "à une date inconnue"


def _who(author: str | None) -> str:
    return f"« {author} »" if author else "une autre session (auteur non renseigné)"


def _row_to_dict(row: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(_COLUMNS, row, strict=False))


def _draft_from_row(row: Mapping[str, Any]) -> Draft:
    return Draft(
        cpts_id=row["cpts_id"], cpts_name=row["cpts_name"], register_id=row["register_id"],
        answers=json.loads(row["answers_json"]), revision=int(row["revision"]), instrument_version=row["instrument_version"],
        created_at=row["created_at"], updated_at=row["updated_at"], author=row["author"], is_demo=bool(row["is_demo"]),
    )


def _assessment_from_row(row: Mapping[str, Any]) -> Assessment:
    return Assessment(
        assessment_id=row["assessment_id"], cpts_id=row["cpts_id"], cpts_name=row["cpts_name"], register_id=row["register_id"],
        status=row["status"], instrument_version=row["instrument_version"], scoring_version=row["scoring_version"],
        answers=json.loads(row["answers_json"]), scores=json.loads(row["scores_json"]), overall_score=row["overall_score"],
        maturity_level_id=row["maturity_level_id"], created_at=row["created_at"], updated_at=row["updated_at"],
        submitted_at=row["submitted_at"], revision=int(row["revision"]), author=row["author"], is_demo=bool(row["is_demo"]),
        campaign_id=row.get("campaign_id"),
    )


# Module-level statement helpers: each runs inside the caller's transaction (tests monkeypatch them to
# simulate a failure between two statements of one transaction).


def _insert_assessment_row(con: duckdb.DuckDBPyConnection, record: Mapping[str, Any]) -> None:
    placeholders = ", ".join("?" for _ in _COLUMNS)
    con.execute(f"INSERT INTO assessments ({', '.join(_COLUMNS)}) VALUES ({placeholders})", [record[c] for c in _COLUMNS])


def _delete_draft(con: duckdb.DuckDBPyConnection, cpts_id: str) -> None:
    con.execute("DELETE FROM assessments WHERE assessment_id = ? AND status = 'draft'", [DRAFT_PREFIX + cpts_id])


def _close(con: duckdb.DuckDBPyConnection) -> None:
    with _OPEN_CLOSE_LOCK:
        con.close()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflict" in text


class AssessmentStore:
    """Drafts, submissions and history of self-assessments, in their own DuckDB file."""

    def __init__(self, path: Path | str | None = None, clock: Callable[[], datetime] | None = None):
        self.path = Path(path) if path is not None else config.user_database_path()
        # The clock is injectable so tests get deterministic timestamps; seconds are enough for humans.
        self._clock = clock or (lambda: datetime.now().replace(microsecond=0))
        # Read-only (file or folder not writable): answers can still be read, every write says why it fails.
        self.read_only = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write(self._create_schema)
        except (AssessmentStoreError, OSError) as exc:
            problem = exc.problem if isinstance(exc, StoreUnavailableError) else diagnose(exc, STORE_LABEL)
            if problem.cause != READ_ONLY or not self.path.is_file():
                raise exc if isinstance(exc, StoreUnavailableError) else StoreUnavailableError(problem) from exc
            self.read_only = True
            self._read("SELECT value FROM schema_info WHERE key = 'schema_version'")  # readable at all?

    # -- connections and transactions ---------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        for delay in (*_RETRY_DELAYS_S, None):
            try:
                with _OPEN_CLOSE_LOCK:
                    return duckdb.connect(str(self.path), read_only=self.read_only)
            except (duckdb.Error, OSError) as exc:
                # A lock held by another process is waited for briefly; any other cause is reported at once.
                is_lock = _is_lock_error(exc) or isinstance(exc, duckdb.ResourceInUseException)
                if delay is None or not is_lock:
                    raise StoreUnavailableError.from_error(exc) from exc
                time.sleep(delay)
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # a failed COMMIT has already aborted the transaction
                raise
        finally:
            _close(con)

    def read_only_error(self) -> StoreUnavailableError:
        """What every write raises when the file cannot be written (answers can still be read)."""
        return StoreUnavailableError(diagnose(PermissionError("read-only file system"), STORE_LABEL))

    def _write(self, operation: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        """Run ``operation`` in one transaction; re-run it (checks included) after a write-write conflict."""
        if getattr(self, "read_only", False):
            raise self.read_only_error()
        for delay in (*_RETRY_DELAYS_S, None):
            try:
                with self._transaction() as con:
                    return operation(con)
            except duckdb.TransactionException as exc:
                if delay is None or not _is_lock_error(exc):
                    raise AssessmentStoreError(f"Écriture impossible dans la base des évaluations : {exc}") from exc
                time.sleep(delay)
            except (duckdb.IOException, duckdb.FatalException, duckdb.InternalException, OSError) as exc:
                raise StoreUnavailableError.from_error(exc) from exc  # disk full, read-only, corrupt...
        raise AssertionError("unreachable")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        con = self._connect()
        try:
            cur = con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]
        finally:
            _close(con)

    @staticmethod
    def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
        """Create a new file at the current schema, or migrate an older one step by step (same transaction:
        a failed migration leaves the file as it was)."""
        has_info = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'").fetchall()[0][0]
        found = con.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchall() if has_info else []
        if not found:
            for statement in (*_SCHEMA_SQL, *_CAMPAIGN_SCHEMA_SQL):
                con.execute(statement)
            con.execute("ALTER TABLE assessments ADD COLUMN IF NOT EXISTS campaign_id VARCHAR")
            con.execute("INSERT INTO schema_info VALUES ('schema_version', ?)", [SCHEMA_VERSION])
            return
        version = found[0][0]
        while version != SCHEMA_VERSION:
            if version not in _MIGRATIONS:
                raise StoreUnavailableError(StorageProblem(
                    OTHER_VERSION,
                    f"{STORE_LABEL} est au schéma v{version}, cette version de l'application attend v{SCHEMA_VERSION} "
                    "et ne sait pas la convertir : l'administrateur doit utiliser une version plus récente de "
                    "l'Observatoire (ou celle qui l'a écrite).",
                ))
            version, step = _MIGRATIONS[version][0], _MIGRATIONS[version][1]
            step(con)
            con.execute("UPDATE schema_info SET value = ? WHERE key = 'schema_version'", [version])

    @staticmethod
    def _draft_row(con: duckdb.DuckDBPyConnection, cpts_id: str) -> dict[str, Any] | None:
        rows = con.execute(_SELECT + " WHERE assessment_id = ? AND status = 'draft'", [DRAFT_PREFIX + cpts_id]).fetchall()
        return _row_to_dict(rows[0]) if rows else None

    @staticmethod
    def _latest_submitted_row(con: duckdb.DuckDBPyConnection, cpts_id: str) -> dict[str, Any] | None:
        rows = con.execute(
            _SELECT + " WHERE cpts_id = ? AND status = 'submitted' ORDER BY submitted_at DESC, assessment_id DESC LIMIT 1",
            [cpts_id],
        ).fetchall()
        return _row_to_dict(rows[0]) if rows else None

    # -- drafts ---------------------------------------------------------------------------------------

    def load_draft(self, cpts_id: str) -> Draft | None:
        rows = self._read(_SELECT + " WHERE assessment_id = ? AND status = 'draft'", [DRAFT_PREFIX + cpts_id])
        return _draft_from_row(rows[0]) if rows else None

    def save_draft(self, cpts_id: str, answers: Mapping[str, Any], expected_revision: int | None, *,
                   author: str | None = None, cpts_name: str | None = None, register_id: str | None = None,
                   instrument_version: str | None = None, force: bool = False, is_demo: bool = False) -> Draft:
        """Save the draft of ``cpts_id``; ``expected_revision`` is the revision the caller loaded
        (``None`` or 0 when it started from no draft). Raises :class:`ConcurrentEditError` if the draft
        changed meanwhile, unless ``force=True``."""
        author = _checked_text(author, "Auteur", MAX_AUTHOR_LENGTH)
        answers_json = json.dumps(dict(answers), ensure_ascii=False)

        def operation(con: duckdb.DuckDBPyConnection) -> Draft:
            now = self._clock()
            current = self._draft_row(con, cpts_id)
            expected = expected_revision or 0
            if current is None:
                if expected and not force:
                    latest = self._latest_submitted_row(con, cpts_id)
                    if latest is not None:
                        why = f"il a été soumis {_fmt_when(latest['submitted_at'])} par {_who(latest['author'])}"
                    else:
                        why = "il a été supprimé par une autre session"
                    raise ConcurrentEditError(
                        f"Le brouillon de {cpts_name or cpts_id} que vous modifiiez (révision {expected}) n'existe plus : "
                        f"{why}. Rechargez la page pour repartir d'un nouveau brouillon, ou forcez l'enregistrement.",
                        None, latest["author"] if latest else None, latest["submitted_at"] if latest else None,
                    )
                record = {
                    "assessment_id": DRAFT_PREFIX + cpts_id, "cpts_id": cpts_id, "cpts_name": cpts_name,
                    "register_id": register_id, "status": "draft",
                    "instrument_version": instrument_version or latest_instrument_version(),
                    "scoring_version": None, "answers_json": answers_json, "scores_json": None, "overall_score": None,
                    "maturity_level_id": None, "created_at": now, "updated_at": now, "submitted_at": None,
                    "revision": 1, "author": author, "is_demo": is_demo, "campaign_id": None,
                }
                _insert_assessment_row(con, record)
                return _draft_from_row(record)
            if current["revision"] != expected and not force:
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} a été enregistré par {_who(current['author'])} "
                    f"{_fmt_when(current['updated_at'])} (révision {current['revision']}) depuis que vous l'avez chargé "
                    f"(révision {expected}). Rechargez-le pour voir ces modifications, ou forcez l'enregistrement pour les remplacer.",
                    current["revision"], current["author"], current["updated_at"],
                )
            new_revision = current["revision"] + 1
            changed = con.execute(
                """UPDATE assessments SET answers_json = ?, updated_at = ?, revision = ?, author = ?,
                       cpts_name = COALESCE(?, cpts_name), register_id = COALESCE(?, register_id),
                       instrument_version = COALESCE(?, instrument_version)
                   WHERE assessment_id = ? AND status = 'draft' AND revision = ?""",
                [answers_json, now, new_revision, author, cpts_name, register_id, instrument_version,
                 DRAFT_PREFIX + cpts_id, current["revision"]],
            ).fetchall()
            if not changed or changed[0][0] != 1:
                raise ConcurrentEditError(
                    f"Le brouillon de {cpts_id} vient d'être modifié par une autre session ; rechargez-le.", None, None, None
                )
            return _draft_from_row(self._draft_row(con, cpts_id))

        return self._write(operation)

    def delete_draft(self, cpts_id: str, expected_revision: int, *, force: bool = False) -> None:
        """Discard the draft (submitted assessments are untouched)."""

        def operation(con: duckdb.DuckDBPyConnection) -> None:
            current = self._draft_row(con, cpts_id)
            if current is None:
                return
            if current["revision"] != expected_revision and not force:
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} a été modifié par {_who(current['author'])} "
                    f"{_fmt_when(current['updated_at'])} (révision {current['revision']}) : suppression annulée.",
                    current["revision"], current["author"], current["updated_at"],
                )
            _delete_draft(con, cpts_id)

        self._write(operation)

    def start_draft_from_latest(self, cpts_id: str, *, author: str | None = None) -> Draft | None:
        """Start the next cycle: a new draft pre-filled with the latest submission's answers.

        Returns the existing draft if there is one, ``None`` if the CPTS has no submission. Answers are
        copied when the latest questionnaire accepts them (same version, or v1 answers in v2).
        """

        def operation(con: duckdb.DuckDBPyConnection) -> Draft | None:
            current = self._draft_row(con, cpts_id)
            if current is not None:
                return _draft_from_row(current)
            latest = self._latest_submitted_row(con, cpts_id)
            if latest is None:
                return None
            now = self._clock()
            version = latest_instrument_version()
            # v1 answers are valid v2 answers (v2 only adds precisions): the next cycle starts from them.
            compatible = load_instrument(version).accepts_answers_of(latest["instrument_version"])
            record = {
                **latest, "assessment_id": DRAFT_PREFIX + cpts_id, "status": "draft", "instrument_version": version,
                "answers_json": latest["answers_json"] if compatible else "{}",
                "scoring_version": None, "scores_json": None, "overall_score": None, "maturity_level_id": None,
                "created_at": now, "updated_at": now, "submitted_at": None, "revision": 1, "author": author,
                "campaign_id": None,
            }
            _insert_assessment_row(con, record)
            return _draft_from_row(record)

        return self._write(operation)

    # -- submission -----------------------------------------------------------------------------------

    def submit(self, cpts_id: str, expected_revision: int, *, author: str | None = None,
               instrument: Instrument | None = None, model: ScoringModel | None = None,
               submitted_at: datetime | None = None) -> Assessment:
        """Score the current draft strictly and record it as a dated, immutable submitted assessment.

        Raises :class:`ConcurrentEditError` if the draft is not at ``expected_revision`` and
        :class:`observatory.scoring.InvalidAnswersError` if its answers do not validate. The draft is
        deleted in the same transaction (see the module docstring).
        """
        author = _checked_text(author, "Auteur", MAX_AUTHOR_LENGTH)

        def operation(con: duckdb.DuckDBPyConnection) -> Assessment:
            current = self._draft_row(con, cpts_id)
            if current is None:
                raise AssessmentStoreError(f"Aucun brouillon à soumettre pour {cpts_id}.")
            if current["revision"] != expected_revision:
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} a été enregistré par {_who(current['author'])} "
                    f"{_fmt_when(current['updated_at'])} (révision {current['revision']}) depuis votre chargement "
                    f"(révision {expected_revision}) : relisez-le avant de le soumettre.",
                    current["revision"], current["author"], current["updated_at"],
                )
            mdl = model or load_scoring_model(latest_scoring_version())
            inst = instrument or load_instrument(current["instrument_version"])
            if instrument is None and inst.version != mdl.instrument_version:
                # A draft started on an older questionnaire whose answers the model's questionnaire accepts
                # (v1 -> v2) is submitted on the newer one; anything else is refused below.
                newer = load_instrument(mdl.instrument_version)
                if newer.accepts_answers_of(inst.version):
                    inst = newer
                    current = {**current, "instrument_version": newer.version}
            if inst.version != current["instrument_version"] or mdl.instrument_version != inst.version:
                raise AssessmentStoreError(
                    f"Le brouillon utilise le questionnaire v{current['instrument_version']} ; "
                    f"questionnaire v{inst.version} et notation v{mdl.version} (questionnaire v{mdl.instrument_version}) fournis."
                )
            when = submitted_at or self._clock()
            answers = json.loads(current["answers_json"])
            result = score_assessment(inst, mdl, answers, strict=True, today=when.date())
            record = {
                **current, "assessment_id": f"eval-{uuid.uuid4().hex}", "status": "submitted",
                "scoring_version": mdl.version, "scores_json": json.dumps(result.to_dict(), ensure_ascii=False),
                "overall_score": result.overall, "maturity_level_id": result.maturity_level_id,
                "updated_at": when, "submitted_at": when, "author": author or current["author"],
            }
            _insert_assessment_row(con, record)
            _delete_draft(con, cpts_id)
            return _assessment_from_row(record)

        return self._write(operation)

    def import_submitted(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert already-scored submitted assessments (demo data, migrations), all or nothing.

        Each record has the keys of :class:`Assessment` (``answers`` and ``scores`` as dicts). An
        existing ``assessment_id`` is never overwritten: the primary key rejects it and nothing is written.
        """
        rows = [self._submitted_record(r) for r in records]

        def operation(con: duckdb.DuckDBPyConnection) -> int:
            for row in rows:
                try:
                    _insert_assessment_row(con, row)
                except duckdb.ConstraintException as exc:
                    raise AssessmentStoreError(
                        f"L'évaluation {row['assessment_id']} existe déjà : une évaluation soumise ne peut pas être remplacée."
                    ) from exc
            return len(rows)

        return self._write(operation)

    def replace_demo_assessments(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Replace every demo (``is_demo``) assessment by ``records`` in one transaction."""
        rows = [self._submitted_record(r) for r in records]
        if any(not r["is_demo"] for r in rows):
            raise AssessmentStoreError("Seules des évaluations de démonstration (is_demo) peuvent être remplacées ainsi.")

        def operation(con: duckdb.DuckDBPyConnection) -> int:
            # consensus assessments of demo campaigns belong to them (CampaignStore.replace_demo_campaigns)
            con.execute("DELETE FROM assessments WHERE is_demo AND status = 'submitted' AND campaign_id IS NULL")
            for row in rows:
                _insert_assessment_row(con, row)
            return len(rows)

        return self._write(operation)

    @staticmethod
    def _submitted_record(r: Mapping[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("assessment_id", "cpts_id", "instrument_version", "scoring_version", "answers", "scores", "submitted_at")
                   if r.get(k) is None]
        if missing:
            raise AssessmentStoreError(f"Évaluation {r.get('assessment_id', '?')} : champs manquants {missing}.")
        if str(r["assessment_id"]).startswith(DRAFT_PREFIX):
            raise AssessmentStoreError(f"Identifiant réservé aux brouillons : {r['assessment_id']}.")
        submitted_at = r["submitted_at"]
        if isinstance(submitted_at, date) and not isinstance(submitted_at, datetime):
            submitted_at = datetime(submitted_at.year, submitted_at.month, submitted_at.day, 12, 0)
        scores = dict(r["scores"])
        return {
            "assessment_id": r["assessment_id"], "cpts_id": r["cpts_id"], "cpts_name": r.get("cpts_name"),
            "register_id": r.get("register_id"), "status": "submitted", "instrument_version": str(r["instrument_version"]),
            "scoring_version": str(r["scoring_version"]), "answers_json": json.dumps(dict(r["answers"]), ensure_ascii=False),
            "scores_json": json.dumps(scores, ensure_ascii=False), "overall_score": scores.get("overall"),
            "maturity_level_id": scores.get("maturity_level_id"), "created_at": r.get("created_at") or submitted_at,
            "updated_at": submitted_at, "submitted_at": submitted_at, "revision": int(r.get("revision") or 1),
            "author": r.get("author"), "is_demo": bool(r.get("is_demo", False)), "campaign_id": r.get("campaign_id"),
        }

    def demo_assessment_ids(self) -> set[str]:
        """Ids of the submitted demo (``is_demo``) assessments, so demo loading can be idempotent."""
        return {r["assessment_id"] for r in self._read(
            "SELECT assessment_id FROM assessments WHERE is_demo AND status = 'submitted' AND campaign_id IS NULL")}

    # -- reading submissions --------------------------------------------------------------------------

    def history(self, cpts_id: str) -> list[Assessment]:
        """Submitted assessments of a CPTS, oldest first (chronological, as a chart reads them)."""
        rows = self._read(_SELECT + " WHERE cpts_id = ? AND status = 'submitted' ORDER BY submitted_at, assessment_id", [cpts_id])
        return [_assessment_from_row(r) for r in rows]

    def latest_submitted(self, cpts_id: str) -> Assessment | None:
        rows = self._read(
            _SELECT + " WHERE cpts_id = ? AND status = 'submitted' ORDER BY submitted_at DESC, assessment_id DESC LIMIT 1", [cpts_id]
        )
        return _assessment_from_row(rows[0]) if rows else None

    def get(self, assessment_id: str) -> Assessment | None:
        rows = self._read(_SELECT + " WHERE assessment_id = ? AND status = 'submitted'", [assessment_id])
        return _assessment_from_row(rows[0]) if rows else None

    _LATEST_SQL = (
        _SELECT + " WHERE status = 'submitted' {where}"
        " QUALIFY row_number() OVER (PARTITION BY cpts_id ORDER BY submitted_at DESC, assessment_id DESC) = 1"
        " ORDER BY cpts_id"
    )

    def submitted_for_peers(self, cpts_ids: Iterable[str]) -> list[Assessment]:
        """The latest submitted assessment of each of ``cpts_ids`` that has one (for peer medians)."""
        ids = list(dict.fromkeys(cpts_ids))
        if not ids:
            return []
        rows = self._read(self._LATEST_SQL.format(where="AND list_contains(?, cpts_id)"), [ids])
        return [_assessment_from_row(r) for r in rows]

    def all_latest_submitted(self, include_demo: bool = True) -> list[Assessment]:
        """The latest submitted assessment of every CPTS."""
        where = "" if include_demo else "AND NOT is_demo"
        return [_assessment_from_row(r) for r in self._read(self._LATEST_SQL.format(where=where))]

    def latest_scores_frame(self, include_demo: bool = True) -> pd.DataFrame:
        """One row per CPTS (latest submission) with its overall score and level, for tables and maps."""
        where = "" if include_demo else "AND NOT is_demo"
        rows = self._read(self._LATEST_SQL.format(where=where))
        columns = ["cpts_id", "cpts_name", "register_id", "assessment_id", "submitted_at", "instrument_version",
                   "scoring_version", "overall_score", "maturity_level_id", "is_demo"]
        return pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)

    # -- CPTS not in any register -----------------------------------------------------------------------

    def add_custom_cpts(self, name: str, *, departement_code: str | None = None, ars_stage_code: str | None = None,
                        population_count: int | None = None, author: str | None = None, notes: str | None = None) -> CustomCpts:
        """Record a CPTS that is not in the loaded register, so it can be assessed."""
        if not isinstance(name, str) or not name.strip():
            raise AssessmentStoreError("Nom de CPTS obligatoire.")
        name = _checked_text(name, "Nom de CPTS", MAX_NAME_LENGTH)
        author = _checked_text(author, "Auteur", MAX_AUTHOR_LENGTH)
        notes = _checked_text(notes, "Remarques", 1000)
        if departement_code is not None and not isinstance(departement_code, str):
            raise AssessmentStoreError("Le code département est un texte (ex. « 2A », « 974 »), pas un nombre.")
        cpts = CustomCpts(f"{CUSTOM_CPTS_PREFIX}{uuid.uuid4().hex[:12]}", name.strip(), departement_code, ars_stage_code,
                          population_count, self._clock(), author, notes)

        def operation(con: duckdb.DuckDBPyConnection) -> CustomCpts:
            con.execute("INSERT INTO custom_cpts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [cpts.cpts_id, cpts.name, cpts.departement_code, cpts.ars_stage_code, cpts.population_count,
                         cpts.created_at, cpts.author, cpts.notes])
            return cpts

        return self._write(operation)

    def list_custom_cpts(self) -> list[CustomCpts]:
        rows = self._read("SELECT cpts_id, name, departement_code, ars_stage_code, population_count, created_at, author, notes"
                          " FROM custom_cpts ORDER BY name, cpts_id")
        return [CustomCpts(**r) for r in rows]


# --------------------------------------------------------------------------------------------------
# Export


def _fr_number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def export_csv(assessment: Assessment, instrument: Instrument | None = None) -> bytes:
    """The assessment's answers and frozen scores as a CSV for Excel: French headers, ``;`` separator,
    decimal comma, UTF-8 with BOM (:mod:`observatory.exports`)."""
    inst = instrument or load_instrument(assessment.instrument_version)
    result = assessment.score_result
    sub_labels = {s.id: s.label for s in inst.subdimensions}
    dim_labels = {d.id: d.label for d in inst.dimensions}
    rows: list[list[object]] = []
    rows.append(["Rubrique", "Identifiant", "Dimension", "Sous-dimension", "Libellé", "Réponse", "Score ou points (0-100)"])
    submitted = assessment.submitted_at.strftime("%d/%m/%Y %H:%M") if assessment.submitted_at else ""
    meta = [
        ("CPTS", assessment.cpts_name or assessment.cpts_id),
        ("Identifiant CPTS", assessment.cpts_id),
        ("Date de soumission", submitted),
        ("Auteur", assessment.author or ""),
        ("Version du questionnaire", assessment.instrument_version),
        ("Version de la notation", assessment.scoring_version),
        ("Niveau de maturité", result.maturity_label),
        ("Complétude (%)", _fr_number(result.completeness_pct)),
        ("Complétude des questions notées (%)", _fr_number(result.scored_completeness_pct)),
        ("Données de démonstration", "oui" if assessment.is_demo else "non"),
    ]
    for label, value in meta:
        rows.append(["Évaluation", "", "", "", label, value, ""])
    applicable = set(result.applicable_question_ids)
    for q in inst.questions:
        if q.id not in applicable:
            shown = "(non applicable)"
        else:
            shown = answer_text(q, assessment.answers) or "(sans réponse)"
        rows.append(["Question", q.id, dim_labels[q.dimension], sub_labels[q.subdimension], q.text, shown,
                     _fr_number(result.question_points.get(q.id))])
    for sid, s in result.subdimensions.items():
        dim = inst.subdimension(sid).dimension
        rows.append(["Sous-dimension", sid, dim_labels[dim], sub_labels[sid],
                     f"{s.n_answered}/{s.n_applicable} questions répondues", "", _fr_number(s.score)])
    for did, d in result.dimensions.items():
        rows.append(["Dimension", did, dim_labels[did], "", f"{d.n_subdimensions_scored}/{d.n_subdimensions} sous-dimensions notées",
                     "", _fr_number(d.score)])
    rows.append(["Global", "", "", "", "Score global", result.maturity_label, _fr_number(result.overall)])
    return csv_rows_bytes(rows)  # names, authors and free answers can never become formulas
