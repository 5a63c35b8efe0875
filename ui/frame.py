"""The app frame: shared choices made once in ``app.py`` and handed to every page.

``app.py`` calls :func:`render_frame` on every run (sidebar: register selector, demo banner) and
stores the resulting :class:`AppContext`; pages call :func:`page_context` to receive it as a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from observatory import url_params
from observatory.accounts import ANONYMOUS, Caller
from observatory.db import DatabaseMissingError
from ui import cache, errors
from ui import view_state as view

_CONTEXT_KEY = "app_context"
REGISTER_KEY = "register_choice"
_ACTIVE_KEY = "frame_active"  # True while app.py runs: a page run without it is rerun through the frame
REGISTER_PARAM = "registre"


@dataclass(frozen=True)
class AppContext:
    db_path: str
    register_id: str
    register_name: str
    register_kind: str
    is_demo: bool
    register_region_code: str | None
    register_as_of: str | None
    caller: Caller = ANONYMOUS  # who uses the app (ui/auth.py): every user-data access is checked against it


REGISTER_KINDS = {"demo": "démonstration", "imported": "importé", "case_study": "études de cas"}


def register_label(name: str, kind: str) -> str:
    """« Registre de démonstration (fictif) », « CPTS PACA — importé »: the kind is said once, never
    repeated when the name already says it (« (fictif) (démonstration) » read as a stutter)."""
    word = REGISTER_KINDS.get(kind, kind)
    return name if word.lower() in name.lower() else f"{name} — {word}"


def render_frame() -> AppContext | None:
    """Sidebar of every page. Returns ``None`` (after explaining why in French) when no database exists."""
    path = cache.db_path()
    if cache.reload_if_rebuilt(path):
        st.toast("La base de l'observatoire a été reconstruite, ou un registre ou un indicateur importé : données "
                 "rechargées.",
                 icon=":material/refresh:")
    try:
        registers = cache.registers(path)
    except DatabaseMissingError as error:
        st.error(str(error))  # our own sentence, with the configured path: no outside text
        return None
    mapped = registers[registers["kind"] != "case_study"].reset_index(drop=True)
    if mapped.empty:
        st.error("La base ne contient aucun registre de CPTS : relancez `python -m observatory build`.")
        return None
    ids = mapped["register_id"].tolist()
    labels = {row["register_id"]: register_label(str(row["name"]), str(row["kind"])) for _, row in mapped.iterrows()}
    # The link names the register (Back and Forward included); else the session's choice; else the first.
    requested = url_params.choice(st.query_params.get(REGISTER_PARAM), ids)
    remembered = view.session_view().register_id
    chosen = requested or (remembered if remembered in ids else ids[0])
    with st.sidebar:
        st.markdown("### Registre affiché")
        st.selectbox(
            "Registre de CPTS",
            options=ids,
            format_func=labels.get,
            help="Le registre de démonstration est fictif ; un registre importé provient d'un fichier réel "
            "(python -m observatory import-register).",
            key=view.bind(REGISTER_KEY, chosen),
            on_change=_register_changed,
        )
    view.remember_register(chosen)
    from ui import auth  # here: auth imports the stores, which the frame needs only once a database exists

    caller = auth.current_caller()
    with st.sidebar:
        auth.render_account_box(caller)
    if chosen != ids[0] or requested is not None:
        if st.query_params.get(REGISTER_PARAM) != chosen:
            st.query_params[REGISTER_PARAM] = chosen
    row = mapped.set_index("register_id").loc[chosen]
    as_of = row.get("as_of_date")
    context = AppContext(
        db_path=path,
        register_id=chosen,
        register_name=str(row["name"]),
        register_kind=str(row["kind"]),
        is_demo=bool(row["is_demo"]),
        register_region_code=None if pd.isna(row.get("region_code")) else str(row["region_code"]),
        register_as_of=None if as_of is None or pd.isna(as_of) else pd.Timestamp(as_of).date().isoformat(),
        caller=caller,
    )
    st.session_state[_CONTEXT_KEY] = context
    return context


@errors.guarded_callback
def _register_changed() -> None:
    """Another register in the sidebar: its link drops the date and the CPTS of the previous one."""
    view.change_register(st.session_state[REGISTER_KEY])


@contextmanager
def frame_run() -> Iterator[None]:
    """``app.py`` runs inside this: pages can tell whether the frame (and its error guard) is around them."""
    st.session_state[_ACTIVE_KEY] = True
    try:
        yield
    finally:
        st.session_state[_ACTIVE_KEY] = False


def page_context() -> AppContext:
    """The frame's context, for a page script.

    Why the fallback: when a folder named ``pages/`` exists, Streamlit runs its legacy multipage mode
    until ``st.navigation`` has run once in the process (and AppTest resets that at every run), so a
    page script may run alone, without ``app.py``: without the register choice, the banner and the
    error guard. We then switch the process to ``st.navigation`` mode and rerun, which runs ``app.py``
    (the frame) and lands on the same page.
    """
    context = st.session_state.get(_CONTEXT_KEY)
    if context is None or not st.session_state.get(_ACTIVE_KEY):
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return context
