"""« Which register, which date, which area » : the one view state every page shares, and its link.

The state lives in the URL (so Back, Forward, a bookmark or a shared link restore it) and, for the pages
that do not show every part of it, in the user's session. This module is pure: it parses a query string
(only through :mod:`observatory.url_params`, which never raises), matches every value against what the
database offers (:class:`ViewOptions`), repairs what no longer fits (a département outside the chosen
région, a date the register does not offer) and writes the state back as query parameters.

Rules, written once:
- a page's link is complete for the parts that page shows: when it carries the page's marker parameter
  (``echelle`` for Couverture, ``cpts`` for the Fiche CPTS), an absent parameter means « none », so Back
  restores exactly what was shown; a link without the marker (the navigation menu) keeps the session's state;
- the département always belongs to the région; a link naming only a département opens its région;
- the date and the CPTS belong to a register: changing register drops them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from observatory import url_params

SCALES: dict[str, str] = {"france": "France", "region": "Région", "departement": "Département"}

PARAM_REGISTER = "registre"
PARAM_SCALE = "echelle"
PARAM_REGION = "region"
PARAM_DEPARTEMENT = "departement"
PARAM_DATE = "date"
PARAM_CPTS = "cpts"
PARAM_COMMUNE = "commune"

# Parameter of each part of the state, in the order they are written into a link.
PARAMS: dict[str, str] = {
    "register_id": PARAM_REGISTER,
    "scale": PARAM_SCALE,
    "region_code": PARAM_REGION,
    "departement_code": PARAM_DEPARTEMENT,
    "as_of": PARAM_DATE,
    "cpts_id": PARAM_CPTS,
    "commune_code": PARAM_COMMUNE,
}


@dataclass(frozen=True)
class PageView:
    """The parts of the state a page shows (and so writes into its link), and the parameter that says a
    link carries that page's view."""

    fields: tuple[str, ...]
    marker: str | None


# The register is the frame's (every page); each page adds what it shows.
PAGE_VIEWS: dict[str, PageView] = {
    "couverture": PageView(("scale", "region_code", "departement_code", "as_of", "cpts_id", "commune_code"),
                           PARAM_SCALE),
    "fiche-cpts": PageView(("cpts_id",), PARAM_CPTS),
    "matrice": PageView(("cpts_id",), PARAM_CPTS),
    "financement": PageView(("scale", "region_code", "departement_code", "cpts_id"), PARAM_SCALE),
}


@dataclass(frozen=True)
class ViewState:
    register_id: str | None = None
    scale: str | None = None  # None: the register's default (France, or its région for a région-only one)
    region_code: str | None = None
    departement_code: str | None = None
    as_of: str | None = None  # ISO date, one of the register's offered dates
    cpts_id: str | None = None  # the CPTS highlighted (Couverture) or shown (Fiche CPTS, Matrice)
    commune_code: str | None = None  # a commune found by the search (highlighted on the map)

    @property
    def area_code(self) -> str | None:
        """Code of the area shown: None for France, else the région or the département."""
        return {"region": self.region_code, "departement": self.departement_code}.get(self.scale)

    def replace(self, **changes) -> ViewState:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ViewOptions:
    """What the database offers, to match a link's values against (never interpreted otherwise)."""

    register_ids: tuple[str, ...]
    region_codes: tuple[str, ...]  # in the order the région list shows them
    departement_regions: Mapping[str, str]  # département code -> its région (list order: code order)
    dates: tuple[str, ...] = ()  # ISO dates offered for the register shown
    default_date: str | None = None
    cpts_ids: frozenset[str] = frozenset()  # CPTS of the register shown
    commune_codes: frozenset[str] = frozenset()
    default_region: str | None = None  # e.g. the région of a région-only register
    default_scale: str = "france"
    departements_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.departements_of:
            grouped: dict[str, list[str]] = {}
            for dept, region in self.departement_regions.items():
                grouped.setdefault(region, []).append(dept)
            object.__setattr__(self, "departements_of", {r: tuple(d) for r, d in grouped.items()})


def region_default(options: ViewOptions) -> str | None:
    if options.default_region in options.region_codes:
        return options.default_region
    return options.region_codes[0] if options.region_codes else None


def resolve(state: ViewState, options: ViewOptions) -> ViewState:
    """The state with every part matched to what is offered; what does not fit is repaired, in this order:
    scale, then région and département (the département wins: it names the région), date, CPTS, commune."""
    scale = state.scale if state.scale in SCALES else options.default_scale
    dept = state.departement_code if state.departement_code in options.departement_regions else None
    region = state.region_code if state.region_code in options.region_codes else None
    if dept is not None and options.departement_regions[dept] != region:
        if region is None or scale == "departement":
            region = options.departement_regions[dept]
        else:
            dept = None  # a région was chosen after the département: the list follows the région
    region = region or region_default(options)
    if dept is None and region is not None:
        in_region = options.departements_of.get(region, ())
        dept = in_region[0] if in_region else None
    as_of = state.as_of if state.as_of in options.dates else options.default_date
    cpts = state.cpts_id if state.cpts_id in options.cpts_ids else None
    commune = state.commune_code if state.commune_code in options.commune_codes else None
    register = state.register_id if state.register_id in options.register_ids else (
        options.register_ids[0] if options.register_ids else None)
    return ViewState(register, scale, region, dept, as_of, cpts, commune)


def with_region(state: ViewState, region_code: str, options: ViewOptions) -> ViewState:
    """A région chosen in the list: the département list follows it (its first département)."""
    in_region = options.departements_of.get(region_code, ())
    dept = state.departement_code if state.departement_code in in_region else (in_region[0] if in_region else None)
    return resolve(state.replace(region_code=region_code, departement_code=dept), options)


def with_departement(state: ViewState, departement_code: str, options: ViewOptions) -> ViewState:
    region = options.departement_regions.get(departement_code, state.region_code)
    return resolve(state.replace(departement_code=departement_code, region_code=region), options)


def with_register(state: ViewState, register_id: str) -> ViewState:
    """Another register: its date, its CPTS and the commune found on its map are its own; the scale returns
    to the register's default (a région-only register opens on its région); the area is kept."""
    if register_id == state.register_id:
        return state
    return state.replace(register_id=register_id, scale=None, as_of=None, cpts_id=None, commune_code=None)


def link_fields(page: str | None) -> tuple[str, ...]:
    return PAGE_VIEWS[page].fields if page in PAGE_VIEWS else ()


def has_view(query: Mapping[str, object], page: str | None) -> bool:
    """Does the link carry this page's view (its marker parameter)?"""
    view = PAGE_VIEWS.get(page) if page else None
    return view is not None and view.marker is not None and url_params.raw_text(query.get(view.marker)) is not None


def from_query(query: Mapping[str, object], page: str | None, session: ViewState, options: ViewOptions) -> ViewState:
    """The state a run starts from. The register always comes from the link when it names a known one. When
    the link carries the page's view, the page's parts come from the link (absent: none; unusable: the
    default); the other parts, and every part when the link carries no view, come from ``session``."""
    state = session
    register = url_params.choice(query.get(PARAM_REGISTER), options.register_ids)
    if register is not None:
        state = with_register(state, register)
    if not has_view(query, page):
        return resolve(state, options)
    parsed: dict[str, object] = {}
    scale = url_params.choice(query.get(PARAM_SCALE), SCALES) or options.default_scale
    for name in link_fields(page):
        raw = query.get(PARAMS[name])
        # Parts the link's scale does not show (a région in a France view...) are not in the link: the
        # session's are kept, so that France -> Région reopens the last région.
        if (name == "region_code" and scale == "france") or (name == "departement_code" and scale != "departement"):
            if raw is None:
                continue
        if name == "scale":
            parsed[name] = url_params.choice(raw, SCALES) or options.default_scale
        elif name == "region_code":
            parsed[name] = url_params.choice(raw, options.region_codes)
        elif name == "departement_code":
            parsed[name] = url_params.choice(raw, options.departement_regions)
        elif name == "as_of":
            parsed[name] = url_params.date_option(raw, options.dates)
        elif name == "cpts_id":
            parsed[name] = url_params.choice(url_params.identifier(raw), options.cpts_ids)
        elif name == "commune_code":
            parsed[name] = url_params.choice(raw, options.commune_codes)
    # A link naming a département but no région (or another one) opens that département's région.
    return resolve(state.replace(**parsed), options)


def to_query(state: ViewState, page: str | None) -> dict[str, str]:
    """The page's parts of the state as query parameters (the frame adds the register). Only what the
    scale shows is written: a région in a France view, a département in a région view are left out."""
    out: dict[str, str] = {}
    for name in link_fields(page):
        value = getattr(state, name)
        if name == "region_code" and state.scale == "france":
            continue
        if name == "departement_code" and state.scale != "departement":
            continue
        if value is not None:
            out[PARAMS[name]] = str(value)
    return out


def link_query(state: ViewState, page: str | None) -> dict[str, str]:
    """The full link of a page for this state: register first, then the page's parts."""
    out = {PARAM_REGISTER: state.register_id} if state.register_id else {}
    out.update(to_query(state, page))
    return out


def merged_query(current: Mapping[str, str], state: ViewState, page: str | None,
                 owned: Sequence[str] = tuple(PARAMS.values())) -> dict[str, str]:
    """The page's URL after writing ``state``: its view parameters replaced, other parameters (e.g.
    ``presentation``) kept as they are."""
    kept = {k: v for k, v in current.items() if k not in owned}
    return {**link_query(state, page), **kept}
