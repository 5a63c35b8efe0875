"""Every table of the observatory is shown here: French numbers and columns that are never cut.

Numbers are written as a French reader expects them (« 12 463 067 », « 5,11 »), whatever the language of
the browser: the displayed text comes from the server (a pandas Styler, whose display values Streamlit
shows while the cells keep their numbers, so a column still sorts as numbers). A missing value shows as
« — » (the grid would show « None »). Each column gets the width of its header and of its longest value,
so nothing is cut with an ellipsis at 1280 pixels: a table wider than the page scrolls instead. Downloads
use the frames themselves (``observatory.exports``), never this display.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from observatory.indicators import format_number

PLAIN_NUMBER_COLUMNS = frozenset({"Année", "N°", "Code"})
CHAR_PX = 7.4  # average width of a character of the grid's font (14 px), a little generous
HEADER_EXTRA_PX = 34  # padding, sort arrow and menu icon of a header
MIN_WIDTH_PX, MAX_WIDTH_PX = 56, 460
MISSING = "—"


def decimals_of(column: str, values: pd.Series) -> int:
    """Decimals shown: 1 for a percentage column, 0 for whole numbers, else 2 (at most what the data has)."""
    known = values.dropna().astype("float64")
    if known.empty or (known % 1 == 0).all():
        return 0
    if "%" in str(column):
        return 1
    for decimals in (1, 2):
        if ((known * 10**decimals).round(6) % 1 == 0).all():
            return decimals
    return 2


def display_frame(frame: pd.DataFrame, decimals: Mapping[str, int] | None = None) -> tuple[pd.DataFrame, dict]:
    """(frame for display, Styler formats): numeric columns formatted in French; a numeric column with
    missing values becomes text (« — » where missing)."""
    shown = frame.copy()
    formats = {}
    for column in shown.columns:
        values = shown[column]
        is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if column in PLAIN_NUMBER_COLUMNS or not is_number:
            if values.isna().any():
                shown[column] = values.astype(object).where(values.notna(), MISSING)
            continue
        places = (decimals or {}).get(column, decimals_of(column, values))
        if values.isna().any():
            shown[column] = [format_number(float(v), places) if pd.notna(v) else MISSING for v in values]
        else:
            formats[column] = lambda v, d=places: format_number(float(v), d)
    return shown, formats


def column_widths(shown: pd.DataFrame, formats: Mapping) -> dict[str, int]:
    """Pixel width of each column: its header or its longest displayed value, whichever is wider."""
    widths = {}
    for column in shown.columns:
        values = shown[column]
        texts = values.map(formats[column]) if column in formats else values.astype(str)
        longest = int(texts.str.len().max()) if len(texts) else 0
        header = len(str(column)) * CHAR_PX + HEADER_EXTRA_PX
        content = longest * CHAR_PX + 18
        widths[column] = int(min(MAX_WIDTH_PX, max(MIN_WIDTH_PX, header, content)))
    return widths


# A small table is static (no English toolbar or column menu of Streamlit's grid; its headers wrap); a wide or
# long one is the grid, which scrolls, sorts, and keeps each column as wide as its content.
STATIC_ROWS, STATIC_COLUMNS = 60, 6


def show_table(frame: pd.DataFrame, where=st, decimals: Mapping[str, int] | None = None,
               column_config: Mapping | None = None, height="auto", key: str | None = None) -> None:
    """French numbers and uncut columns (see the module); a small table static, a wide or long one the grid
    (see ``STATIC_ROWS``). ``column_config`` entries given by the caller win."""
    shown, formats = display_frame(frame, decimals)
    if len(shown) <= STATIC_ROWS and len(shown.columns) <= STATIC_COLUMNS and not column_config:
        where.table(shown.style.format(formats), hide_index=True, border="horizontal")
        return
    config: dict = {column: st.column_config.Column(width=width)
                    for column, width in column_widths(shown, formats).items()}
    config.update(column_config or {})
    where.dataframe(shown.style.format(formats), hide_index=True, width="stretch", height=height,
                    column_config=config, key=key)


def show_text_table(frame: pd.DataFrame, where=st) -> None:
    """A table whose cells are sentences (questions, answers, hypotheses): a static table that wraps its
    text, so a long question is read whole instead of cut; numbers in French as in :func:`show_table`."""
    shown, formats = display_frame(frame)
    where.table(shown.style.format(formats), hide_index=True, border="horizontal")
