"""Geometry of an imported register: contiguity of each CPTS's territory and its dissolved contour.

A CPTS territory is normally one piece. A commune that touches no other commune of its CPTS is most
often a homonym picked by mistake (Venterol 04 instead of Venterol 26), sometimes an island or an
enclave: the importer warns and lets the user decide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo import shapes

CPTS_SIMPLIFY_TOLERANCE = 0.005  # degrees, as for the national CPTS maps (about 500 m)
# Stored contours are simplified and snapped to a 1e-4 grid: neighbours may be a few metres apart.
CONTIGUITY_DISTANCE_DEG = 0.001


def detached_units(codes: list[str], geometries: dict[str, object]) -> list[str]:
    """Units not connected (touching, within CONTIGUITY_DISTANCE_DEG) to the largest connected group."""
    codes = sorted(c for c in set(codes) if geometries.get(c) is not None)
    if len(codes) < 2:
        return []
    geoms = np.asarray([geometries[c] for c in codes], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=CONTIGUITY_DISTANCE_DEG)
    parent = list(range(len(codes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left, right, strict=True):
        parent[root(int(a))] = root(int(b))
    groups: dict[int, list[str]] = {}
    for i, code in enumerate(codes):
        groups.setdefault(root(i), []).append(code)
    largest = sorted(groups.values(), key=lambda g: (-len(g), g[0]))[0]  # ties: the group with the smallest code
    return sorted(c for c in codes if c not in largest)


def dissolved_contours(links: pd.DataFrame, unit_geometries: pd.DataFrame) -> pd.DataFrame:
    """cpts_id, geometry_wkb: union of each CPTS's unit contours, simplified (CPTS without contour omitted)."""
    joined = links.merge(unit_geometries, on="commune_code", how="inner")
    dissolved = shapes.dissolve(joined["geometry"].to_numpy(), joined["cpts_id"])
    if dissolved.empty:
        return pd.DataFrame(columns=["cpts_id", "geometry_wkb"])
    simplified = shapes.simplify(dissolved.to_numpy(), CPTS_SIMPLIFY_TOLERANCE)
    frame = pd.DataFrame({"cpts_id": list(dissolved.index), "geometry_wkb": shapes.to_wkb(simplified)})
    return frame[frame["geometry_wkb"].notna()].reset_index(drop=True)
