"""One reader per raw source, each reading the original published format.

Readers return DataFrames with the columns of :mod:`observatory.schema` (or plain intermediate frames)
and lists of data-quality findings (dicts with the columns of ``data_quality``); they never write.
"""

from __future__ import annotations


def finding(source_id: str, check_code: str, subject_code: str | None, detail: str) -> dict:
    """One row of ``data_quality``."""
    return {"source_id": source_id, "check_code": check_code, "subject_code": subject_code, "detail": detail}
