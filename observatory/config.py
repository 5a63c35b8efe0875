"""Where things live on disk. Every path can be overridden by an environment variable,
so tests build their own databases in temporary folders and CI reads ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"  # versioned data files (instrument, grids...) + git-ignored databases

ENV_RAW_DIR = "OBSERVATOIRE_RAW_DIR"
ENV_DB = "OBSERVATOIRE_DB"
ENV_USER_DB = "OBSERVATOIRE_USER_DB"
ENV_CACHE_DIR = "OBSERVATOIRE_CACHE_DIR"


def raw_data_dir() -> Path:
    """Folder holding the raw open data in their original formats (default ``../shared/data``)."""
    return Path(os.environ.get(ENV_RAW_DIR, REPO_ROOT.parent / "shared" / "data")).resolve()


def download_cache_dir() -> Path:
    """Where sources fetched from their official location are kept (git-ignored)."""
    return Path(os.environ.get(ENV_CACHE_DIR, DATA_DIR / "raw-cache")).resolve()


def database_path() -> Path:
    """The analytical database written by ``python -m observatory build`` and read by the app."""
    return Path(os.environ.get(ENV_DB, DATA_DIR / "observatoire.duckdb")).resolve()


def user_database_path() -> Path:
    """The user's own database (self-assessments). The data build never touches it."""
    return Path(os.environ.get(ENV_USER_DB, DATA_DIR / "evaluations.duckdb")).resolve()


ENV_USER_DATABASE_URL = "OBSERVATOIRE_USER_DATABASE_URL"


def user_data_location() -> str:
    """Where user data lives (accounts, assessments, campaigns, plans, audit): a PostgreSQL URL when
    ``OBSERVATOIRE_USER_DATABASE_URL`` is set (several app instances share it), else the DuckDB file."""
    return os.environ.get(ENV_USER_DATABASE_URL) or str(user_database_path())


def imports_dir() -> Path:
    """Copies of imported register files and their manifest, re-applied by every build (git-ignored)."""
    return Path(os.environ.get("OBSERVATOIRE_IMPORTS_DIR", DATA_DIR / "imports")).resolve()
