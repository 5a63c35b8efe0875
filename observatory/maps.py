"""Building blocks of every map, and the maps of one territory: a CPTS's communes (Fiche CPTS) and an
indicator's choropleth (pure folium builders: no Streamlit, no network).

Offline by construction (stack notes): no tile layer, Leaflet served by the app at
``/app/static/leaflet/`` (files of the PyPI package django-js-lib-leaflet), no jQuery/Bootstrap/CDN,
no branca colormap (it pulls d3 from a CDN).

What every map carries (:func:`furnish`, ``observatory/js/map_furniture.js``): a metric scale bar, tooltips
kept inside the map, place labels (préfectures, towns) from the data, and an area fitted beside or below
the zoom buttons so that no control covers territory. Legends are drawn beside the map, never on it
(:func:`legend_html`). The « Couverture » map (one base per register, light views) is in
:mod:`observatory.coverage_map`.

Payload: coordinates are rounded to 4 decimals (~11 m); every feature has an ``id`` (cpts_id or
commune_code) so that a click can be mapped back to the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.shapes import simplify, simplify_coverage
from observatory.coverage import (
    DEFAULT_STAGE_COLORS,
    OVERLAP,
    STATUS_LABELS,
    UNKNOWN_STAGE,
    CoverageSnapshot,
    stage_styles,
)
from observatory.indicators import NO_DATA_COLOR, NO_DATA_LABEL, Classification, IndicatorFrame, format_number
from observatory.safe_text import html_literal

LEAFLET_JS = [("leaflet", "/app/static/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/app/static/leaflet/leaflet.css")]
JS_DIR = Path(__file__).resolve().parent / "js"
COORDINATE_DECIMALS = 4

WHITE_ZONE_COLOR = "#fbe3c0"
# Near white, so that it never reads like the grey of the « inconnu » stage (#bdbdbd, data/stages.json):
# a région-only register without dates shows grey CPTS on this background.
OUT_OF_REGISTER_COLOR = "#f5f5f5"
OVERLAP_COLOR = "#d7301f"
OUTLINE_COLOR = "#636363"
SELECTED_COLOR = "#111111"
FOCUS_COLOR = "#e65100"
FADED_COLOR = "#f7f7f7"
OTHER_COMMUNES_COLOR = "#f0f0f0"
# Used only when the caller passes no `stages` table: the vocabulary file's colours.
FALLBACK_STAGE_COLORS = DEFAULT_STAGE_COLORS
FRANCE_CENTER = (46.6, 2.4)
# National views of a map of one layer of CPTS: 0.01° (about 1 km) is below a pixel at the zoom that shows France.
FRANCE_SIMPLIFY_TOLERANCE = 0.01
OVERLAP_SWATCH = f"repeating-linear-gradient(45deg,{OVERLAP_COLOR} 0 3px,#ffffff 3px 6px)"


# ---------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------


def js_source(name: str) -> str:
    return (JS_DIR / name).read_text(encoding="utf-8")


def json_for_script(value) -> str:
    """JSON safe inside a <script> element (no « </ », no line separators that break JavaScript)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class Script(MacroElement):
    """A script placed after the map's creation; ``__MAP__`` in it names the map's variable."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str):
        super().__init__()
        self._name = "ObservatoireScript"
        self.code = code

    def render(self, **kwargs):
        self.code = self.code.replace("__MAP__", self._parent.get_name())
        super().render(**kwargs)


class Style(MacroElement):
    """A CSS block in the page header (kept by streamlit-folium, which drops only external links)."""

    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}")

    def __init__(self, css: str):
        super().__init__()
        self._name = "Style"
        self.css = css


MAP_CSS = """
.leaflet-container{background:#ffffff;font:12px/1.35 sans-serif;}
.leaflet-tooltip.observatoire-tooltip,.leaflet-container .leaflet-tooltip{width:max-content;max-width:280px;white-space:normal;}
.leaflet-tooltip.observatoire-moved:before{display:none;}
.observatoire-tip{border-collapse:collapse;}
.observatoire-tip th{text-align:left;font-weight:normal;color:#555;padding:1px 8px 1px 0;vertical-align:top;}
.observatoire-tip td{font-weight:600;padding:1px 0;}
.observatoire-label{white-space:nowrap;}
.observatoire-label .nom{position:absolute;left:5px;top:-8px;font-size:11.5px;color:#1a1a1a;
  text-shadow:0 0 2px #fff,0 0 3px #fff,0 0 4px #fff;}
.observatoire-label.prefecture .nom{font-weight:600;}
.observatoire-label.rang-1 .nom{font-size:12.5px;font-weight:700;}
.observatoire-label .point{position:absolute;left:-3px;top:-3px;width:6px;height:6px;border-radius:50%;
  background:#1a1a1a;border:1px solid #fff;}
.observatoire-label.inset .nom{left:0;transform:translateX(-50%);font-weight:600;color:#555;font-size:11px;}
.observatoire-label.gauche .nom{left:auto;right:5px;}
.leaflet-control-scale-line{font-size:11px;}
.leaflet-top.leaflet-right{display:flex;flex-direction:row-reverse;align-items:flex-start;}
"""


def furnish(m: folium.Map, labels: list | None = None, bounds=None, controls_free: bool = False) -> folium.Map:
    """What every map carries: its CSS, zoom buttons and metric scale (top right), tooltips kept inside, the
    label engine; with
    ``labels`` (:func:`observatory.coverage_map.place_labels`) they are drawn; with ``bounds``
    ((minx, miny, maxx, maxy)) the area is fitted beside or below the controls."""
    Style(MAP_CSS).add_to(m)
    code = js_source("map_furniture.js") + "\nwindow.observatoireFurniture.addControls(__MAP__);"
    if labels:
        code += f"\nwindow.observatoireFurniture.setLabels(__MAP__, {json_for_script(labels)});"
    if bounds is not None and np.isfinite(list(bounds)).all():
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        box = json_for_script([miny, minx, maxy, maxx])
        code += f"\nwindow.observatoireFurniture.fit(__MAP__, {box}, {json.dumps(controls_free)});"
    Script(code).add_to(m)
    return m


def new_map(bounds: Iterable[float] | None = None, prefer_canvas: bool = True) -> folium.Map:
    """An empty offline map (no tiles; Leaflet served locally) with fractional zoom, so that an area fills
    the map (France in a 560-pixel-high map sits between zoom 5 and 6). With ``bounds`` ((minx, miny, maxx,
    maxy)) the map is furnished and fitted at once; without, call :func:`furnish` (labels, bounds) after
    adding its layers."""
    m = folium.Map(location=FRANCE_CENTER, zoom_start=5, tiles=None, prefer_canvas=prefer_canvas, control_scale=False,
                   zoom_control=False, zoom_snap=0.25, zoom_delta=0.5)
    m.default_js = list(LEAFLET_JS)
    m.default_css = list(LEAFLET_CSS)
    return furnish(m, bounds=tuple(bounds)) if bounds is not None else m


def map_payload_bytes(m: folium.Map) -> int:
    """Size of the map's full HTML document, in bytes (measured on a copy: folium's render appends script
    lines each time it runs). The page's maps are measured with ``ui.map_component.payload_bytes``."""
    import copy

    return len(copy.deepcopy(m).get_root().render().encode("utf-8"))


class Legend(MacroElement):
    """A legend drawn on the map (a Leaflet control at the bottom right: plain HTML/CSS, no external
    library). The Couverture and Fiche CPTS maps draw theirs beside the map instead (:func:`legend_html`),
    so that it covers no territory."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .observatoire-legend{background:rgba(255,255,255,.92);padding:6px 9px;border-radius:4px;
          box-shadow:0 0 4px rgba(0,0,0,.3);font:12px/1.35 sans-serif;color:#222;max-width:260px;}
        .observatoire-legend .titre{font-weight:bold;margin-bottom:4px;}
        .observatoire-legend .ligne{display:flex;align-items:center;margin:2px 0;}
        .observatoire-legend .case{flex:0 0 16px;height:12px;margin-right:6px;border:1px solid #777;}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "observatoire-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, str]], position: str = "bottomright"):
        """``items``: (CSS background of the swatch, French label)."""
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.items = items
        rows = "".join(
            f'<div class="ligne"><span class="case" style="background:{bg}"></span>{html_literal(label)}</div>'
            for bg, label in items
        )
        self.html = f'<div class="titre">{html_literal(title)}</div>{rows}'


@dataclass(frozen=True)
class LegendItem:
    swatch: str  # CSS background
    label: str
    figure: str = ""  # e.g. « 540 CPTS · 55 123 456 hab. »


LEGEND_CSS = (
    ".observatoire-legende{font:12.5px/1.3 sans-serif;color:#222;}"
    ".observatoire-legende .titre{font-weight:600;margin-bottom:4px;}"
    ".observatoire-legende .ligne{display:grid;grid-template-columns:18px 1fr auto;gap:6px;align-items:center;"
    "margin:3px 0;}"
    ".observatoire-legende .case{width:16px;height:12px;border:1px solid #777;}"
    ".observatoire-legende .chiffre{color:#444;font-variant-numeric:tabular-nums;white-space:nowrap;}"
)


def legend_html(title: str, items: Iterable[LegendItem]) -> str:
    """A legend as HTML (every text escaped), drawn beside its map (``st.html``)."""
    rows = "".join(
        f'<div class="ligne"><span class="case" style="background:{item.swatch}"></span>'
        f'<span class="libelle">{html_literal(item.label)}</span>'
        + (f'<span class="chiffre">{html_literal(item.figure)}</span>' if item.figure else "<span></span>")
        + "</div>"
        for item in items
    )
    return (f'<div class="observatoire-legende" role="note" aria-label="Légende de la carte"><style>{LEGEND_CSS}'
            f'</style><div class="titre">{html_literal(title)}</div>{rows}</div>')


def _round_coords(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.round(xy, COORDINATE_DECIMALS))


def feature_collection(
    frame: gpd.GeoDataFrame,
    id_column: str,
    properties: dict[str, str],
    simplify_tolerance: float | None = None,
    is_coverage: bool = False,
) -> dict:
    """GeoJSON FeatureCollection: ``id`` = ``frame[id_column]``, ``properties`` maps output property ->
    frame column (pre-formatted strings for tooltips), coordinates rounded to 4 decimals.

    Every text property is HTML-escaped here (:func:`observatory.safe_text.html_literal`): Leaflet's
    ``GeoJsonTooltip`` writes property values with ``innerHTML``, and CPTS or commune names may come
    from an imported file. This is the one place where text enters a map layer.

    ``simplify_tolerance`` (degrees) lightens national views; ``is_coverage`` says the polygons tile the
    territory (départements), so shared edges are simplified once and no gap opens between neighbours.
    """
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    geoms = frame.geometry.to_numpy()
    if simplify_tolerance:
        geoms = (simplify_coverage if is_coverage else simplify)(geoms, simplify_tolerance)
    geoms = _round_coords(geoms)
    features = []
    columns = {out: frame[col].tolist() for out, col in properties.items()}
    for i, (fid, geom) in enumerate(zip(frame[id_column].tolist(), geoms, strict=True)):
        if geom is None or geom.is_empty:
            continue
        props = {out: _json_value(values[i]) for out, values in columns.items()}
        props[id_column] = str(fid)
        features.append(
            {"type": "Feature", "id": str(fid), "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    return {"type": "FeatureCollection", "features": features}


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, str):
        return html_literal(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (list, tuple)):
        return html_literal(", ".join(str(v) for v in value))
    if pd.isna(value):
        return None
    return value


def _add_layer(
    m: folium.Map,
    collection: dict,
    name: str,
    style_function,
    tooltip_fields: list[tuple[str, str]] | None = None,
    highlight: bool = True,
) -> folium.GeoJson | None:
    """Add a GeoJson layer; ``tooltip_fields`` = (property, French alias)."""
    if not collection["features"]:
        return None
    tooltip = None
    if tooltip_fields:
        tooltip = folium.GeoJsonTooltip(
            fields=[f for f, _ in tooltip_fields], aliases=[a for _, a in tooltip_fields], sticky=True, labels=True
        )
    layer = folium.GeoJson(
        collection,
        name=name,
        style_function=style_function,
        highlight_function=(lambda _f: {"weight": 3, "color": SELECTED_COLOR}) if highlight else None,
        tooltip=tooltip,
        smooth_factor=0.5,
    )
    layer.add_to(m)
    return layer


def _fmt_int(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 0)


def _bounds(*frames: gpd.GeoDataFrame | None):
    frames = [f for f in frames if f is not None and len(f) and f.geometry.notna().any()]
    if not frames:
        return None
    boxes = np.array([f.total_bounds for f in frames])
    return boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()


# ---------------------------------------------------------------------------------------------------
# Communes of a territory
# ---------------------------------------------------------------------------------------------------


def _unit_properties(snapshot: CoverageSnapshot, units: gpd.GeoDataFrame, labels: dict[str, str]) -> gpd.GeoDataFrame:
    status = snapshot.units.set_index("commune_code")
    out = units[["commune_code", "geometry"]].copy()
    codes = out["commune_code"]
    out["unit_name"] = codes.map(status["name"])
    out["status"] = codes.map(status["status"])
    out["highest_stage"] = codes.map(status["highest_stage"])
    out["cpts_text"] = codes.map(status["cpts_names"]).fillna("").replace("", "aucune")
    out["stage_text"] = [
        " ; ".join(labels.get(s, s) for s in stages) if isinstance(stages, tuple) and stages else "—"
        for stages in codes.map(status["stage_codes"])
    ]
    out["status_text"] = out["status"].map(STATUS_LABELS).fillna("n.d.")
    out["population_text"] = codes.map(status["population_count"]).map(_fmt_int)
    out["cpts_ids"] = codes.map(status["cpts_ids"])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=units.crs)


UNIT_TOOLTIP = [
    ("unit_name", "Commune"),
    ("cpts_text", "CPTS"),
    ("stage_text", "Stade"),
    ("population_text", "Population"),
    ("status_text", "Situation"),
]


def _selected_outline(m: folium.Map, units: gpd.GeoDataFrame, selected_cpts_id: str | None, name: str) -> None:
    """A thick outline around the selected CPTS's units (on top, no fill, not clickable)."""
    if not selected_cpts_id:
        return
    members = units[units["cpts_ids"].map(lambda ids: isinstance(ids, tuple) and selected_cpts_id in ids)]
    if members.empty:
        return
    outline = gpd.GeoDataFrame(
        {"cpts_id": [selected_cpts_id], "cpts_name": [name]},
        geometry=[shapely.union_all(members.geometry.to_numpy())],
        crs=units.crs,
    )
    folium.GeoJson(
        feature_collection(outline, "cpts_id", {"cpts_name": "cpts_name"}),
        name="CPTS sélectionnée",
        style_function=lambda _f: {"fill": False, "color": SELECTED_COLOR, "weight": 4},
        interactive=False,
    ).add_to(m)


def cpts_profile_map(
    snapshot: CoverageSnapshot,
    cpts_id: str,
    unit_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None = None,
    places: pd.DataFrame | None = None,
) -> folium.Map:
    """One CPTS and its communes (``unit_geometries`` of its units, neighbours allowed: they are drawn
    pale). Communes shared with another CPTS at the date are red; ``places`` (``queries.places``) are
    labelled. Legend: :func:`cpts_profile_legend`. Feature ids: commune_code."""
    labels, colors = stage_styles(stages)
    row = _cpts_row(snapshot, cpts_id)
    members = set(snapshot.links.loc[snapshot.links["cpts_id"] == cpts_id, "commune_code"])
    units = _unit_properties(snapshot, unit_geometries, labels)
    stage_color = _cpts_colour(row, colors)
    fill = {}
    for code, status in zip(units["commune_code"], units["status"], strict=True):
        if code not in members:
            fill[code] = OTHER_COMMUNES_COLOR
        elif status == OVERLAP:
            fill[code] = OVERLAP_COLOR
        else:
            fill[code] = stage_color

    def style(feature):
        inside = feature["id"] in members
        return {
            "fillColor": fill.get(feature["id"], NO_DATA_COLOR),
            "fillOpacity": 0.8 if inside else 0.5,
            "color": "#ffffff" if inside else "#bdbdbd",
            "weight": 0.8 if inside else 0.4,
        }

    m = new_map()
    _add_layer(
        m, feature_collection(units, "commune_code", {f: f for f, _ in UNIT_TOOLTIP}), "Communes", style, UNIT_TOOLTIP
    )
    _selected_outline(m, units, cpts_id, str(row["name"]))
    return furnish(m, _labels(places), _bounds(units[units["commune_code"].isin(members)]) or _bounds(units))


def _cpts_row(snapshot: CoverageSnapshot, cpts_id: str) -> pd.Series:
    row = snapshot.cpts[snapshot.cpts["cpts_id"] == cpts_id]
    if row.empty:
        raise KeyError(f"CPTS inconnue dans le registre : {cpts_id!r}")
    return row.iloc[0]


def _cpts_colour(row: pd.Series, colors: dict[str, str]) -> str:
    return colors.get(row["stage_code"], FALLBACK_STAGE_COLORS[UNKNOWN_STAGE]) if row["is_active"] else "#9ecae1"


def cpts_profile_legend(snapshot: CoverageSnapshot, cpts_id: str, stages: pd.DataFrame | None = None,
                        with_neighbours: bool = True) -> tuple[str, list[LegendItem]]:
    """(title, items) of the legend drawn beside :func:`cpts_profile_map`."""
    labels, colors = stage_styles(stages)
    row = _cpts_row(snapshot, cpts_id)
    stage_text = (
        labels.get(row["stage_code"], row["stage_code"]) if row["is_active"] else "pas encore engagée à cette date"
    )
    items = [LegendItem(_cpts_colour(row, colors), f"{row['name']} ({stage_text})"),
             LegendItem(OVERLAP_SWATCH, "Commune partagée avec une autre CPTS")]
    if with_neighbours:
        items.append(LegendItem(OTHER_COMMUNES_COLOR, "Autres communes"))
    return f"Territoire au {snapshot.as_of:%d/%m/%Y}", items


def _labels(places: pd.DataFrame | None) -> list:
    if places is None or places.empty:
        return []
    from observatory.coverage_map import place_labels  # the ranks of place labels are written there

    return place_labels(places, 4)


# ---------------------------------------------------------------------------------------------------
# Indicator choropleth (communes of a département or région)
# ---------------------------------------------------------------------------------------------------


def indicator_map(
    data: IndicatorFrame,
    unit_geometries: gpd.GeoDataFrame,
    classification: Classification,
    selected_cpts_id: str | None = None,
    snapshot: CoverageSnapshot | None = None,
    places: pd.DataFrame | None = None,
) -> folium.Map:
    """Choropleth of an indicator at commune level with the classes of ``indicators.classify`` (legend:
    :func:`indicator_legend`). Optional thick outline around a selected CPTS (needs ``snapshot``), place
    labels from ``places``. Feature ids: commune_code."""
    entry = data.entry
    decimals = int(entry.get("decimals") or 0)
    values = data.units.set_index("commune_code")
    units = unit_geometries[["commune_code", "geometry"]].copy()
    units["unit_name"] = units["commune_code"].map(values["name"]) if "name" in values else units["commune_code"]
    raw = units["commune_code"].map(values["value"])
    units["value_text"] = raw.map(lambda v: NO_DATA_LABEL if pd.isna(v) else format_number(v, decimals))
    units["population_text"] = units["commune_code"].map(values["population_count"]).map(_fmt_int)
    fill = {c: classification.color_of(v) for c, v in zip(units["commune_code"], raw, strict=True)}

    def style(feature):
        return {
            "fillColor": fill.get(feature["id"], NO_DATA_COLOR),
            "fillOpacity": 0.85,
            "color": "#ffffff",
            "weight": 0.4,
        }

    m = new_map()
    # The legend carries the indicator's full label; the tooltip stays short.
    fields = [("unit_name", "Commune"), ("value_text", f"Valeur {data.year}"), ("unit_text", "Unité"),
              ("population_text", "Population")]  # fmt: skip
    units["unit_text"] = html_literal(entry["unit"])  # an imported unit is outside text; tooltips are HTML
    if snapshot is not None:
        units["cpts_text"] = units["commune_code"].map(snapshot.units.set_index("commune_code")["cpts_names"])
        units["cpts_text"] = units["cpts_text"].fillna("").replace("", "aucune")
        fields.insert(1, ("cpts_text", "CPTS"))
    _add_layer(m, feature_collection(units, "commune_code", {f: f for f, _ in fields}), "Indicateur", style, fields)
    if selected_cpts_id and snapshot is not None:
        ids = units["commune_code"].map(snapshot.units.set_index("commune_code")["cpts_ids"])
        outline_units = gpd.GeoDataFrame(units.assign(cpts_ids=ids), geometry="geometry", crs=unit_geometries.crs)
        names = dict(zip(snapshot.cpts["cpts_id"], snapshot.cpts["name"], strict=True))
        _selected_outline(m, outline_units, selected_cpts_id, names.get(selected_cpts_id, selected_cpts_id))
    return furnish(m, _labels(places), _bounds(units))


def indicator_legend(data: IndicatorFrame, classification: Classification,
                     has_missing: bool) -> tuple[str, list[LegendItem]]:
    """(title, items) of the legend drawn beside :func:`indicator_map`: each class, « Non disponible »."""
    items = [LegendItem(c, label) for c, label in zip(classification.colors, classification.labels, strict=True)]
    if has_missing:
        items.append(LegendItem(NO_DATA_COLOR, NO_DATA_LABEL))
    return f"{data.entry['label']} ({data.year})", items
