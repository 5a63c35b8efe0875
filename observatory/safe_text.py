"""One rule for text that comes from outside (a register file, a URL, a user's input).

Such text is *data*, never markup. Before it reaches a renderer it goes through exactly one of:

* :func:`markdown_literal` for anything Streamlit renders as Markdown (``st.markdown``, ``st.caption``,
  ``st.info``/``st.warning``/``st.error``, headers, widget labels, radio options...): every ASCII
  punctuation character is backslash-escaped (CommonMark allows it for all of them), so no link, image,
  emphasis, colour directive, LaTeX formula, autolink or HTML survives, and line breaks become spaces;
* :func:`html_literal` for HTML (``st.html``, Leaflet tooltips and legends, the printable report);
* :func:`spreadsheet_cell` for a CSV or XLSX cell, so Excel never reads it as a formula.

:func:`clean_name` is the gate for names entering the system (imports, forms): it normalises
whitespace and refuses what cannot be shown honestly (control characters, invisible characters,
bidirectional overrides, excessive length) with a French message naming the character and its position.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
from dataclasses import dataclass

# Lengths: a CPTS name in the real registers is under 80 characters; 150 leaves room for a long
# official name while keeping a heading on one or two lines.
MAX_NAME_LENGTH = 150
MAX_DISPLAY_LENGTH = 200  # what a page shows of any outside text (longer text is cut with « … »)

_PUNCTUATION = frozenset(string.punctuation)
# Characters that change how surrounding text is displayed without being visible themselves:
# bidirectional embeddings, overrides and isolates (« Trojan source »), and zero-width characters.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLES = frozenset("\u00ad\u034f\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
# Runs of breaking whitespace; the no-break spaces of French typography (U+00A0, U+202F) are kept.
_SPACES = re.compile("[ \t\n\r\f\v\x85\u2028\u2029]+")
# A spreadsheet treats a cell starting with one of these as a formula (OWASP « CSV injection »).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class TextProblem:
    """Why a text is refused: a French sentence naming the character or the length."""

    message: str


def french_int(value: int) -> str:
    """12 463 067 (narrow no-break space between thousands), as French typography writes numbers."""
    return f"{value:,}".replace(",", "\u202f")


def character_name(char: str) -> str:
    """« U+202E (RIGHT-TO-LEFT OVERRIDE) »: how a message names an invisible character."""
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'caractère de contrôle')})"


# The characters :func:`find_text_problem` refuses, in one pattern so that checking a whole file stays
# fast: C0/C1 control characters except tab and line breaks, DEL, lone surrogates, and the two sets above.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
    + "".join(sorted(_BIDI_CONTROLS | _INVISIBLES))
    + "]"
)


def find_text_problem(text: str, max_length: int = MAX_NAME_LENGTH) -> TextProblem | None:
    """The first reason to refuse ``text`` as a name or a cell, or ``None``."""
    if len(text) > max_length:
        return TextProblem(f"{french_int(len(text))} caractères, au plus {french_int(max_length)} acceptés")
    match = _FORBIDDEN.search(text)
    if match is None:
        return None
    char, position = match.group(), match.start() + 1
    if char in _BIDI_CONTROLS:
        return TextProblem(
            f"caractère de contrôle bidirectionnel {character_name(char)} en position {position} : il peut "
            "inverser l'ordre d'affichage du texte ; retirez-le"
        )
    if char in _INVISIBLES:
        return TextProblem(f"caractère invisible {character_name(char)} en position {position} ; retirez-le")
    return TextProblem(f"caractère de contrôle {character_name(char)} en position {position} ; retirez-le")


def clean_name(text: object, max_length: int = MAX_NAME_LENGTH) -> tuple[str, TextProblem | None]:
    """(normalised text, problem or None): NFC, every run of whitespace (line breaks included) as one
    space, trimmed. The problem is checked on the normalised text."""
    normalised = _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()
    return normalised, find_text_problem(normalised, max_length)


def shorten(text: str, max_length: int = MAX_DISPLAY_LENGTH) -> str:
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"


def plain_text(text: object, max_length: int = MAX_DISPLAY_LENGTH) -> str:
    """One line, no control or invisible character, at most ``max_length`` characters: for a terminal or a
    log (an escape sequence in a file must not drive the console that prints the import report)."""
    return _displayable(text, max_length)


def _displayable(text: object, max_length: int) -> str:
    """One line, no control or invisible character, at most ``max_length`` characters."""
    value = "" if text is None else str(text)
    value = "".join(
        " " if c in "\t\n\r\v\f\x85\u2028\u2029" else c
        for c in value
        if c not in _BIDI_CONTROLS and c not in _INVISIBLES and (unicodedata.category(c) != "Cc" or c in "\t\n\r\v\f\x85")
    )
    return shorten(_SPACES.sub(" ", value).strip(), max_length)


# Streamlit's Markdown turns some plain text into links or icons *after* parsing, on the text itself
# (GFM autolink literals: « http://… », « www.… », « a@b.fr »; « :shortcode: » emoji and icons), so
# backslashes cannot stop it. A word joiner (U+2060, invisible, zero width) after a « : » or « @ » that
# touches a word, and inside « www. », breaks those patterns; the reader sees the same text.
_WORD_JOINER = "\u2060"
_WWW = re.compile(r"(?i)(www)(\.)")


_COLON_BEFORE_WORD = re.compile(r":(?=[\w/])")  # « http://… », « :smile: », « :material/home: », « :red[ »
_AT_BEFORE_WORD = re.compile(r"@(?=\w)")  # « nom@domaine.fr »


def _unlinkable(text: str) -> str:
    """Only where a pattern could form: « Oui : 1 » or « 3 @ 4 € » stay untouched (search and copy work)."""
    text = _COLON_BEFORE_WORD.sub(":" + _WORD_JOINER, text)
    text = _AT_BEFORE_WORD.sub("@" + _WORD_JOINER, text)
    return _WWW.sub(lambda m: m.group(1) + _WORD_JOINER + m.group(2), text)


def markdown_literal(text: object, max_length: int = MAX_DISPLAY_LENGTH) -> str:
    """``text`` as Markdown source that renders exactly as the text (one line, cut at ``max_length``):
    no link, image, emphasis, directive, formula, HTML, autolink or emoji can come out of it."""
    return "".join("\\" + c if c in _PUNCTUATION else c for c in _unlinkable(_displayable(text, max_length)))


def html_literal(text: object, max_length: int = MAX_DISPLAY_LENGTH) -> str:
    """``text`` escaped for an HTML text node or a quoted attribute (one line, cut at ``max_length``)."""
    return html.escape(_displayable(text, max_length), quote=True)


def spreadsheet_cell(value: object) -> object:
    """A value for a CSV or XLSX cell: text that a spreadsheet would read as a formula (``=``, ``+``,
    ``-``, ``@``, tab, carriage return) is prefixed with an apostrophe, which Excel and LibreOffice show
    as text; plain numbers written as text (« -1,5 ») stay as they are. Non-text values pass unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
