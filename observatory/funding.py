"""ACI funding ceilings of a CPTS, computed from dated, sourced grids (``data/aci_grids.json``), and the
one rule for ACI size classes (:func:`size_class` and its helpers: every caller in the app uses them).

Two real grids of different dates coexist and neither overwrites the other: the per-mission grid of
the thesis (Tableau 1, Assurance Maladie 2022) and a later fixed + variable grid (seed 003). Every
breakdown carries its grid's source and date so a page never shows an amount without saying where it
comes from. Amounts are annual maxima: the variable part assumes a 100 % achievement rate.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatory import config

GRIDS_FILE = config.DATA_DIR / "aci_grids.json"
MISSION_CODES = ("acces_soins", "parcours", "prevention", "crise_sanitaire", "qualite_pertinence", "accompagnement_ps")
SIZE_CLASSES = (1, 2, 3, 4)
MODELS = ("per_mission", "fixed_variable")


class FundingError(ValueError):
    """Invalid grid file, unknown grid or mission, or an impossible population."""


@dataclass(frozen=True)
class Mission:
    mission_code: str
    label: str
    kind: str  # "socle" or "optionnelle"
    description: str


@dataclass(frozen=True)
class SizeClass:
    size_class: int
    label: str
    population_label: str
    population_min: int
    population_max: int | None  # None: no upper bound


@dataclass(frozen=True)
class GridComponent:
    component_code: str
    label: str
    phase: str  # "avant_missions" or "missions"
    mission_code: str | None
    is_exceptional: bool
    amounts_eur: dict[int, int]  # size class -> annual amount


@dataclass(frozen=True)
class GridBonus:
    """An amount added to the ceiling under a condition the grid's table leaves out (e.g. the avenant 2
    increase for a CPTS over 175,000 inhabitants with at least one hundred members)."""

    bonus_code: str
    label: str
    size_classes: tuple[int, ...]
    min_members: int
    amount_eur: int
    source: str
    note: str


@dataclass(frozen=True)
class Grid:
    grid_id: str
    label: str
    model: str  # "per_mission" or "fixed_variable"
    source: str
    source_detail: str
    source_date: str
    valid_from: date
    components: tuple[GridComponent, ...]
    published_maximum_eur: dict[int, int]
    published_maximum_label: str
    footnote: str
    ceiling_rule: str
    notes: tuple[str, ...]
    bonuses: tuple[GridBonus, ...] = ()

    def component(self, component_code: str) -> GridComponent:
        for c in self.components:
            if c.component_code == component_code:
                return c
        raise FundingError(f"Grille {self.grid_id} : composante « {component_code} » absente.")


@dataclass(frozen=True)
class GridCatalogue:
    version: str
    boundary_convention: str
    size_classes: tuple[SizeClass, ...]
    limits: tuple[int, ...]  # the published limits between classes: 40 000, 80 000, 175 000
    missions: dict[str, Mission]
    grids: dict[str, Grid]  # ordered by valid_from


@dataclass(frozen=True)
class FundingLine:
    component_code: str
    label: str
    amount_eur: int
    mission_code: str | None = None


@dataclass(frozen=True)
class FundingBreakdown:
    grid_id: str
    grid_label: str
    source: str
    source_date: str
    valid_from: date
    population: int
    size_class: int
    missions: tuple[str, ...]
    lines: tuple[FundingLine, ...]
    total_eur: int | None  # None: this grid cannot compute a ceiling for these missions (see notes)
    published_maximum_eur: int
    notes: tuple[str, ...]
    member_count: int | None = None  # known members (for a grid bonus), None: unknown

    @property
    def is_computable(self) -> bool:
        return self.total_eur is not None


# --------------------------------------------------------------------------------------------- loading


def load_grids(path: Path | None = None) -> GridCatalogue:
    """Load and validate the grid file; errors name the file, the grid and the component at fault."""
    return _load_cached(str(path or GRIDS_FILE))


@lru_cache(maxsize=4)
def _load_cached(path_str: str) -> GridCatalogue:
    path = Path(path_str)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FundingError(f"Fichier des grilles ACI introuvable : {path}.") from exc
    except json.JSONDecodeError as exc:
        raise FundingError(f"{path.name} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno}).") from exc
    return _validate(raw, path.name)


def _amounts(value: object, where: str) -> dict[int, int]:
    if not isinstance(value, dict) or sorted(value) != [str(s) for s in SIZE_CLASSES]:
        raise FundingError(f"{where} : montants attendus pour les tailles 1, 2, 3 et 4.")
    out = {}
    for key, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise FundingError(f"{where}, taille {key} : montant invalide « {amount} » (entier positif attendu).")
        out[int(key)] = amount
    return out


def _bonuses(raw: object, where: str) -> tuple[GridBonus, ...]:
    if not isinstance(raw, list):
        raise FundingError(f"{where} : « bonuses » doit être une liste.")
    out = []
    for b in raw:
        try:
            bonus = GridBonus(
                bonus_code=str(b["bonus_code"]), label=str(b["label"]),
                size_classes=tuple(int(c) for c in b["size_classes"]), min_members=int(b["min_members"]),
                amount_eur=int(b["amount_eur"]), source=str(b["source"]), note=str(b["note"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FundingError(f"{where} : majoration mal décrite ({exc}).") from exc
        if not set(bonus.size_classes) <= set(SIZE_CLASSES) or bonus.amount_eur <= 0 or bonus.min_members < 1:
            raise FundingError(f"{where}, majoration {bonus.bonus_code} : tailles, montant ou seuil de membres invalide.")
        out.append(bonus)
    return tuple(out)


def _validate(raw: dict, where: str) -> GridCatalogue:
    try:
        classes = tuple(SizeClass(**c) for c in raw["size_classes"]["classes"])
        missions = {m["mission_code"]: Mission(**m) for m in raw["missions"]}
    except (KeyError, TypeError) as exc:
        raise FundingError(f"{where} : tailles ou missions mal décrites ({exc}).") from exc
    if tuple(c.size_class for c in classes) != SIZE_CLASSES:
        raise FundingError(f"{where} : les tailles doivent être 1, 2, 3, 4 dans l'ordre.")
    for low, high in zip(classes, classes[1:], strict=False):
        if low.population_max is None or high.population_min != low.population_max + 1:
            raise FundingError(f"{where} : les bornes des tailles {low.size_class} et {high.size_class} ne se suivent pas.")
    if classes[0].population_min != 0 or classes[-1].population_max is not None:
        raise FundingError(f"{where} : la taille 1 doit partir de 0 et la taille 4 ne pas avoir de borne haute.")
    if tuple(missions) != MISSION_CODES:
        raise FundingError(f"{where} : missions attendues {', '.join(MISSION_CODES)} dans cet ordre.")
    limits = tuple(raw["size_classes"].get("limits") or ())
    if len(limits) != len(classes) - 1 or any(isinstance(x, bool) or not isinstance(x, int) for x in limits):
        raise FundingError(f"{where} : « limits » doit donner une limite entière entre chaque paire de tailles.")
    for limit, (low, high) in zip(limits, zip(classes, classes[1:], strict=False), strict=True):
        # A limit as the sources write it is the top of the class below or the bottom of the class above.
        if limit not in (low.population_max, high.population_min):
            raise FundingError(
                f"{where} : la limite {limit} ne borne ni la taille {low.size_class} ni la taille {high.size_class}."
            )

    grids: dict[str, Grid] = {}
    for g in raw["grids"]:
        gid = g.get("grid_id", "?")
        at = f"{where}, grille {gid}"
        if gid in grids:
            raise FundingError(f"{at} : identifiant en double.")
        if g.get("model") not in MODELS:
            raise FundingError(f"{at} : modèle « {g.get('model')} » inconnu (attendu : {', '.join(MODELS)}).")
        try:
            valid_from = date.fromisoformat(g["valid_from"])
        except (KeyError, ValueError) as exc:
            raise FundingError(f"{at} : date « valid_from » absente ou invalide (AAAA-MM-JJ).") from exc
        for key in ("label", "source", "source_detail", "source_date", "ceiling_rule", "notes"):
            if not g.get(key):
                raise FundingError(f"{at} : champ « {key} » absent ou vide.")
        components = []
        for c in g["components"]:
            code = c.get("component_code", "?")
            mission = c.get("mission_code")
            if mission is not None and mission not in missions:
                raise FundingError(f"{at}, composante {code} : mission « {mission} » inconnue.")
            components.append(
                GridComponent(
                    component_code=code,
                    label=c["label"],
                    phase=c["phase"],
                    mission_code=mission,
                    is_exceptional=bool(c["is_exceptional"]),
                    amounts_eur=_amounts(c.get("amounts_eur"), f"{at}, composante {code}"),
                )
            )
        codes = [c.component_code for c in components]
        if len(set(codes)) != len(codes):
            raise FundingError(f"{at} : composantes en double.")
        if g["model"] == "per_mission":
            per_mission = [c.mission_code for c in components if c.mission_code]
            if sorted(per_mission) != sorted(MISSION_CODES):
                raise FundingError(f"{at} : il faut exactement une composante par mission ({', '.join(MISSION_CODES)}).")
            required = {"structure", "fonctionnement_avant_missions"}
        else:
            required = {"part_fixe", "part_variable"}
        if not required <= set(codes):
            raise FundingError(f"{at} : composante(s) manquante(s) : {', '.join(sorted(required - set(codes)))}.")
        grids[gid] = Grid(
            grid_id=gid,
            label=g["label"],
            model=g["model"],
            source=g["source"],
            source_detail=g["source_detail"],
            source_date=g["source_date"],
            valid_from=valid_from,
            components=tuple(components),
            published_maximum_eur=_amounts(g.get("published_maximum_eur"), f"{at}, maximum publié"),
            published_maximum_label=g.get("published_maximum_label", ""),
            footnote=g.get("footnote", ""),
            ceiling_rule=g["ceiling_rule"],
            notes=tuple(g["notes"]),
            bonuses=_bonuses(g.get("bonuses", []), at),
        )
    ordered = dict(sorted(grids.items(), key=lambda kv: kv[1].valid_from))
    return GridCatalogue(
        version=str(raw.get("version", "")),
        boundary_convention=raw["size_classes"]["boundary_convention"],
        size_classes=classes,
        limits=limits,
        missions=missions,
        grids=ordered,
    )


# ---------------------------------------------------------------------------------------- computations


def size_class(population: int) -> int:
    """ACI size class (1-4) of a population covered: THE size-class rule of the app.

    Boundaries come from the grid file (``size_classes``, see its ``boundary_convention``): < 40,000 → 1;
    40,000-79,999 → 2; 80,000-175,000 → 3; > 175,000 → 4. So 40,000 exactly is taille 2, 80,000 exactly
    taille 3 and 175,000 exactly taille 3.
    """
    if isinstance(population, bool) or not isinstance(population, numbers.Real):
        raise FundingError(f"Population invalide « {population} » : un nombre d'habitants est attendu.")
    if population != population or population < 0 or int(population) != population:
        raise FundingError(f"Population invalide « {population} » : un entier positif ou nul est attendu.")
    count = int(population)
    for c in load_grids().size_classes:
        if count >= c.population_min and (c.population_max is None or count <= c.population_max):
            return c.size_class
    raise FundingError(f"Population {count} hors des tailles connues.")  # unreachable if the file is valid


def size_class_or_none(population: object) -> int | None:
    """:func:`size_class`, or None when the population is unknown (None, NaN, pandas NA)."""
    if population is None or population is pd.NA:
        return None
    if isinstance(population, numbers.Real) and not isinstance(population, (bool, int)):
        population = float(population)  # numpy scalars
        if math.isnan(population):
            return None
    return size_class(population)


def size_classes(population: pd.Series) -> pd.Series:
    """:func:`size_class` of every value (nullable Int64; unknown populations stay NA): the same rule,
    applied once per distinct value rather than restated as vectorised comparisons."""
    values = pd.to_numeric(population, errors="coerce")
    mapping = {v: size_class(float(v)) for v in values.dropna().unique()}
    return pd.Series(values.map(mapping), index=population.index).astype("Int64")


def size_class_labels() -> dict[int, str]:
    """Size class -> French label from the grid file (« Taille 1 (moins de 40 000 habitants) »)."""
    return {c.size_class: f"{c.label} ({c.population_label})" for c in load_grids().size_classes}


def size_class_name(size_class: object, missing: str = "—") -> str:
    """« Taille 3 » (the grid file's short label), or ``missing`` for an unknown class: every table says
    a class the same way."""
    if size_class is None or size_class is pd.NA or (isinstance(size_class, float) and math.isnan(size_class)):
        return missing
    names = {c.size_class: c.label for c in load_grids().size_classes}
    return names.get(int(size_class), missing)


def class_limits() -> tuple[int, ...]:
    """The limits between size classes as the sources write them: (40 000, 80 000, 175 000)."""
    return load_grids().limits


def grid_for_date(when: date | datetime | str) -> Grid:
    """The grid in force at a date: the one with the latest ``valid_from`` on or before it."""
    if isinstance(when, datetime):
        day = when.date()
    elif isinstance(when, date):
        day = when
    else:
        try:
            day = date.fromisoformat(str(when))
        except ValueError as exc:
            raise FundingError(f"Date invalide « {when} » (format attendu AAAA-MM-JJ).") from exc
    candidates = [g for g in load_grids().grids.values() if g.valid_from <= day]
    if not candidates:
        first = min(g.valid_from for g in load_grids().grids.values())
        raise FundingError(
            f"Aucune grille ACI connue au {day.strftime('%d/%m/%Y')} : la plus ancienne s'applique à partir du "
            f"{first.strftime('%d/%m/%Y')}."
        )
    return max(candidates, key=lambda g: g.valid_from)


def funding_ceiling(
    population: int, missions: list[str], grid_id: str, member_count: int | None = None
) -> FundingBreakdown:
    """Annual funding ceiling of a CPTS of ``population`` inhabitants with ``missions`` contracted.

    Per-mission grid (2022): before any mission, the operating funding; otherwise the structure funding
    plus each contracted mission. Fixed + variable grid (seed 003): both parts once the four missions
    socles are contracted; otherwise not computable (``total_eur is None``), because that grid gives no
    amount per mission. Exceptional one-off amounts are never added to this annual ceiling. A grid bonus
    (+130,000 € for a size-4 CPTS with at least 100 members) is added only when ``member_count`` is known
    and meets it; when it is unknown, a note says the bonus is possible.
    """
    catalogue = load_grids()
    if grid_id not in catalogue.grids:
        raise FundingError(f"Grille ACI inconnue « {grid_id} » (grilles connues : {', '.join(catalogue.grids)}).")
    grid = catalogue.grids[grid_id]
    unknown = [m for m in missions if m not in catalogue.missions]
    if unknown:
        raise FundingError(
            f"Mission(s) inconnue(s) : {', '.join(f'« {m} »' for m in unknown)}. "
            f"Codes attendus : {', '.join(MISSION_CODES)}."
        )
    contracted = tuple(m for m in MISSION_CODES if m in set(missions))  # grid order, duplicates dropped
    klass = size_class(population)
    notes: list[str] = [grid.ceiling_rule]
    if grid.model == "per_mission":
        lines, total = _per_mission_lines(grid, klass, contracted)
    else:
        lines, total, extra = _fixed_variable_lines(grid, klass, contracted, catalogue)
        notes += extra
    if total is not None:
        for bonus in grid.bonuses:
            if klass not in bonus.size_classes:
                continue
            if member_count is not None and member_count >= bonus.min_members:
                lines.append(FundingLine(bonus.bonus_code, bonus.label, bonus.amount_eur))
                total += bonus.amount_eur
            elif member_count is None:
                notes.append(
                    f"{bonus.label} : {format_eur(bonus.amount_eur)} de plus si la CPTS compte au moins "
                    f"{bonus.min_members} membres (nombre de membres non renseigné : non compté)."
                )
    if grid.footnote:
        notes.append(grid.footnote)
    return FundingBreakdown(
        grid_id=grid.grid_id,
        grid_label=grid.label,
        source=grid.source,
        source_date=grid.source_date,
        valid_from=grid.valid_from,
        population=int(population),
        size_class=klass,
        missions=contracted,
        lines=tuple(lines),
        total_eur=total,
        published_maximum_eur=grid.published_maximum_eur[klass],
        notes=tuple(notes),
        member_count=member_count,
    )


def format_eur(amount: float) -> str:
    """« 130 000 € » (narrow no-break space for thousands), for the sentences built here."""
    return f"{amount:,.0f}".replace(",", "\u202f") + " €"


def _per_mission_lines(grid: Grid, klass: int, contracted: tuple[str, ...]) -> tuple[list[FundingLine], int]:
    if not contracted:
        c = grid.component("fonctionnement_avant_missions")
        lines = [FundingLine(c.component_code, c.label, c.amounts_eur[klass])]
    else:
        c = grid.component("structure")
        lines = [FundingLine(c.component_code, c.label, c.amounts_eur[klass])]
        by_mission = {x.mission_code: x for x in grid.components if x.mission_code}
        for code in contracted:
            m = by_mission[code]
            lines.append(FundingLine(m.component_code, m.label, m.amounts_eur[klass], code))
    return lines, sum(line.amount_eur for line in lines)


def _fixed_variable_lines(
    grid: Grid, klass: int, contracted: tuple[str, ...], catalogue: GridCatalogue
) -> tuple[list[FundingLine], int | None, list[str]]:
    socles = [code for code, m in catalogue.missions.items() if m.kind == "socle"]
    missing = [catalogue.missions[code].label for code in socles if code not in contracted]
    if missing:
        return [], None, [
            "Plafond non calculable avec cette grille : mission(s) socle(s) non contractualisée(s) : "
            + ", ".join(missing)
            + "."
        ]
    lines = [
        FundingLine(c.component_code, c.label, c.amounts_eur[klass])
        for c in (grid.component("part_fixe"), grid.component("part_variable"))
    ]
    return lines, sum(line.amount_eur for line in lines), []
