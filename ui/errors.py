"""Errors as users read them: a French message naming the cause and what to do, never a traceback.

``app.py`` runs every page inside :func:`guarded`; a page that can go on without the user-data store
(the Fiche CPTS and the Matrice show maps and figures without assessments) reads it through
:func:`user_data`, which shows the store's problem once and returns a default. The full error goes to
the server log with a short reference that the message repeats, so an administrator can find it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb
import streamlit as st

from observatory.campaigns import CampaignInputError
from observatory.db import DatabaseMissingError
from observatory.safe_text import markdown_literal
from observatory.scoring import InvalidAnswersError
from observatory.storage_errors import UNKNOWN, diagnose
from observatory.userdb import UserDataError, UserDataUnavailable

T = TypeVar("T")
UNAVAILABLE = object()  # a default meaning « the store could not be read » (not « nothing stored »)
LOG = logging.getLogger("observatoire")
ANALYTICAL_LABEL = "La base de données de l'observatoire"
_SHOWN_KEY = "errors_shown_this_run"


def explain(exc: BaseException) -> str:
    """The French message for ``exc`` (Markdown-safe)."""
    if isinstance(exc, UserDataUnavailable):  # the stores' StoreUnavailableError included
        return exc.problem.message
    if isinstance(exc, DatabaseMissingError):
        return str(exc)  # our own sentence with the configured path
    if isinstance(exc, (UserDataError, CampaignInputError, InvalidAnswersError)):
        # Refusals written in French by the stores and the domain; they may quote names and authors: escaped.
        return markdown_literal(str(exc), max_length=2000)
    if isinstance(exc, (duckdb.Error, OSError)):
        problem = diagnose(exc, ANALYTICAL_LABEL)
        if problem.cause != UNKNOWN:
            return problem.message
    return ("Une erreur inattendue a interrompu l'affichage de cette page. Rechargez la page ; si l'erreur revient, "
            "signalez-la à l'administrateur")


def show_exception(exc: BaseException) -> None:
    """Log ``exc`` with its traceback and show its French explanation with a reference to the log entry."""
    reference = uuid.uuid4().hex[:8]
    LOG.error("Erreur affichée à l'utilisateur (référence %s)", reference, exc_info=exc)
    st.error(f"{explain(exc)} (référence de l'incident : {reference}).", icon=":material/error:")


def new_run() -> None:
    """Called by the frame at the start of each run: each problem is shown once per run."""
    st.session_state[_SHOWN_KEY] = set()


def _warn_once(message: str) -> None:
    shown = st.session_state.setdefault(_SHOWN_KEY, set())
    if message not in shown:
        shown.add(message)
        st.warning(message, icon=":material/database:")


def user_data(read: Callable[[], T], default: T) -> T:
    """``read()`` from the user-data store, or ``default`` with the store's problem shown as a warning."""
    try:
        return read()
    except UserDataError as exc:
        LOG.warning("Base des évaluations indisponible : %s", exc, exc_info=exc)
        _warn_once(explain(exc) + " Les auto-évaluations ne sont pas affichées ci-dessous.")
        return default


@contextmanager
def guarded() -> Iterator[None]:
    """Run a page: any exception becomes a French message (Streamlit's own stop and rerun pass through,
    they are not ``Exception``)."""
    try:
        yield
    except Exception as exc:  # the last line of defence: users never see a traceback
        show_exception(exc)


def guarded_callback(callback: Callable[..., None]) -> Callable[..., None]:
    """A widget callback that never shows a traceback: Streamlit runs callbacks before the page, outside
    :func:`guarded`, and would show its own English error for any exception."""

    def run(*args, **kwargs) -> None:
        try:
            callback(*args, **kwargs)
        except Exception as exc:  # the callback's change is dropped; the page says why, in French
            show_exception(exc)

    run.__name__ = getattr(callback, "__name__", "callback")
    run.__doc__ = callback.__doc__
    return run
