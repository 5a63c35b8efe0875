"""The user-data store: self-assessment drafts, submitted assessments and their history.

It lives in the user-data database (:mod:`observatory.userdb`): the DuckDB file ``data/evaluations.duckdb``
by default (``OBSERVATOIRE_USER_DB``), never opened by the data build, so rebuilding the analytical database
never loses anyone's answers; or a PostgreSQL database that several app instances share
(``OBSERVATOIRE_USER_DATABASE_URL``, see :func:`observatory.config.user_data_location`). The same SQL runs on
both (the common subset, ``?`` placeholders); the schema, one version for all user data, is
:mod:`observatory.user_schema`, created or migrated when the store opens.

Life cycle of an assessment
---------------------------
* **Draft**: at most one per CPTS (its id is ``draft:<cpts_id>``, so two concurrent first saves collide on
  the primary key rather than creating two drafts). Every save increments ``revision``. Saves use
  *optimistic concurrency*: the caller passes the revision it loaded; if another session saved in
  between, :class:`ConcurrentEditError` says who saved and when, unless ``force=True`` (explicit
  last-write-wins). The check is made again by the write itself (``UPDATE … WHERE revision = ?``), so two
  sessions or two instances that read the same revision at the same moment cannot both win.
* **Submission** (:meth:`AssessmentStore.submit`) validates the draft strictly, scores it, and inserts a
  new, dated, immutable row with the answers, the frozen scores (``scores_json``) and the instrument and
  scoring versions used. The draft is then **deleted** in the same transaction: the next cycle starts
  with :meth:`AssessmentStore.start_draft_from_latest`, which pre-fills a new draft from the latest
  submission (the thesis suggests a yearly or biennial survey, section 5).
* **Immutability**: no method updates a submitted row. The only deletion of submitted rows is
  :meth:`AssessmentStore.replace_demo_assessments`, restricted to ``is_demo`` rows: generated data, and
  assessments made on a demo CPTS (a draft carries the ``is_demo`` flag the page gives it, and its
  submission inherits it). Drafts are never deleted by it.

Every write runs in one transaction (rolled back on any error); a transaction aborted by a concurrent writer
is re-run with its checks (:meth:`observatory.userdb.UserDatabase.write`). After each commit the store's
change token moves on (:meth:`AssessmentStore.data_version`, the key of the app's caches).
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from observatory import config, user_schema
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
from observatory.storage_errors import READ_ONLY, diagnose
from observatory.userdb import DUCKDB, Cursor, DuplicateKey, UserDatabase, UserDataError, UserDataUnavailable

# v1: assessments and custom CPTS. v2: campaigns. v3: accounts, audit, ARS share, change token (user_schema).
SCHEMA_VERSION = user_schema.SCHEMA_VERSION
DRAFT_PREFIX = "draft:"
LOG = logging.getLogger("observatoire")
CUSTOM_CPTS_PREFIX = "custom:"

_COLUMNS = ("assessment_id", "cpts_id", "cpts_name", "register_id", "status", "instrument_version", "scoring_version",
            "answers_json", "scores_json", "overall_score", "maturity_level_id", "created_at", "updated_at", "submitted_at",
            "revision", "author", "is_demo", "campaign_id", "shared_with_ars")
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM assessments"


class AssessmentStoreError(UserDataError):
    """A store operation failed (message in French)."""


STORE_LABEL = "La base des évaluations"


class StoreUnavailableError(AssessmentStoreError, UserDataUnavailable):
    """The database cannot be used as asked (locked, read-only, disk full, corrupt, unreachable, other schema):
    ``problem`` names the cause and what to do, in French; the original error is chained for the server log.
    It is the user-data layer's :class:`~observatory.userdb.UserDataUnavailable`, raised by this store (so
    pages that catch the store's errors catch it too)."""

    @classmethod
    def from_error(cls, exc: BaseException) -> StoreUnavailableError:
        return cls(diagnose(exc, STORE_LABEL))


class _StoreDatabase(UserDatabase):
    """The user-data database as this store uses it: its failures are :class:`StoreUnavailableError`."""

    def unavailable(self, exc: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(diagnose(exc, self.label))


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
    shared_with_ars: bool = False  # the CPTS lets its ARS see this assessment individually

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
        campaign_id=row.get("campaign_id"), shared_with_ars=bool(row.get("shared_with_ars", False)),
    )

def _is_backend_error(exc: BaseException) -> bool:
    """An error of DuckDB or PostgreSQL (psycopg is imported only when a PostgreSQL store is used)."""
    psycopg = sys.modules.get("psycopg")
    return isinstance(exc, duckdb.Error) or (psycopg is not None and isinstance(exc, psycopg.Error))


# Module-level statement helpers: each runs inside the caller's transaction (tests monkeypatch them to
# simulate a failure between two statements of one transaction).


def _insert_assessment_row(cursor: Cursor, record: Mapping[str, Any]) -> None:
    placeholders = ", ".join("?" for _ in _COLUMNS)
    cursor.execute(f"INSERT INTO assessments ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                   [record.get(c, False) if c == "shared_with_ars" else record[c] for c in _COLUMNS])


def _delete_draft(cursor: Cursor, cpts_id: str, revision: int | None = None) -> int:
    """Delete the draft (only at ``revision`` when given); the number of rows deleted (0 or 1)."""
    sql, params = "DELETE FROM assessments WHERE assessment_id = ? AND status = 'draft'", [DRAFT_PREFIX + cpts_id]
    if revision is not None:
        sql, params = sql + " AND revision = ?", [*params, revision]
    return len(cursor.execute(sql + " RETURNING assessment_id", params))


class AssessmentStore:
    """Drafts, submissions and history of self-assessments, in the user-data database (a DuckDB file or
    PostgreSQL). Thread-safe: it holds no connection, only where the data lives."""

    def __init__(self, path: Path | str | None = None, clock: Callable[[], datetime] | None = None):
        """``path``: a DuckDB file (path) or a ``postgresql://`` URL; default :func:`config.user_data_location`."""
        location = path if path is not None else config.user_data_location()
        try:
            self.db = _StoreDatabase(location, STORE_LABEL)
        except OSError as exc:  # the file's folder cannot be created
            raise StoreUnavailableError.from_error(exc) from exc
        self.location = self.db.location
        # The DuckDB file (None on PostgreSQL).
        self.path = Path(self.location.target) if self.location.backend == DUCKDB else None
        # The clock is injectable so tests get deterministic timestamps; seconds are enough for humans.
        self._clock = clock or (lambda: datetime.now().replace(microsecond=0))
        # Read-only (file or folder not writable, PostgreSQL role with read rights only): answers can still be
        # read, every write says why it fails.
        self.read_only = False
        refused: StoreUnavailableError | None = None
        try:
            writable = self._transaction(self._open_schema)
        except UserDataUnavailable as exc:
            refused = exc if isinstance(exc, StoreUnavailableError) else StoreUnavailableError(exc.problem)
            if refused.storage_cause != READ_ONLY or (self.path is not None and not self.path.is_file()):
                raise refused from exc
            writable = False
        if not writable:
            self.read_only = True
            self.db = _StoreDatabase(self.location, STORE_LABEL, read_only=True)
            version = user_schema.read_version(self.db)  # readable at all?
            if version is None:  # nothing to read, and no right to create it
                raise refused or self.read_only_error()
            if version != SCHEMA_VERSION:  # an older schema cannot be migrated without writing
                raise StoreUnavailableError(user_schema.other_version(
                    self.db, version, "et ne peut pas être convertie : elle est en lecture seule. L'administrateur doit "
                                      "donner le droit d'écriture à l'application le temps d'une ouverture.").problem)

    def _open_schema(self, cursor: Cursor) -> bool:
        user_schema.open_schema(self.db, cursor)
        return user_schema.can_write(self.db, cursor)

    # -- transactions ---------------------------------------------------------------------------------

    def read_only_error(self) -> StoreUnavailableError:
        """What every write raises when the database cannot be written (answers can still be read)."""
        return StoreUnavailableError(diagnose(PermissionError("read-only file system"), STORE_LABEL))

    def _transaction(self, operation: Callable[[Cursor], Any]) -> Any:
        """``operation(cursor)`` in one transaction (re-run after a conflict); what the backend raises becomes a
        French store error."""
        try:
            return self.db.write(operation)
        except UserDataError:
            raise
        except Exception as exc:
            if self.db._is_retryable(exc):  # still conflicting after the retries
                raise AssessmentStoreError(
                    "Écriture impossible dans la base des évaluations : d'autres sessions la modifient au même moment. "
                    "Rien n'a été enregistré ; réessayez dans un instant.") from exc
            if _is_backend_error(exc):
                raise StoreUnavailableError.from_error(exc) from exc
            raise  # our own errors (invalid answers, a simulated failure in tests...) pass unchanged

    def _write(self, operation: Callable[[Cursor], Any]) -> Any:
        """Run ``operation(cursor)`` in one transaction; re-run it (checks included) after a conflict with a
        concurrent writer; then move the change token on."""
        if getattr(self, "read_only", False):
            raise self.read_only_error()
        result = self._transaction(operation)
        try:
            user_schema.bump_data_version(self.db)
        except UserDataError:  # the write is committed: say so, not that it failed; caches catch up at the next one
            LOG.warning("Jeton de modification non avancé après une écriture", exc_info=True)
        return result

    def _read(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.db.read(sql, params)

    def data_version(self) -> int:
        """A token that changes with every committed write of user data (any instance, any process): the app's
        caches are keyed by it. Cheap: a stat of the DuckDB file, one small query on PostgreSQL."""
        return user_schema.data_version(self.db)

    @staticmethod
    def _draft_row(cursor: Cursor, cpts_id: str) -> dict[str, Any] | None:
        rows = cursor.execute(_SELECT + " WHERE assessment_id = ? AND status = 'draft'", [DRAFT_PREFIX + cpts_id])
        return rows[0] if rows else None

    @staticmethod
    def _latest_submitted_row(cursor: Cursor, cpts_id: str) -> dict[str, Any] | None:
        rows = cursor.execute(
            _SELECT + " WHERE cpts_id = ? AND status = 'submitted' ORDER BY submitted_at DESC, assessment_id DESC LIMIT 1",
            [cpts_id],
        )
        return rows[0] if rows else None

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

        def operation(cursor: Cursor) -> Draft:
            now = self._clock()
            current = self._draft_row(cursor, cpts_id)
            expected = expected_revision or 0
            if current is None:
                if expected and not force:
                    latest = self._latest_submitted_row(cursor, cpts_id)
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
                try:
                    _insert_assessment_row(cursor, record)
                except DuplicateKey as exc:  # another session created it since the read above
                    raise ConcurrentEditError(
                        f"Le brouillon de {cpts_name or cpts_id} vient d'être créé par une autre session : rechargez-le "
                        "pour voir ses réponses, ou forcez l'enregistrement pour les remplacer.", None, None, None) from exc
                return _draft_from_row(record)
            if current["revision"] != expected and not force:
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} a été enregistré par {_who(current['author'])} "
                    f"{_fmt_when(current['updated_at'])} (révision {current['revision']}) depuis que vous l'avez chargé "
                    f"(révision {expected}). Rechargez-le pour voir ces modifications, ou forcez l'enregistrement pour les remplacer.",
                    current["revision"], current["author"], current["updated_at"],
                )
            new_revision = current["revision"] + 1
            # The revision is checked again by the UPDATE itself: a concurrent save committed since the read above
            # (PostgreSQL, read committed) leaves no row to change.
            changed = cursor.execute(
                f"""UPDATE assessments SET answers_json = ?, updated_at = ?, revision = ?, author = ?,
                       cpts_name = COALESCE(?, cpts_name), register_id = COALESCE(?, register_id),
                       instrument_version = COALESCE(?, instrument_version)
                   WHERE assessment_id = ? AND status = 'draft' AND revision = ?
                   RETURNING {', '.join(_COLUMNS)}""",
                [answers_json, now, new_revision, author, cpts_name, register_id, instrument_version,
                 DRAFT_PREFIX + cpts_id, current["revision"]],
            )
            if len(changed) != 1:
                raise ConcurrentEditError(
                    f"Le brouillon de {cpts_id} vient d'être modifié par une autre session ; rechargez-le.", None, None, None
                )
            return _draft_from_row(changed[0])

        return self._write(operation)

    def delete_draft(self, cpts_id: str, expected_revision: int, *, force: bool = False) -> None:
        """Discard the draft (submitted assessments are untouched)."""

        def operation(cursor: Cursor) -> None:
            current = self._draft_row(cursor, cpts_id)
            if current is None:
                return
            if current["revision"] != expected_revision and not force:
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} a été modifié par {_who(current['author'])} "
                    f"{_fmt_when(current['updated_at'])} (révision {current['revision']}) : suppression annulée.",
                    current["revision"], current["author"], current["updated_at"],
                )
            _delete_draft(cursor, cpts_id)

        self._write(operation)

    def start_draft_from_latest(self, cpts_id: str, *, author: str | None = None) -> Draft | None:
        """Start the next cycle: a new draft pre-filled with the latest submission's answers.

        Returns the existing draft if there is one, ``None`` if the CPTS has no submission. Answers are
        copied when the latest questionnaire accepts them (same version, or v1 answers in v2).
        """

        def operation(cursor: Cursor) -> Draft | None:
            current = self._draft_row(cursor, cpts_id)
            if current is not None:
                return _draft_from_row(current)
            latest = self._latest_submitted_row(cursor, cpts_id)
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
                "campaign_id": None, "shared_with_ars": False,  # consent is given per assessment, never carried over
            }
            _insert_assessment_row(cursor, record)
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

        def operation(cursor: Cursor) -> Assessment:
            current = self._draft_row(cursor, cpts_id)
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
            _insert_assessment_row(cursor, record)
            if _delete_draft(cursor, cpts_id, expected_revision) != 1:  # saved or submitted since the read above
                raise ConcurrentEditError(
                    f"Le brouillon de {current['cpts_name'] or cpts_id} vient d'être modifié ou soumis par une autre session : "
                    "relisez-le avant de le soumettre.", None, None, None)
            return _assessment_from_row(record)

        return self._write(operation)

    def import_submitted(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert already-scored submitted assessments (demo data, migrations), all or nothing.

        Each record has the keys of :class:`Assessment` (``answers`` and ``scores`` as dicts). An
        existing ``assessment_id`` is never overwritten: the primary key rejects it and nothing is written.
        """
        rows = [self._submitted_record(r) for r in records]

        def operation(cursor: Cursor) -> int:
            for row in rows:
                try:
                    _insert_assessment_row(cursor, row)
                except DuplicateKey as exc:
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

        def operation(cursor: Cursor) -> int:
            # consensus assessments of demo campaigns belong to them (CampaignStore.replace_demo_campaigns)
            cursor.execute("DELETE FROM assessments WHERE is_demo AND status = 'submitted' AND campaign_id IS NULL")
            for row in rows:
                _insert_assessment_row(cursor, row)
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
            "shared_with_ars": bool(r.get("shared_with_ars", False)),
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

    def set_shared(self, assessment_id: str, shared: bool) -> Assessment:
        """Whether the CPTS lets its ARS see this submitted assessment individually (who may decide is checked
        by :mod:`observatory.user_data`). The one change a submitted row accepts: consent, never content."""

        def operation(cursor: Cursor) -> Assessment:
            rows = cursor.execute(f"UPDATE assessments SET shared_with_ars = ? WHERE assessment_id = ? AND status = 'submitted'"
                                  f" RETURNING {', '.join(_COLUMNS)}", [bool(shared), assessment_id])
            if not rows:
                raise AssessmentStoreError(f"Évaluation soumise {assessment_id} introuvable : rien n'a été partagé.")
            return _assessment_from_row(rows[0])

        return self._write(operation)

    # The latest submission of each CPTS: a window function in a subquery (both dialects; DuckDB's QUALIFY is not).
    _LATEST_SQL = (
        "SELECT " + ", ".join(_COLUMNS) + " FROM (SELECT " + ", ".join(_COLUMNS) + ", row_number() OVER ("
        "PARTITION BY cpts_id ORDER BY submitted_at DESC, assessment_id DESC) AS rank_in_cpts"
        " FROM assessments WHERE status = 'submitted' {where}) AS ranked WHERE rank_in_cpts = 1 ORDER BY cpts_id"
    )

    def submitted_for_peers(self, cpts_ids: Iterable[str]) -> list[Assessment]:
        """The latest submitted assessment of each of ``cpts_ids`` that has one (for peer medians)."""
        ids = list(dict.fromkeys(cpts_ids))
        if not ids:
            return []
        where, params = self.db.in_list("cpts_id", ids)
        rows = self._read(self._LATEST_SQL.format(where="AND " + where), params)
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

        def operation(cursor: Cursor) -> CustomCpts:
            cursor.execute("INSERT INTO custom_cpts (cpts_id, name, departement_code, ars_stage_code, population_count,"
                           " created_at, author, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
