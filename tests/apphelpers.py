"""AppTest helpers: run the real entry script (``app.py``) and switch to a page, as navigation does."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from observatory.config import REPO_ROOT

APP_PATH = str(REPO_ROOT / "app.py")


def run_page(page: str | None = None, query: dict[str, str] | None = None, timeout: float = 90) -> AppTest:
    """Run ``app.py`` then ``page`` (a path like ``pages/couverture.py``); fail on any exception."""
    at = AppTest.from_file(APP_PATH, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page is not None:
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


# A backslash before ASCII punctuation is a Markdown escape (observatory.safe_text.markdown_literal): the
# reader sees the character alone, so content assertions compare what is displayed.
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def displayed(markdown: str) -> str:
    """Markdown source as displayed, for content assertions: escapes removed (« 2\\,5 » reads « 2,5 »)."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown)


def all_text(at: AppTest) -> str:
    """Every piece of markdown, caption, title and alert text rendered (as displayed), for content assertions."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts.extend(displayed(str(el.value)) for el in getattr(at, kind))
    return "\n".join(parts)
