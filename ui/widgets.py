"""Small shared display pieces: the demonstration banner and source captions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory.safe_text import markdown_literal
from ui.frame import AppContext

# One line at 1280 pixels: the map pages need the height (the Accueil page explains the register at length).
DEMO_BANNER = (
    "**Démonstration** : CPTS fictives (générées sur des communes réelles) ; populations et indicateurs réels."
)


def register_banner(context: AppContext, compact: bool = False) -> None:
    """The register's label on every page; ``compact`` (a projected slide): one short line, still saying
    « démonstration »."""
    if context.is_demo and compact:
        st.markdown(":orange-badge[:material/science: Démonstration] CPTS fictives, générées sur des communes réelles.")
    elif context.is_demo:
        st.warning(DEMO_BANNER, icon=":material/science:")
    elif context.register_kind == "imported":
        as_of = f", état au {context.register_as_of}" if context.register_as_of else ""
        st.info(f"Registre importé : **{markdown_literal(context.register_name)}**{as_of}.", icon=":material/upload_file:")


def source_texts(sources: pd.DataFrame, source_ids: list[str]) -> list[str]:
    """« name (publisher, vintage) » of each source, plain text (Markdown callers escape it)."""
    rows = sources[sources["source_id"].isin(source_ids)].drop_duplicates("source_id")
    return [f"{r['name']} ({r['publisher']}, {r['vintage']})" if r.get("publisher") else f"{r['name']} ({r['vintage']})"
            for _, r in rows.iterrows()]


def source_caption(sources: pd.DataFrame, source_ids: list[str], prefix: str = "Source") -> None:
    """One caption line naming each source with its vintage (every figure says where it comes from)."""
    parts = source_texts(sources, source_ids)
    if parts:
        # Names and vintages of imported files come from the user: escaped like any outside text.
        st.caption(f"{prefix} : " + " ; ".join(markdown_literal(p) for p in parts))
