"""A folium map of CPTS coloured by their declared maturity level (latest self-assessment of a campaign),
drawn with the coverage maps' building blocks (offline Leaflet, escaped tooltips, HTML legend)."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from observatory.campaign_charts import LEVEL_COLOURS
from observatory.maps import (
    FRANCE_SIMPLIFY_TOLERANCE,
    OUTLINE_COLOR,
    Legend,
    _add_layer,  # the coverage maps' layer builder (escaped tooltips); same package
    _bounds,
    feature_collection,
    new_map,
)
from observatory.safe_text import html_literal

NOT_ASSESSED_COLOUR = "#f0f0f0"


def maturity_map(departements: gpd.GeoDataFrame, cpts_geometries: gpd.GeoDataFrame, cpts_levels: pd.DataFrame,
                 scope_cpts_ids: set[str], region_code: str | None, legend_title: str,
                 level_labels: dict[str, str]) -> folium.Map:
    """Départements as the base; the scope's CPTS coloured by level, light grey when not assessed in the
    campaign. ``cpts_levels``: cpts_id, name, level_id, level_label, score_text (:mod:`observatory.regional`)."""
    depts = departements if region_code is None else departements[departements["region_code"] == str(region_code)]
    if region_code is None and "zone" in depts.columns:
        depts = depts[depts["zone"] == "metro"]
    depts = depts.assign(dept_label=depts["code"] + " – " + depts["name"])
    tolerance = FRANCE_SIMPLIFY_TOLERANCE if region_code is None else None
    m = new_map(_bounds(depts))
    _add_layer(m, feature_collection(depts, "code", {"dept_label": "dept_label"}, tolerance), "Départements",
               lambda _f: {"fillColor": "#ffffff", "fillOpacity": 1, "color": OUTLINE_COLOR, "weight": 0.8},
               [("dept_label", "Département")], highlight=False)
    shapes = cpts_geometries[cpts_geometries["cpts_id"].isin(scope_cpts_ids)][["cpts_id", "geometry"]]
    levels = cpts_levels.set_index("cpts_id")
    names = levels["name"].to_dict()
    # Leaflet's tooltip writes values with innerHTML: names (from registers, imports) are escaped here.
    shapes = shapes.assign(
        cpts_name=shapes["cpts_id"].map(lambda c: html_literal(names.get(c, "CPTS non évaluée cette année"))),
        level_label=shapes["cpts_id"].map(lambda c: levels.at[c, "level_label"] if c in levels.index else "non évaluée"),
        score_text=shapes["cpts_id"].map(lambda c: levels.at[c, "score_text"] if c in levels.index else "—"),
    )
    level_of = {c: levels.at[c, "level_id"] for c in levels.index}
    _add_layer(m, feature_collection(gpd.GeoDataFrame(shapes, geometry="geometry", crs=cpts_geometries.crs), "cpts_id",
                                     {"cpts_name": "cpts_name", "level_label": "level_label", "score_text": "score_text"},
                                     tolerance),
               "CPTS", lambda f: {"fillColor": LEVEL_COLOURS.get(level_of.get(f["id"]), NOT_ASSESSED_COLOUR), "fillOpacity": 0.9,
                                  "color": "#ffffff", "weight": 0.7},
               [("cpts_name", "CPTS"), ("level_label", "Niveau déclaré"), ("score_text", "Score global")])
    items = [(LEVEL_COLOURS[k], label) for k, label in level_labels.items() if k in LEVEL_COLOURS]
    Legend(legend_title, [*items, (NOT_ASSESSED_COLOUR, "Non évaluée cette année")]).add_to(m)
    return m
