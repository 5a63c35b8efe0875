"""The server: Streamlit's ASGI application for ``app.py``, warmed up before it answers.

``make run`` and the browser tests start ``streamlit run serve.py``. Why an entry of its own: a
Streamlit script runs only when a visitor arrives, so the first visitor of a freshly started server paid
for every cache the pages fill (France map 7.6 to 8.9 s, Fiche CPTS 6.3 s on two shared cores).
``st.App``'s lifespan runs before the server accepts connections: :func:`ui.warmup.warm_up` fills those
caches there (the same ``st.cache_data`` the pages read), and the server answers once it is done; the
views of every date of the time control are then prepared in the background.
``app.py`` stays the frame every page runs in; AppTest runs it directly, without warm-up.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from ui.warmup import warm_up

    timings = await asyncio.get_running_loop().run_in_executor(None, warm_up)
    print("Préchauffage : " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()), flush=True)
    # Then, while the server answers: every date of the time control (a few seconds of background work).
    threading.Thread(target=_warm_views, name="observatoire-vues", daemon=True).start()
    yield


def _warm_views() -> None:
    import time

    from ui.warmup import VIEWS_READY, warm_dates

    start = time.perf_counter()
    count = warm_dates()
    print(f"{VIEWS_READY} ({count} vues, {time.perf_counter() - start:.1f} s)", flush=True)


app = st.App("app.py", lifespan=lifespan)
