"""The « Couverture » view as an image a decision-maker pastes into a report: the map drawn server-side
from the same outlines (Vega-Lite geoshapes, rendered to PNG by vl-convert, offline), with its title, its
legend, the register, the reference date and the sources under it (pure: no Streamlit, no network).

Layers are GeoDataFrames with a ``category`` column (the legend's labels); colours come from the legend
items, so the image and the page's legend can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import geopandas as gpd
import shapely

from observatory.maps import OVERLAP_COLOR, LegendItem

IMAGE_WIDTH = 820
IMAGE_HEIGHT = 640
PNG_SCALE = 2  # a sharp image in a document (1640 pixels wide)


def _solid(swatch: str) -> str:
    """A legend swatch as one colour (the hatched overlap swatch is CSS: solid red in the image)."""
    return OVERLAP_COLOR if "gradient" in swatch else swatch


def _values(layer: gpd.GeoDataFrame, decimals: int = 4) -> list[dict]:
    out = []
    for category, geom in zip(layer["category"], layer.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        rounded = shapely.set_precision(geom, 10 ** -decimals)
        out.append({"type": "Feature", "properties": {"category": str(category)},
                    "geometry": shapely.geometry.mapping(rounded)})
    return out


def map_image_spec(layers: Sequence[gpd.GeoDataFrame], legend: Sequence[LegendItem], title: str,
                   subtitle: Sequence[str], footer: Sequence[str], width: int = IMAGE_WIDTH,
                   height: int = IMAGE_HEIGHT, frames: Sequence[tuple[str, Sequence[float]]] = ()) -> dict:
    """A Vega-Lite spec: the layers drawn in order (Mercator, fitted), one shared colour legend, the title
    and subtitle above, the footer lines (register, date, sources) below. ``frames``: (title, [west, south,
    east, north]) of the insets, drawn as dashed boxes with their title, as on the page's map."""
    domain = [item.label for item in legend]
    colours = [_solid(item.swatch) for item in legend]
    scale = {"domain": domain, "range": colours}
    # The scale's domain is the whole legend: every category is listed, even one absent from this view
    # (e.g. no overlap), so the same map always reads with the same legend.
    drawn = [
        {
            "data": {"values": _values(layer)},
            "mark": {"type": "geoshape", "stroke": "#ffffff" if i else "#636363", "strokeWidth": 0.4 if i else 0.6},
            "encoding": {"color": {"field": "properties.category", "type": "nominal", "scale": scale,
                                   "legend": {"title": "Légende", "orient": "right", "labelLimit": 260,
                                              "symbolType": "square", "symbolSize": 160}
                                   if i == 0 else None}},
        }
        for i, layer in enumerate(layer for layer in layers if len(layer))
    ]
    if frames:
        # Frames as lines: a polygon ring's winding means « inside » or « everything else » to Vega's spherical
        # geometry; a line has no inside.
        boxes = [{"type": "Feature", "properties": {},
                  "geometry": shapely.geometry.mapping(shapely.box(*box).exterior)} for _, box in frames]
        drawn.append({"data": {"values": boxes},
                      "mark": {"type": "geoshape", "filled": False, "stroke": "#9e9e9e", "strokeDash": [3, 3],
                               "fill": None}})
        drawn.append({"data": {"values": [{"title": t, "lon": (b[0] + b[2]) / 2, "lat": b[3]} for t, b in frames]},
                      "mark": {"type": "text", "dy": 8, "fontSize": 10, "fontWeight": "bold", "color": "#555"},
                      "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                   "latitude": {"field": "lat", "type": "quantitative"},
                                   "text": {"field": "title"}}})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "subtitle": list(subtitle), "anchor": "start", "fontSize": 17, "subtitleFontSize": 12},
        "vconcat": [
            {"width": width, "height": height, "projection": {"type": "mercator"}, "layer": drawn},
            {"width": width, "height": 14 * len(footer) + 4,
             "data": {"values": [{"line": line, "n": i} for i, line in enumerate(footer)]},
             "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 11, "color": "#444"},
             "encoding": {"text": {"field": "line"}, "x": {"value": 0},
                          "y": {"field": "n", "type": "ordinal", "axis": None}}},
        ],
        "config": {"view": {"stroke": None}, "font": "sans-serif"},
        "background": "#ffffff",
    }


def png_bytes(spec: dict) -> bytes:
    """Render a Vega-Lite spec to PNG (vl-convert embeds Vega: no browser, no network)."""
    import vl_convert

    return vl_convert.vegalite_to_png(json.loads(json.dumps(spec)), scale=PNG_SCALE)


def coverage_image_layers(snapshot, area, departements: gpd.GeoDataFrame, cpts_geometries: gpd.GeoDataFrame,
                          layout, stages, unit_geometries: gpd.GeoDataFrame | None = None,
                          overlap_geometries: gpd.GeoDataFrame | None = None) -> tuple[list, list[LegendItem]]:
    """(layers, legend) of the Couverture view: France and région, départements then the CPTS active at the
    date then overlap communes (France: DROM in their insets, as on the page); a département or a DROM,
    its communes coloured by situation."""
    from observatory.coverage import OUT_OF_REGISTER, OVERLAP, STAGE_ORDER, STATUS_LABELS, WHITE_ZONE, stage_styles
    from observatory.maps import OUT_OF_REGISTER_COLOR, OVERLAP_SWATCH, WHITE_ZONE_COLOR

    labels, colors = stage_styles(stages)
    legend = [LegendItem(colors[c], labels[c]) for c in STAGE_ORDER
              if c != "inconnu" or (snapshot.cpts["stage_code"] == "inconnu").any()]
    legend += [LegendItem(WHITE_ZONE_COLOR, STATUS_LABELS[WHITE_ZONE]), LegendItem(OVERLAP_SWATCH, STATUS_LABELS[OVERLAP])]
    if snapshot.register_region is not None:
        legend.append(LegendItem(OUT_OF_REGISTER_COLOR, STATUS_LABELS[OUT_OF_REGISTER]))
    status = snapshot.units.set_index("commune_code")
    if area.level == "departement" or area.is_overseas:
        units = unit_geometries[unit_geometries["commune_code"].isin(status.index)].copy()
        rows = status.loc[units["commune_code"]]
        units["category"] = [labels.get(stage, stage) if s_ == "couvert" else STATUS_LABELS.get(s_, s_)
                             for s_, stage in zip(rows["status"], rows["highest_stage"], strict=True)]
        return [units], legend
    depts = departements[departements["code"].isin(area.departement_codes)].copy()
    outside = set()
    if snapshot.register_region is not None:
        outside = set(depts.loc[depts["region_code"] != str(snapshot.register_region), "code"])
    depts["category"] = [STATUS_LABELS[OUT_OF_REGISTER] if c in outside else STATUS_LABELS[WHITE_ZONE]
                         for c in depts["code"]]
    active = snapshot.cpts[snapshot.cpts["is_active"]]
    if area.level != "france":
        in_area = set(snapshot.links.loc[snapshot.links["departement_code"].isin(area.departement_codes), "cpts_id"])
        active = active[active["cpts_id"].isin(in_area)]
    stage_of = dict(zip(active["cpts_id"], active["stage_code"], strict=True))
    shapes = cpts_geometries[cpts_geometries["cpts_id"].isin(stage_of)].copy()
    shapes["category"] = [labels.get(stage_of[c], stage_of[c]) for c in shapes["cpts_id"]]
    overlaps = overlap_geometries.copy() if overlap_geometries is not None else depts.iloc[0:0].copy()
    overlaps = overlaps[overlaps["commune_code"].map(status["status"]) == OVERLAP] if len(overlaps) else overlaps
    overlaps["category"] = STATUS_LABELS[OVERLAP]
    if area.level == "france":
        from observatory.coverage_map import main_departements

        depts = depts.assign(geometry=layout.move(depts["code"], depts.geometry))
        mains = main_departements(snapshot.cpts)
        shapes = shapes.assign(geometry=layout.move(shapes["cpts_id"].map(mains).fillna(""), shapes.geometry))
        if len(overlaps):
            overlaps = overlaps.assign(geometry=layout.move(overlaps["commune_code"].map(status["departement_code"]),
                                                            overlaps.geometry))
    return [gpd.GeoDataFrame(x, geometry="geometry") for x in (depts, shapes, overlaps)], legend
