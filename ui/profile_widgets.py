"""Choosing a CPTS on the « Fiche CPTS » and « Matrice » pages, with a shareable link.

The CPTS travels in the ``cpts`` query parameter (kept in sync with the selection; the frame keeps
``registre`` in sync), so a copied link opens the same CPTS in a fresh session. The list offers the CPTS
of the register chosen in the sidebar and, apart, the thesis's case studies (their register has no map,
so the frame's selector does not offer it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from observatory import url_params
from observatory.safe_text import markdown_literal
from ui import cache, cache_couverture, cache_fiche, errors
from ui import view_state as view
from ui.frame import AppContext

CPTS_PARAM = "cpts"
CASE_STUDY_KIND = "case_study"


@dataclass(frozen=True)
class ChosenCpts:
    cpts_id: str
    name: str
    register: dict  # row of queries.list_registers, with register_id
    as_of: str  # the register's reference date (ISO), today when it has none
    region_code: str | None

    @property
    def register_id(self) -> str:
        return str(self.register["register_id"])

    @property
    def is_case_study(self) -> bool:
        return self.register.get("kind") == CASE_STUDY_KIND


def register_row(path: str, register_id: str) -> dict:
    registers = cache.registers(path)
    row = registers[registers["register_id"] == register_id].iloc[0].to_dict()
    return {k: (None if not isinstance(v, (list, tuple)) and pd.isna(v) else v) for k, v in row.items()}


def _as_of(register: dict) -> str:
    value = register.get("as_of_date")
    return pd.Timestamp(value).date().isoformat() if value is not None else dt.date.today().isoformat()


def default_cpts(ids: Sequence[str], preferred_ids: Sequence[str]) -> str | None:
    """The CPTS a list opens on: the first of ``preferred_ids`` it holds (e.g. assessed ones), else its first."""
    return next((i for i in preferred_ids if i in set(ids)), ids[0] if len(ids) else None)


def choose_cpts(context: AppContext, key_prefix: str, preferred_ids: Sequence[str] = ()) -> ChosenCpts | None:
    """Source list (register shown / case studies), then a selectbox of its CPTS. The first run takes
    the CPTS of the link (``?cpts=``), else the first of ``preferred_ids`` in the list, else the first."""
    path = context.db_path
    registers = cache.registers(path)
    case_ids = registers.loc[registers["kind"] == CASE_STUDY_KIND, "register_id"].astype(str).tolist()
    sources = [context.register_id, *case_ids]
    # The parameter may be the one this page wrote itself (the current selection): then it is not reported
    # as « the link's CPTS » when the register switched in the sidebar no longer holds it.
    written_key = f"{key_prefix}_written_cpts"
    requested = url_params.identifier(st.query_params.get(CPTS_PARAM))
    is_own = requested is not None and requested == st.session_state.get(written_key)
    found = cache_fiche.profile_find_cpts(path, requested) if requested else None
    if is_own:
        pass  # no message: the sidebar's register may just have changed
    elif st.query_params.get(CPTS_PARAM) and requested is None:
        st.warning("Le lien contient un identifiant de CPTS invalide (caractères ou longueur non admis) : une autre "
                   "CPTS est affichée. Choisissez-la dans la liste ci-dessous.")
    elif requested and found is None:
        st.warning(f"Le lien demande la CPTS « {markdown_literal(requested)} », absente de la base : une autre CPTS "
                   "est affichée.")
    elif found is not None and found["register_id"] not in sources:
        st.info(f"La CPTS du lien, « {markdown_literal(found['name'])} », appartient au registre "
                f"« {markdown_literal(found['register_name'])} » : choisissez ce registre dans la barre latérale pour "
                "l'afficher.")
    # Without a CPTS in the link (the navigation menu), the one chosen on another page (the shared view).
    if found is None and not st.query_params.get(CPTS_PARAM) and view.session_view().cpts_id:
        found = cache_fiche.profile_find_cpts(path, view.session_view().cpts_id)
    from_outside = found is not None and found["cpts_id"] != st.session_state.get(written_key)
    default_source = found["register_id"] if found is not None and found["register_id"] in sources else sources[0]
    names = dict(zip(registers["register_id"], registers["name"], strict=True))
    if case_ids:
        source_key = f"{key_prefix}_source"
        if from_outside:  # a link, Back or Forward, or another page: the list shows that CPTS's source
            view.bind(source_key, default_source)
        source = st.radio(
            "Liste de CPTS",
            sources,
            index=None if source_key in st.session_state else sources.index(default_source),
            # Radio options are Markdown: register names are escaped.
            format_func=lambda rid: (f"Registre affiché : {markdown_literal(names[rid])}" if rid == context.register_id
                                     else f"{markdown_literal(names[rid])} (CPTS A à E, anonymisées)"),
            horizontal=True,
            key=source_key,
        )
    else:
        source = default_source
    cpts, _ = cache_couverture.couverture_register(path, source)
    if cpts.empty:
        st.info("Ce registre ne contient aucune CPTS.")
        return None
    ids = cpts["cpts_id"].astype(str).tolist()
    labels = dict(zip(ids, cpts["name"].astype(str), strict=True))
    if found is not None and found["cpts_id"] in labels:
        index = ids.index(found["cpts_id"])  # used when the selectbox is new (first run, coming from a link)
    else:
        index = ids.index(default_cpts(ids, preferred_ids))
    select_key = f"{key_prefix}_cpts_{source}"
    if from_outside and found["cpts_id"] in labels:
        view.bind(select_key, found["cpts_id"])
    chosen = st.selectbox("CPTS", ids, index=None if select_key in st.session_state else index,
                          format_func=labels.get, key=select_key,
                          help="Le lien de la page (barre d'adresse) désigne cette CPTS : il peut être partagé.")
    chosen = chosen if chosen in labels else ids[index]
    if st.query_params.get(CPTS_PARAM) != chosen:
        st.query_params[CPTS_PARAM] = chosen
    st.session_state[written_key] = chosen
    view.remember_cpts(chosen)
    register = register_row(path, source)
    return ChosenCpts(chosen, labels[chosen], register, _as_of(register), register.get("region_code"))


def ensure_demo_assessments(context: AppContext) -> None:
    """The demo register's generated assessments in the user database (idempotent, once per process). A
    store that cannot be written (locked, read-only...) is reported and the page goes on without them."""
    if context.is_demo:
        errors.user_data(lambda: cache.auto_evaluation_demo_loaded(
            cache.user_db_path(), context.db_path, context.register_id,
            context.register_as_of or dt.date.today().isoformat()), 0)
