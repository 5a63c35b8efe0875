"""Compact polygons for the browser: coordinates quantised to a grid and written as integer differences.

A GeoJSON coordinate such as ``2.3456`` costs 7 to 8 characters; consecutive points of a simplified
outline are close, so the difference from the previous point, counted in grid steps, is a 1 to 3 digit
integer. The browser rebuilds the points (``decodeRings`` in ``observatory/js/coverage_map.js``): about
half the bytes of rounded GeoJSON, same drawing.

Format of one polygon: a list of rings; a ring is ``[x0, y0, dx1, dy1, ...]`` in grid steps (x: longitude,
y: latitude). A multipolygon is a list of polygons. :func:`decode` is the exact inverse, for the tests.
"""

from __future__ import annotations

import numpy as np
import shapely


def _ring(coords: np.ndarray, steps: float) -> list[int]:
    grid = np.round(np.asarray(coords, dtype=float)[:, :2] * steps).astype(np.int64)
    # Consecutive points on the same grid cell add nothing.
    keep = np.ones(len(grid), dtype=bool)
    keep[1:] = np.any(grid[1:] != grid[:-1], axis=1)
    grid = grid[keep]
    deltas = np.vstack([grid[:1], np.diff(grid, axis=0)]) if len(grid) else grid
    return deltas.ravel().tolist()


def encode(geom, steps: float = 1e4) -> list:
    """A Polygon or MultiPolygon as a list of polygons, each a list of delta-encoded rings (``steps``
    grid steps per degree: 1e4 is about 11 m, 1e3 about 110 m). Other geometries give an empty list."""
    if geom is None or geom.is_empty:
        return []
    polygons = list(geom.geoms) if isinstance(geom, shapely.MultiPolygon) else [geom]
    out = []
    for polygon in polygons:
        if not isinstance(polygon, shapely.Polygon) or polygon.is_empty:
            continue
        rings = [_ring(np.asarray(polygon.exterior.coords), steps)]
        rings += [_ring(np.asarray(r.coords), steps) for r in polygon.interiors]
        rings = [r for r in rings if len(r) >= 8]  # a ring needs at least 4 points (closed)
        if rings:
            out.append(rings)
    return out


def decode(encoded: list, steps: float = 1e4) -> shapely.MultiPolygon | None:
    """The inverse of :func:`encode` (points on the grid)."""
    polygons = []
    for rings in encoded:
        shells = []
        for ring in rings:
            pairs = np.cumsum(np.asarray(ring, dtype=np.int64).reshape(-1, 2), axis=0) / steps
            shells.append(pairs)
        polygons.append(shapely.Polygon(shells[0], shells[1:]))
    return shapely.MultiPolygon(polygons) if polygons else None


def encoded_bounds(geom) -> list[float] | None:
    """[south, west, north, east] of a geometry (Leaflet's order for fitBounds), or None."""
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return [round(miny, 5), round(minx, 5), round(maxy, 5), round(maxx, 5)]
