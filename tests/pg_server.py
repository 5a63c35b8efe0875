"""A real PostgreSQL server for the tests, from Debian's packages, on the loopback.

``make test`` installs the ``postgresql`` package (as it installs Chromium); the tests start a private
cluster in a temporary folder (``initdb`` + ``pg_ctl``), listening on 127.0.0.1 and a free port, and stop
it at the end. PostgreSQL refuses to run as root: when the tests run as root (CI), the cluster runs as
the ``postgres`` system user that the package creates. Never a mock.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit


class PostgresUnavailable(RuntimeError):
    pass


def binaries() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise PostgresUnavailable("PostgreSQL absent : lancez `make postgres-deps` (paquet Debian postgresql).")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server(database: str = "observatoire") -> Iterator[str]:
    """Yields a connection URL ``postgresql://observatoire@127.0.0.1:<port>/<database>``."""
    bin_dir = binaries()
    root = Path(tempfile.mkdtemp(prefix="pg-observatoire-"))
    data, sockets = root / "data", root / "sockets"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    log = root / "server.log"
    try:
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "observatoire",
                                        "--auth=trust", "--encoding=UTF8", "--no-sync", "--locale=C.UTF-8"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                        str(log), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_server_user([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                                        "observatoire", database]), check=True, capture_output=True, timeout=60)
        yield f"postgresql://observatoire@127.0.0.1:{port}/{database}"
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-2000:]
        server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise PostgresUnavailable(f"démarrage de PostgreSQL impossible : {detail}\n{server_log}") from exc
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                        "stop"]), capture_output=True, timeout=60)
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def unreachable_url() -> str:
    """A PostgreSQL URL where nothing listens (a free port of the loopback)."""
    return f"postgresql://observatoire@127.0.0.1:{_free_port()}/observatoire"


def role_url(location: str, grants: tuple[str, ...]) -> str:
    """The same database and schema as ``location`` (a URL of ``tests.conftest.fresh_postgres_schema``), reached
    as a new login role given only ``grants`` (``{schema}`` and ``{role}`` filled in)."""
    import psycopg

    parts = urlsplit(location)
    schema = parse_qs(parts.query)["options"][0].split("=", 1)[1]
    role = f"r_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(location, autocommit=True) as con:
        con.execute(f"CREATE ROLE {role} LOGIN")  # generated identifiers, not user input
        for grant in grants:
            con.execute(grant.format(schema=schema, role=role))
    return urlunsplit(parts._replace(netloc=parts.netloc.replace("observatoire@", f"{role}@")))


# What a read-only role is given: read the tables and the change counter of a schema.
READ_GRANTS = ("GRANT USAGE ON SCHEMA {schema} TO {role}", "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
               "GRANT SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
