"""Small shared display pieces: the demonstration banner and source captions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from observatory.safe_text import markdown_literal
from ui.frame import AppContext

DEMO_BANNER = (
    "**Démonstration** : le registre affiché est fictif. Ses CPTS sont générées à partir de communes et "
    "d'EPCI réels et calibrées sur des chiffres nationaux publiés ; elles n'existent pas. Les populations, "
    "contours et indicateurs d'accès aux soins sont, eux, réels."
)


def register_banner(context: AppContext) -> None:
    if context.is_demo:
        st.warning(DEMO_BANNER, icon=":material/science:")
    elif context.register_kind == "imported":
        as_of = f", état au {context.register_as_of}" if context.register_as_of else ""
        st.info(f"Registre importé : **{markdown_literal(context.register_name)}**{as_of}.", icon=":material/upload_file:")


def source_caption(sources: pd.DataFrame, source_ids: list[str], prefix: str = "Source") -> None:
    """One caption line naming each source with its vintage (every figure says where it comes from)."""
    rows = sources[sources["source_id"].isin(source_ids)].drop_duplicates("source_id")
    if rows.empty:
        return
    # Names and vintages of imported files come from the user: escaped like any outside text.
    parts = [markdown_literal(f"{r['name']} ({r['publisher']}, {r['vintage']})" if r.get("publisher")
                              else f"{r['name']} ({r['vintage']})")
             for _, r in rows.iterrows()]
    st.caption(f"{prefix} : " + " ; ".join(parts))
