"""Finding a commune or a CPTS by (part of) its name, for the map's search (pure, no database).

Forgiving the way people type a place name: accents, case, hyphens and apostrophes do not matter
(« st etienne » finds Saint-Étienne, « lhay » finds L'Haÿ-les-Roses); every word typed must start a word
of the name. Results are ranked: exact name, then names starting with the text, then the others; among
equals, the most populated first. What is typed is only compared, never interpreted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

MAX_QUERY_LENGTH = 80
_SEPARATORS = re.compile(r"[\s\-'’‘`´.,;:/()]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def normalise(text: str) -> str:
    """« Saint-Étienne » -> « saint etienne »."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    words = [w for w in _SEPARATORS.split(plain) if w]
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True)
class Match:
    kind: str  # commune | cpts
    code: str  # commune code or cpts_id
    label: str  # plain text for a selectbox: « Rennes (35) – commune, 227 830 hab. »
    departement_code: str | None


def _score(name_norm: pd.Series, query: str) -> pd.Series:
    """0 exact, 1 starts with the text, 2 every word starts a word, None otherwise."""
    words = query.split()
    padded = " " + name_norm
    every_word = pd.Series(True, index=name_norm.index)
    for word in words:
        every_word &= padded.str.contains(" " + re.escape(word), regex=True)
    score = pd.Series(float("nan"), index=name_norm.index)
    score = score.where(~every_word, 2.0)
    score = score.where(~name_norm.str.startswith(query), 1.0)
    return score.where(name_norm != query, 0.0)


def with_search_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its names normalised once (a column ``search_key``), so that each search only compares."""
    return frame.assign(search_key=frame["name"].map(normalise))


def search(query: str, places: pd.DataFrame, cpts: pd.DataFrame, limit: int = 12) -> list[Match]:
    """Communes (``places``: commune_code, name, departement_code, population_count, unit_type) and CPTS
    (``cpts``: cpts_id, name, population_count, main departement in ``departement_code``) whose name
    matches ``query``; communes first at equal rank (what people look for most)."""
    text = normalise(str(query or "")[:MAX_QUERY_LENGTH])
    if len(text) < 2:
        return []
    found = []
    if len(places):
        communes = places if "search_key" in places.columns else with_search_keys(places)
        communes = communes.assign(match_rank=_score(communes["search_key"], text)).dropna(subset=["match_rank"])
        communes = communes.sort_values(["match_rank", "population_count"], ascending=[True, False]).head(limit)
        for row in communes.itertuples(index=False):
            kind = "arrondissement" if row.unit_type == "arrondissement_municipal" else "commune"
            population = f"{int(row.population_count):,}".replace(",", "\u202f") if pd.notna(row.population_count) else "n.d."
            found.append((row.match_rank, 0, Match("commune", str(row.commune_code),
                                                 f"{row.name} ({row.departement_code}) – {kind}, {population} hab.",
                                                 str(row.departement_code))))
    if len(cpts):
        named = cpts.assign(search_key=cpts["name"].map(normalise))
        named = named.assign(match_rank=_score(named["search_key"], text)).dropna(subset=["match_rank"]).head(limit)
        for row in named.itertuples(index=False):
            dept = getattr(row, "departement_code", None)
            found.append((row.match_rank, 1, Match("cpts", str(row.cpts_id), f"{row.name} – CPTS",
                                               None if dept is None or pd.isna(dept) else str(dept))))
    found.sort(key=lambda item: (item[0], item[1]))
    return [match for _, _, match in found[:limit]]
