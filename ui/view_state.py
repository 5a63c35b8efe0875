"""The shared view state (:mod:`observatory.view_state`) in a Streamlit session: read at the top of a page
run from the link or the session, changed by widget callbacks, written back into the link in one message.

Why callbacks write the link: Streamlit pushes a browser history entry each time the query string changes,
and reruns the page with the restored query string on Back and Forward. With every change written to the
link as it happens (one write per change, never one per parameter), the link is always the truth: a run
sets the widgets from it, so Back and Forward restore the view, including the widgets.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from observatory import view_state as vs
from observatory.view_state import ViewOptions, ViewState

STATE_KEY = "view_state"  # the session's state (not a widget): survives page changes


def session_view() -> ViewState:
    return st.session_state.get(STATE_KEY) or ViewState()


def _store(state: ViewState, page: str | None) -> None:
    """Keep the page's parts (and the register) in the session; other pages' parts stay as they were."""
    names = ("register_id", *vs.link_fields(page))
    st.session_state[STATE_KEY] = session_view().replace(**{n: getattr(state, n) for n in names})


def publish(state: ViewState, page: str | None) -> None:
    """Write the page's state into the link when it differs (one message, so one history entry)."""
    current = st.query_params.to_dict()
    wanted = vs.merged_query(current, state, page)
    if wanted != current:
        st.query_params.from_dict(wanted)


def start(page: str, options: ViewOptions) -> ViewState:
    """The state of this run: from the link when it carries the page's view, else from the session."""
    state = vs.from_query(st.query_params.to_dict(), page, session_view(), options)
    _store(state, page)
    publish(state, page)
    return state


def change(page: str, options: ViewOptions, transform: Callable[[ViewState], ViewState]) -> ViewState:
    """Apply a change (a widget callback): new state in the session and in the link."""
    state = vs.resolve(transform(vs.from_query(st.query_params.to_dict(), page, session_view(), options)), options)
    _store(state, page)
    publish(state, page)
    return state


def remember_register(register_id: str) -> None:
    state = session_view()
    if state.register_id != register_id:
        st.session_state[STATE_KEY] = vs.with_register(state, register_id)


def remember_cpts(cpts_id: str | None) -> None:
    """A page that shows one CPTS (Fiche, Matrice) keeps it in the shared view for the other pages."""
    state = session_view()
    if state.cpts_id != cpts_id:
        st.session_state[STATE_KEY] = state.replace(cpts_id=cpts_id)


def remember_area(scale: str, region_code: str | None, departement_code: str | None) -> None:
    """A page with its own area controls (Financement) keeps its area in the shared view."""
    state = session_view()
    changed = state.replace(scale=scale, region_code=region_code, departement_code=departement_code)
    if changed != state:
        st.session_state[STATE_KEY] = changed


def change_register(register_id: str) -> None:
    """The register chosen in the sidebar (a callback): the link names it and drops what belonged to the
    previous one (its date, its CPTS, a commune found on its map), in one write."""
    st.session_state[STATE_KEY] = vs.with_register(session_view(), register_id)
    current = st.query_params.to_dict()
    dropped = {vs.PARAM_DATE, vs.PARAM_CPTS, vs.PARAM_COMMUNE}
    wanted = {k: v for k, v in current.items() if k not in dropped} | {vs.PARAM_REGISTER: register_id}
    if wanted != current:
        st.query_params.from_dict(wanted)


def bind(key: str, value) -> str:
    """Give widget ``key`` the state's value before it is drawn (the link wins over the widget's memory)."""
    if st.session_state.get(key) != value:
        st.session_state[key] = value
    return key
