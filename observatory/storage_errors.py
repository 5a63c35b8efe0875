"""What went wrong with a database, in words a user can act on.

DuckDB, PostgreSQL and the operating system describe failures in English with internal details (paths,
the interpreter, a process id, a server address). :func:`diagnose` names the true cause (locked, read-only,
disk full, corrupt, built by another version, missing; for a PostgreSQL server: unreachable, or refusing
the application's account) and what to do, in French; pages show that message and the server log keeps the
original error.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

LOCKED = "verrouillee"
READ_ONLY = "lecture_seule"
DISK_FULL = "disque_plein"
CORRUPT = "endommagee"
OTHER_VERSION = "autre_version"
MISSING = "absente"
UNREACHABLE = "injoignable"
REFUSED = "connexion_refusee"
UNKNOWN = "inconnue"

# Each cause: substrings of the English messages (lower case) and errno values that reveal it.
_SIGNS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    # A PostgreSQL server that does not answer, or answers but refuses the account (libpq's messages).
    (UNREACHABLE, ("connection refused", "could not connect to server", "timeout expired", "could not translate host",
                   "name or service not known", "no route to host", "network is unreachable",
                   "server closed the connection unexpectedly", "terminating connection due to administrator",
                   "the database system is starting up", "the database system is shutting down",
                   "connection is lost", "the connection is closed"),
     (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)),
    (REFUSED, ("password authentication failed", "no pg_hba.conf entry", "authentication failed"), ()),
    (DISK_FULL, ("no space left on device", "disk is full", "could not write all bytes"), (errno.ENOSPC, errno.EDQUOT)),
    (READ_ONLY, ("permission denied", "operation not permitted", "read-only file system", "read only file system",
                 "cannot write to a read-only", "read-only transaction"), (errno.EACCES, errno.EPERM, errno.EROFS)),
    (LOCKED, ("could not set lock", "conflicting lock", "database is locked", "resource temporarily unavailable"),
     (errno.EAGAIN,)),
    (OTHER_VERSION, ("version number", "storage version", "created with a newer", "created by an older",
                     "serialization compatibility"), ()),
    (CORRUPT, ("not a valid duckdb database", "corrupt", "checksum", "failed to read", "invalid database header",
               "is not a database"), ()),
    (MISSING, ("no such file", "does not exist", "introuvable"), (errno.ENOENT,)),
)

_WHAT_TO_DO = {
    LOCKED: "est ouverte en écriture par un autre programme (une autre instance de l'application, une "
            "construction ou un script). Attendez qu'il ait fini, ou fermez-le, puis rechargez la page.",
    READ_ONLY: "est en lecture seule (droits du fichier ou du dossier, disque monté en lecture seule, ou compte de "
               "base de données sans droit d'écriture) : la consultation reste possible mais rien ne peut y être "
               "enregistré. L'administrateur doit donner le droit d'écriture au compte qui exécute l'application.",
    DISK_FULL: "ne peut pas être écrite : le disque du serveur est plein. Rien n'a été enregistré ; "
               "l'administrateur doit libérer de la place, puis vous pourrez recommencer.",
    CORRUPT: "est endommagée et ne peut pas être lue. L'administrateur doit la restaurer depuis la dernière "
             "sauvegarde (ou la reconstruire avec `python -m observatory build` s'il s'agit de la base de "
             "l'observatoire).",
    OTHER_VERSION: "a été écrite par une autre version du logiciel (format ou schéma différent). L'administrateur "
                   "doit la migrer ou la reconstruire avec `python -m observatory build`.",
    UNREACHABLE: "est injoignable : son serveur PostgreSQL ne répond pas (arrêté, en cours de redémarrage, adresse ou "
                 "port erronés, ou réseau coupé). Rien n'a été lu ni enregistré. L'administrateur doit vérifier que le "
                 "serveur fonctionne et que `OBSERVATOIRE_USER_DATABASE_URL` le désigne, puis vous pourrez recharger la "
                 "page.",
    REFUSED: "refuse la connexion de l'application : son serveur PostgreSQL n'accepte pas le compte configuré (mot de "
             "passe refusé ou adresse non autorisée). L'administrateur doit corriger le compte de "
             "`OBSERVATOIRE_USER_DATABASE_URL` ou les autorisations du serveur (pg_hba.conf).",
    MISSING: "est introuvable. L'administrateur doit la créer (`make setup` ou `python -m observatory build`).",
    UNKNOWN: "n'a pas pu être lue ou écrite. Réessayez dans un instant ; si le problème persiste, signalez-le à "
             "l'administrateur (le détail technique est dans le journal du serveur).",
}


@dataclass(frozen=True)
class StorageProblem:
    cause: str  # one of the constants above
    message: str  # French: what happened and what to do


def cause_of(exc: BaseException) -> str:
    """The cause revealed by ``exc`` or by the errors it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        explicit = getattr(current, "storage_cause", None)
        if explicit:
            return explicit
        text = str(current).lower()
        code = getattr(current, "errno", None)
        for cause, fragments, codes in _SIGNS:
            if (code is not None and code in codes) or any(f in text for f in fragments):
                return cause
        current = current.__cause__ or current.__context__
    return UNKNOWN


def diagnose(exc: BaseException, what: str) -> StorageProblem:
    """``what`` names the file for the user, e.g. « La base des évaluations »."""
    cause = cause_of(exc)
    return StorageProblem(cause, f"{what} {_WHAT_TO_DO[cause]}")
