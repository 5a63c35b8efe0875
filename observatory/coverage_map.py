"""The « Couverture » map: one base per register, then light views (pure, no Streamlit, no network).

Why two parts: the outlines (départements, every CPTS of the register, the DROM insets, the place labels)
do not depend on the date, the area or the selection, and they are most of the weight. :func:`base_map`
puts them once into the map's script with the map's behaviour (``observatory/js/coverage_map.js``);
:func:`coverage_view` computes what a date, an area, a selection or a search changes (stage of each CPTS,
figures of each département, overlap communes, the communes of a département, the area to fit), and
:func:`view_script` is the few kilobytes the page sends to redraw (streamlit-folium's dynamic update).

Layout of the France view (``data/map_insets.json``): metropolitan France with the DROM in insets, in the
sea south-west of Brittany, each at its own scale, the usual layout of French national maps. Outlines are
quantised (:mod:`geo.encoding`): 1e-3 degree (about 100 m) for the national base, 1e-4 for communes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import encoding
from geo.insets import Inset, fit_inset
from geo.shapes import simplify, simplify_coverage
from observatory.config import DATA_DIR
from observatory.coverage import (
    COVERED,
    OUT_OF_REGISTER,
    OVERLAP,
    STAGE_ORDER,
    STATUS_LABELS,
    WHITE_ZONE,
    CoverageSnapshot,
    figures_by_area,
    stage_styles,
)
from observatory.funding import size_class_labels
from observatory.indicators import NO_DATA_COLOR, format_number
from observatory.maps import (
    FADED_COLOR,
    FOCUS_COLOR,
    OUT_OF_REGISTER_COLOR,
    OUTLINE_COLOR,
    OVERLAP_COLOR,
    OVERLAP_SWATCH,
    SELECTED_COLOR,
    WHITE_ZONE_COLOR,
    LegendItem,
    Script,
    furnish,
    js_source,
    json_for_script,
    new_map,
)
from observatory.safe_text import html_literal

INSETS_PATH = DATA_DIR / "map_insets.json"
BASE_STEPS = 1_000  # grid steps per degree of the national base (about 110 m: below a pixel at région zoom)
DETAIL_STEPS = 10_000  # communes (about 11 m)
BASE_TOLERANCE = 0.01  # degrees: simplification of the national base (about 1 km, a pixel at a région's zoom)

# Labels of the map (field names of tooltips): French, fixed here.
TEXTS = {
    "departement": "Département", "cpts": "CPTS", "covered": "Population couverte",
    "white": "Habitants en zone blanche", "stage": "Stade", "population": "Population", "communes": "Communes",
    "departements": "Départements", "size": "Taille ACI", "commune": "Commune", "status": "Situation",
    "overlap_commune": "Commune en chevauchement", "not_started": "pas encore engagée à cette date",
}  # fmt: skip
COLORS = {
    "white_zone_color": WHITE_ZONE_COLOR, "out_of_register_color": OUT_OF_REGISTER_COLOR,
    "overlap_color": OVERLAP_COLOR, "outline_color": OUTLINE_COLOR, "selected_color": SELECTED_COLOR,
    "focus_color": FOCUS_COLOR, "faded_color": FADED_COLOR,
}  # fmt: skip

# Place labels: rank 1 chefs-lieux de région, 2 préfectures and towns of 100,000 or more, 3 towns of 20,000
# or more (région and département views), 4 towns of 3,000 or more (département view).
TOWN_RANKS = ((2, 100_000), (3, 20_000), (4, 3_000))


# ---------------------------------------------------------------------------------------------------
# Insets (DROM)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsetLayout:
    france_bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy of the France view
    insets: dict[str, Inset]  # département code -> its move into its box
    titles: dict[str, str]  # département code -> the inset's title

    def boxes(self) -> list[list[float]]:
        """[south, west, north, east] of each inset box (frames drawn on the map)."""
        return [[i.target[1], i.target[0], i.target[3], i.target[2]] for i in self.insets.values()]

    def move(self, departement_codes: Iterable[str], geoms: Iterable) -> np.ndarray:
        """Geometries of DROM départements moved into their inset; the others as they are."""
        geoms = np.asarray(list(geoms), dtype=object)
        codes = np.asarray(list(departement_codes), dtype=object)
        for code, inset in self.insets.items():
            mask = codes == code
            if mask.any():
                geoms[mask] = inset.transform(geoms[mask])
        return geoms

    def move_points(self, departement_codes: Iterable[str], lon: np.ndarray, lat: np.ndarray):
        lon, lat = np.asarray(lon, dtype=float).copy(), np.asarray(lat, dtype=float).copy()
        codes = np.asarray(list(departement_codes), dtype=object)
        for code, inset in self.insets.items():
            mask = codes == code
            if mask.any():
                lon[mask], lat[mask] = inset.transform_xy(lon[mask], lat[mask])
        return lon, lat


def validate_inset_file(raw: dict) -> list[str]:
    """Problems of ``data/map_insets.json`` (empty: valid), in French."""
    errors = []
    bounds = raw.get("france_bounds")
    if not (isinstance(bounds, list) and len(bounds) == 4 and bounds[0] < bounds[2] and bounds[1] < bounds[3]):
        errors.append("map_insets.json : « france_bounds » doit valoir [ouest, sud, est, nord]")
    seen = set()
    for i, inset in enumerate(raw.get("insets", [])):
        box = inset.get("box")
        code = inset.get("departement_code")
        if not isinstance(code, str) or code in seen:
            errors.append(f"map_insets.json, encart {i} : code de département absent ou en double")
        seen.add(code)
        if not (isinstance(box, list) and len(box) == 4 and box[0] < box[2] and box[1] < box[3]):
            errors.append(f"map_insets.json, encart {i} : « box » doit valoir [ouest, sud, est, nord]")
        elif isinstance(bounds, list) and len(bounds) == 4 and not (
            bounds[0] <= box[0] and box[2] <= bounds[2] and bounds[1] <= box[1] and box[3] <= bounds[3]
        ):
            errors.append(f"map_insets.json, encart {i} : la boîte sort de l'emprise de la carte de France")
    return errors


@lru_cache(maxsize=4)
def _inset_file(path_str: str) -> dict:
    raw = json.loads(Path(path_str).read_text(encoding="utf-8"))
    problems = validate_inset_file(raw)
    if problems:
        raise ValueError("\n".join(problems))
    return raw


def inset_layout(departements: gpd.GeoDataFrame, path: Path | None = None) -> InsetLayout:
    """The France view's layout from ``data/map_insets.json`` and the départements' outlines (``code``,
    ``name``, ``geometry``): each DROM département's outline is fitted into its box."""
    raw = _inset_file(str(path or INSETS_PATH))
    outlines = departements.set_index("code")
    insets, titles = {}, {}
    for entry in raw["insets"]:
        code = entry["departement_code"]
        if code not in outlines.index or outlines.at[code, "geometry"] is None:
            continue  # a département the database does not hold (test data): no inset
        insets[code] = fit_inset(outlines.at[code, "geometry"].bounds, entry["box"], margin=0.12)
        titles[code] = str(outlines.at[code, "name"])
    return InsetLayout(tuple(raw["france_bounds"]), insets, titles)


# ---------------------------------------------------------------------------------------------------
# Place labels
# ---------------------------------------------------------------------------------------------------


def place_ranks(places: pd.DataFrame) -> pd.Series:
    """Rank of each place (0: no label): 1 chef-lieu de région, 2 préfecture or 100,000+, 3 20,000+, 4 3,000+."""
    population = places["population_count"].fillna(0)
    rank = pd.Series(0, index=places.index, dtype="int64")
    for value, minimum in reversed(TOWN_RANKS):
        rank = rank.where(population < minimum, value)
    chef_lieu = places["chef_lieu"] if "chef_lieu" in places.columns else pd.Series(None, index=places.index)
    rank = rank.where(chef_lieu != "departement", 2)  # a préfecture: rank 2 whatever its size
    return rank.where(chef_lieu != "region", 1)


def label_name(name: str, unit_type: str | None) -> str:
    """« Marseille 16e Arrondissement » -> « Marseille 16e » (a label, not an address)."""
    if unit_type == "arrondissement_municipal" and str(name).endswith(" Arrondissement"):
        return str(name)[: -len(" Arrondissement")]
    return str(name)


def place_labels(places: pd.DataFrame, max_rank: int, layout: InsetLayout | None = None) -> list[list]:
    """[name, lat, lon, rank, kind, département] of the places ranked 1 to ``max_rank``, by priority (rank,
    préfectures first, population); with ``layout``, DROM places are moved into their inset. Names are HTML-escaped (labels
    are HTML)."""
    if places.empty:
        return []
    ranked = places.assign(rank=place_ranks(places))
    ranked = ranked[(ranked["rank"] >= 1) & (ranked["rank"] <= max_rank) & ranked["centroid_lon"].notna()]
    # Priority when labels collide: rank, then the préfectures, then the most populated.
    chef = ranked["chef_lieu"].notna() if "chef_lieu" in ranked else pd.Series(False, index=ranked.index)
    ranked = ranked.assign(_chef=chef).sort_values(["rank", "_chef", "population_count"],
                                                   ascending=[True, False, False])
    lon, lat = ranked["centroid_lon"].to_numpy(), ranked["centroid_lat"].to_numpy()
    if layout is not None:
        lon, lat = layout.move_points(ranked["departement_code"], lon, lat)
    chef_lieu = ranked["chef_lieu"] if "chef_lieu" in ranked else pd.Series(None, index=ranked.index)
    kinds = np.where(chef_lieu.notna(), "prefecture", "ville")
    unit_types = ranked["unit_type"] if "unit_type" in ranked else pd.Series(None, index=ranked.index)
    return [[html_literal(label_name(n, t)), round(float(y), 4), round(float(x), 4), int(r), str(k), str(d)]
            for n, t, y, x, r, k, d in zip(ranked["name"], unit_types, lat, lon, ranked["rank"], kinds,
                                           ranked["departement_code"], strict=True)]


def inset_titles(layout: InsetLayout) -> list[list]:
    out = []
    for code, inset in layout.insets.items():
        west, south, east, north = inset.target
        out.append([html_literal(layout.titles[code]), round(north - (north - south) * 0.06, 4),
                    round((west + east) / 2, 4), 0, "inset", code])
    return out


# ---------------------------------------------------------------------------------------------------
# Base map (per register)
# ---------------------------------------------------------------------------------------------------


def _features(ids: Iterable, geoms: Iterable, properties: list[dict], steps: float) -> list[dict]:
    out = []
    for fid, geom, props in zip(ids, geoms, properties, strict=True):
        encoded = encoding.encode(geom, steps)
        if encoded:
            out.append({"id": str(fid), "p": props, "g": encoded})
    return out


def _text(value) -> str:
    return "n.d." if value is None or (isinstance(value, float) and np.isnan(value)) else html_literal(str(value))


def _fmt_int(value) -> str:
    return "n.d." if value is None or pd.isna(value) else format_number(float(value), 0)


def cpts_properties(summary: pd.DataFrame) -> pd.DataFrame:
    """Date-independent tooltip texts of each CPTS (HTML-escaped); the ACI size as its class number (its
    label is written once, in the base's texts)."""
    return pd.DataFrame({
        "cpts_id": summary["cpts_id"].astype(str),
        "cpts_name": summary["name"].map(_text),
        "population": summary["population_count"].map(_fmt_int),
        "communes": summary["communes_count"].map(_fmt_int),
        "departements": summary["departement_codes"].map(lambda v: _text(v) if v else "—"),
        "size": summary["size_class"].map(lambda c: int(c) if pd.notna(c) else 0),
    })  # fmt: skip


def main_departements(summary: pd.DataFrame) -> pd.Series:
    """cpts_id -> its main département (the register's, else the first of its départements): where a DROM
    CPTS is moved to."""
    first = summary["departement_codes"].astype(str).str.split(", ").str[0]
    main = summary["main_departement_code"] if "main_departement_code" in summary else pd.Series(None, index=first.index)
    return pd.Series(main.where(main.notna(), first).to_numpy(), index=summary["cpts_id"].astype(str))


def base_data(departements: gpd.GeoDataFrame, cpts_geometries: gpd.GeoDataFrame, summary: pd.DataFrame,
              places: pd.DataFrame, layout: InsetLayout) -> dict:
    """The base's data: départements and every CPTS (DROM in insets), inset frames and titles, labels."""
    depts = departements[departements.geometry.notna()].reset_index(drop=True)
    dept_geoms = layout.move(depts["code"], simplify_coverage(depts.geometry.to_numpy(), BASE_TOLERANCE, 1 / BASE_STEPS))
    dept_props = [{"code": str(c), "label": html_literal(f"{c} – {n}")} for c, n in zip(depts["code"], depts["name"],
                                                                                          strict=True)]
    props = cpts_properties(summary).set_index("cpts_id")
    shapes = cpts_geometries[cpts_geometries.geometry.notna() & cpts_geometries["cpts_id"].isin(props.index)]
    shape_depts = shapes["cpts_id"].map(main_departements(summary)).fillna("")
    cpts_geoms = layout.move(shape_depts, simplify(shapes.geometry.to_numpy(), BASE_TOLERANCE, 1 / BASE_STEPS))
    cpts_props = [{"cpts_id": cid, **props.loc[cid].to_dict()} for cid in shapes["cpts_id"]]
    # DROM places are not labelled in their insets (too small): the insets carry their titles.
    places_drawn = places[places["departement_code"].isin(set(depts["code"]) - set(layout.insets))]
    return {
        "steps": BASE_STEPS,
        "departements": _features(depts["code"], dept_geoms, dept_props, BASE_STEPS),
        "cpts": _features(shapes["cpts_id"], cpts_geoms, cpts_props, BASE_STEPS),
        "insets": layout.boxes(),
        "labels": inset_titles(layout) + place_labels(places_drawn, 2),
        "texts": {**{k: html_literal(v) for k, v in TEXTS.items()}, **COLORS,
                  "sizes": ["—"] + [html_literal(size_class_labels()[c]) for c in sorted(size_class_labels())]},
    }


def base_map(data: Mapping, initial_view: Mapping | None = None) -> folium.Map:
    """The map with its base (``base_data``) and behaviour. Without ``initial_view`` the map waits for
    its first view (:func:`view_script`, sent as streamlit-folium's dynamic update); with it, the map
    is complete on its own."""
    m = furnish(new_map())
    payload = dict(data)
    if initial_view is not None:
        payload["initial"] = initial_view
    Script(js_source("coverage_map.js").replace("__DATA__", json_for_script(payload))).add_to(m)
    return m


def view_script(view: Mapping) -> str:
    """The dynamic update that draws ``view`` on the base (JavaScript, ends with a newline: streamlit-folium
    appends its layer-control code to it)."""
    return f"window.observatoire.apply({json_for_script(view)});\n"


# ---------------------------------------------------------------------------------------------------
# A view: date, area, selection, search
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    level: str  # france | region | departement
    code: str | None
    departement_codes: tuple[str, ...]  # départements of the area (all: France)
    is_overseas: bool  # a DROM région or département: drawn where it is, with its communes


def bounds_of(geoms: Iterable) -> list[float] | None:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return [round(float(miny), 5), round(float(minx), 5), round(float(maxy), 5), round(float(maxx), 5)]


def _unit_features(snapshot: CoverageSnapshot, units: gpd.GeoDataFrame, labels: dict, colors: dict) -> list[dict]:
    """Communes of a département coloured by their situation at the date (département view)."""
    status = snapshot.units.set_index("commune_code")
    units = units[units["commune_code"].isin(status.index)]
    codes = units["commune_code"]
    rows = status.loc[codes]
    props = []
    for code, row in zip(codes, rows.itertuples(index=False), strict=True):
        stages = row.stage_codes if isinstance(row.stage_codes, tuple) else ()
        props.append({
            "commune_code": str(code), "unit_name": html_literal(str(row.name)),
            "cpts_text": html_literal(row.cpts_names) if row.cpts_names else "aucune",
            "stage_text": html_literal(" ; ".join(labels.get(s, s) for s in stages)) if stages else "—",
            "population_text": _fmt_int(row.population_count),
            "status_text": html_literal(STATUS_LABELS.get(row.status, "n.d.")),
            "cpts_ids": " ".join(row.cpts_ids) if isinstance(row.cpts_ids, tuple) else "",
            "fill": _unit_fill(row.status, row.highest_stage, colors),
        })  # fmt: skip
    return _features(codes, units.geometry.to_numpy(), props, DETAIL_STEPS)


def _unit_fill(status: str | None, stage: str | None, colors: Mapping[str, str]) -> str:
    if status == OVERLAP:
        return OVERLAP_COLOR
    if status == COVERED:
        return colors.get(stage, colors.get("inconnu", "#bdbdbd"))
    if status == OUT_OF_REGISTER:
        return OUT_OF_REGISTER_COLOR
    if status == WHITE_ZONE:
        return WHITE_ZONE_COLOR
    return NO_DATA_COLOR


def _overlap_features(snapshot: CoverageSnapshot, geometries: gpd.GeoDataFrame | None,
                      layout: InsetLayout | None) -> list[dict]:
    if geometries is None or geometries.empty:
        return []
    status = snapshot.units.set_index("commune_code")
    rows = geometries[geometries["commune_code"].map(status["status"]) == OVERLAP]
    if rows.empty:
        return []
    geoms = rows.geometry.to_numpy()
    if layout is not None:
        geoms = layout.move(rows["commune_code"].map(status["departement_code"]), geoms)
    props = [{"commune_code": str(c), "unit_name": html_literal(str(status.at[c, "name"])),
              "cpts_text": html_literal(str(status.at[c, "cpts_names"])),
              "population_text": _fmt_int(status.at[c, "population_count"])} for c in rows["commune_code"]]
    return _features(rows["commune_code"], geoms, props, DETAIL_STEPS)


def departement_figures(snapshot: CoverageSnapshot) -> dict[str, list[str]]:
    """département code -> [CPTS, population covered, white-zone inhabitants] texts (tooltips)."""
    figures = figures_by_area(snapshot, "departement")
    out = {}
    for code, row in figures.iterrows():
        cover = "n.d." if pd.isna(row["coverage_pct"]) else format_number(float(row["coverage_pct"]), 1) + " %"
        out[str(code)] = [_fmt_int(row["cpts_count"]), cover, _fmt_int(row["white_zone_population"])]
    return out


def coverage_view(
    snapshot: CoverageSnapshot,
    area: Area,
    stages: pd.DataFrame | None,
    layout: InsetLayout,
    area_bounds: list[float] | None,
    unit_geometries: gpd.GeoDataFrame | None = None,
    overlap_geometries: gpd.GeoDataFrame | None = None,
    places: pd.DataFrame | None = None,
    selected_cpts_id: str | None = None,
    focus_geometry=None,
    fit_key: str = "",
) -> dict:
    """What the map shows at the snapshot's date for ``area``.

    France and a metropolitan région: the CPTS active at the date (in a région, those with a commune in
    it), coloured by stage, on the départements; overlap communes in red. A département, or a DROM
    région: its communes coloured by situation (``unit_geometries``), towns labelled. ``area_bounds``:
    [south, west, north, east] to fit (France: the layout's). ``focus_geometry``: a commune found by the
    search, outlined (and fitted when ``fit_key`` changes).
    """
    labels, colors = stage_styles(stages)
    stage_index = {code: i for i, code in enumerate(STAGE_ORDER)}
    detail = area.level == "departement" or area.is_overseas
    active = snapshot.cpts[snapshot.cpts["is_active"]]
    if area.level != "france":
        in_area = set(snapshot.links.loc[snapshot.links["departement_code"].isin(area.departement_codes), "cpts_id"])
        active = active[active["cpts_id"].isin(in_area)]
    view: dict = {
        "as_of": snapshot.as_of.date().isoformat(),
        "steps": DETAIL_STEPS,
        "stages": [[html_literal(labels.get(code, code)), colors.get(code, "#bdbdbd")] for code in STAGE_ORDER],
        "cpts": {str(c): [stage_index.get(s, len(STAGE_ORDER) - 1)] for c, s in zip(active["cpts_id"],
                                                                                   active["stage_code"], strict=True)},
        "show_cpts": not detail,
        "departements": departement_figures(snapshot),
        "area_departements": None if area.level == "france" else list(area.departement_codes),
        "selected": selected_cpts_id,
        "fit_key": fit_key,
        "controls_free": area.level == "france",
        "bounds": list(area_bounds) if area_bounds else None,
    }
    if snapshot.register_region is not None:
        region_of = snapshot.units.drop_duplicates("departement_code").set_index("departement_code")["region_code"]
        view["outside_departements"] = [str(d) for d, r in region_of.items() if r != str(snapshot.register_region)]
    if detail and unit_geometries is not None:
        view["communes"] = _unit_features(snapshot, unit_geometries, labels, colors)
        if selected_cpts_id:
            members = snapshot.links.loc[snapshot.links["cpts_id"] == selected_cpts_id, "commune_code"]
            shapes = unit_geometries[unit_geometries["commune_code"].isin(set(members))].geometry.to_numpy()
            if len(shapes):
                view["selected_outline"] = encoding.encode(shapely.union_all(shapes), DETAIL_STEPS)
        if places is not None:
            view["labels"] = place_labels(places[places["departement_code"].isin(area.departement_codes)], 4)
    else:
        view["overlaps"] = _overlap_features(snapshot, overlap_geometries, layout if area.level == "france" else None)
        if places is not None and area.level == "region":
            in_area = places[places["departement_code"].isin(area.departement_codes)]
            view["labels"] = [label for label in place_labels(in_area, 3) if label[3] == 3]
    if focus_geometry is not None and not focus_geometry.is_empty:
        view["focus"] = {"g": encoding.encode(focus_geometry, DETAIL_STEPS)}
        view["bounds"] = bounds_of([focus_geometry])
    return view


def overlap_codes(snapshot: CoverageSnapshot, area: Area) -> list[str]:
    """Communes in overlap at the date in the area (France and région views draw them)."""
    units = snapshot.units[snapshot.units["status"] == OVERLAP]
    if area.level != "france":
        units = units[units["departement_code"].isin(area.departement_codes)]
    return units["commune_code"].tolist()


# ---------------------------------------------------------------------------------------------------
# Legend (drawn beside the map, never on it)
# ---------------------------------------------------------------------------------------------------


def coverage_legend(register_region: str | None, stages: pd.DataFrame | None, cpts_by_stage: Mapping[str, int],
                    white: tuple[int, int], overlaps: tuple[int, int]) -> list[LegendItem]:
    """Stage colours with the area's number of CPTS at each stage, then white zone and overlaps (communes;
    ``white`` and ``overlaps`` are (communes, inhabitants) of the key figures), « hors registre » for a
    région-only register."""
    labels, colors = stage_styles(stages)
    items = []
    for code in STAGE_ORDER:
        count = cpts_by_stage.get(code, 0)
        if code == "inconnu" and not count:
            continue
        items.append(LegendItem(colors[code], labels.get(code, code), f"{_fmt_int(count)} CPTS"))
    items.append(LegendItem(WHITE_ZONE_COLOR, STATUS_LABELS[WHITE_ZONE], f"{_fmt_int(white[0])} communes"))
    items.append(LegendItem(OVERLAP_SWATCH, STATUS_LABELS[OVERLAP], f"{_fmt_int(overlaps[0])} communes"))
    if register_region is not None:
        items.append(LegendItem(OUT_OF_REGISTER_COLOR, STATUS_LABELS[OUT_OF_REGISTER]))
    return items
