"""Insets: moving a faraway territory into a box of the map, the way French national maps draw the DROM.

Web maps (Leaflet) draw in Web Mercator, so the move is a uniform scale and a translation in Mercator
coordinates: a territory keeps its shape, whatever latitude it is moved to. Pure geometry, no domain
knowledge: the boxes and which territories go where are the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

_MAX_LAT = 85.0511287798  # Web Mercator's limit


def _to_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = np.clip(lat, -_MAX_LAT, _MAX_LAT)
    return np.radians(lon), np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _from_mercator(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.degrees(x), np.degrees(2 * np.arctan(np.exp(y)) - np.pi / 2)


@dataclass(frozen=True)
class Inset:
    """Moves what lies in ``source`` (lon/lat bounds) into ``target`` (lon/lat bounds), centred, as large as
    fits. ``scale`` > 1 enlarges (small islands), < 1 shrinks (Guyane)."""

    source: tuple[float, float, float, float]  # minx, miny, maxx, maxy
    target: tuple[float, float, float, float]
    scale: float
    offset: tuple[float, float]  # Mercator translation after scaling

    def transform_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _to_mercator(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return _from_mercator(x * self.scale + self.offset[0], y * self.scale + self.offset[1])

    def transform(self, geoms: Sequence) -> np.ndarray:
        """The geometries moved into the box (None and empty geometries stay as they are)."""

        def move(coords: np.ndarray) -> np.ndarray:
            lon, lat = self.transform_xy(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(np.asarray(geoms, dtype=object), move)


def fit_inset(source: Sequence[float], target: Sequence[float], margin: float = 0.08) -> Inset:
    """The inset that puts ``source`` bounds in the middle of ``target`` bounds, ``margin`` (share of the
    box) left free on every side for the box's frame and title."""
    sx0, sy0 = _to_mercator(np.array([source[0]]), np.array([source[1]]))
    sx1, sy1 = _to_mercator(np.array([source[2]]), np.array([source[3]]))
    tx0, ty0 = _to_mercator(np.array([target[0]]), np.array([target[1]]))
    tx1, ty1 = _to_mercator(np.array([target[2]]), np.array([target[3]]))
    width, height = float(sx1[0] - sx0[0]), float(sy1[0] - sy0[0])
    box_w, box_h = float(tx1[0] - tx0[0]) * (1 - 2 * margin), float(ty1[0] - ty0[0]) * (1 - 2 * margin)
    if width <= 0 or height <= 0 or box_w <= 0 or box_h <= 0:
        raise ValueError(f"encart impossible : source {tuple(source)}, cible {tuple(target)}")
    scale = min(box_w / width, box_h / height)
    centre_source = ((sx0[0] + sx1[0]) / 2, (sy0[0] + sy1[0]) / 2)
    centre_target = ((tx0[0] + tx1[0]) / 2, (ty0[0] + ty1[0]) / 2)
    offset = (float(centre_target[0] - centre_source[0] * scale), float(centre_target[1] - centre_source[1] * scale))
    if not math.isfinite(scale):
        raise ValueError("encart impossible : échelle non finie")
    return Inset(tuple(float(v) for v in source), tuple(float(v) for v in target), float(scale), offset)
