"""Geometry helpers shared by the build, the registers and the map builders.

Geometries are WGS84 lon/lat. Stored geometries are rounded to a fixed grid (``set_precision``)
so that WKB is small, deterministic and still valid.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import shapely

# 1e-4 degree is about 11 m: invisible at the zoom levels of a département map.
STORAGE_GRID = 1e-4


def from_wkb(values: Iterable) -> np.ndarray:
    """Decode WKB values (bytes, bytearray or memoryview, as DuckDB/pandas return them)."""
    return shapely.from_wkb([bytes(v) if v is not None else None for v in values])


def to_wkb(geoms: Iterable) -> list[bytes | None]:
    return [None if g is None else shapely.to_wkb(g) for g in geoms]


def round_to_grid(geoms: np.ndarray, grid: float = STORAGE_GRID) -> np.ndarray:
    """Snap to a grid keeping polygons valid (shapely's precision model, not naive rounding)."""
    return shapely.set_precision(np.asarray(geoms, dtype=object), grid)


def simplify(geoms: np.ndarray, tolerance: float, grid: float = STORAGE_GRID) -> np.ndarray:
    simplified = shapely.simplify(np.asarray(geoms, dtype=object), tolerance, preserve_topology=True)
    return round_to_grid(simplified, grid)


def dissolve(geoms: np.ndarray, keys: Iterable) -> pd.Series:
    """Union of geometries per key; returns a Series indexed by key (sorted) of shapely geometries."""
    frame = pd.DataFrame({"key": list(keys), "geom": list(geoms)})
    frame = frame[frame["geom"].notna()]
    out = {}
    for key, group in frame.groupby("key", sort=True):
        out[key] = shapely.union_all(np.asarray(group["geom"].to_list(), dtype=object))
    return pd.Series(out, dtype=object)


def simplify_coverage(geoms: np.ndarray, tolerance: float, grid: float = STORAGE_GRID) -> np.ndarray:
    """Simplify polygons that tile a territory together, keeping their shared edges shared.

    Simplifying each polygon on its own moves both copies of a shared edge differently and opens gaps
    or overlaps between neighbours; GEOS's coverage simplification simplifies each shared edge once.
    """
    geoms = np.asarray(geoms, dtype=object)
    present = np.array([g is not None and not shapely.is_empty(g) for g in geoms], dtype=bool)
    out = np.array([None] * len(geoms), dtype=object)
    if present.any():
        out[present] = round_to_grid(shapely.coverage_simplify(geoms[present], tolerance), grid)
    return out


def wkb_payload_bytes(geoms: Iterable) -> int:
    """Total WKB size: what the maps have to carry."""
    return sum(len(b) for b in to_wkb(geoms) if b is not None)
