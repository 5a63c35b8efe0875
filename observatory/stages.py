"""Stage vocabularies of CPTS (``data/stages.json``) and the stage of a CPTS at a date.

Two vocabularies are kept side by side: the national one (pré-projet → ACI signé), used by the national
statistics and carried by the dated columns of the ``cpts`` table, and the ARS Île-de-France gradation
of the thesis (question Q2), each ARS stage pointing to its national equivalent. ``inconnu`` is a
pseudo-stage (rank 0) for CPTS of an imported register that gives no stage date at all.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from observatory.config import DATA_DIR
from observatory.schema import TABLES_BY_NAME

STAGES_PATH = DATA_DIR / "stages.json"
UNKNOWN_STAGE = "inconnu"
NATIONAL = "national"
ARS = "ars"


@lru_cache(maxsize=4)
def _load(path: Path = STAGES_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_stages(path: Path | None = None) -> dict:
    """The raw vocabulary file (a fresh copy: callers may not alter the cached one)."""
    return json.loads(json.dumps(_load(path or STAGES_PATH)))


def national_stages() -> list[dict]:
    """National stages in order of progress (rank 1 first), without the ``inconnu`` pseudo-stage."""
    return sorted(load_stages()["national"], key=lambda s: s["rank"])


def ars_stages() -> list[dict]:
    return sorted(load_stages()["ars"], key=lambda s: s["rank"])


def national_stage_codes(include_unknown: bool = False) -> list[str]:
    """``['pre_projet', 'lettre_intention', 'projet_sante', 'aci']`` (+ ``'inconnu'`` first if asked)."""
    codes = [s["stage_code"] for s in national_stages()]
    return ([UNKNOWN_STAGE] if include_unknown else []) + codes


def ars_stage_codes() -> list[str]:
    return [s["stage_code"] for s in ars_stages()]


def stage_date_columns() -> dict[str, str]:
    """National stage code -> column of ``cpts`` holding the date the stage was reached, in rank order."""
    return {s["stage_code"]: s["date_column"] for s in national_stages()}


def _all_stages() -> list[dict]:
    data = load_stages()
    return [data["unknown"], *data["national"], *data["ars"]]


def stage_label(code: str) -> str:
    """French label of a stage of either vocabulary; a French error names an unknown code."""
    for stage in _all_stages():
        if stage["stage_code"] == code:
            return stage["label"]
    raise KeyError(f"stade inconnu du vocabulaire data/stages.json : {code!r}")


def stage_color(code: str) -> str:
    for stage in _all_stages():
        if stage["stage_code"] == code:
            return stage["color"]
    raise KeyError(f"stade inconnu du vocabulaire data/stages.json : {code!r}")


def national_stage_of_ars(code: str) -> str:
    """National stage equivalent to an ARS Île-de-France stage."""
    for stage in ars_stages():
        if stage["stage_code"] == code:
            return stage["national_stage_code"]
    raise KeyError(f"stade ARS inconnu du vocabulaire data/stages.json : {code!r}")


def stages_frame() -> pd.DataFrame:
    """Rows of the ``stages`` table: ``inconnu``, the national stages, then the ARS gradation."""
    data = load_stages()
    rows: list[dict[str, Any]] = []
    unknown = data["unknown"]
    rows.append({**unknown, "vocabulary": NATIONAL, "national_stage_code": None})
    for stage in national_stages():
        rows.append({**stage, "vocabulary": NATIONAL, "national_stage_code": stage["stage_code"]})
    for stage in ars_stages():
        rows.append({**stage, "vocabulary": ARS})
    columns = TABLES_BY_NAME["stages"].column_names
    frame = pd.DataFrame(rows)[columns]
    frame["rank"] = frame["rank"].astype("int64")
    return frame.reset_index(drop=True)


def _as_timestamp(as_of: Any) -> pd.Timestamp:
    if isinstance(as_of, (dt.date, dt.datetime, pd.Timestamp, str)):
        stamp = pd.Timestamp(as_of)
        if pd.isna(stamp):
            raise ValueError(f"date de référence invalide : {as_of!r}")
        return stamp.normalize()
    raise TypeError(f"date de référence invalide : {as_of!r} (attendu : date ou texte AAAA-MM-JJ)")


def stage_at(dates: pd.DataFrame | pd.Series, as_of: Any) -> pd.Series | str | None:
    """Stage of each CPTS at ``as_of``: the highest national stage whose date is <= ``as_of``.

    ``dates`` holds the date columns of ``cpts`` (``preproject_date`` ... ``aci_date``; missing columns
    count as NULL). Result per row: a national stage code; ``None`` when the CPTS has dates but none
    reached yet (not counted at that date); ``'inconnu'`` when it has no date at all (counted at every
    date). A Series row gives a single value, a DataFrame a Series aligned on its index.
    """
    if isinstance(dates, pd.Series):
        return stage_at(dates.to_frame().T, as_of).iloc[0]
    stamp = _as_timestamp(as_of)
    result = pd.Series([None] * len(dates), index=dates.index, dtype=object)
    has_any_date = pd.Series(False, index=dates.index)
    for code, column in stage_date_columns().items():  # rank order: a later stage overwrites
        if column not in dates.columns:
            continue
        values = pd.to_datetime(dates[column], errors="raise")
        has_any_date |= values.notna()
        result[values.notna() & (values <= stamp)] = code
    result[~has_any_date] = UNKNOWN_STAGE
    return result
