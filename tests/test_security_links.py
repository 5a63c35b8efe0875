"""Crafted deep links on every page: every parameter a page reads gets the same crafted value at once
(SQL-like, HTML, Markdown, very long, NUL, negative and impossible dates...). The page renders without
an exception, and no Markdown it sends holds live markup from the link."""

from __future__ import annotations

import pytest

from observatory import url_params
from tests.apphelpers import markdown_sources, run_page
from tests.hostile import CRAFTED_VALUES, PARAMETERS, live_markdown
from ui.navigation import PAGES


@pytest.mark.parametrize("value_case", list(CRAFTED_VALUES))
@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_crafted_link_is_harmless(spec, value_case, app_env):
    value = CRAFTED_VALUES[value_case]
    at = run_page(spec.path, {name: value for name in PARAMETERS})  # fails on any exception
    sources = markdown_sources(at)
    assert sources, "la page n'a rien affiché"
    leaks = [(found, s[:200]) for s in sources for found in live_markdown(s)]
    assert leaks == []
    assert all(len(s) < 20_000 for s in sources)  # a 100,000-character parameter is never echoed whole


@pytest.mark.parametrize("value", list(CRAFTED_VALUES.values()) + [None, ["a", "b"], 12, "2024-02-29 "],
                         ids=[*CRAFTED_VALUES, "none", "list", "int", "spaces"])
def test_parameter_parsers_never_raise(value):
    options = ["2024-02-29", "2024-03-31"]
    assert url_params.identifier(value) is None or url_params.identifier(value).isprintable()
    url_params.choice(value, {"france", "region"})
    url_params.flag(value)
    day = url_params.iso_date(value)
    assert day is None or 1900 <= day.year <= 2100
    assert url_params.date_option(value, options) in (None, *options)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-02-29", "2024-02-29"), ("2024-02", "2024-02-29"), ("-1", None), ("-0001-01-01", None),
     ("2024-02-30", None), ("0024-02-29", None), ("2024-13", None), ("20240229", None), (" 2024-03 ", "2024-03-31")],
)  # fmt: skip
def test_dates_from_links(text, expected):
    assert url_params.date_option(text, ["2024-02-29", "2024-03-31"]) == expected


def test_identifiers_from_links():
    assert url_params.identifier("demo-0001") == "demo-0001"
    assert url_params.identifier("import-paca-012") == "import-paca-012"
    assert url_params.identifier("custom:ab12") == "custom:ab12"
    for bad in ("", " ", "a b", "<x>", "x" * 121, "../x", "a\x00b", "![p](x)"):
        assert url_params.identifier(bad) is None, bad
