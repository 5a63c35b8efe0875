"""The matrix of the thesis (Figure 6): Donabedian dimensions × contraintes d'action, as data.

``data/matrix_v<version>.json`` lists every element of the figure with its cell and says how it is
measured: by one or more sub-dimensions of the questionnaire (named by their Tableau 8 *label*, because
the instrument's ids are its own business) or not at all (context the CPTS undergoes). This module
loads and validates that file, resolves labels to a given instrument's ids, colours the cells from
sub-dimension scores, and renders a self-contained HTML table (no script, no external asset) for the
profile page, the live presentation and the printable report.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from observatory import config

ROW_IDS = ("structure", "processus", "resultats")
COLUMN_IDS = ("externes", "internes", "environnementales")
KINDS = ("measured", "context")
MODES = ("cpts", "peer_median", "national")

# Sequential scale (ColorBrewer YlGnBu, 5 classes): readable by colour-blind people and in greyscale,
# its luminance falls monotonically from 0 to 100 (a test checks it). Low scores are pale, not red:
# a young CPTS is not "failing", it is early.
SCALE_STOPS: tuple[tuple[float, str], ...] = (
    (0.0, "#ffffcc"),
    (25.0, "#a1dab4"),
    (50.0, "#41b6c4"),
    (75.0, "#2c7fb8"),
    (100.0, "#253494"),
)
CONTEXT_COLOUR = "#e9ecef"
MISSING_COLOUR = "#ffffff"
STATUS_CONTEXT = "contexte subi"
STATUS_MISSING = "non renseigné"
MODE_LABELS = {
    "cpts": "Score de la CPTS",
    "peer_median": "Médiane des CPTS comparables",
    "national": "Médiane nationale",
}


class MatrixError(ValueError):
    """The matrix file is inconsistent, or a caller asked for something the matrix does not hold."""


@dataclass(frozen=True)
class MatrixElement:
    element_id: str
    label: str
    row: str
    column: str
    kind: str  # "measured" or "context"
    subdimension_labels: tuple[str, ...]
    thesis_says: str
    thesis_section: str


@dataclass(frozen=True)
class Matrix:
    version: str
    title: str
    source: dict
    definitions: tuple[dict, ...]
    rows: tuple[dict, ...]
    columns: tuple[dict, ...]
    subdimensions: tuple[dict, ...]
    elements: tuple[MatrixElement, ...]

    def element(self, element_id: str) -> MatrixElement:
        for e in self.elements:
            if e.element_id == element_id:
                return e
        raise MatrixError(f"Élément inconnu dans la matrice v{self.version} : « {element_id} ».")

    def row_label(self, row_id: str) -> str:
        return next(r["label"] for r in self.rows if r["row_id"] == row_id)

    def column(self, column_id: str) -> dict:
        return next(c for c in self.columns if c["column_id"] == column_id)


@dataclass(frozen=True)
class DistributionSummary:
    """A sub-dimension's score distribution among many CPTS (national or peer view)."""

    median: float
    q1: float | None = None
    q3: float | None = None
    n: int | None = None


@dataclass(frozen=True)
class MatrixCell:
    """One element of the matrix, ready to draw: a tidy row (``pd.DataFrame([asdict(c) ...])``)."""

    row_id: str
    row_label: str
    column_id: str
    column_label: str
    element_id: str
    element_label: str
    kind: str
    score: float | None
    colour: str
    text_colour: str
    status_label: str
    detail: str  # e.g. quartiles and n for the national view; "" otherwise


@dataclass(frozen=True)
class ElementDetails:
    element_id: str
    label: str
    kind: str
    row_label: str
    column_label: str
    column_definition: str
    column_definition_source: str
    subdimension_labels: tuple[str, ...]
    thesis_says: str
    thesis_section: str
    source_reference: str


# --------------------------------------------------------------------------------------------- loading


def matrix_path(version: str = "1") -> Path:
    return config.DATA_DIR / f"matrix_v{version}.json"


def load_matrix(version: str = "1", path: Path | None = None) -> Matrix:
    """Load and validate the matrix file; errors name the file and the element at fault."""
    return _load_matrix_cached(str(path or matrix_path(version)), version)


@lru_cache(maxsize=8)
def _load_matrix_cached(path_str: str, version: str) -> Matrix:
    path = Path(path_str)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MatrixError(f"Fichier de la matrice introuvable : {path}.") from exc
    except json.JSONDecodeError as exc:
        raise MatrixError(f"{path.name} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno}).") from exc
    return _validate(raw, path.name, version)


def _validate(raw: dict, where: str, version: str) -> Matrix:
    def fail(msg: str) -> MatrixError:
        return MatrixError(f"{where} : {msg}")

    for key in ("version", "title", "source", "definitions", "rows", "columns", "subdimensions", "elements"):
        if key not in raw:
            raise fail(f"clé « {key} » absente.")
    if str(raw["version"]) != str(version):
        raise fail(f"version « {raw['version']} » alors que la version {version} est demandée.")
    if [r.get("row_id") for r in raw["rows"]] != list(ROW_IDS):
        raise fail(f"les lignes doivent être {', '.join(ROW_IDS)} dans cet ordre.")
    if [c.get("column_id") for c in raw["columns"]] != list(COLUMN_IDS):
        raise fail(f"les colonnes doivent être {', '.join(COLUMN_IDS)} dans cet ordre.")
    for c in raw["columns"]:
        if not c.get("definition") or not c.get("definition_source"):
            raise fail(f"colonne « {c['column_id']} » : définition ou origine de la définition manquante.")
    known_labels = {normalise_label(s["label"]) for s in raw["subdimensions"]}
    if len(known_labels) != len(raw["subdimensions"]):
        raise fail("libellés de sous-dimensions en double dans « subdimensions ».")

    elements: list[MatrixElement] = []
    seen: set[str] = set()
    for i, e in enumerate(raw["elements"]):
        at = f"élément n°{i + 1} ({e.get('element_id', '?')})"
        for key in ("element_id", "label", "row", "column", "kind", "subdimension_labels", "thesis_says", "thesis_section"):
            if key not in e:
                raise fail(f"{at} : clé « {key} » absente.")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", e["element_id"]):
            raise fail(f"{at} : identifiant invalide (minuscules, chiffres et _ seulement).")
        if e["element_id"] in seen:
            raise fail(f"{at} : identifiant en double.")
        seen.add(e["element_id"])
        if e["row"] not in ROW_IDS:
            raise fail(f"{at} : ligne « {e['row']} » inconnue.")
        if e["column"] not in COLUMN_IDS:
            raise fail(f"{at} : colonne « {e['column']} » inconnue.")
        if e["kind"] not in KINDS:
            raise fail(f"{at} : type « {e['kind']} » inconnu (attendu : measured ou context).")
        labels = tuple(e["subdimension_labels"])
        if e["kind"] == "measured" and not labels:
            raise fail(f"{at} : un élément mesuré doit citer au moins une sous-dimension.")
        if e["kind"] == "context" and labels:
            raise fail(f"{at} : un élément de contexte ne doit citer aucune sous-dimension.")
        unknown = [lab for lab in labels if normalise_label(lab) not in known_labels]
        if unknown:
            raise fail(f"{at} : sous-dimension(s) absente(s) de la liste du Tableau 8 : {', '.join(unknown)}.")
        if not e["thesis_says"].strip() or not re.search(r"\d\.\d", e["thesis_section"]):
            raise fail(f"{at} : texte « thesis_says » vide ou section de la thèse manquante.")
        elements.append(
            MatrixElement(
                element_id=e["element_id"],
                label=e["label"],
                row=e["row"],
                column=e["column"],
                kind=e["kind"],
                subdimension_labels=labels,
                thesis_says=e["thesis_says"],
                thesis_section=e["thesis_section"],
            )
        )
    return Matrix(
        version=str(raw["version"]),
        title=raw["title"],
        source=dict(raw["source"]),
        definitions=tuple(raw["definitions"]),
        rows=tuple(raw["rows"]),
        columns=tuple(raw["columns"]),
        subdimensions=tuple(raw["subdimensions"]),
        elements=tuple(elements),
    )


# ------------------------------------------------------------------------------------------- resolving


def normalise_label(label: str) -> str:
    """Compare labels the way a reader would: case, accents, dashes, apostrophes and spacing ignored
    (« Accès aux soins – Médecin traitant » == « acces aux soins - medecin traitant »)."""
    text = unicodedata.normalize("NFKD", label)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[\u2010-\u2015\u2212-]", " ", text)  # hyphen, en/em dashes, minus
    text = re.sub(r"[\u2018\u2019\u02bc`´']", " ", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def resolve_subdimensions(matrix: Matrix, subdimension_labels_to_ids: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Map each measured element to the ids a given instrument uses for its sub-dimensions.

    ``subdimension_labels_to_ids`` is the instrument's ``{label: id}``. Context elements map to ``()``.
    A label the instrument does not know is an error: the matrix would silently lose a cell.
    """
    by_norm: dict[str, str] = {}
    for label, sub_id in subdimension_labels_to_ids.items():
        key = normalise_label(label)
        if key in by_norm and by_norm[key] != sub_id:
            raise MatrixError(f"Instrument : deux sous-dimensions ont le même libellé normalisé « {label} ».")
        by_norm[key] = sub_id
    resolved: dict[str, tuple[str, ...]] = {}
    missing: list[str] = []
    for e in matrix.elements:
        ids = []
        for label in e.subdimension_labels:
            sub_id = by_norm.get(normalise_label(label))
            if sub_id is None:
                missing.append(f"« {label} » (élément {e.element_id})")
            else:
                ids.append(sub_id)
        resolved[e.element_id] = tuple(ids)
    if missing:
        raise MatrixError(
            f"Matrice v{matrix.version} : sous-dimension(s) introuvable(s) dans l'instrument : {', '.join(missing)}."
        )
    return resolved


# ------------------------------------------------------------------------------------------- colouring


def score_colour(score: float) -> str:
    """Hex colour of a 0-100 score on the sequential scale (linear interpolation between stops)."""
    s = min(100.0, max(0.0, float(score)))
    for (s0, c0), (s1, c1) in zip(SCALE_STOPS, SCALE_STOPS[1:], strict=False):
        if s <= s1:
            t = (s - s0) / (s1 - s0)
            a, b = _hex_to_rgb(c0), _hex_to_rgb(c1)
            return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))
    return SCALE_STOPS[-1][1]


def relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance (0 black - 1 white), used to pick a readable text colour."""

    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _hex_to_rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _hex_to_rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _text_colour(background: str) -> str:
    # Contrast with white beats contrast with near-black below ~0.2 luminance (WCAG ratios are equal there).
    return "#ffffff" if relative_luminance(background) < 0.2 else "#1b1e21"


def _format_score(score: float) -> str:
    return f"{score:.0f}".replace(".", ",")


def _lookup(scores: Mapping[str, float | None], keys: Iterable[str], by_label: bool) -> list[float]:
    if by_label:
        normalised = {normalise_label(k): v for k, v in scores.items()}
        values = [normalised.get(normalise_label(k)) for k in keys]
    else:
        values = [scores.get(k) for k in keys]
    found = []
    for v in values:
        if v is None or v != v:  # None or NaN: not answered
            continue
        if not 0 <= float(v) <= 100:
            raise MatrixError(f"Score hors de l'échelle 0-100 : {v}.")
        found.append(float(v))
    return found


def matrix_cells(
    matrix: Matrix,
    scores_by_subdimension: Mapping[str, float | None],
    mode: str = "cpts",
    distribution: Mapping[str, DistributionSummary] | None = None,
    subdimension_ids: Mapping[str, tuple[str, ...]] | None = None,
) -> list[MatrixCell]:
    """One :class:`MatrixCell` per element, in matrix order (row, column, file order).

    ``mode``: ``cpts`` (one CPTS's sub-dimension scores), ``peer_median`` (median of comparable CPTS)
    or ``national`` (national median, optionally with ``distribution`` giving quartiles and n per
    sub-dimension; a missing score falls back to the distribution's median).
    Keys of ``scores_by_subdimension`` and ``distribution`` are sub-dimension labels (matched after
    :func:`normalise_label`), or instrument ids when ``subdimension_ids`` (the result of
    :func:`resolve_subdimensions`) is given.
    An element measured by several sub-dimensions shows the mean of those answered; none answered
    gives ``None`` ("non renseigné"), never 0.
    """
    if mode not in MODES:
        raise MatrixError(f"Mode de coloration inconnu « {mode} » (attendu : {', '.join(MODES)}).")
    if distribution and mode == "cpts":
        raise MatrixError("Une distribution ne s'applique qu'aux modes « peer_median » et « national ».")
    by_label = subdimension_ids is None
    dist = distribution or {}
    dist_norm = {normalise_label(k): v for k, v in dist.items()} if by_label else dict(dist)
    cells: list[MatrixCell] = []
    for row in ROW_IDS:
        for column in COLUMN_IDS:
            for e in (x for x in matrix.elements if x.row == row and x.column == column):
                cells.append(_cell(matrix, e, scores_by_subdimension, mode, dist_norm, subdimension_ids))
    return cells


def _cell(matrix, e: MatrixElement, scores, mode, dist_norm, subdimension_ids) -> MatrixCell:
    base = dict(
        row_id=e.row,
        row_label=matrix.row_label(e.row),
        column_id=e.column,
        column_label=matrix.column(e.column)["short_label"],
        element_id=e.element_id,
        element_label=e.label,
        kind=e.kind,
    )
    if e.kind == "context":
        return MatrixCell(**base, score=None, colour=CONTEXT_COLOUR, text_colour="#5c636a",
                          status_label=STATUS_CONTEXT, detail="")
    by_label = subdimension_ids is None
    keys = e.subdimension_labels if by_label else subdimension_ids.get(e.element_id, ())
    values = _lookup(scores, keys, by_label)
    summaries = [dist_norm.get(normalise_label(k) if by_label else k) for k in keys]
    summaries = [s for s in summaries if s is not None]
    if not values and mode != "cpts" and summaries:
        values = [float(s.median) for s in summaries]
    detail = _distribution_detail(summaries)
    if not values:
        return MatrixCell(**base, score=None, colour=MISSING_COLOUR, text_colour="#5c636a",
                          status_label=STATUS_MISSING, detail=detail)
    score = sum(values) / len(values)
    colour = score_colour(score)
    return MatrixCell(**base, score=score, colour=colour, text_colour=_text_colour(colour),
                      status_label=f"{MODE_LABELS[mode]} : {_format_score(score)}/100", detail=detail)


def _distribution_detail(summaries: list[DistributionSummary]) -> str:
    if len(summaries) != 1:  # several sub-dimensions: their quartiles cannot be combined honestly
        return ""
    s = summaries[0]
    parts = []
    if s.q1 is not None and s.q3 is not None:
        parts.append(f"quartiles {_format_score(s.q1)}–{_format_score(s.q3)}")
    if s.n is not None:
        parts.append(f"n = {s.n}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------- HTML


PRESENTATION_FONT_PX = 22  # readable from the back of a room on a 1024x768 projector
PRESENTATION_STACK = 4  # on a slide, a cell with more elements shows them in two columns


def matrix_html(
    cells: list[MatrixCell],
    selected_element: str | None = None,
    presentation: bool = False,
    highlight_row: str | None = None,
    caption: str | None = None,
) -> str:
    """A self-contained HTML table (inline CSS, no script, no external asset) with its legend.

    ``presentation`` enlarges the type for a projector; ``selected_element`` outlines one element;
    ``highlight_row`` (structure, processus, resultats) dims the other rows.
    """
    if highlight_row is not None and highlight_row not in ROW_IDS:
        raise MatrixError(f"Ligne à mettre en avant inconnue « {highlight_row} » (attendu : {', '.join(ROW_IDS)}).")
    known = {c.element_id for c in cells}
    if selected_element is not None and selected_element not in known:
        raise MatrixError(f"Élément sélectionné inconnu « {selected_element} ».")
    esc = html.escape
    base_px = PRESENTATION_FONT_PX if presentation else 14
    # The CSS is global to the page (st.html has no shadow DOM): the large type is scoped to its own class
    # so that a presentation matrix and a normal one can share a page without overriding each other.
    root_class = "cpts-matrix cm-presentation" if presentation else "cpts-matrix"
    root_selector = ".cpts-matrix.cm-presentation" if presentation else ".cpts-matrix"
    # On a slide, the app's own font (Source Sans, narrower than the system's): long words fit their column.
    font = ('"Source Sans", "Source Sans Pro", sans-serif' if presentation
            else 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif')
    css = f"""
{root_selector} {{font-family: {font}; font-size: {base_px}px;
  color: #1b1e21;}}
.cpts-matrix table {{border-collapse: separate; border-spacing: 4px; width: 100%; table-layout: fixed;
  font-size: inherit;}}
.cpts-matrix caption {{text-align: left; font-weight: 600; padding-bottom: .4em;}}
.cpts-matrix th {{background: #343a40; color: #fff; padding: .5em; font-weight: 600; text-align: center;}}
.cpts-matrix th.cm-row {{writing-mode: horizontal-tb; width: 9em;}}
.cpts-matrix td {{vertical-align: top; background: #f8f9fa; padding: .3em;}}
.cpts-matrix tr.cm-dimmed {{opacity: .35;}}
.cpts-matrix tr.cm-highlight th.cm-row {{background: #0b5394;}}
.cpts-matrix .cm-el {{border-radius: 4px; padding: .35em .5em; margin: .25em 0; border: 1px solid #ced4da;
  line-height: 1.25;}}
.cpts-matrix .cm-el .cm-label {{font-weight: 600; display: block;}}
.cpts-matrix .cm-el .cm-status {{font-size: .85em; display: block;}}
.cpts-matrix .cm-el .cm-score {{font-size: 1.15em; font-weight: 700; float: right; margin-left: .4em;}}
.cpts-matrix .cm-context {{font-style: italic; color: #5c636a; border-style: dashed;}}
.cpts-matrix .cm-missing {{border-style: dotted; border-color: #868e96; color: #5c636a;}}
.cpts-matrix .cm-selected {{outline: 4px solid #d9480f; outline-offset: 1px;}}
.cpts-matrix .cm-legend {{display: flex; flex-wrap: wrap; align-items: center; gap: 1.2em; margin-top: .6em;
  font-size: .9em;}}
.cpts-matrix .cm-scale {{width: 14em;}}
.cpts-matrix .cm-bar {{width: 100%; height: 1em; border: 1px solid #adb5bd;
  background: linear-gradient(to right, {", ".join(f"{c} {s:.0f}%" for s, c in SCALE_STOPS)});}}
.cpts-matrix .cm-ticks {{display: flex; justify-content: space-between; width: 100%; font-size: .8em;}}
.cpts-matrix .cm-swatch {{display: inline-block; width: 1.4em; height: 1em; vertical-align: middle;
  margin-right: .3em; border: 1px solid #adb5bd;}}
"""
    if presentation:
        # A projected slide (1024x768 and up): no row-header column (the slide's title names the dimension; the
        # header stays for screen readers), columns as wide as their number of elements asks, a crowded cell's
        # elements in two columns, short column headers, the status line smaller than the label.
        css += """
.cpts-matrix.cm-presentation table {border-spacing: 4px;}
.cpts-matrix.cm-presentation th.cm-row {width: 0; padding: 0; font-size: 0; overflow: hidden; background: none;}
.cpts-matrix.cm-presentation th {font-size: .8em; padding: .3em .4em; line-height: 1.15;}
.cpts-matrix.cm-presentation th .cm-kind {display: block; font-size: .62em; font-weight: 400; opacity: .85;}
.cpts-matrix.cm-presentation .cm-stack {display: grid; grid-template-columns: minmax(0, 1fr); gap: .3em;
  align-items: start;}
.cpts-matrix.cm-presentation .cm-stack.cm-two {grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);}
.cpts-matrix.cm-presentation .cm-el {margin: 0; padding: .25em .4em; line-height: 1.15;}
.cpts-matrix.cm-presentation .cm-el .cm-label {font-size: .95em;}
.cpts-matrix.cm-presentation .cm-context .cm-label {font-size: .92em;}
.cpts-matrix.cm-presentation .cm-el .cm-status {font-size: .68em; margin-top: .1em;}
.cpts-matrix.cm-presentation .cm-el:not(.cm-context):not(.cm-missing) .cm-status {display: none;}
.cpts-matrix.cm-presentation .cm-legend {font-size: .62em; margin-top: .3em;}
.cpts-matrix.cm-presentation caption {caption-side: bottom; font-size: .62em; font-weight: 400; padding-top: .4em;}
"""
    rows_out = []
    if presentation:
        header = "".join(f'<th scope="col"><span class="cm-kind">Contraintes d\'action</span>{esc(label)}</th>'
                         for label in _column_short_labels(cells))
    else:
        header = "".join(f'<th scope="col">{esc(_column_header(label))}</th>' for label in _column_short_labels(cells))
    rows_out.append(f'<tr><th scope="col" class="cm-row">Dimension</th>{header}</tr>')
    for row_id in ROW_IDS:
        row_cells = [c for c in cells if c.row_id == row_id]
        if not row_cells:
            continue
        cls = ""
        if highlight_row is not None:
            cls = ' class="cm-highlight"' if row_id == highlight_row else ' class="cm-dimmed"'
        tds = []
        for column_id in COLUMN_IDS:
            items = "".join(_element_html(c, c.element_id == selected_element) for c in row_cells if c.column_id == column_id)
            crowded = sum(1 for c in row_cells if c.column_id == column_id) > PRESENTATION_STACK
            stack = "cm-stack cm-two" if crowded else "cm-stack"
            tds.append(f'<td><div class="{stack}">{items}</div></td>' if presentation else f"<td>{items}</td>")
        rows_out.append(f'<tr{cls}><th scope="row" class="cm-row">{esc(row_cells[0].row_label)}</th>{"".join(tds)}</tr>')
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    legend = (
        '<div class="cm-legend" role="note" aria-label="Légende">'
        '<div class="cm-scale"><div>Échelle des scores (0 à 100)</div><div class="cm-bar"></div>'
        '<div class="cm-ticks"><span>0</span><span>25</span><span>50</span><span>75</span><span>100</span></div></div>'
        f'<div><span class="cm-swatch" style="background:{CONTEXT_COLOUR};border-style:dashed"></span>'
        f"{STATUS_CONTEXT} : élément sans question, que la CPTS subit</div>"
        f'<div><span class="cm-swatch" style="background:{MISSING_COLOUR};border-style:dotted"></span>'
        f"{STATUS_MISSING} : aucune réponse pour cet élément</div>"
        "</div>"
    )
    widths = ""
    if presentation:
        widths = "<colgroup>" + '<col style="width:0">' + "".join(
            f'<col style="width:{w:.1f}%">' for w in _presentation_widths(cells)) + "</colgroup>"
    return (
        f'<div class="{root_class}"><style>{css}</style><table>{cap}{widths}{"".join(rows_out)}</table>'
        f"{legend}</div>"
    )


def _presentation_widths(cells: list[MatrixCell]) -> list[float]:
    """Width (%) of each column on a slide: a crowded cell (two columns of elements) twice as wide as the
    others, so that each column of elements is as wide everywhere and a long word such as
    « professionnelle » or « Coordination » keeps whole."""
    counts = [sum(1 for c in cells if c.column_id == cid) for cid in COLUMN_IDS]
    weights = [2 if n > PRESENTATION_STACK else 1 for n in counts]
    return [100 * w / sum(weights) for w in weights]

def _column_header(short_label: str) -> str:
    return f"Contraintes d'action {short_label.lower()}"


def _column_short_labels(cells: list[MatrixCell]) -> list[str]:
    labels = {c.column_id: c.column_label for c in cells}
    defaults = {"externes": "Externes", "internes": "Internes", "environnementales": "Environnementales"}
    return [labels.get(cid, defaults[cid]) for cid in COLUMN_IDS]


def _element_html(c: MatrixCell, selected: bool) -> str:
    esc = html.escape
    classes = ["cm-el"]
    if c.kind == "context":
        classes.append("cm-context")
    elif c.score is None:
        classes.append("cm-missing")
    if selected:
        classes.append("cm-selected")
    score = f'<span class="cm-score">{_format_score(c.score)}</span>' if c.score is not None else ""
    status = c.status_label + (f" ({c.detail})" if c.detail else "")
    return (
        f'<div class="{" ".join(classes)}" data-element="{esc(c.element_id)}" '
        f'style="background:{c.colour};color:{c.text_colour}" title="{esc(c.element_label)} — {esc(status)}">'
        f'{score}<span class="cm-label">{esc(c.element_label)}</span>'
        f'<span class="cm-status">{esc(status)}</span></div>'
    )


# ------------------------------------------------------------------------------------------- details


def element_details(matrix: Matrix, element_id: str) -> ElementDetails:
    """What the page shows when an element is clicked: its cell, its measure and what the thesis says."""
    e = matrix.element(element_id)
    column = matrix.column(e.column)
    return ElementDetails(
        element_id=e.element_id,
        label=e.label,
        kind=e.kind,
        row_label=matrix.row_label(e.row),
        column_label=column["label"],
        column_definition=column["definition"],
        column_definition_source=column["definition_source"],
        subdimension_labels=e.subdimension_labels,
        thesis_says=e.thesis_says,
        thesis_section=e.thesis_section,
        source_reference=matrix.source["reference"],
    )
