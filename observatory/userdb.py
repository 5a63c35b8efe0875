"""The user-data database behind one interface: an embedded DuckDB file (default) or a PostgreSQL server.

User data (accounts, sessions, assessments, campaigns, plans, audit) is written by the app; the analytical
database is a read-only build artefact each instance holds. One DuckDB file allows one writing process:
a région running several app instances behind a load balancer points them all at one PostgreSQL
database instead (``OBSERVATOIRE_USER_DATABASE_URL=postgresql://…``).

Stores write their SQL once, in the common subset of both dialects, with ``?`` placeholders; this module
translates what differs (placeholders, a few type names) and turns each backend's failures into the
same French errors (:class:`observatory.storage_errors`). Every write runs in one transaction; a
transaction aborted by a concurrent writer (DuckDB write-write conflict, PostgreSQL serialization
failure or deadlock) is re-run by :meth:`UserDatabase.write` with its checks.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from observatory.storage_errors import StorageProblem, diagnose

DUCKDB, POSTGRESQL = "duckdb", "postgresql"
_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # about 3 s in all, then the error surfaces
# DuckDB keeps one database instance per file and process, opened by the first connection and closed with
# the last one: two threads opening and closing the same file at once can collide ("already attached").
_DUCKDB_OPEN_CLOSE = threading.Lock()
_PLACEHOLDER = re.compile(r"\?")
_PG_TYPES = ((re.compile(r"\bDOUBLE\b(?! PRECISION)"), "DOUBLE PRECISION"),)


class UserDataError(RuntimeError):
    """A user-data operation failed; the message is French."""


class UserDataUnavailable(UserDataError):
    """The database cannot be used as asked (locked, read-only, disk full, corrupt, unreachable, other
    schema): ``problem`` names the cause and what to do."""

    def __init__(self, problem: StorageProblem):
        super().__init__(problem.message)
        self.problem = problem
        self.storage_cause = problem.cause


class DuplicateKey(UserDataError):
    """An insert collided with an existing primary or unique key."""


class _DeadPooledConnection(UserDataError):
    """An idle PostgreSQL connection of the pool was found dead on first use, before any commit (the server
    restarted, an administrator or a proxy ended idle sessions): nothing was done, the operation can be re-run
    on a new connection. Never leaves this module."""


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


STORE_LABEL = "La base des données des utilisateurs"


def _rows(description, fetched) -> list[dict[str, Any]]:
    if description is None:
        return []
    names = [d[0] for d in description]
    return [dict(zip(names, row, strict=False)) for row in fetched]


class _DuckCursor:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            cur = self._con.execute(sql, list(params))
            return _rows(cur.description, cur.fetchall() if cur.description else [])
        except duckdb.ConstraintException as exc:
            raise DuplicateKey(str(exc)) from exc


class _PgCursor:
    def __init__(self, con):
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        import psycopg

        try:
            cur = self._con.execute(_PLACEHOLDER.sub("%s", sql.replace("%", "%%")), list(params))
            return _rows(cur.description, cur.fetchall() if cur.description else [])
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKey(str(exc)) from exc


@dataclass(frozen=True)
class Location:
    """Where user data lives: a DuckDB file path or a PostgreSQL URL (``postgresql://…``)."""

    backend: str
    target: str

    @classmethod
    def parse(cls, value: str | Path) -> Location:
        text = str(value)
        if text.startswith(("postgresql://", "postgres://")):
            return cls(POSTGRESQL, text)
        return cls(DUCKDB, str(Path(text).resolve()))

    @property
    def shown(self) -> str:
        """For logs and the admin: the URL without its password."""
        return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", self.target) if self.backend == POSTGRESQL else self.target


_PG_IDLE_MAX = 8  # idle PostgreSQL connections kept per process (Streamlit runs each session on its own thread)


class UserDatabase:
    """One user-data database. Thread-safe: DuckDB opens a connection per operation (a shared DuckDB
    connection is not thread-safe); PostgreSQL connections are borrowed from a small pool of idle ones,
    one operation at a time."""

    def __init__(self, location: Location | str | Path, label: str = STORE_LABEL, read_only: bool = False):
        self.location = location if isinstance(location, Location) else Location.parse(location)
        self.label = label
        self.read_only = read_only
        self._idle: list = []
        self._idle_lock = threading.Lock()
        if self.location.backend == DUCKDB:
            Path(self.location.target).parent.mkdir(parents=True, exist_ok=True)

    @property
    def backend(self) -> str:
        return self.location.backend

    # -- dialect ---------------------------------------------------------------------------------------

    def ddl(self, statement: str) -> str:
        """A CREATE statement written in DuckDB's words, in this backend's."""
        if self.backend == POSTGRESQL:
            for pattern, replacement in _PG_TYPES:
                statement = pattern.sub(replacement, statement)
        return statement

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column IN (?, ?, …)`` with its parameters (portable; an empty list matches nothing)."""
        if not values:
            return "FALSE", []
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    # -- connections -------------------------------------------------------------------------------------

    def unavailable(self, exc: BaseException) -> UserDataUnavailable:
        return UserDataUnavailable(diagnose(exc, self.label))

    def _duck_connect(self) -> duckdb.DuckDBPyConnection:
        for delay in (*_RETRY_DELAYS_S, None):
            try:
                with _DUCKDB_OPEN_CLOSE:
                    return duckdb.connect(self.location.target, read_only=self.read_only)
            except (duckdb.Error, OSError) as exc:
                text = str(exc).lower()
                is_lock = "lock" in text or "conflict" in text or isinstance(exc, duckdb.ResourceInUseException)
                if delay is None or not is_lock:
                    raise self.unavailable(exc) from exc
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _pg_acquire(self):
        """(connection, whether it comes from the idle pool)."""
        import psycopg

        with self._idle_lock:
            while self._idle:
                con = self._idle.pop()
                if not con.closed and not con.broken:
                    return con, True
        try:
            con = psycopg.connect(self.location.target, connect_timeout=10, autocommit=False)
        except psycopg.Error as exc:
            raise self.unavailable(exc) from exc
        if self.read_only:
            con.read_only = True
        return con, False

    def _pg_release(self, con) -> None:
        if con.closed or con.broken:
            return
        with self._idle_lock:
            if len(self._idle) < _PG_IDLE_MAX:
                self._idle.append(con)
                return
        con.close()

    @contextmanager
    def _session(self) -> Iterator[tuple[Cursor, Callable[[], None], Callable[[], None]]]:
        """(cursor, commit, rollback) on a connection of this thread; the DuckDB one is closed afterwards."""
        if self.backend == DUCKDB:
            con = self._duck_connect()
            try:
                yield _DuckCursor(con), con.commit, con.rollback
            finally:
                with _DUCKDB_OPEN_CLOSE:
                    con.close()
        else:
            import psycopg

            con, pooled = self._pg_acquire()
            committing = False

            def commit() -> None:
                nonlocal committing
                committing = True  # from here a lost connection leaves the outcome unknown: never re-run
                con.commit()

            try:
                yield _PgCursor(con), commit, con.rollback
            except psycopg.OperationalError as exc:
                if pooled and con.broken and not committing:
                    raise _DeadPooledConnection(str(exc)) from exc
                raise
            finally:
                self._pg_release(con)

    def _is_retryable(self, exc: BaseException) -> bool:
        if self.backend == DUCKDB:
            text = str(exc).lower()
            return isinstance(exc, duckdb.TransactionException) and ("conflict" in text or "lock" in text)
        import psycopg

        return isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected))

    def _is_storage_failure(self, exc: BaseException) -> bool:
        if isinstance(exc, OSError):
            return True
        if self.backend == DUCKDB:
            return isinstance(exc, (duckdb.IOException, duckdb.FatalException, duckdb.InternalException,
                                    duckdb.PermissionException))
        import psycopg

        return isinstance(exc, (psycopg.OperationalError, psycopg.errors.DiskFull,
                                psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege))

    # -- operations --------------------------------------------------------------------------------------

    def _fresh_after_dead_pool(self, attempt: Callable[[], Any]) -> Any:
        """``attempt()``; if a pooled connection turned out dead, the others died the same way: drop them all
        and attempt once more on a new connection (which reports the server's true state)."""
        try:
            return attempt()
        except _DeadPooledConnection:
            self.close()
            return attempt()

    def write(self, operation: Callable[[Cursor], Any]) -> Any:
        """Run ``operation(cursor)`` in one transaction and commit; re-run it (checks included) when a
        concurrent writer aborted the transaction. Storage failures become :class:`UserDataUnavailable`."""
        if self.read_only:
            raise self.unavailable(PermissionError("read-only file system"))
        return self._fresh_after_dead_pool(lambda: self._write_attempts(operation))

    def _write_attempts(self, operation: Callable[[Cursor], Any]) -> Any:
        for delay in (*_RETRY_DELAYS_S, None):
            try:
                with self._session() as (cursor, commit, rollback):
                    if self.backend == DUCKDB:
                        cursor.execute("BEGIN TRANSACTION")
                    try:
                        result = operation(cursor)
                        commit() if self.backend == POSTGRESQL else cursor.execute("COMMIT")
                        return result
                    except BaseException:
                        try:
                            rollback() if self.backend == POSTGRESQL else cursor.execute("ROLLBACK")
                        except Exception:  # noqa: BLE001 (a failed COMMIT has already aborted it)
                            pass
                        raise
            except UserDataError:
                raise
            except Exception as exc:
                if delay is not None and self._is_retryable(exc):
                    time.sleep(delay)
                    continue
                if self._is_storage_failure(exc):
                    raise self.unavailable(exc) from exc
                raise
        raise AssertionError("unreachable")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._fresh_after_dead_pool(lambda: self._read_once(sql, params))

    def _read_once(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        try:
            with self._session() as (cursor, commit, rollback):
                try:
                    return cursor.execute(sql, params)
                finally:
                    if self.backend == POSTGRESQL:
                        rollback()  # end the implicit read transaction: the next read sees new commits
        except UserDataError:
            raise
        except Exception as exc:
            if self._is_storage_failure(exc):
                raise self.unavailable(exc) from exc
            raise

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
