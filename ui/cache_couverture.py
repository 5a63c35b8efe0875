"""Caches of the « Couverture » page (and of the coverage figures the other pages reuse): thin
``st.cache_data`` wrappers over ``observatory`` functions, keyed by hashable domain values (database path,
register, ISO date, area level and code, selected CPTS). The connection comes from ``ui.cache``.

Why the register's timeline: a date change must redraw in well under half a second; the date-independent
part of the coverage is computed once per register (:mod:`observatory.coverage_timeline`), each date then
costs a few hundredths of a second. The map is a base per register plus a light view per date, area and
selection (:mod:`observatory.coverage_map`): only the view travels when the date or the area changes.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from observatory import (
    charts,
    coverage_map,
    coverage_views,
    exports,
    indicator_catalogue,
    indicators,
    map_image,
    place_search,
    queries,
)
from observatory import coverage as cov
from observatory.coverage_timeline import build_timeline, snapshot_at
from observatory.view_state import ViewOptions
from ui import cache
from ui.map_component import PreparedMap, prepare_map

# Enough entries for every month since 2019 in the France view and every région and département at the
# default date (warmed up in the background at server start: moving the time control or changing the area
# then only reads), and the areas a session visits.
DATES_KEPT = 320


def _con(path: str):
    return cache.connection_for(path)


# --- register, timeline, snapshot ---------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=2)
def couverture_units(path: str) -> pd.DataFrame:
    """Every territorial unit of France (a snapshot needs them all for complete CPTS populations)."""
    return queries.territorial_units(_con(path))


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_register(path: str, register_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(CPTS with their stage dates, their territories) of a register."""
    return queries.list_cpts(_con(path), register_id), queries.cpts_units(_con(path), register_id)


@st.cache_data(show_spinner=False, max_entries=4)
def couverture_timeline(path: str, register_id: str, register_region: str | None):
    cpts, links = couverture_register(path, register_id)
    return build_timeline(couverture_units(path), cpts, links, register_region)


@st.cache_data(show_spinner=False, max_entries=16)
def couverture_snapshot(path: str, register_id: str, as_of: str, register_region: str | None) -> cov.CoverageSnapshot:
    return snapshot_at(couverture_timeline(path, register_id, register_region), as_of)


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_dates(path: str, register_id: str, register_as_of: str | None) -> tuple[list[str], str]:
    """(dates offered by the time control, the default one)."""
    cpts, _ = couverture_register(path, register_id)
    dates = coverage_views.date_options(cpts, register_as_of)
    return dates, coverage_views.default_date(dates, register_as_of)


@st.cache_data(show_spinner=False)
def couverture_places(path: str) -> pd.DataFrame:
    """Communes and arrondissements with their centroid, population and chef-lieu rank (labels, search)."""
    return place_search.with_search_keys(queries.places(_con(path)))


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_view_options(path: str, register_id: str, register_as_of: str | None,
                            register_region: str | None) -> ViewOptions:
    registers = cache.registers(path)
    mapped = tuple(registers.loc[registers["kind"] != "case_study", "register_id"])
    cpts, _ = couverture_register(path, register_id)
    dates, default = couverture_dates(path, register_id, register_as_of)
    return coverage_views.view_options(mapped, cache.region_table(path), cache.departement_table(path), dates, default,
                                       cpts["cpts_id"], couverture_places(path)["commune_code"], register_region)


# --- figures, lists, tables ----------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_key_figures(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                           code: str | None) -> cov.KeyFigures:
    return cov.key_figures(couverture_snapshot(path, register_id, as_of, register_region), level, code)


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_area_cpts(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                         code: str | None) -> pd.DataFrame:
    """CPTS active at the date with a commune in the area (the selection list), sorted by name."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    return coverage_views.active_cpts_in_area(snapshot, level, code)


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_click_lookup(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                            code: str | None) -> dict[str, tuple]:
    """commune_code -> its CPTS for the communes a map click can return."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    return coverage_views.unit_cpts_lookup(snapshot, level, code)


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_area_table(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                          code: str | None) -> pd.DataFrame:
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    labels, _ = cov.stage_styles(cache.stage_table(path))
    return coverage_views.area_table(snapshot, level, code, cache.region_table(path), cache.departement_table(path),
                                     labels)


@st.cache_data(show_spinner=False)
def couverture_published_figures() -> pd.DataFrame:
    return cov.published_national_figures()


# Charts are cached as Vega-Lite specs (building an Altair chart costs ~0.05 s each run); tests/test_charts.py
# validates what the builders make.


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_stage_chart(path: str, register_id: str, level: str, code: str | None, end: str) -> dict:
    """CPTS by stage over time; published national counts next to them in the France view only."""
    cpts, _, _ = coverage_views.area_frames(*couverture_register(path, register_id), couverture_units(path), level, code)
    counts = cov.stage_counts_over_time(cpts, cov.monthly_dates(cpts, end=end))
    published = couverture_published_figures() if level == "france" else None
    return charts.stage_counts_chart(counts, cache.stage_table(path), published).to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_coverage_chart(path: str, register_id: str, level: str, code: str | None, end: str) -> dict:
    cpts, links, units = coverage_views.area_frames(*couverture_register(path, register_id), couverture_units(path),
                                                    level, code)
    series = cov.coverage_over_time(units, cpts, links, cov.monthly_dates(cpts, end=end))
    published = couverture_published_figures() if level == "france" else None
    return charts.coverage_over_time_chart(series, published).to_dict(validate=False)


# --- map -----------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_departement_outlines(path: str) -> gpd.GeoDataFrame:
    return queries.departement_outlines(_con(path))


@st.cache_data(show_spinner=False, max_entries=8)
def couverture_cpts_geometries(path: str, register_id: str) -> gpd.GeoDataFrame:
    return queries.cpts_geometries(_con(path), register_id)


@st.cache_data(show_spinner=False, max_entries=128)
def couverture_unit_geometries(path: str, departement_code: str) -> gpd.GeoDataFrame:
    return queries.unit_geometries(_con(path), departement_code=departement_code)


@st.cache_data(show_spinner=False, max_entries=2)
def couverture_layout(path: str) -> coverage_map.InsetLayout:
    return coverage_map.inset_layout(couverture_departement_outlines(path))


@st.cache_data(show_spinner=False, max_entries=4)
def couverture_base_data(path: str, register_id: str, register_region: str | None) -> dict:
    timeline = couverture_timeline(path, register_id, register_region)
    return coverage_map.base_data(couverture_departement_outlines(path), couverture_cpts_geometries(path, register_id),
                                  timeline.summary, couverture_places(path), couverture_layout(path))


@st.cache_data(show_spinner=False, max_entries=4)
def couverture_base(path: str, register_id: str, register_region: str | None) -> PreparedMap:
    """The register's map, waiting for its views (:func:`couverture_view`)."""
    return prepare_map(coverage_map.base_map(couverture_base_data(path, register_id, register_region)))


def _area(path: str, level: str, code: str | None) -> coverage_map.Area:
    return coverage_views.area_of(level, code, cache.departement_table(path))


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_area_bounds(path: str, level: str, code: str | None) -> list[float] | None:
    """[south, west, north, east] of the area (France: the inset layout's frame)."""
    area = _area(path, level, code)
    if level == "france":
        west, south, east, north = couverture_layout(path).france_bounds
        return [south, west, north, east]
    outlines = couverture_departement_outlines(path)
    shapes = outlines[outlines["code"].isin(area.departement_codes)].geometry
    return coverage_map.bounds_of(shapes.to_numpy())


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_view(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                    code: str | None, selected_cpts_id: str | None, commune_code: str | None, fit_key: str) -> dict:
    """What the map shows for a date, an area, a selection and a commune found by the search."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    area = _area(path, level, code)
    detail = level == "departement" or area.is_overseas
    units = None
    if detail:
        units = pd.concat([couverture_unit_geometries(path, d) for d in area.departement_codes], ignore_index=True)
        units = gpd.GeoDataFrame(units, geometry="geometry", crs=queries.WGS84)
    overlaps = coverage_map.overlap_codes(snapshot, area)
    overlap_geometries = queries.unit_geometries(_con(path), commune_codes=overlaps) if overlaps and not detail else None
    focus = couverture_commune_geometry(path, commune_code) if commune_code else None
    if focus is not None and level == "france" and not detail:
        places = couverture_places(path).set_index("commune_code")
        focus = couverture_layout(path).move([places.at[commune_code, "departement_code"]], [focus])[0]
    return coverage_map.coverage_view(snapshot, area, cache.stage_table(path), couverture_layout(path),
                                      couverture_area_bounds(path, level, code), units, overlap_geometries,
                                      couverture_places(path), selected_cpts_id, focus, fit_key)


@st.cache_data(show_spinner=False, max_entries=DATES_KEPT)
def couverture_view_script(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                           code: str | None, selected_cpts_id: str | None, commune_code: str | None,
                           fit_key: str) -> str:
    return coverage_map.view_script(couverture_view(path, register_id, as_of, register_region, level, code,
                                                    selected_cpts_id, commune_code, fit_key))


@st.cache_data(show_spinner=False, max_entries=24)
def couverture_map(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                   code: str | None, selected_cpts_id: str | None) -> PreparedMap:
    """A complete coverage map drawn once, its view in its script (pages that show it without changing it)."""
    view = couverture_view(path, register_id, as_of, register_region, level, code, selected_cpts_id, None, "")
    return prepare_map(coverage_map.base_map(couverture_base_data(path, register_id, register_region), view))


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_commune_geometry(path: str, commune_code: str):
    """Outline of a commune (a city split into arrondissements: the city's own outline)."""
    frame = queries.unit_geometries(_con(path), commune_codes=[commune_code])
    if frame.empty:
        parts = couverture_places(path)
        codes = parts.loc[parts["parent_commune_code"] == commune_code, "commune_code"].tolist()
        frame = queries.unit_geometries(_con(path), commune_codes=codes) if codes else frame
    if frame.empty:
        return None
    import shapely

    return shapely.union_all(frame.geometry.to_numpy())


# --- search --------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=128)
def couverture_search(path: str, register_id: str, query: str) -> list[place_search.Match]:
    places = couverture_places(path)
    cpts, _ = couverture_register(path, register_id)
    named = cpts[["cpts_id", "name"]].assign(
        population_count=0, departement_code=cpts.get("main_departement_code"))
    return place_search.search(query, places, named)


# --- exports -------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def couverture_geojson(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                       code: str | None, register_name: str, is_demo: bool) -> bytes:
    """Perimeters of the CPTS active at the date in the area, as GeoJSON (WGS84)."""
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    active = coverage_views.active_cpts_in_area(snapshot, level, code)
    labels, _ = cov.stage_styles(cache.stage_table(path))
    return exports.cpts_geojson_bytes(active, couverture_cpts_geometries(path, register_id), labels, as_of,
                                      register_name, is_demo)


def couverture_png(path: str, register_id: str, as_of: str, register_region: str | None, level: str,
                   code: str | None, title: str, subtitle: tuple[str, ...], footer: tuple[str, ...]) -> bytes:
    """The view as a PNG image with its legend, register, date and sources (made when asked: ~2 s)."""
    return _png(path, register_id, as_of, register_region, level, code, title, subtitle, footer)


@st.cache_data(show_spinner=False, max_entries=8)
def _png(path: str, register_id: str, as_of: str, register_region: str | None, level: str, code: str | None,
         title: str, subtitle: tuple[str, ...], footer: tuple[str, ...]) -> bytes:
    from geo.shapes import simplify

    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    area = _area(path, level, code)
    detail = level == "departement" or area.is_overseas
    units = overlaps = None
    if detail:
        units = pd.concat([couverture_unit_geometries(path, d) for d in area.departement_codes], ignore_index=True)
    else:
        codes = coverage_map.overlap_codes(snapshot, area)
        overlaps = queries.unit_geometries(_con(path), commune_codes=codes) if codes else None
    tolerance = 0.004 if level == "france" else 0.001
    depts = couverture_departement_outlines(path)
    depts = depts.assign(geometry=simplify(depts.geometry.to_numpy(), tolerance))
    shapes = couverture_cpts_geometries(path, register_id)
    shapes = shapes.assign(geometry=simplify(shapes.geometry.to_numpy(), tolerance))
    layout = couverture_layout(path)
    layers, legend = map_image.coverage_image_layers(snapshot, area, depts, shapes, layout, cache.stage_table(path),
                                                     units, overlaps)
    frames = [(layout.titles[c], inset.target) for c, inset in layout.insets.items()] if level == "france" else []
    return map_image.png_bytes(map_image.map_image_spec(layers, legend, title, subtitle, footer, frames=frames))


# --- indicators ------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def couverture_indicator_catalogue(path: str) -> pd.DataFrame:
    """Stored indicators (catalogue and imported) and the derived ones whose ingredients are present."""
    return indicator_catalogue.full_catalogue(queries.indicator_catalogue(_con(path)))


@st.cache_data(show_spinner=False, max_entries=6)
def couverture_indicator(path: str, indicator_code: str, year: int) -> indicators.IndicatorFrame:
    """One indicator for one year on every territorial unit of France (weight, counts or both years)."""
    con = _con(path)
    return indicator_catalogue.load_indicator_frame(couverture_indicator_catalogue(path), indicator_code, year,
                                                    couverture_units(path),
                                                    lambda c, y: queries.indicator_values(con, c, y))


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_indicator_rows(path: str, register_id: str, as_of: str, register_region: str | None,
                              indicator_code: str, year: int, level: str, code: str | None) -> pd.DataFrame:
    return coverage_views.indicator_rows(couverture_indicator(path, indicator_code, year),
                                         couverture_snapshot(path, register_id, as_of, register_region), level, code,
                                         cache.region_table(path), cache.departement_table(path))


@st.cache_data(show_spinner=False, max_entries=64)
def couverture_indicator_chart(path: str, register_id: str, as_of: str, register_region: str | None,
                               indicator_code: str, year: int, level: str, code: str | None,
                               max_cpts_bars: int) -> dict:
    """The comparison bars; CPTS bars only when there are at most ``max_cpts_bars`` of them."""
    rows = couverture_indicator_rows(path, register_id, as_of, register_region, indicator_code, year, level, code)
    if (rows["territory_kind"] == "cpts").sum() > max_cpts_bars:
        rows = rows[rows["territory_kind"] != "cpts"]
    rows = rows[rows["units_count"] > 0]  # e.g. a département without white zone: no empty bar
    entry = couverture_indicator(path, indicator_code, year).entry
    return charts.indicator_comparison_chart(rows, entry, year).to_dict(validate=False)


@st.cache_data(show_spinner=False, max_entries=32)
def couverture_indicator_classes(path: str, indicator_code: str, year: int) -> indicators.Classification:
    """Map classes: fixed thresholds, else the indicator's own scheme over every commune of France that year."""
    data = couverture_indicator(path, indicator_code, year)
    return indicators.classify_indicator(data.entry, data.units["value"])


@st.cache_data(show_spinner=False, max_entries=24)
def couverture_indicator_map(path: str, register_id: str, as_of: str, register_region: str | None,
                             indicator_code: str, year: int, departement_code: str,
                             selected_cpts_id: str | None) -> PreparedMap:
    """Commune choropleth of an indicator in a département."""
    from observatory import maps

    data = couverture_indicator(path, indicator_code, year)
    dept = indicators.IndicatorFrame(data.entry, data.year, data.units[data.units["departement_code"] == departement_code])
    snapshot = couverture_snapshot(path, register_id, as_of, register_region)
    places = couverture_places(path)
    return prepare_map(maps.indicator_map(dept, couverture_unit_geometries(path, departement_code),
                                          couverture_indicator_classes(path, indicator_code, year), selected_cpts_id,
                                          snapshot, places[places["departement_code"] == departement_code]))
