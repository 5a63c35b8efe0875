"""The server: Streamlit's ASGI application for ``app.py``, warmed up before it answers.

``make run`` and the browser tests start ``streamlit run serve.py``. Why an entry of its own: a
Streamlit script runs only when a visitor arrives, so the first visitor of a freshly started server paid
for every cache the pages fill (France map 7.6 to 8.9 s, Fiche CPTS 6.3 s on two shared cores).
``st.App``'s lifespan runs before the server accepts connections: :func:`ui.warmup.warm_up` fills those
caches there (the same ``st.cache_data`` the pages read), and the server answers once it is done.
``app.py`` stays the frame every page runs in; AppTest runs it directly, without warm-up.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from ui.warmup import warm_up

    timings = await asyncio.get_running_loop().run_in_executor(None, warm_up)
    print("Préchauffage : " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()), flush=True)
    yield


app = st.App("app.py", lifespan=lifespan)
