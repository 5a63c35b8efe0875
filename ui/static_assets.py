"""Offline Leaflet: copy the files shipped by the PyPI package ``django-js-lib-leaflet`` (a pinned
dependency) into ``static/leaflet/``, which Streamlit serves at ``/app/static/leaflet/`` when
``server.enableStaticServing`` is on. Nothing is fetched from a CDN at run time, and nothing
third-party is committed: ``static/`` is git-ignored and rebuilt from the installed package.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
LEAFLET_DIR = STATIC_DIR / "leaflet"
LEAFLET_FILES = ("leaflet.js", "leaflet.css")


def ensure_leaflet_assets() -> Path:
    """Copy Leaflet's files once; cheap when they are already there."""
    if all((LEAFLET_DIR / name).exists() for name in LEAFLET_FILES):
        return LEAFLET_DIR
    source = Path(str(resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"))
    tmp = STATIC_DIR / ".leaflet-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
    shutil.rmtree(LEAFLET_DIR, ignore_errors=True)
    tmp.rename(LEAFLET_DIR)  # atomic: a half-copied folder is never served
    return LEAFLET_DIR


if __name__ == "__main__":
    print(f"Leaflet hors ligne : {ensure_leaflet_assets()}")
