"""Caches of the indicator area (imported and derived indicators on « Couverture » and « Fiche CPTS »):
thin ``st.cache_data`` wrappers over ``observatory.indicator_catalogue``. The indicator frames, the
catalogue and the map classes stay the « Couverture » caches of ``ui.cache`` (one copy for both pages)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from observatory import indicator_catalogue as ic
from observatory import queries
from observatory.indicators import territory_value
from observatory.instrument import load_instrument
from ui import cache, cache_couverture, cache_fiche


@st.cache_data(show_spinner=False)
def indicator_sources(path: str) -> pd.DataFrame:
    return queries.indicator_sources(cache.connection_for(path))


@st.cache_data(show_spinner=False, max_entries=128)
def provenance(path: str, indicator_code: str, years: tuple[int, ...]) -> str:
    """Sources and vintages behind an indicator for the years shown (plain text, escaped by the caller)."""
    return ic.provenance_text(cache_couverture.couverture_indicator_catalogue(path), indicator_sources(path), cache.sources(path),
                              indicator_code, years)


@dataclass(frozen=True)
class MembersShareView:
    """The share of the territory's professionals who are CPTS members, or why it cannot be shown."""

    definition: dict
    share: ic.MembersShare | None
    missing: str | None  # French reason when ``share`` is None
    count_label: str | None = None
    submitted_on: str | None = None


@st.cache_data(show_spinner=False, max_entries=64)
def members_share(path: str, register_id: str, as_of: str, register_region: str | None, cpts_id: str,
                  user_path: str, token: tuple[int, ...]) -> MembersShareView | None:
    """Members declared at question 12 of the CPTS's latest submitted self-assessment over the imported count
    of professionals on its communes (latest year); None when no definition asks for it."""
    definition = ic.members_share_definition()
    if definition is None:
        return None
    catalogue = cache_couverture.couverture_indicator_catalogue(path)
    code = definition["denominator"]
    rows = catalogue[catalogue["indicator_code"] == code]
    if rows.empty or rows.iloc[0]["years"] is None or len(rows.iloc[0]["years"]) == 0:
        return MembersShareView(definition, None, f"aucun effectif de professionnels de santé importé sous le code"
                                                  f" « {code} » (python -m observatory import-indicator)")
    history = cache_fiche.profile_history(user_path, token, cpts_id)
    answer = history[-1].answers.get(definition["question_id"]) if history else None
    if answer is None:
        return MembersShareView(definition, None, "aucune auto-évaluation soumise ne renseigne le nombre de membres"
                                                  f" ({definition['question_id']})")
    option = load_instrument(history[-1].instrument_version).question(definition["question_id"]).option(str(answer))
    year = int(max(rows.iloc[0]["years"]))
    data = cache_couverture.couverture_indicator(path, code, year)
    snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, register_region)
    members = set(snapshot.links.loc[snapshot.links["cpts_id"] == cpts_id, "commune_code"])
    professionals = territory_value(data.units[data.units["commune_code"].isin(members)], data.entry)
    share = ic.members_share(option.label if option else str(answer), professionals, year)
    submitted = f"{history[-1].submitted_at:%d/%m/%Y}"
    if share is None:
        return MembersShareView(definition, None, "effectif de professionnels nul ou inconnu sur les communes de la CPTS",
                                str(rows.iloc[0]["label"]), submitted)
    return MembersShareView(definition, share, None, str(rows.iloc[0]["label"]), submitted)


@st.cache_data(show_spinner=False, max_entries=256)
def indicator_vintage(path: str, indicator_code: str, year: int) -> str | None:
    """The vintage recorded for a stored indicator's year (None for a derived one)."""
    return ic.vintage_of(indicator_sources(path), indicator_code, year)
