"""Contiguous territories built from real communes, for the demo register (no stage, no date here).

Pure graph work, deterministic: every iteration goes over sorted codes, every random draw comes from a
generator the caller seeds, ties are broken by code order.

1. :func:`unit_adjacency`: two territorial units of the same département are neighbours when their
   shapes share a boundary line (a corner is not enough: the territory would be in two pieces; the
   commune shapes are simplified with shared boundaries preserved, so neighbours share exact edges).
   Units without a shape, islands and other pieces left apart are linked to their nearest unit by
   centroid, so every département is one connected graph and every territory can be grown
   contiguously.
2. :func:`partition_departement`: inside a département, the building blocks are the EPCI (the part of
   an EPCI lying in the département: an EPCI across two départements gives one block in each). Blocks
   above a threshold (metropolises, Paris, large agglomerations) are cut into groups of contiguous
   units (communes, or arrondissements in Paris, Lyon, Marseille) with "urban" target sizes; the other
   blocks are grouped with contiguous neighbouring blocks up to a drawn target size. Pieces left under a
   minimum size are merged into their smallest neighbour.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely


@dataclass
class UnitGraph:
    codes: list[str]  # sorted unit codes
    neighbours: dict[str, list[str]]  # sorted neighbour codes, same département only
    lon: dict[str, float]
    lat: dict[str, float]


def departement_of(code: str) -> str:
    """Département of a commune code: 3 characters for overseas (97x), else 2."""
    return code[:3] if code.startswith("97") else code[:2]


def _fill_centroids(units: pd.DataFrame, geometries: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Unit centroids: the table's point, else a point of the shape, else the mean of its EPCI, else
    of its département (a unit with no shape at all still needs a place to be linked from)."""
    lon = pd.to_numeric(units["centroid_lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(units["centroid_lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    missing = np.isnan(lon) | np.isnan(lat)
    if missing.any():
        shapes = geometries.reindex(units["commune_code"]).to_numpy(dtype=object)
        for i in np.flatnonzero(missing):
            shape = shapes[i]
            if shape is not None and not (isinstance(shape, float)) and not shapely.is_empty(shape):
                point = shapely.point_on_surface(shape)
                lon[i], lat[i] = point.x, point.y
    for key in ("epci_code", "departement_code"):
        missing = np.isnan(lon) | np.isnan(lat)
        if not missing.any():
            break
        keys = units[key].fillna("").to_numpy(dtype=object)
        known = pd.DataFrame({"key": keys[~missing], "lon": lon[~missing], "lat": lat[~missing]})
        means = known.groupby("key", sort=True)[["lon", "lat"]].mean()
        for i in np.flatnonzero(missing):
            if keys[i] and keys[i] in means.index:
                lon[i], lat[i] = means.loc[keys[i], "lon"], means.loc[keys[i], "lat"]
    missing = np.isnan(lon) | np.isnan(lat)
    lon[missing], lat[missing] = 0.0, 0.0
    return lon, lat


def unit_adjacency(units: pd.DataFrame, geometries: pd.Series) -> UnitGraph:
    """Neighbourhood graph of ``units`` (columns ``commune_code``, ``departement_code``, ``epci_code``,
    ``centroid_lon``, ``centroid_lat``), restricted to pairs in the same département."""
    units = units.sort_values("commune_code", kind="stable").reset_index(drop=True)
    codes = units["commune_code"].tolist()
    depts = units["departement_code"].tolist()
    lon, lat = _fill_centroids(units, geometries)
    shapes = geometries.reindex(codes).to_numpy(dtype=object)
    has_shape = np.array([s is not None and not isinstance(s, float) and not shapely.is_empty(s) for s in shapes])
    index = np.flatnonzero(has_shape)
    neighbours: dict[str, set[str]] = {c: set() for c in codes}
    if len(index):
        valid = shapes[index]
        tree = shapely.STRtree(valid)
        left, right = tree.query(valid, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        # a shared boundary line, not a mere corner: two units meeting at a point would make a
        # territory in two pieces
        shared_edge = shapely.relate_pattern(valid[left], valid[right], "****1****")
        for a, b in zip(index[left[shared_edge]].tolist(), index[right[shared_edge]].tolist(), strict=False):
            if depts[a] == depts[b]:
                neighbours[codes[a]].add(codes[b])
                neighbours[codes[b]].add(codes[a])
    _connect_departements(codes, depts, lon, lat, neighbours)
    return UnitGraph(
        codes=codes,
        neighbours={c: sorted(n) for c, n in neighbours.items()},
        lon=dict(zip(codes, lon.tolist(), strict=False)),
        lat=dict(zip(codes, lat.tolist(), strict=False)),
    )


def _components(members: list[str], neighbours: dict[str, set[str]]) -> list[list[str]]:
    """Connected components (each sorted), largest first then by first code."""
    member_set = set(members)
    seen: set[str] = set()
    parts = []
    for start in members:
        if start in seen:
            continue
        stack, part = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            part.append(node)
            for other in neighbours[node]:
                if other in member_set and other not in seen:
                    seen.add(other)
                    stack.append(other)
        parts.append(sorted(part))
    return sorted(parts, key=lambda p: (-len(p), p[0]))


def _connect_departements(codes, depts, lon, lat, neighbours) -> None:
    """Link every component of a département to the nearest unit outside it (by centroid, with the
    longitude scaled by cos(latitude) so distances are roughly isotropic)."""
    by_dept: dict[str, list[int]] = {}
    for i, dept in enumerate(depts):
        by_dept.setdefault(dept, []).append(i)
    for dept in sorted(by_dept):
        rows = by_dept[dept]
        members = [codes[i] for i in rows]
        position = {codes[i]: i for i in rows}
        while True:
            parts = _components(members, neighbours)
            if len(parts) <= 1:
                break
            main = parts[0]
            # attach the smallest pieces first: they are islands or units without a shape
            piece = parts[-1]
            piece_set = set(piece)
            others = [c for c in members if c not in piece_set]
            scale = np.cos(np.radians(np.mean([lat[position[c]] for c in main])))
            p_idx = np.array([position[c] for c in piece])
            o_idx = np.array([position[c] for c in others])
            dx = (lon[p_idx][:, None] - lon[o_idx][None, :]) * scale
            dy = lat[p_idx][:, None] - lat[o_idx][None, :]
            flat = int(np.argmin(dx * dx + dy * dy))
            a, b = piece[flat // len(others)], others[flat % len(others)]
            neighbours[a].add(b)
            neighbours[b].add(a)


def grow_regions(
    atoms: Sequence[str],
    population: dict[str, int],
    neighbours: dict[str, Sequence[str]],
    lon: dict[str, float],
    lat: dict[str, float],
    draw_target: Callable[[], float],
    overshoot: float,
    min_fill: float,
) -> list[list[str]]:
    """Cut ``atoms`` (a connected set, as far as possible) into contiguous regions of drawn target sizes.

    A region starts from the free atom with the fewest free neighbours (the periphery first, so the
    last regions are not scattered leftovers), then takes the free neighbour with the most links into
    the region, the closest to the seed breaking ties, until the target is reached. Neighbours that
    keep the region under ``overshoot`` times the target come first; when none does, the region stops
    once ``min_fill`` of the target is reached (so a small arrondissement joins its small neighbours
    rather than a large one).
    """
    order = {a: i for i, a in enumerate(sorted(atoms))}
    free = set(atoms)
    free_degree = {a: sum(1 for n in neighbours[a] if n in free) for a in order}
    regions: list[list[str]] = []

    def take(atom: str) -> None:
        free.discard(atom)
        for other in neighbours[atom]:
            if other in free:
                free_degree[other] -= 1

    while free:
        seed = min(free, key=lambda a: (free_degree[a], order[a]))
        target = draw_target()
        take(seed)
        region, total = [seed], population[seed]
        frontier: dict[str, int] = {}
        for other in neighbours[seed]:
            if other in free:
                frontier[other] = frontier.get(other, 0) + 1
        while total < target and frontier:
            sx, sy = lon[seed], lat[seed]
            fitting = [c for c in frontier if total + population[c] <= target * overshoot]
            if not fitting and total >= target * min_fill:
                break
            best = max(
                fitting or frontier,
                key=lambda c: (frontier[c], -((lon[c] - sx) ** 2 + (lat[c] - sy) ** 2), -order[c]),
            )
            del frontier[best]
            take(best)
            region.append(best)
            total += population[best]
            for other in neighbours[best]:
                if other in free:
                    frontier[other] = frontier.get(other, 0) + 1
        regions.append(sorted(region))
    return regions


def merge_small_regions(
    regions: list[list[str]], population: dict[str, int], neighbours: dict[str, Sequence[str]], min_size: float
) -> list[list[str]]:
    """Merge every region under ``min_size`` into its least populated neighbouring region (smallest
    first), until none is left that has a neighbour."""
    regions = [sorted(r) for r in regions]
    while True:
        owner = {atom: i for i, region in enumerate(regions) for atom in region}
        sizes = [sum(population[a] for a in region) for region in regions]
        candidates = sorted(
            (i for i, size in enumerate(sizes) if size < min_size), key=lambda i: (sizes[i], regions[i][0])
        )
        merged = False
        for i in candidates:
            adjacent = {owner[n] for a in regions[i] for n in neighbours[a] if n in owner and owner[n] != i}
            if not adjacent:
                continue
            j = min(adjacent, key=lambda k: (sizes[k], regions[k][0]))
            regions[j] = sorted(regions[j] + regions[i])
            del regions[i]
            merged = True
            break
        if not merged:
            return regions


@dataclass(frozen=True)
class SizeDraw:
    """Log-normal target sizes (inhabitants), clipped, so territories are of mixed ACI size classes."""

    median: float
    sigma: float
    low: float
    high: float

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        def draw() -> float:
            value = self.median * float(np.exp(self.sigma * rng.standard_normal()))
            return min(max(value, self.low), self.high)

        return draw


def partition_departement(
    unit_codes: Sequence[str],
    block_of: dict[str, Hashable],
    population: dict[str, int],
    graph: UnitGraph,
    split_threshold: float,
    urban: SizeDraw,
    rural: SizeDraw,
    min_size: float,
    overshoot: float,
    min_fill: float,
    rng: np.random.Generator,
    city_blocks: frozenset = frozenset(),
    city: SizeDraw | None = None,
) -> list[list[str]]:
    """Territories (sorted lists of unit codes) covering every unit of one département.

    ``city_blocks`` (Paris, Lyon, Marseille cut into arrondissements) are always cut, with ``city``
    target sizes: their CPTS follow arrondissements, grouping only the small central ones."""
    units = sorted(unit_codes)
    blocks: dict[Hashable, list[str]] = {}
    for code in units:
        blocks.setdefault(block_of[code], []).append(code)
    block_keys = sorted(blocks, key=str)
    block_pop = {str(k): sum(population[c] for c in blocks[k]) for k in block_keys}
    regions: list[list[str]] = []
    small_blocks = []
    urban_draw = urban.sampler(rng)
    city_draw = (city or urban).sampler(rng)
    for key in block_keys:
        is_city = key in city_blocks
        if is_city or block_pop[str(key)] > split_threshold:
            members = set(blocks[key])
            inner = {c: [n for n in graph.neighbours[c] if n in members] for c in blocks[key]}
            draw, low = (city_draw, (city or urban).low) if is_city else (urban_draw, urban.low)
            pieces = grow_regions(blocks[key], population, inner, graph.lon, graph.lat, draw, overshoot, min_fill)
            regions += merge_small_regions(pieces, population, inner, low)
        else:
            small_blocks.append(key)
    if small_blocks:
        # one atom per block: population, neighbours and position come from its units
        name = {key: str(key) for key in small_blocks}
        atom_units = {name[k]: blocks[k] for k in small_blocks}
        block_code_of = {c: name[k] for k in small_blocks for c in blocks[k]}
        atom_nbrs: dict[str, list[str]] = {}
        atom_lon, atom_lat = {}, {}
        for atom, members in atom_units.items():
            linked = {block_code_of[n] for c in members for n in graph.neighbours[c] if n in block_code_of}
            linked.discard(atom)
            atom_nbrs[atom] = sorted(linked)
            weights = np.array([max(population[c], 1) for c in members], dtype=float)
            atom_lon[atom] = float(np.average([graph.lon[c] for c in members], weights=weights))
            atom_lat[atom] = float(np.average([graph.lat[c] for c in members], weights=weights))
        grouped = grow_regions(
            sorted(atom_units), block_pop, atom_nbrs, atom_lon, atom_lat, rural.sampler(rng), overshoot, min_fill
        )
        regions += [sorted(c for atom in group for c in atom_units[atom]) for group in grouped]
    return merge_small_regions(regions, population, graph.neighbours, min_size)
