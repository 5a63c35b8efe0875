"""Presentation mode (conference projector): ``?presentation=1`` hides the navigation and collapses the
sidebar (read by ``app.py`` before ``st.navigation``); the « Matrice » page enlarges its type and steps
through the dimensions. A query parameter, so a presenter can bookmark the link."""

from __future__ import annotations

import streamlit as st

PRESENTATION_PARAM = "presentation"


def is_presenting() -> bool:
    return st.query_params.get(PRESENTATION_PARAM) == "1"


def set_presenting(on: bool) -> None:
    """Switch the mode; called from a widget callback, which runs before ``app.py`` on the next rerun."""
    if on:
        st.query_params[PRESENTATION_PARAM] = "1"
    elif PRESENTATION_PARAM in st.query_params:
        del st.query_params[PRESENTATION_PARAM]
