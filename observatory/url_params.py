"""The one parser of query parameters (deep links): every function takes the raw text of a parameter
(or ``None``) and returns a typed value or ``None``; none of them raises, whatever the text.

A link is outside input like a file: it may be truncated, crafted, very long, or hold SQL, HTML,
Markdown or NUL characters. Values are only ever *matched* against what the page offers (codes of
the database, dates of the slider), never interpreted, and what is shown back to the user goes through
:mod:`observatory.safe_text`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

MAX_PARAM_LENGTH = 200  # longer parameters are ignored outright (an identifier is under 100 characters)
MAX_LIST_LENGTH = 4000  # a list of codes (a scenario's communes: ~650 codes of 5 characters) may be longer
MAX_LIST_ITEMS = 500
MIN_YEAR, MAX_YEAR = 1900, 2100  # dates outside are not dates of this field

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,119}")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")
_TRUE = frozenset({"1", "true", "oui", "on"})
_INTEGER = re.compile(r"-?\d{1,9}")


def raw_text(value: object, max_length: int = MAX_PARAM_LENGTH) -> str | None:
    """The parameter as trimmed text, or ``None`` when absent, empty, longer than ``max_length`` or holding
    a control character (NUL included)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # a repeated parameter: the last one wins, as in Streamlit
        value = value[-1] if value else None
        if value is None:
            return None
    text = str(value).strip()
    if not text or len(text) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return None
    return text


def identifier(value: object) -> str | None:
    """An identifier of ours (CPTS, register, assessment): letters, digits and ``_ . : -`` only."""
    text = raw_text(value)
    return text if text is not None and _IDENTIFIER.fullmatch(text) else None


def choice(value: object, allowed: Collection[str]) -> str | None:
    """The parameter if it is one of ``allowed`` (codes, scales, versions), else ``None``."""
    text = raw_text(value)
    return text if text is not None and text in allowed else None


def choice_list(value: object, allowed: Collection[str], max_items: int = MAX_LIST_ITEMS) -> tuple[str, ...]:
    """``a,b,c``: the items that are in ``allowed``, in the link's order, each once, at most ``max_items``
    (an empty tuple when nothing usable). Unknown items are dropped, never reported back verbatim."""
    text = raw_text(value, MAX_LIST_LENGTH)
    if text is None:
        return ()
    out: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if item in allowed and item not in out:
            out.append(item)
            if len(out) >= max_items:
                break
    return tuple(out)


def integer(value: object, minimum: int, maximum: int) -> int | None:
    """A whole number written with digits only (optionally ``-``), within [``minimum``, ``maximum``]."""
    text = raw_text(value)
    if text is None or not _INTEGER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def flag(value: object) -> bool:
    """``?presentation=1`` (also ``true``, ``oui``, ``on``)."""
    text = raw_text(value)
    return text is not None and text.lower() in _TRUE


def iso_date(value: object) -> dt.date | None:
    """``AAAA-MM-JJ`` as a date between 1900 and 2100; anything else (``-1``, ``-0001-01-01``,
    ``2024-02-30``, a timestamp, a number) is ``None``."""
    text = raw_text(value)
    match = _ISO_DAY.fullmatch(text) if text else None
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def iso_month(value: object) -> tuple[int, int] | None:
    """``AAAA-MM`` as (year, month), same bounds as :func:`iso_date`."""
    text = raw_text(value)
    match = _ISO_MONTH.fullmatch(text) if text else None
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return (year, month) if MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12 else None


def date_option(value: object, options: Collection[str]) -> str | None:
    """A ``date`` parameter matched to one of ``options`` (ISO dates): an exact day, or ``AAAA-MM`` for
    the last option of that month."""
    day = iso_date(value)
    if day is not None:
        return day.isoformat() if day.isoformat() in options else None
    month = iso_month(value)
    if month is None:
        return None
    prefix = f"{month[0]:04d}-{month[1]:02d}-"
    in_month = sorted(o for o in options if o.startswith(prefix))
    return in_month[-1] if in_month else None
