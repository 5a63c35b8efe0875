"""The controls of the « Financement » page and their link: every input lives in the URL, so a scenario
can be shared. A widget takes its first value from the link (parsed only with ``observatory.url_params``,
which never raises: an unusable value is ignored, never shown back), then the page writes the current
values into the link at the end of each run (:func:`sync_link`).

Parameters: ``echelle``, ``region``, ``departement``, ``cpts`` (CPTS shown), ``grille``, ``missions``,
``inconnu`` (1: CPTS without a dated stage counted as signatories), ``membres`` (members of the CPTS
shown), ``scenario`` (fusion | scission), ``fusion`` (CPTS ids, comma-separated), ``scinder`` (CPTS id),
``communes`` (commune codes), ``vers`` (CPTS id or ``nouvelle``), ``besoin`` (indicator code),
``annee``, ``intensite`` (0-100). The frame adds ``registre``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from observatory import funding
from observatory import url_params as up
from observatory.funding_analysis import MISSION_RULES
from observatory.funding_scenario import Merge, Split
from observatory.view_state import SCALES
from ui import view_state as view

P_SCALE, P_REGION, P_DEPT, P_CPTS = "echelle", "region", "departement", "cpts"
P_GRID, P_MISSIONS, P_UNKNOWN, P_MEMBERS = "grille", "missions", "inconnu", "membres"
P_SCENARIO, P_MERGE, P_SPLIT, P_COMMUNES, P_TO = "scenario", "fusion", "scinder", "communes", "vers"
P_NEED, P_YEAR, P_INTENSITY = "besoin", "annee", "intensite"
PARAMS = (P_SCALE, P_REGION, P_DEPT, P_CPTS, P_GRID, P_MISSIONS, P_UNKNOWN, P_MEMBERS, P_SCENARIO, P_MERGE,
          P_SPLIT, P_COMMUNES, P_TO, P_NEED, P_YEAR, P_INTENSITY)  # fmt: skip
KEY = "financement_"  # prefix of this page's widget keys
NONE, NEW_CPTS = "", "nouvelle"
SCENARIOS = {NONE: "Aucun", "fusion": "Fusionner des CPTS", "scission": "Déplacer des communes (scission)"}
MAX_MEMBERS = 100_000
INTENSITY_DEFAULT = 100


def _seed(name: str, parsed, options: Sequence | None, default) -> str:
    """Give widget ``name`` its first value (the link's, when usable) or repair a value no longer offered."""
    key = KEY + name
    if key in st.session_state and (options is None or st.session_state[key] in options):
        return key
    st.session_state[key] = parsed if parsed is not None and (options is None or parsed in options) else default
    return key


def _list_seed(name: str, parsed: tuple[str, ...], options: Sequence[str]) -> str:
    key = KEY + name
    offered = set(options)
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in offered]
    else:
        st.session_state[key] = [v for v in parsed if v in offered]
    return key


def forget_on_register_change(register_id: str) -> None:
    """Choices made on another register (its CPTS, its communes) mean nothing here; the link is stale."""
    seen = KEY + "registre_affiche"
    if st.session_state.get(seen, register_id) != register_id:
        for key in [k for k in st.session_state if str(k).startswith(KEY)]:
            del st.session_state[key]
        for name in PARAMS:
            if name in st.query_params:
                del st.query_params[name]
    st.session_state[seen] = register_id


@dataclass(frozen=True)
class Area:
    level: str
    code: str | None
    name: str


def area_controls(regions: pd.DataFrame, departements: pd.DataFrame, register_region: str | None,
                  linked_cpts_departement: str | None) -> Area:
    """Scale and area. A link naming only a CPTS opens its département; without an area in the link, the
    area chosen on another page (the shared view: Couverture) is kept. The département list follows the
    chosen région."""
    region_names = dict(zip(regions["region_code"], regions["name"], strict=True))
    dept_names = dict(zip(departements["departement_code"], departements["name"], strict=True))
    dept_regions = dict(zip(departements["departement_code"], departements["region_code"], strict=True))
    q = st.query_params
    shared = view.session_view()
    linked_scale = up.choice(q.get(P_SCALE), SCALES)
    scale_default = "region" if register_region in region_names else "france"
    if linked_scale is None and linked_cpts_departement in dept_names:
        scale_default = "departement"
    elif linked_scale is None and shared.scale in SCALES:
        scale_default = shared.scale
    scale_key = _seed(P_SCALE, linked_scale, list(SCALES), scale_default)
    linked_dept = up.choice(q.get(P_DEPT), dept_names)
    region_default = (register_region if register_region in region_names
                      else shared.region_code if shared.region_code in region_names else next(iter(region_names)))
    if linked_dept is not None or linked_cpts_departement in dept_names:
        region_default = dept_regions[linked_dept or linked_cpts_departement]
    region_key = _seed(P_REGION, up.choice(q.get(P_REGION), region_names), list(region_names), region_default)
    in_region = [d for d in dept_names if dept_regions[d] == st.session_state[region_key]]
    dept_default = (linked_cpts_departement if linked_cpts_departement in in_region
                    else shared.departement_code if shared.departement_code in in_region else in_region[0])
    dept_key = _seed(P_DEPT, linked_dept if linked_dept in in_region else None, in_region, dept_default)
    left, middle, right = st.columns([2, 2, 2])
    scale = left.radio("Échelle", list(SCALES), format_func=SCALES.get, horizontal=True, key=scale_key)
    if scale == "france":
        middle.markdown("**Zone**  \nFrance entière")
        area = Area("france", None, "France entière")
    else:
        region = middle.selectbox("Région", list(region_names), format_func=region_names.get, key=region_key)
        area = Area("region", region, region_names[region])
        if scale == "departement":
            code = right.selectbox("Département", in_region, format_func=lambda c: f"{c} – {dept_names[c]}",
                                   key=dept_key)
            area = Area("departement", code, f"{dept_names[code]} ({code})")
    view.remember_area(scale, st.session_state[region_key], st.session_state[dept_key])
    return area


@dataclass(frozen=True)
class Hypotheses:
    grid_id: str
    mission_rule: str
    unknown_as_aci: bool


def hypothesis_controls(grid_in_force: str | None, has_recorded_missions: bool, has_undated: bool) -> Hypotheses:
    grids = funding.load_grids().grids
    q = st.query_params
    grid_key = _seed(P_GRID, up.choice(q.get(P_GRID), grids), list(grids), grid_in_force or next(reversed(grids)))
    rules = [r for r in MISSION_RULES if r != "registre" or has_recorded_missions]
    rule_key = _seed(P_MISSIONS, up.choice(q.get(P_MISSIONS), rules), rules, rules[0])
    left, middle = st.columns(2)
    grid_id = left.selectbox(
        "Grille ACI", list(grids), key=grid_key,
        format_func=lambda g: grids[g].label + (" (en vigueur à la date du registre)" if g == grid_in_force else ""),
    )  # fmt: skip
    rule = middle.selectbox("Missions prises en compte", rules, format_func=MISSION_RULES.get, key=rule_key,
                            help="Le registre de démonstration donne les missions démarrées ; un registre importé "
                            "n'en donne pas : une hypothèse est alors nécessaire.")  # fmt: skip
    unknown = False
    if has_undated:
        linked = q.get(P_UNKNOWN)
        unknown_key = _seed(P_UNKNOWN, up.flag(linked) if linked is not None else None, None, True)
        unknown = st.checkbox("Compter les CPTS au stade inconnu comme signataires de l'ACI", key=unknown_key,
                                 help="Le registre ne donne pas les stades : sans cette hypothèse, aucune CPTS n'a "
                                 "de plafond.")  # fmt: skip
    return Hypotheses(grid_id, rule, unknown)


def focus_control(rows: pd.DataFrame) -> str | None:
    """The CPTS shown in detail (highlighted on the chart), among those of the area."""
    names = dict(zip(rows["cpts_id"], rows["name"], strict=True))
    options = [NONE, *names]
    key = _seed(P_CPTS, up.identifier(st.query_params.get(P_CPTS)), options, NONE)
    chosen = st.selectbox("CPTS à détailler (mise en évidence sur le graphique)", options, key=key,
                          format_func=lambda c: "Aucune" if c == NONE else names[c])
    return chosen or None


def members_control() -> int | None:
    key = _seed(P_MEMBERS, up.integer(st.query_params.get(P_MEMBERS), 0, MAX_MEMBERS), None, None)
    return st.number_input("Nombre de membres de cette CPTS (s'il est connu)", min_value=0, max_value=MAX_MEMBERS,
                           step=1, key=key, placeholder="inconnu",
                           help="La grille de 2022 majore de 130 000 € le plafond d'une CPTS de plus de 175 000 "
                           "habitants comptant au moins cent membres.")  # fmt: skip


def scenario_controls(area_rows: pd.DataFrame, all_rows: pd.DataFrame, units: pd.DataFrame,
                      links: pd.DataFrame) -> Merge | Split | None:
    """Scenario kind, then its inputs: CPTS to merge, or a CPTS, communes to move and their destination."""
    q = st.query_params
    kind_key = _seed(P_SCENARIO, up.choice(q.get(P_SCENARIO), SCENARIOS), list(SCENARIOS), NONE)
    kind = st.radio("Scénario", list(SCENARIOS), format_func=SCENARIOS.get, horizontal=True, key=kind_key)
    names = dict(zip(all_rows["cpts_id"], all_rows["name"], strict=True))
    area_ids = list(area_rows["cpts_id"])
    if kind == "fusion":
        key = _list_seed(P_MERGE, up.choice_list(q.get(P_MERGE), area_ids), area_ids)
        chosen = st.multiselect("CPTS à fusionner (deux ou plus)", area_ids, format_func=names.get, key=key)
        return Merge(tuple(chosen)) if chosen else None
    if kind != "scission" or not area_ids:
        return None
    source_key = _seed(P_SPLIT, up.identifier(q.get(P_SPLIT)), area_ids, area_ids[0])
    source = st.selectbox("CPTS dont des communes changent de CPTS", area_ids, format_func=names.get, key=source_key)
    own = links.loc[links["cpts_id"] == source, "commune_code"].tolist()
    unit_rows = units.set_index("commune_code").reindex(own)
    labels = {c: f"{c} – {r['name']} ({int(r['population_count']):,} hab.)".replace(",", "\u202f")
              for c, r in unit_rows.iterrows() if isinstance(r["name"], str)}  # fmt: skip
    communes_key = _list_seed(P_COMMUNES, up.choice_list(q.get(P_COMMUNES), own), own)
    moved = st.multiselect("Communes à déplacer", own, format_func=lambda c: labels.get(c, c), key=communes_key)
    depts = set(str(all_rows.set_index("cpts_id").at[source, "departement_codes"]).split(", "))
    neighbours = [i for i, d in zip(all_rows["cpts_id"], all_rows["departement_codes"], strict=True)
                  if i != source and depts & set(str(d).split(", "))]  # fmt: skip
    destinations = [NEW_CPTS, *neighbours]
    to_key = _seed(P_TO, up.choice(q.get(P_TO), destinations), destinations, NEW_CPTS)
    to = st.selectbox("Vers", destinations, key=to_key,
                      format_func=lambda c: "Une nouvelle CPTS" if c == NEW_CPTS else f"{names[c]} (même département)")
    return Split(source, tuple(moved), None if to == NEW_CPTS else to) if moved else None


@dataclass(frozen=True)
class NeedInputs:
    indicator_code: str | None
    year: int | None
    intensity_pct: int


def need_controls(catalogue: pd.DataFrame) -> NeedInputs:
    labels = dict(zip(catalogue["indicator_code"], catalogue["label"], strict=True))
    options = [NONE, *labels]
    q = st.query_params
    need_key = _seed(P_NEED, up.choice(q.get(P_NEED), labels), options, NONE)
    left, middle, right = st.columns([4, 1.3, 2.7])
    code = left.selectbox("Pondération par un besoin", options, key=need_key,
                          format_func=lambda c: "Aucune : proportionnelle à la population" if c == NONE else labels[c])
    if not code:
        return NeedInputs(None, None, 0)
    years = sorted((int(y) for y in catalogue.set_index("indicator_code").at[code, "years"]), reverse=True)
    year_key = _seed(P_YEAR, up.integer(q.get(P_YEAR), up.MIN_YEAR, up.MAX_YEAR), years, years[0])
    year = middle.selectbox("Année", years, key=year_key)
    intensity_key = _seed(P_INTENSITY, up.integer(q.get(P_INTENSITY), 0, 100), None, INTENSITY_DEFAULT)
    intensity = right.slider("Intensité α (%)", 0, 100, step=10, key=intensity_key,
                             help="0 % : proportionnel à la population ; 100 % : poids inversement proportionnel à "
                             "l'accès (pour l'APL).")  # fmt: skip
    return NeedInputs(code, int(year), int(intensity))


def sync_link(area: Area, focus: str | None, hyp: Hypotheses, has_undated: bool, members: int | None,
              scenario: Merge | Split | None, need: NeedInputs) -> None:
    """The page's current inputs into the link (only what differs from the defaults is kept short)."""
    wanted: dict[str, str] = {P_SCALE: area.level, P_GRID: hyp.grid_id, P_MISSIONS: hyp.mission_rule}
    if area.level == "region":
        wanted[P_REGION] = str(area.code)
    if area.level == "departement":
        wanted[P_DEPT] = str(area.code)
    if focus:
        wanted[P_CPTS] = focus
        if members is not None:
            wanted[P_MEMBERS] = str(int(members))
    if has_undated:
        wanted[P_UNKNOWN] = "1" if hyp.unknown_as_aci else "0"
    if isinstance(scenario, Merge):
        wanted.update({P_SCENARIO: "fusion", P_MERGE: ",".join(scenario.cpts_ids)})
    elif isinstance(scenario, Split):
        wanted.update({P_SCENARIO: "scission", P_SPLIT: scenario.cpts_id, P_COMMUNES: ",".join(scenario.commune_codes),
                       P_TO: scenario.destination_id or NEW_CPTS})  # fmt: skip
    elif st.session_state.get(KEY + P_SCENARIO):
        wanted[P_SCENARIO] = st.session_state[KEY + P_SCENARIO]
    if need.indicator_code:
        wanted.update({P_NEED: need.indicator_code, P_YEAR: str(need.year), P_INTENSITY: str(need.intensity_pct)})
    sync_query_params(wanted, PARAMS)


def sync_query_params(wanted: dict[str, str], names: tuple[str, ...]) -> None:
    """Write the page's state into the URL (deep link): each of ``names`` set to its ``wanted`` value, or
    removed when not wanted, in one write (each write is a browser history entry)."""
    current = st.query_params.to_dict()
    updated = {k: v for k, v in current.items() if k not in names or k in wanted} | dict(wanted)
    if updated != current:
        st.query_params.from_dict(updated)
