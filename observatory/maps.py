"""Pure folium map builders for the coverage page (no Streamlit, no network).

Offline by construction (stack notes): no tile layer, Leaflet served by the app at
``/app/static/leaflet/`` (files of the PyPI package django-js-lib-leaflet), no jQuery/Bootstrap/CDN,
no branca colormap (it pulls d3 from a CDN): ``folium.GeoJson`` + ``style_function`` +
``GeoJsonTooltip`` and a legend written as a plain Leaflet control in HTML/CSS.

Payload: national views draw aggregated territories (départements, dissolved CPTS), communes only in a
département or CPTS view; coordinates are rounded to 4 decimals (~11 m); every feature has an ``id``
(cpts_id or commune_code) so that a click can be mapped back to the data.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.shapes import simplify, simplify_coverage
from observatory.coverage import (
    COVERED,
    DEFAULT_STAGE_COLORS,
    DEFAULT_STAGE_LABELS,
    OUT_OF_REGISTER,
    OVERLAP,
    STAGE_ORDER,
    STATUS_LABELS,
    UNKNOWN_STAGE,
    WHITE_ZONE,
    CoverageSnapshot,
    figures_by_area,
    stage_styles,
)
from observatory.funding import size_class_labels
from observatory.indicators import NO_DATA_COLOR, NO_DATA_LABEL, Classification, IndicatorFrame, format_number
from observatory.safe_text import html_literal

LEAFLET_JS = [("leaflet", "/app/static/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/app/static/leaflet/leaflet.css")]
COORDINATE_DECIMALS = 4

WHITE_ZONE_COLOR = "#fbe3c0"
# Near white, so that it never reads like the grey of the « inconnu » stage (#bdbdbd, data/stages.json):
# a région-only register without dates shows grey CPTS on this background.
OUT_OF_REGISTER_COLOR = "#f5f5f5"
OVERLAP_COLOR = "#d7301f"
OUTLINE_COLOR = "#636363"
SELECTED_COLOR = "#111111"
# Used only when the caller passes no `stages` table: the vocabulary file's colours.
FALLBACK_STAGE_COLORS = DEFAULT_STAGE_COLORS
FALLBACK_STAGE_LABELS = DEFAULT_STAGE_LABELS
FRANCE_CENTER = (46.6, 2.4)
# National view only: 0.01° (about 1 km) is below a pixel at the zoom that shows all France.
FRANCE_SIMPLIFY_TOLERANCE = 0.01


# ---------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------


def new_map(bounds: Iterable[float] | None = None, prefer_canvas: bool = True) -> folium.Map:
    """An empty offline map; ``bounds`` = (minx, miny, maxx, maxy) in lon/lat to fit."""
    # zoom_snap 0.25: fit_bounds may stop between zoom levels, so an area fills the map instead of
    # leaving it half empty (France in a 560-pixel-high map sits between zoom 5 and 6).
    m = folium.Map(
        location=FRANCE_CENTER, zoom_start=6, tiles=None, prefer_canvas=prefer_canvas, control_scale=True,
        zoom_snap=0.25, zoom_delta=0.5,
    )  # fmt: skip
    m.default_js = list(LEAFLET_JS)
    m.default_css = list(LEAFLET_CSS)
    _Style(".leaflet-container{background:#ffffff;}").add_to(m)
    if bounds is not None:
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        if np.isfinite([minx, miny, maxx, maxy]).all():
            m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def map_payload_bytes(m: folium.Map) -> int:
    """Size of the map's full HTML document (what the browser receives), in bytes.

    Measured on a copy: folium's render appends script lines each time it runs, so rendering the
    caller's map here would make the page's own render (st_folium) heavier.
    """
    return len(copy.deepcopy(m).get_root().render().encode("utf-8"))


class _Style(MacroElement):
    """A CSS block in the page header (kept by streamlit-folium, which drops only external links)."""

    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}")

    def __init__(self, css: str):
        super().__init__()
        self._name = "Style"
        self.css = css


class Legend(MacroElement):
    """A legend as a Leaflet control: plain HTML/CSS, no external library."""

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


OVERLAP_SWATCH = f"repeating-linear-gradient(45deg,{OVERLAP_COLOR} 0 3px,#ffffff 3px 6px)"


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
# Coverage: France and région views (aggregated territories)
# ---------------------------------------------------------------------------------------------------


def _cpts_properties(snapshot: CoverageSnapshot, labels: dict[str, str]) -> pd.DataFrame:
    s = snapshot.cpts
    return pd.DataFrame(
        {
            "cpts_id": s["cpts_id"],
            "cpts_name": s["name"],
            "stage_code": s["stage_code"],
            "stage_label": s["stage_code"].map(lambda c: labels.get(c, c) if isinstance(c, str) else "—"),
            "population_text": s["population_count"].map(_fmt_int),
            "communes_text": s["communes_count"].map(_fmt_int),
            "departements_text": s["departement_codes"],
            "size_text": s["size_class"].map(lambda c: size_class_labels().get(int(c), "") if pd.notna(c) else "—"),
            "is_active": s["is_active"],
        }
    )


def _overview_map(
    snapshot: CoverageSnapshot,
    departements: gpd.GeoDataFrame,
    cpts_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None,
    overlap_geometries: gpd.GeoDataFrame | None,
    selected_cpts_id: str | None,
    simplify_tolerance: float | None,
    cpts_ids_shown: set[str] | None,
) -> folium.Map:
    labels, colors = stage_styles(stages)
    register_region = snapshot.register_region

    # Base: départements in the white-zone colour (grey outside a région-only register's région),
    # with their coverage figures in the tooltip.
    figures = figures_by_area(snapshot, "departement")
    depts = departements.copy()
    depts["dept_label"] = depts["code"] + " – " + depts["name"]
    depts["coverage_text"] = (
        depts["code"].map(figures["coverage_pct"]).map(lambda v: "n.d." if pd.isna(v) else format_number(v, 1) + " %")
    )
    depts["white_text"] = depts["code"].map(figures["white_zone_population"]).map(_fmt_int)
    depts["cpts_text"] = depts["code"].map(figures["cpts_count"]).map(_fmt_int)
    outside = set()
    if register_region is not None:
        outside = set(depts.loc[depts["region_code"] != str(register_region), "code"])
        depts.loc[depts["code"].isin(outside), ["coverage_text", "white_text"]] = "hors registre"

    def dept_style(feature):
        fill = OUT_OF_REGISTER_COLOR if feature["id"] in outside else WHITE_ZONE_COLOR
        return {"fillColor": fill, "fillOpacity": 1, "color": OUTLINE_COLOR, "weight": 0.8}

    # Fit metropolitan France when it is shown: with the DROM in the bounds, the view would span half
    # the globe. The DROM stay on the map (pan, or the région view of each DROM).
    metro = depts[depts["zone"] == "metro"] if "zone" in depts.columns else depts
    m = new_map(_bounds(metro if len(metro) else depts))
    _add_layer(
        m,
        feature_collection(
            depts,
            "code",
            {"dept_label": "dept_label", "cpts_text": "cpts_text", "coverage_text": "coverage_text", "white_text": "white_text"},
            simplify_tolerance,
            is_coverage=True,
        ),
        "Départements",
        dept_style,
        [("dept_label", "Département"), ("cpts_text", "CPTS"), ("coverage_text", "Population couverte"),
         ("white_text", "Habitants en zone blanche")],
        highlight=False,
    )  # fmt: skip

    # CPTS active at the date, coloured by their stage.
    props = _cpts_properties(snapshot, labels)
    props = props[props["is_active"]]
    if cpts_ids_shown is not None:
        props = props[props["cpts_id"].isin(cpts_ids_shown)]
    shapes = cpts_geometries[["cpts_id", "geometry"]].merge(props, on="cpts_id", how="inner")
    shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=cpts_geometries.crs)
    stage_of = dict(zip(props["cpts_id"], props["stage_code"], strict=True))

    def cpts_style(feature):
        selected = feature["id"] == selected_cpts_id
        return {
            "fillColor": colors.get(stage_of.get(feature["id"]), FALLBACK_STAGE_COLORS[UNKNOWN_STAGE]),
            "fillOpacity": 0.9,
            "color": SELECTED_COLOR if selected else "#ffffff",
            "weight": 4 if selected else 0.7,
        }

    _add_layer(
        m,
        feature_collection(
            shapes,
            "cpts_id",
            {"cpts_name": "cpts_name", "stage_label": "stage_label", "population_text": "population_text",
             "communes_text": "communes_text", "departements_text": "departements_text", "size_text": "size_text"},
            simplify_tolerance,
        ),
        "CPTS",
        cpts_style,
        [("cpts_name", "CPTS"), ("stage_label", "Stade"), ("population_text", "Population"),
         ("communes_text", "Communes"), ("departements_text", "Départements"), ("size_text", "Taille ACI")],
    )  # fmt: skip

    if overlap_geometries is not None and len(overlap_geometries):
        _add_overlap_layer(m, snapshot, overlap_geometries)

    stage_items = [(colors[s], labels[s]) for s in STAGE_ORDER if s in set(props["stage_code"]) or s != UNKNOWN_STAGE]
    items = stage_items + [(WHITE_ZONE_COLOR, STATUS_LABELS[WHITE_ZONE]), (OVERLAP_SWATCH, STATUS_LABELS[OVERLAP])]
    if outside:
        items.append((OUT_OF_REGISTER_COLOR, STATUS_LABELS[OUT_OF_REGISTER]))
    Legend(f"CPTS au {snapshot.as_of:%d/%m/%Y}", items).add_to(m)
    return m


def _add_overlap_layer(m: folium.Map, snapshot: CoverageSnapshot, overlap_geometries: gpd.GeoDataFrame) -> None:
    """Communes claimed by two CPTS or more at the date: red, dashed outline (Leaflet has no hatching
    without a plugin; the legend swatch is hatched)."""
    status = snapshot.units.set_index("commune_code")
    overlaps = overlap_geometries[overlap_geometries["commune_code"].map(status["status"]) == OVERLAP].copy()
    if overlaps.empty:
        return
    overlaps["unit_name"] = overlaps["commune_code"].map(status["name"])
    overlaps["cpts_text"] = overlaps["commune_code"].map(status["cpts_names"])
    overlaps["population_text"] = overlaps["commune_code"].map(status["population_count"]).map(_fmt_int)
    _add_layer(
        m,
        feature_collection(
            overlaps,
            "commune_code",
            {"unit_name": "unit_name", "cpts_text": "cpts_text", "population_text": "population_text"},
        ),
        "Chevauchements",
        lambda _f: {
            "fillColor": OVERLAP_COLOR,
            "fillOpacity": 0.55,
            "color": OVERLAP_COLOR,
            "weight": 1.5,
            "dashArray": "4 3",
        },
        [("unit_name", "Commune en chevauchement"), ("cpts_text", "CPTS"), ("population_text", "Population")],
    )


def coverage_map_france(
    snapshot: CoverageSnapshot,
    departements: gpd.GeoDataFrame,
    cpts_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None = None,
    overlap_geometries: gpd.GeoDataFrame | None = None,
    selected_cpts_id: str | None = None,
    simplify_tolerance: float | None = FRANCE_SIMPLIFY_TOLERANCE,
) -> folium.Map:
    """France: départements as the base (white-zone colour; grey « hors registre » outside a région-only
    register's région), CPTS active at the snapshot date coloured by stage, overlap communes in red.

    ``departements``: ``queries.departement_outlines``; ``cpts_geometries``: ``queries.cpts_geometries``;
    ``overlap_geometries``: ``queries.unit_geometries(commune_codes=...)`` of the overlap units (only
    those in overlap at the date are drawn). Feature ids: département code, cpts_id, commune_code.
    ``simplify_tolerance`` (degrees, default 0.01 ≈ 1 km, below a pixel at national zoom) keeps the page
    under 2 MB: measured on the demo register (746 CPTS), 1.9 MB unsimplified, 1.2 MB at 0.01.
    """
    return _overview_map(
        snapshot, departements, cpts_geometries, stages, overlap_geometries, selected_cpts_id, simplify_tolerance, None
    )


def coverage_map_region(
    snapshot: CoverageSnapshot,
    region_code: str,
    departements: gpd.GeoDataFrame,
    cpts_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None = None,
    overlap_geometries: gpd.GeoDataFrame | None = None,
    selected_cpts_id: str | None = None,
    simplify_tolerance: float | None = None,
) -> folium.Map:
    """A région: its départements and the CPTS with at least one unit in it (drawn whole)."""
    depts = departements[departements["region_code"] == str(region_code)]
    shown = set(snapshot.links.loc[snapshot.links["region_code"] == str(region_code), "cpts_id"])
    return _overview_map(
        snapshot, depts, cpts_geometries, stages, overlap_geometries, selected_cpts_id, simplify_tolerance, shown
    )


# ---------------------------------------------------------------------------------------------------
# Coverage: département view (communes)
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


def _unit_fill(status: str | None, stage: str | None, colors: dict[str, str]) -> str:
    if status == OVERLAP:
        return OVERLAP_COLOR
    if status == COVERED:
        return colors.get(stage, FALLBACK_STAGE_COLORS[UNKNOWN_STAGE])
    if status == OUT_OF_REGISTER:
        return OUT_OF_REGISTER_COLOR
    if status == WHITE_ZONE:
        return WHITE_ZONE_COLOR
    return NO_DATA_COLOR


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


def coverage_map_departement(
    snapshot: CoverageSnapshot,
    unit_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None = None,
    selected_cpts_id: str | None = None,
    title: str | None = None,
) -> folium.Map:
    """Communes of a département (``queries.unit_geometries(departement_code=...)``) coloured by status
    at the snapshot date (stage colour of their most advanced CPTS, red for overlaps, white zone,
    « hors registre »); tooltip: commune, CPTS, stade, population. The selected CPTS gets a thick outline.
    Feature ids: commune_code."""
    labels, colors = stage_styles(stages)
    units = _unit_properties(snapshot, unit_geometries, labels)
    fill = {
        c: _unit_fill(s, st, colors)
        for c, s, st in zip(units["commune_code"], units["status"], units["highest_stage"], strict=True)
    }
    selected = set()
    if selected_cpts_id:
        selected = set(
            units.loc[
                units["cpts_ids"].map(lambda ids: isinstance(ids, tuple) and selected_cpts_id in ids), "commune_code"
            ]
        )

    def style(feature):
        return {
            "fillColor": fill.get(feature["id"], NO_DATA_COLOR),
            "fillOpacity": 0.8,
            "color": "#ffffff" if feature["id"] not in selected else SELECTED_COLOR,
            "weight": 0.5 if feature["id"] not in selected else 1.5,
        }

    m = new_map(_bounds(units))
    _add_layer(
        m,
        feature_collection(units, "commune_code", {f: f for f, _ in UNIT_TOOLTIP}),
        "Communes",
        style,
        UNIT_TOOLTIP,
    )
    names = dict(zip(snapshot.cpts["cpts_id"], snapshot.cpts["name"], strict=True))
    _selected_outline(m, units, selected_cpts_id, names.get(selected_cpts_id, selected_cpts_id or ""))

    present_stages = {
        s for s, st in zip(units["highest_stage"], units["status"], strict=True) if st == COVERED and isinstance(s, str)
    }
    items = [(colors[s], labels[s]) for s in STAGE_ORDER if s in present_stages]
    for status, color in (
        (OVERLAP, OVERLAP_COLOR),
        (WHITE_ZONE, WHITE_ZONE_COLOR),
        (OUT_OF_REGISTER, OUT_OF_REGISTER_COLOR),
    ):
        if (units["status"] == status).any() or status in (OVERLAP, WHITE_ZONE):
            items.append((color, STATUS_LABELS[status]))
    Legend(title or f"Communes au {snapshot.as_of:%d/%m/%Y}", items).add_to(m)
    return m


def cpts_profile_map(
    snapshot: CoverageSnapshot,
    cpts_id: str,
    unit_geometries: gpd.GeoDataFrame,
    stages: pd.DataFrame | None = None,
) -> folium.Map:
    """One CPTS and its communes (``unit_geometries`` of its units, neighbours allowed: they are drawn
    pale). Communes shared with another CPTS at the date are red. Feature ids: commune_code."""
    labels, colors = stage_styles(stages)
    row = snapshot.cpts[snapshot.cpts["cpts_id"] == cpts_id]
    if row.empty:
        raise KeyError(f"CPTS inconnue dans le registre : {cpts_id!r}")
    row = row.iloc[0]
    members = set(snapshot.links.loc[snapshot.links["cpts_id"] == cpts_id, "commune_code"])
    units = _unit_properties(snapshot, unit_geometries, labels)
    stage_color = colors.get(row["stage_code"], FALLBACK_STAGE_COLORS[UNKNOWN_STAGE]) if row["is_active"] else "#9ecae1"
    fill = {}
    for code, status in zip(units["commune_code"], units["status"], strict=True):
        if code not in members:
            fill[code] = "#f0f0f0"
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

    m = new_map(_bounds(units[units["commune_code"].isin(members)]) or _bounds(units))
    _add_layer(
        m, feature_collection(units, "commune_code", {f: f for f, _ in UNIT_TOOLTIP}), "Communes", style, UNIT_TOOLTIP
    )
    _selected_outline(m, units, cpts_id, str(row["name"]))
    stage_text = (
        labels.get(row["stage_code"], row["stage_code"]) if row["is_active"] else "pas encore engagée à cette date"
    )
    items = [(stage_color, f"{row['name']} ({stage_text})"), (OVERLAP_SWATCH, "Commune partagée avec une autre CPTS")]
    if (~units["commune_code"].isin(members)).any():
        items.append(("#f0f0f0", "Autres communes"))
    Legend(f"Territoire au {snapshot.as_of:%d/%m/%Y}", items).add_to(m)
    return m


# ---------------------------------------------------------------------------------------------------
# Indicator choropleth (communes of a département or région)
# ---------------------------------------------------------------------------------------------------


def indicator_map(
    data: IndicatorFrame,
    unit_geometries: gpd.GeoDataFrame,
    classification: Classification,
    selected_cpts_id: str | None = None,
    snapshot: CoverageSnapshot | None = None,
) -> folium.Map:
    """Choropleth of an indicator at commune level with the classes of ``indicators.classify`` and a
    legend (« Non disponible » in grey). Optional thick outline around a selected CPTS (needs
    ``snapshot``). Feature ids: commune_code."""
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

    m = new_map(_bounds(units))
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
    items = list(zip(classification.colors, classification.labels, strict=True))
    if raw.isna().any():
        items.append((NO_DATA_COLOR, NO_DATA_LABEL))
    Legend(f"{entry['label']} ({data.year})", items).add_to(m)
    return m
