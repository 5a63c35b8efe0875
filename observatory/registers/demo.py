"""The demonstration register: fictitious CPTS on real communes, calibrated on published national figures.

Every parameter and calibration target lives in ``data/demo_register.json``, each with its source.
The result is deterministic: one seed (split into one random stream per step), sorted iteration
everywhere, no clock; running :func:`generate_demo_register` twice gives identical frames.

Method
------
1. Territories (:mod:`observatory.registers.demo_territories`). Territorial units (communes, and the 45
   arrondissements of Paris, Lyon, Marseille) are linked when their shapes touch inside a
   département. In each département the EPCI (the part of each EPCI lying in it) are the building
   blocks: neighbouring EPCI are grouped up to a target size drawn from a log-normal law; EPCI above
   ``split_threshold_count`` (metropolises...) are cut into groups of contiguous units with larger
   "urban" targets; Paris, Lyon and Marseille (a block of their own) are cut by arrondissements with
   "city" targets; pieces below ``min_size_count`` join their smallest neighbour.
2. White zones. The least dense territories (log density plus a seeded perturbation) are left without
   CPTS until ``white_zones.population_share`` of the population is reached, never more than
   ``max_departement_share`` of one département. The other territories are the CPTS.
3. Stages at the register date follow ``stage_counts_at_as_of`` (Fédération des CPTS, 1 Feb 2024 for
   the early stages, 545 ACI in March 2024), scaled to the number of CPTS, and are dealt out in a
   seeded random order.
4. Dates. ACI signature dates invert the piecewise-linear cumulative curve of published ACI counts
   (``aci_curve``, scaled to the number of signatories), so the register reproduces the published
   counts at their dates. Earlier stages go back by uniform delays (pré-projet → lettre 3-9 months,
   → projet de santé 6-15, → ACI 1-6); a CPTS that has not reached the next stage gets its current
   stage date in a window before the register date; association a little before the pré-projet; no
   pré-projet before 2017. The ARS stage is derived from the national stage at the register date.
5. Overlaps: a few small border communes are also claimed by a neighbouring CPTS.
6. Missions: the four socle missions for every ACI signatory (started after signature; crisis
   response not before 2022), optional missions for a seeded share, if started by the register date.
7. Names: "[Démo] CPTS du secteur de <most populous unit>", ids ``demo-0001``... by département.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo.shapes import dissolve, simplify, to_wkb
from observatory.config import DATA_DIR
from observatory.funding import size_class, size_class_labels
from observatory.registers import RegisterData
from observatory.registers.demo_territories import SizeDraw, UnitGraph, partition_departement, unit_adjacency
from observatory.schema import TABLES_BY_NAME
from observatory.stages import stage_at, stage_date_columns, stage_label

PARAMS_PATH = DATA_DIR / "demo_register.json"
DAYS_PER_MONTH = 30.4375
KM_PER_DEGREE = 111.32

# one independent random stream per step: changing one step's draws never shifts another's
_STREAM_TERRITORIES, _STREAM_WHITE, _STREAM_STAGES, _STREAM_DATES, _STREAM_OVERLAPS, _STREAM_MISSIONS = range(1, 7)


@lru_cache(maxsize=2)
def _read_params(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_demo_params(path: Path | None = None) -> dict:
    """Generator parameters and calibration targets (a fresh copy each call)."""
    return json.loads(_read_params(path or PARAMS_PATH))


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLES_BY_NAME[table].column_names})


def _frame(table: str, rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return _empty(table)
    return frame[TABLES_BY_NAME[table].column_names].reset_index(drop=True)


def territorial_units(communes: pd.DataFrame) -> pd.DataFrame:
    """The units a CPTS is made of, sorted by code, with integer populations."""
    units = communes[communes["is_territorial_unit"].astype(bool)].copy()
    units["population_count"] = pd.to_numeric(units["population_count"], errors="coerce").fillna(0).astype("int64")
    return units.sort_values("commune_code", kind="stable").reset_index(drop=True)


def _unit_areas_km2(units: pd.DataFrame, geometries: pd.Series) -> dict[str, float]:
    """Area from the table when known, else from the lon/lat shape scaled at its latitude."""
    area = pd.to_numeric(units.get("area_km2"), errors="coerce") if "area_km2" in units else None
    out = {}
    shapes = geometries.reindex(units["commune_code"]).to_numpy(dtype=object)
    for i, code in enumerate(units["commune_code"]):
        value = float(area.iloc[i]) if area is not None and pd.notna(area.iloc[i]) else np.nan
        if np.isnan(value):
            shape = shapes[i]
            if shape is not None and not isinstance(shape, float) and not shapely.is_empty(shape):
                lat = shape.centroid.y
                value = shape.area * KM_PER_DEGREE**2 * np.cos(np.radians(lat))
            else:
                value = 0.0
        out[code] = value
    return out


def _build_territories(
    units: pd.DataFrame, geometries: pd.Series, params: dict, seed: int
) -> tuple[list[list[str]], UnitGraph]:
    conf = params["territories"]
    graph = unit_adjacency(units, geometries)
    population = dict(zip(units["commune_code"], units["population_count"].tolist(), strict=False))
    # an EPCI across two départements gives one block per département; a unit in no EPCI is its own block
    parents = units["parent_commune_code"] if "parent_commune_code" in units else pd.Series(None, index=units.index)
    block_of, city_blocks = {}, set()
    for code, dept, epci, parent in zip(units["commune_code"], units["departement_code"], units["epci_code"], parents, strict=False):
        if isinstance(parent, str) and parent:
            block_of[code] = f"{dept}:{epci}:{parent}"
            city_blocks.add(block_of[code])
        else:
            block_of[code] = f"{dept}:{epci}" if isinstance(epci, str) and epci else f"{dept}:sans-epci:{code}"
    rng = np.random.default_rng([seed, _STREAM_TERRITORIES])
    territories: list[list[str]] = []
    for _dept, group in units.groupby("departement_code", sort=True):
        territories += partition_departement(
            group["commune_code"].tolist(),
            block_of,
            population,
            graph,
            split_threshold=conf["split_threshold_count"],
            urban=SizeDraw(**conf["urban_size"]),
            rural=SizeDraw(**conf["rural_size"]),
            min_size=conf["min_size_count"],
            overshoot=conf["overshoot_ratio"],
            min_fill=conf["min_fill_ratio"],
            rng=rng,
            city_blocks=frozenset(city_blocks),
            city=SizeDraw(**conf["city_size"]),
        )
    return territories, graph


def _choose_white_zones(
    territories: list[list[str]], population: dict[str, int], area: dict[str, float], dept_of: dict[str, str],
    params: dict, seed: int,
) -> list[bool]:
    """Least dense territories first (perturbed), up to the population share, with a cap per département."""
    conf = params["white_zones"]
    rng = np.random.default_rng([seed, _STREAM_WHITE])
    pops = np.array([sum(population[c] for c in t) for t in territories], dtype=float)
    areas = np.array([sum(area[c] for c in t) for t in territories], dtype=float)
    density = pops / np.maximum(areas, 1e-6)
    score = np.log(np.maximum(density, 1e-6)) + conf["density_noise_sigma"] * rng.standard_normal(len(territories))
    depts = [dept_of[t[0]] for t in territories]
    dept_pop: dict[str, float] = {}
    for d, p in zip(depts, pops, strict=False):
        dept_pop[d] = dept_pop.get(d, 0.0) + p
    target = conf["population_share"] * pops.sum()
    white = [False] * len(territories)
    white_pop, dept_white = 0.0, {d: 0.0 for d in dept_pop}
    for i in np.argsort(score, kind="stable"):
        if white_pop >= target or sum(white) >= len(territories) - 1:
            break
        # skip a territory that would overshoot the target by much; a smaller one may fit
        if white_pop + pops[i] > target * 1.02 and white_pop > 0:
            continue
        if dept_white[depts[i]] + pops[i] > conf["max_departement_share"] * dept_pop[depts[i]]:
            continue
        white[i] = True
        white_pop += pops[i]
        dept_white[depts[i]] += pops[i]
    return white


def _allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` in proportion to ``weights`` (ties by key order)."""
    keys = list(weights)
    raw = np.array([weights[k] for k in keys], dtype=float)
    raw = raw / raw.sum() * total
    counts = np.floor(raw).astype(int)
    remainders = raw - counts
    for i in sorted(range(len(keys)), key=lambda i: (-remainders[i], i))[: total - counts.sum()]:
        counts[i] += 1
    return dict(zip(keys, counts.tolist(), strict=False))


def _months(rng: np.random.Generator, bounds, size: int) -> pd.TimedeltaIndex:
    low, high = bounds
    return pd.to_timedelta(np.floor(rng.uniform(low, high, size) * DAYS_PER_MONTH), unit="D")


def _aci_dates(n: int, curve: list[dict]) -> pd.DatetimeIndex:
    """``n`` signature dates whose cumulative count follows the published curve scaled to ``n``."""
    dates = pd.to_datetime([p["date"] for p in curve])
    days = (dates - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    counts = np.array([p["count"] for p in curve], dtype=float)
    scaled = counts / counts[-1] * n
    levels = np.arange(n) + 0.5  # the i-th signature happens when the scaled curve reaches i + 0.5
    return pd.Timestamp("1970-01-01") + pd.to_timedelta(np.floor(np.interp(levels, scaled, days)), unit="D")


def _stage_dates(stages: list[str], as_of: pd.Timestamp, params: dict, seed: int) -> pd.DataFrame:
    """Dates of every stage reached, per CPTS (in the order of ``stages``)."""
    rng = np.random.default_rng([seed, _STREAM_DATES])
    delays = params["delays_months"]
    n = len(stages)
    stage = np.array(stages, dtype=object)
    order = list(stage_date_columns())  # pre_projet, lettre_intention, projet_sante, aci
    dates = {code: pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]") for code in order}
    is_aci = np.flatnonzero(stage == "aci")
    aci_dates = _aci_dates(len(is_aci), params["aci_curve"]["points"])
    dates["aci"].iloc[rng.permutation(is_aci)] = aci_dates.to_numpy() if len(is_aci) else []
    for code, window in delays["current_stage_window"].items():
        rows = np.flatnonzero(stage == code)
        dates[code].iloc[rows] = (as_of - _months(rng, window, len(rows))).to_numpy()
    steps = [
        ("projet_sante", "aci", delays["health_project_to_aci"]),
        ("lettre_intention", "projet_sante", delays["letter_to_health_project"]),
        ("pre_projet", "lettre_intention", delays["preproject_to_letter"]),
    ]
    for earlier, later, bounds in steps:
        rows = np.flatnonzero(dates[later].notna().to_numpy() & dates[earlier].isna().to_numpy())
        earlier_dates = pd.DatetimeIndex(dates[later].iloc[rows]) - _months(rng, bounds, len(rows))
        dates[earlier].iloc[rows] = earlier_dates.to_numpy()
    first = pd.Timestamp(delays["first_preproject_date"])
    letter = dates["lettre_intention"]
    pre = dates["pre_projet"].clip(lower=first)
    dates["pre_projet"] = pre.where(letter.isna() | (pre <= letter), letter)
    association = pd.DatetimeIndex(dates["pre_projet"]) - _months(rng, delays["association_before_preproject"], n)
    columns = stage_date_columns()
    out = pd.DataFrame({columns[code]: dates[code] for code in order})
    out.insert(0, "association_date", association)
    return out


def _ars_stage(stage: str, preproject_date: pd.Timestamp, as_of: pd.Timestamp, conf: dict) -> str:
    if stage == "pre_projet":
        recent = preproject_date > as_of - pd.Timedelta(days=conf["declaration_months"] * DAYS_PER_MONTH)
        return conf["pre_projet_recent"] if recent else conf["pre_projet_older"]
    return conf["by_national_stage"][stage]


def _overlaps(
    cpts_units: list[list[str]], main_unit: list[str], population: dict[str, int], neighbours: dict, params: dict,
    seed: int,
) -> list[tuple[str, int]]:
    """(unit, CPTS index) pairs adding a border unit of one CPTS to a neighbouring CPTS."""
    conf = params["overlaps"]
    owner = {u: i for i, units in enumerate(cpts_units) for u in units}
    candidates = []
    for i, units in enumerate(cpts_units):
        if len(units) < 2:
            continue
        for u in units:
            if u == main_unit[i] or population[u] > conf["max_unit_population"]:
                continue
            for j in sorted({owner[v] for v in neighbours[u] if v in owner and owner[v] != i}):
                candidates.append((u, i, j))
    rng = np.random.default_rng([seed, _STREAM_OVERLAPS])
    chosen, used_units, used_pairs = [], set(), set()
    if conf["unit_count"] <= 0:
        return chosen
    for k in rng.permutation(len(candidates)):
        u, i, j = candidates[k]
        pair = (min(i, j), max(i, j))
        if u in used_units or pair in used_pairs:
            continue
        chosen.append((u, j))
        used_units.add(u)
        used_pairs.add(pair)
        if len(chosen) >= conf["unit_count"]:
            break
    return sorted(chosen)


def _missions(cpts: pd.DataFrame, as_of: pd.Timestamp, params: dict, seed: int) -> pd.DataFrame:
    conf = params["missions"]
    rng = np.random.default_rng([seed, _STREAM_MISSIONS])
    signed = cpts[cpts["aci_date"].notna()].sort_values("cpts_id", kind="stable")
    aci = pd.DatetimeIndex(signed["aci_date"])
    rows = []
    for code, mission in conf["socle"].items():
        start = aci + _months(rng, mission["start_after_aci_months"], len(signed))
        if "not_before" in mission:
            floor = pd.Timestamp(mission["not_before"])
            start = pd.DatetimeIndex([max(s, floor + (s - a)) for s, a in zip(start, aci, strict=False)])
        start = start.where(start <= as_of, as_of)
        rows += [{"cpts_id": c, "mission_code": code, "start_date": s} for c, s in zip(signed["cpts_id"], start, strict=False)]
    for code, mission in conf["optional"].items():
        chosen = rng.uniform(0, 1, len(signed)) < mission["share"]
        start = aci + _months(rng, mission["start_after_aci_months"], len(signed))
        rows += [
            {"cpts_id": c, "mission_code": code, "start_date": s}
            for c, s, keep in zip(signed["cpts_id"], start, chosen, strict=False)
            if keep and s <= as_of
        ]
    frame = _frame("cpts_missions", rows)
    if not frame.empty:
        frame["start_date"] = pd.to_datetime(frame["start_date"])
        frame = frame.sort_values(["cpts_id", "mission_code"], kind="stable").reset_index(drop=True)
    return frame


def _unique_names(base: list[str], depts: list[str], codes: list[str]) -> list[str]:
    """Disambiguate homonyms (Saint-Denis 93 / 974) by département, then by code."""
    names = list(base)
    for attempt in (lambda i: f"{base[i]} ({depts[i]})", lambda i: f"{base[i]} ({codes[i]})"):
        counts = pd.Series(names).value_counts()
        names = [attempt(i) if counts[n] > 1 else n for i, n in enumerate(names)]
    return names


def generate_demo_register(
    communes: pd.DataFrame, geometries: pd.Series, epci: pd.DataFrame, params: dict | None = None
) -> RegisterData:
    """The demo register on the given communes (columns of ``communes``), their shapes (shapely,
    indexed by ``commune_code``; some may be missing) and the ``epci`` table."""
    params = params or load_demo_params()
    seed = int(params["seed"])
    reg = params["register"]
    as_of = pd.Timestamp(reg["as_of_date"])
    units = territorial_units(communes)
    known_epci = set(epci["epci_code"].astype(str))
    units["epci_code"] = [e if isinstance(e, str) and e in known_epci else None for e in units["epci_code"]]
    population = dict(zip(units["commune_code"], units["population_count"].tolist(), strict=False))
    dept_of = dict(zip(units["commune_code"], units["departement_code"], strict=False))
    names = dict(zip(units["commune_code"], units["name"], strict=False))

    territories, graph = _build_territories(units, geometries, params, seed)
    area = _unit_areas_km2(units, geometries)
    white = _choose_white_zones(territories, population, area, dept_of, params, seed)
    covered = [t for t, w in zip(territories, white, strict=False) if not w]
    main_unit = [min(t, key=lambda c: (-population[c], c)) for t in covered]
    # ids follow département then main unit, so they read in a stable geographical order
    order = sorted(range(len(covered)), key=lambda i: (dept_of[main_unit[i]], main_unit[i]))
    covered = [covered[i] for i in order]
    main_unit = [main_unit[i] for i in order]
    n = len(covered)
    ids = [f"demo-{i + 1:04d}" for i in range(n)]

    counts = _allocate(n, params["stage_counts_at_as_of"]["counts"])
    stages = [code for code in stage_date_columns() for _ in range(counts.get(code, 0))]
    rng = np.random.default_rng([seed, _STREAM_STAGES])
    stages = [stages[k] for k in rng.permutation(n)] if n else []
    dates = _stage_dates(stages, as_of, params, seed)

    members = [list(t) for t in covered]
    for unit, j in _overlaps(covered, main_unit, population, graph.neighbours, params, seed):
        members[j] = sorted(members[j] + [unit])

    def main_departement(units_of: list[str]) -> str:
        totals: dict[str, int] = {}
        for c in units_of:
            totals[dept_of[c]] = totals.get(dept_of[c], 0) + population[c]
        return min(totals, key=lambda d: (-totals[d], d))

    main_depts = [main_departement(m) for m in members]
    cpts_names = _unique_names(
        [reg["name_prefix"] + names[u] for u in main_unit], [dept_of[u] for u in main_unit], main_unit
    )
    cpts = pd.DataFrame(
        {
            "cpts_id": ids,
            "register_id": reg["register_id"],
            "name": cpts_names,
            "is_demo": True,
            "ars_stage_code": [
                _ars_stage(s, p, as_of, params["ars_stages"]) for s, p in zip(stages, dates["preproject_date"], strict=False)
            ],
            **{c: dates[c].to_numpy() for c in dates.columns},
            "main_departement_code": main_depts,
            "notes": "CPTS fictive du registre de démonstration",
        }
    )
    cpts = _frame("cpts", cpts)
    cpts["is_demo"] = cpts["is_demo"].astype(bool)

    cpts_communes = _frame(
        "cpts_communes", [{"cpts_id": i, "commune_code": c} for i, m in zip(ids, members, strict=False) for c in m]
    )
    register = _frame(
        "registers",
        [
            {
                "register_id": reg["register_id"],
                "name": reg["name"],
                "kind": "demo",
                "is_demo": True,
                "region_code": None,
                "as_of_date": as_of,
                "source_id": None,
                "description": reg["description"],
            }
        ],
    )
    register["is_demo"] = register["is_demo"].astype(bool)
    return RegisterData(
        register=register,
        cpts=cpts,
        cpts_communes=cpts_communes,
        cpts_missions=_missions(cpts, as_of, params, seed),
        cpts_geometries=_geometries(
            cpts_communes, geometries, params["territories"]["geometry_simplify_tolerance_deg"]
        ),
    )


def _geometries(cpts_communes: pd.DataFrame, geometries: pd.Series, tolerance: float) -> pd.DataFrame:
    """Dissolved, simplified, grid-rounded territory of each CPTS with at least one known shape."""
    if cpts_communes.empty:
        return _empty("cpts_geometries")
    shapes = geometries.reindex(cpts_communes["commune_code"]).to_numpy(dtype=object)
    shapes = np.array([None if isinstance(s, float) else s for s in shapes], dtype=object)
    dissolved = dissolve(shapes, cpts_communes["cpts_id"])
    if dissolved.empty:
        return _empty("cpts_geometries")
    simplified = simplify(np.asarray(dissolved.to_list(), dtype=object), tolerance)
    return _frame(
        "cpts_geometries", pd.DataFrame({"cpts_id": dissolved.index.to_list(), "geometry_wkb": to_wkb(simplified)})
    )


# --- calibration -------------------------------------------------------------------------------------

MEASURE_LABELS = {
    "cpts_count": "Nombre de CPTS",
    "stage_share_pct": "Part des CPTS",
    "covered_population_count": "Population couverte",
    "covered_population_pct": "Part de la population couverte",
    "white_zone_population_pct": "Part de la population en zone blanche",
    "mean_population_per_cpts": "Population moyenne par CPTS",
    "size_class_count": "Nombre de CPTS",
}


def _size_class(population_count: float, classes: list[dict]) -> str:
    """Code (« taille_2 ») of the ACI size class of a population: the grid's rule, named with the codes of
    the calibration targets."""
    klass = size_class(population_count)
    return next(cls["code"] for cls in classes if cls["size_class"] == klass)


def calibration_report(register: RegisterData, communes: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
    """Each calibration target of ``data/demo_register.json`` next to the value computed on ``register``
    at the target's own date (``demo_value``); ``target_value`` is empty where nothing was published."""
    params = params or load_demo_params()
    units = territorial_units(communes)
    unit_pop = dict(zip(units["commune_code"], units["population_count"].tolist(), strict=False))
    total_pop = float(sum(unit_pop.values()))
    members = register.cpts_communes.groupby("cpts_id", sort=True)["commune_code"].apply(list).to_dict()
    cpts_pop = {cid: float(sum(unit_pop.get(c, 0) for c in m)) for cid, m in members.items()}
    classes = params["size_classes"]["classes"]
    class_labels = {c["code"]: size_class_labels()[c["size_class"]] for c in classes}
    sources = params["sources"]
    rows = []
    for target in params["targets"]:
        date = pd.Timestamp(target["date"])
        stage_now = stage_at(register.cpts, date)
        existing = register.cpts.loc[stage_now.notna(), "cpts_id"].tolist()
        stage = target["stage"]
        if stage in ("tous",) or stage in class_labels:
            selected = existing
        else:
            selected = register.cpts.loc[stage_now == stage, "cpts_id"].tolist()
        covered_units = {c for cid in selected for c in members.get(cid, [])}
        covered = float(sum(unit_pop.get(c, 0) for c in covered_units))
        measure = target["measure"]
        if measure == "cpts_count":
            value = float(len(selected))
        elif measure == "stage_share_pct":
            value = 100.0 * len(selected) / len(existing) if existing else np.nan
        elif measure == "covered_population_count":
            value = covered
        elif measure == "covered_population_pct":
            value = 100.0 * covered / total_pop if total_pop else np.nan
        elif measure == "white_zone_population_pct":
            value = 100.0 - 100.0 * covered / total_pop if total_pop else np.nan
        elif measure == "mean_population_per_cpts":
            value = float(np.mean([cpts_pop.get(c, 0.0) for c in selected])) if selected else np.nan
        elif measure == "size_class_count":
            value = float(sum(1 for c in selected if _size_class(cpts_pop.get(c, 0.0), classes) == stage))
        else:
            raise ValueError(f"data/demo_register.json, cible {target['target_id']} : mesure inconnue {measure!r}")
        if stage == "tous":
            what = "tous stades"
        elif stage in class_labels:
            what = class_labels[stage]
        else:
            what = stage_label(stage)
        rows.append(
            {
                "target_id": target["target_id"],
                "measure": measure,
                "stage": stage,
                "date": date.date().isoformat(),
                "label": f"{MEASURE_LABELS[measure]} ({what}) au {date:%d/%m/%Y}",
                "target_value": np.nan if target["value"] is None else float(target["value"]),
                "demo_value": value,
                "unit": target["unit"],
                "source": sources[target["source_id"]],
                "note": target.get("note") or target.get("derivation"),
            }
        )
    return pd.DataFrame(rows)
