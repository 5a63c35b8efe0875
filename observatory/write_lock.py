"""One writer at a time for the analytical database (builds and register imports).

Both writers follow the same protocol: take an exclusive lock on ``<database>.lock``, work on a copy
beside the database, rename the copy over it, release. Without the lock, two imports each copy the
same original and the last rename silently drops the other one's register (measured: 2 trials in 3).
The lock is an OS file lock (``fcntl.flock``): the kernel releases it when its process ends, even on
``kill -9``, so a dead writer never blocks the next one. While holding it, a writer removes the
temporary files that dead writers left behind (nothing else can be writing them).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

DEFAULT_WAIT_S = 600.0  # a full build takes under a minute here; ten minutes means something is stuck
_POLL_S = 0.1


class WriteLockTimeout(RuntimeError):
    """Another build or import held the database for longer than the caller would wait (French message)."""


def lock_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


def stale_temporary_files(db_path: Path) -> list[Path]:
    """Temporary files of earlier writers of ``db_path``: build copies (``<name>.tmp-<pid>``) and import
    copies (``.<name>.<random>.import.tmp``), with their DuckDB journals."""
    db_path = Path(db_path)
    folder = db_path.parent
    if not folder.is_dir():
        return []
    patterns = (f"{db_path.name}.tmp-*", f".{db_path.name}.*.import.tmp", f".{db_path.name}.*.import.tmp.wal")
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def remove_stale_files(db_path: Path) -> list[Path]:
    """Remove what :func:`stale_temporary_files` finds; only call it while holding the lock."""
    removed = []
    for path in stale_temporary_files(db_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def exclusive_write(
    db_path: Path,
    wait_s: float = DEFAULT_WAIT_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[list[Path]]:
    """Hold the write lock of ``db_path``; yields the stale temporary files it removed.

    ``on_wait`` is told once (in French) when another writer holds the lock, so a command line can say
    why it pauses. Raises :class:`WriteLockTimeout` after ``wait_s`` seconds.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait(f"Une autre écriture de {Path(db_path).name} (construction ou import) est en cours : attente de sa fin…")
                    told = True
                if time.monotonic() >= deadline:
                    raise WriteLockTimeout(
                        f"la base {db_path} est en cours d'écriture par un autre programme (construction ou import) "
                        f"depuis plus de {wait_s:.0f} s ; réessayez quand il aura fini"
                    ) from None
                time.sleep(_POLL_S)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a human looking at the file
        except OSError:
            pass  # informative only (e.g. a full disk): the lock itself is held
        yield remove_stale_files(db_path)
    finally:
        os.close(fd)  # closing the descriptor releases the lock
