"""Assembly of the « Fiche CPTS » (pure pandas/shapely, no database, no Streamlit).

The page reads frames through ``observatory.queries`` and hands them here: identity, stage timeline,
territory (the communes to draw and the indicators next to the département, région and France), the
ACI funding ceiling under each dated grid, the self-assessment's score history and the thesis's case
studies (published tables, partial answers).

Decisions written down once:
- the stage of a CPTS is the one at the register's reference date (``as_of``), as on the coverage page;
- peers (``observatory.peers``): same register, same ACI size class, same national stage at that date;
- « missions non renseignées » (a register without any mission row: imported files, case studies) is not
  « aucune mission » : the ceiling is then not computable and only the theoretical maximum of the size
  class is given;
- the open data at hand has no age structure: the page says so instead of inventing one, and says how to
  import one (imported and derived indicators are shown like the APL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import altair as alt
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatory import funding
from observatory.assessments import Assessment
from observatory.charts import FRENCH_LOCALE
from observatory.coverage import CoverageSnapshot, to_timestamp
from observatory.indicators import IndicatorFrame, format_number, indicator_by_territory
from observatory.instrument import Instrument, ScoringModel
from observatory.peers import PeerComparison
from observatory.radar import radar_chart
from observatory.registers.case_studies import load_case_studies_file
from observatory.scoring import ScoreResult, answers_for, score_assessment
from observatory.self_assessment import radar_series
from observatory.stages import UNKNOWN_STAGE, national_stage_of_ars, national_stages, stage_label

AGE_STRUCTURE_NOTE = (
    "Structure par âge : absente des données ouvertes chargées par le build (COG 2026 de l'INSEE, APL de la DREES),"
    " qui donnent la population municipale par commune, pas sa répartition par âge ; elle n'est pas estimée."
    " Une part des 80 ans ou plus, un effectif de professionnels ou tout autre indicateur par commune s'importe"
    " avec `python -m observatory import-indicator` (docs/import-indicateur.md) et s'affiche alors ci-dessous."
)
ASSOCIATION_EVENT = "association"
NOT_ENGAGED_LABEL = "Pas encore engagée à cette date"
CPTS_SERIES_COLOUR = "#2c7fb8"


def _none_if_missing(value):
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value


def _as_date(value) -> dt.date | None:
    value = _none_if_missing(value)
    return None if value is None else pd.Timestamp(value).date()


def fr_date(value) -> str:
    day = _as_date(value)
    return "" if day is None else day.strftime("%d/%m/%Y")


def fr_euros(amount: float | None) -> str:
    return "non calculable" if amount is None else f"{format_number(float(amount), 0)} €"


# ---------------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------------


# The ARS stage vocabulary is the gradation of the ARS Île-de-France that the thesis uses (Q2).
ARS_GRADATION_REGION = "11"


def ars_stage_heading(region_code: str | None) -> str:
    """How the ARS stage is introduced: the gradation is Île-de-France's; elsewhere it is the thesis's grid,
    not the CPTS's own ARS (« gradation de l'ARS Île-de-France » for a CPTS of Ain misled)."""
    if region_code == ARS_GRADATION_REGION:
        return "Stade dans la gradation de l'ARS Île-de-France"
    return "Stade dans la gradation ARS de la thèse (grille de l'ARS Île-de-France, appliquée à toutes les régions)"


@dataclass(frozen=True)
class ProfileIdentity:
    cpts_id: str
    name: str
    register_id: str
    register_name: str
    register_kind: str
    is_demo: bool
    as_of: dt.date | None
    stage_code: str | None  # national stage at as_of; None: not engaged yet; 'inconnu': no date at all
    stage_label: str
    ars_stage_code: str | None
    ars_stage_label: str | None
    national_equivalent_label: str | None  # national stage of the ARS stage, when no date is known
    association_date: dt.date | None
    population_count: int | None
    population_source: str
    size_class: int | None
    size_class_label: str
    communes_count: int
    departements: tuple[str, ...]  # « 93 – Seine-Saint-Denis »
    main_departement_code: str | None
    region_code: str | None
    notes: str | None

    @property
    def has_territory(self) -> bool:
        return self.communes_count > 0


def profile_identity(
    cpts: Mapping,
    register: Mapping,
    summary: Mapping | None,
    departement_names: Mapping[str, str],
    departement_regions: Mapping[str, str],
    published_population: float | None = None,
) -> ProfileIdentity:
    """``cpts``: a row of ``queries.list_cpts``/``find_cpts``; ``register``: a row of
    ``queries.list_registers``; ``summary``: its row of ``coverage.cpts_summary`` at the register's
    date (None when the CPTS has no territory); ``published_population``: the population a case study
    publishes (thesis Tableau 3), used only when the CPTS has no communes."""
    as_of = _as_date(register.get("as_of_date"))
    communes = int(summary["communes_count"]) if summary is not None else 0
    if communes > 0:
        population, population_source = int(summary["population_count"]), "somme des communes (population municipale, COG 2026)"
        dept_codes = [c for c in str(summary["departement_codes"]).split(", ") if c]
    elif published_population is not None and not pd.isna(published_population):
        population, population_source = int(published_population), "population publiée par la thèse (Tableau 3)"
        dept_codes = []
    else:
        population, population_source = None, "non renseignée"
        dept_codes = []
    main_dept = _none_if_missing(cpts.get("main_departement_code"))
    if not dept_codes and main_dept:
        dept_codes = [str(main_dept)]
    stage = summary["stage_code"] if summary is not None else None
    if summary is None:
        dates = [cpts.get(c) for c in ("preproject_date", "letter_of_intent_date", "health_project_date", "aci_date")]
        stage = UNKNOWN_STAGE if all(_none_if_missing(d) is None for d in dates) else None
    stage = _none_if_missing(stage)
    ars = _none_if_missing(cpts.get("ars_stage_code"))
    ars_label = stage_label(ars) if ars else None
    equivalent = stage_label(national_stage_of_ars(ars)) if ars and stage == UNKNOWN_STAGE else None
    klass = funding.size_class_or_none(population)
    region = departement_regions.get(str(main_dept)) if main_dept else None
    if region is None and dept_codes:
        region = departement_regions.get(dept_codes[0])
    return ProfileIdentity(
        cpts_id=str(cpts["cpts_id"]),
        name=str(cpts["name"]),
        register_id=str(register["register_id"]),
        register_name=str(register["name"]),
        register_kind=str(register["kind"]),
        is_demo=bool(cpts.get("is_demo")) or bool(register.get("is_demo")),
        as_of=as_of,
        stage_code=stage,
        stage_label=stage_label(stage) if stage else NOT_ENGAGED_LABEL,
        ars_stage_code=ars,
        ars_stage_label=ars_label,
        national_equivalent_label=equivalent,
        association_date=_as_date(cpts.get("association_date")),
        population_count=population,
        population_source=population_source,
        size_class=klass,
        size_class_label=funding.size_class_labels().get(klass, "non déterminée (population inconnue)") if klass else
        "non déterminée (population inconnue)",
        communes_count=communes,
        departements=tuple(f"{c} – {departement_names[c]}" if c in departement_names else c for c in dept_codes),
        main_departement_code=str(main_dept) if main_dept else (dept_codes[0] if dept_codes else None),
        region_code=region,
        notes=_none_if_missing(cpts.get("notes")),
    )


# ---------------------------------------------------------------------------------------------------
# Stage timeline
# ---------------------------------------------------------------------------------------------------


def stage_timeline(cpts: Mapping, as_of=None) -> pd.DataFrame:
    """One row per event: the association's creation (when known) then each national stage in order.

    Columns: event_code, event_label, rank (0 for the association), event_date (NaT: not reached or
    not known), is_reached (at ``as_of``; every dated event when ``as_of`` is None), date_text.
    """
    limit = to_timestamp(as_of) if as_of is not None else None
    stages = national_stages()
    any_stage_date = any(_none_if_missing(cpts.get(s["date_column"])) is not None for s in stages)
    rows = []
    association = _none_if_missing(cpts.get("association_date"))
    if association is not None:
        rows.append((ASSOCIATION_EVENT, "Création de l'association", 0, pd.Timestamp(association)))
    for s in stages:
        value = _none_if_missing(cpts.get(s["date_column"]))
        rows.append((s["stage_code"], s["label"], int(s["rank"]), pd.Timestamp(value) if value is not None else pd.NaT))
    frame = pd.DataFrame(rows, columns=["event_code", "event_label", "rank", "event_date"])
    frame["event_date"] = pd.to_datetime(frame["event_date"])
    dated = frame["event_date"].notna()
    frame["is_reached"] = dated & ((frame["event_date"] <= limit) if limit is not None else True)
    not_reached = "date non renseignée" if not any_stage_date else "non atteint"
    frame["date_text"] = [
        fr_date(d) if reached else (f"{fr_date(d)} (après la date du registre)" if pd.notna(d) else not_reached)
        for d, reached in zip(frame["event_date"], frame["is_reached"], strict=True)
    ]
    return frame


def stage_timeline_chart(timeline: pd.DataFrame, title: str = "Dates des stades") -> alt.TopLevelMixin | None:
    """Dated events on a time axis, one row per stage (None when nothing is dated)."""
    dated = timeline[timeline["event_date"].notna()].copy()
    if dated.empty:
        return None
    order = timeline.sort_values("rank")["event_label"].tolist()
    dated["date_text"] = dated["event_date"].map(fr_date)
    base = alt.Chart(dated).encode(
        x=alt.X("event_date:T", title="Date", axis=alt.Axis(format="%m/%Y")),
        y=alt.Y("event_label:N", title=None, sort=order, axis=alt.Axis(labelLimit=320)),
        tooltip=[alt.Tooltip("event_label:N", title="Étape"), alt.Tooltip("date_text:N", title="Date")],
    )
    rule = alt.Chart(dated).mark_line(color="#adb5bd").encode(
        x="event_date:T", y=alt.Y("event_label:N", sort=order), order="rank:Q"
    )
    points = base.mark_point(filled=True, size=120, color=CPTS_SERIES_COLOUR)
    labels = base.mark_text(align="left", dx=9, fontSize=12).encode(text="date_text:N")
    return (
        alt.layer(rule, points, labels)
        .properties(title=title, height=40 * len(order) + 40)
        .configure(locale=FRENCH_LOCALE)
    )


# ---------------------------------------------------------------------------------------------------
# Territory: what the map draws, population and APL next to the département, région and France
# ---------------------------------------------------------------------------------------------------


def units_to_draw(candidates: gpd.GeoDataFrame, member_codes: Iterable[str], margin_deg: float = 0.005) -> gpd.GeoDataFrame:
    """The CPTS's units plus the candidate units touching them (drawn pale, for context).

    ``margin_deg`` (about 500 m) absorbs the gaps that simplified contours leave between neighbours.
    """
    members = set(map(str, member_codes))
    is_member = candidates["commune_code"].isin(members)
    inside = candidates[is_member & candidates.geometry.notna()]
    if inside.empty:
        return candidates[is_member].reset_index(drop=True)
    zone = shapely.buffer(shapely.union_all(inside.geometry.to_numpy()), margin_deg)
    touching = candidates.geometry.intersects(zone).fillna(False)
    return candidates[is_member | touching].reset_index(drop=True)


def local_snapshot(snapshot: CoverageSnapshot, cpts_id: str, unit_codes: Iterable[str]) -> CoverageSnapshot:
    """The part of a register's snapshot the profile map needs: the drawn units and the CPTS's row.

    Small enough to cache per CPTS; statuses (overlap...) stay those computed on the whole register.
    """
    codes = set(map(str, unit_codes))
    return CoverageSnapshot(
        as_of=snapshot.as_of,
        register_region=snapshot.register_region,
        units=snapshot.units[snapshot.units["commune_code"].isin(codes)].reset_index(drop=True),
        cpts=snapshot.cpts[snapshot.cpts["cpts_id"] == cpts_id].reset_index(drop=True),
        links=snapshot.links[snapshot.links["cpts_id"] == cpts_id].reset_index(drop=True),
    )


TERRITORY_KINDS = ("cpts", "departement", "region", "france")


def population_rows(
    units: pd.DataFrame,
    member_codes: Iterable[str],
    cpts_label: str,
    departement: tuple[str, str] | None,
    region: tuple[str, str] | None,
) -> pd.DataFrame:
    """Population, units, area and density of the CPTS, its département, its région and France.

    ``units``: every territorial unit of France (``queries.territorial_units``); ``departement`` and
    ``region``: (code, name) or None. Columns: territory_kind, territory_code, territory_label,
    population_count, units_count, area_km2, density_per_km2 (population over the area of the units
    that have one).
    """
    members = set(map(str, member_codes))
    scopes = [("cpts", "", cpts_label, units["commune_code"].isin(members))]
    if departement is not None:
        scopes.append(("departement", departement[0], f"Département – {departement[1]}",
                       units["departement_code"] == departement[0]))
    if region is not None:
        scopes.append(("region", region[0], f"Région – {region[1]}", units["region_code"] == region[0]))
    scopes.append(("france", "FR", "France", pd.Series(True, index=units.index)))
    rows = []
    for kind, code, label, mask in scopes:
        part = units[mask]
        area = pd.to_numeric(part["area_km2"], errors="coerce")
        with_area = area.notna() & (area > 0)
        pop_with_area = part.loc[with_area, "population_count"].sum()
        rows.append({
            "territory_kind": kind, "territory_code": code, "territory_label": label,
            "population_count": int(part["population_count"].sum()), "units_count": int(len(part)),
            "area_km2": float(area[with_area].sum()) if with_area.any() else np.nan,
            "density_per_km2": float(pop_with_area / area[with_area].sum()) if with_area.any() else np.nan,
        })
    return pd.DataFrame(rows)


def territory_population_table(population: pd.DataFrame) -> pd.DataFrame:
    """Population, communes, area and density per territory (:func:`population_rows`), in French."""
    return pd.DataFrame({
        "Territoire": population["territory_label"],
        "Population municipale": population["population_count"].map(lambda v: format_number(v, 0)),
        "Communes": population["units_count"].map(lambda v: format_number(v, 0)),
        "Superficie (km²)": population["area_km2"].map(lambda v: format_number(v, 0)),
        "Densité (hab./km²)": population["density_per_km2"].map(lambda v: format_number(v, 1)),
    })


def territory_indicator_table(
    population: pd.DataFrame, by_year: Mapping[int, pd.DataFrame], entry: Mapping
) -> pd.DataFrame:
    """One catalogue indicator per territory (rows of :func:`population_rows`) and per year, with the
    share of the population below the catalogue's threshold when it has one. ``by_year``:
    ``indicators.indicator_by_territory`` for each year (its ``cpts`` row is the CPTS; the white-zone
    row is not shown here). French headers and number formats."""
    decimals = int(entry.get("decimals") or 0)
    threshold = entry.get("threshold_value")
    out = pd.DataFrame({"Territoire": population["territory_label"]})
    kinds = population["territory_kind"].tolist()
    for year in sorted(by_year):
        frame = by_year[year]
        values, shares = [], []
        for kind in kinds:
            rows = frame[frame["territory_kind"] == kind]
            row = rows.iloc[0] if len(rows) else None
            values.append(format_number(_none_if_missing(row["value"]) if row is not None else None, decimals))
            share = _none_if_missing(row["share_below_threshold_pct"]) if row is not None else None
            shares.append(f"{format_number(share, 1)} %" if share is not None else "n.d.")
        out[f"{year}"] = values
        if threshold is not None:
            out[f"Population sous le seuil de {format_number(threshold, 1)} ({year})"] = shares
    return out


@dataclass(frozen=True)
class TerritoryProfile:
    """Everything the territory section draws for one CPTS; small enough to cache per CPTS."""

    snapshot: CoverageSnapshot  # restricted to the drawn units (:func:`local_snapshot`)
    drawn_units: gpd.GeoDataFrame  # the CPTS's units and their neighbours, with geometries
    population: pd.DataFrame  # :func:`population_rows`
    indicator_tables: tuple[tuple[dict, pd.DataFrame], ...]  # (catalogue entry, :func:`territory_indicator_table`)


def territory_profile(
    snapshot: CoverageSnapshot,
    cpts_id: str,
    cpts_label: str,
    units: pd.DataFrame,
    candidate_geometries: gpd.GeoDataFrame,
    indicator_frames: Mapping[str, Mapping[int, IndicatorFrame]],
    departement: tuple[str, str] | None,
    region: tuple[str, str] | None,
) -> TerritoryProfile:
    """Assemble the territory of a CPTS from its register's snapshot (every unit of France), the
    candidate geometries (the units of its départements) and each catalogue indicator for every year
    (``indicator_frames[code][year]`` on every unit of France)."""
    members = snapshot.links.loc[snapshot.links["cpts_id"] == cpts_id, "commune_code"].astype(str).tolist()
    drawn = units_to_draw(candidate_geometries, members)
    names = {}
    if departement:
        names[departement[0]] = departement[1]
    if region:
        names[region[0]] = region[1]
    tables = []
    population = population_rows(units, members, cpts_label, departement, region)
    for by_year in indicator_frames.values():
        rows = {
            year: indicator_by_territory(data, snapshot, departement_code=departement[0] if departement else None,
                                         region_code=region[0] if region else None, cpts_ids=[cpts_id],
                                         area_names=names)
            for year, data in by_year.items()
        }
        entry = next(iter(by_year.values())).entry if by_year else {}
        tables.append((dict(entry), territory_indicator_table(population, rows, entry)))
    return TerritoryProfile(local_snapshot(snapshot, cpts_id, drawn["commune_code"]), drawn, population, tuple(tables))


def shown_indicators(catalogue: pd.DataFrame) -> list[str]:
    """Indicators shown on a profile: every headline indicator with a year (``indicator_catalogue.
    is_headline``: the APL, imported rates and counts, derived ones), not the sums that only serve as
    weights, nor a derived indicator marked ``on_profile: false`` (the density, already in the population
    table). Catalogue first (those with a reference threshold leading), then imported, then derived. A new
    catalogue row, import or derived definition shows up without code change."""
    from observatory.indicator_catalogue import is_headline

    rows = catalogue[[is_headline(r) and r.get("on_profile", True) is not False and r.get("years") is not None
                      and len(r["years"]) > 0 for r in catalogue.to_dict("records")]].copy()
    rows["origin_rank"] = rows["origin"].map({"catalogue": 0, "imported": 1, "derived": 2}).fillna(3)
    return rows.sort_values(["origin_rank", "threshold_value", "indicator_code"], na_position="last")[
        "indicator_code"].tolist()


# ---------------------------------------------------------------------------------------------------
# ACI funding
# ---------------------------------------------------------------------------------------------------


def missions_of(register_missions: pd.DataFrame, cpts_id: str) -> tuple[str, ...] | None:
    """Contracted missions of a CPTS; None when its register informs no mission at all (« non
    renseignées »), an empty tuple when the register does and this CPTS has none."""
    if register_missions.empty:
        return None
    codes = register_missions.loc[register_missions["cpts_id"] == cpts_id, "mission_code"].astype(str)
    order = {code: i for i, code in enumerate(funding.MISSION_CODES)}  # the grids' order, not the alphabet
    return tuple(sorted(codes, key=lambda code: (order.get(code, len(order)), code)))


@dataclass(frozen=True)
class FundingView:
    grid_id: str
    grid_label: str
    source: str
    source_date: str
    valid_from: dt.date
    is_in_force: bool  # the grid in force at the register's date
    size_class: int | None
    total_eur: int | None  # None: not computable (see status)
    maximum_eur: int | None  # published maximum of the size class
    status: str  # French sentence: what the total means, or why there is none
    components: pd.DataFrame  # one line per component of the grid (French columns)
    notes: tuple[str, ...]


def funding_views(
    population: int | None, missions: Sequence[str] | None, as_of=None, member_count: int | None = None
) -> list[FundingView]:
    """One view per dated grid (oldest first): every component with its amount for the size class and
    whether it counts in this CPTS's ceiling; a grid bonus (size 4, 100 members) counts when
    ``member_count`` meets it, and is named in the notes otherwise."""
    catalogue = funding.load_grids()
    in_force = None
    if as_of is not None:
        try:
            in_force = funding.grid_for_date(_as_date(as_of)).grid_id
        except funding.FundingError:
            in_force = None
    klass = funding.size_class_or_none(population)
    labels = {code: m.label for code, m in catalogue.missions.items()}
    views = []
    for grid in catalogue.grids.values():
        breakdown = funding.funding_ceiling(population, list(missions), grid.grid_id, member_count) if (
            klass is not None and missions is not None) else None
        counted = {line.component_code: line.amount_eur for line in breakdown.lines} if breakdown else {}
        rows = []
        for c in grid.components:
            if c.is_exceptional:
                kept = "non (montant exceptionnel, jamais ajouté au plafond annuel)"
            elif breakdown is None:
                kept = "missions non renseignées" if klass is not None else "population inconnue"
            elif c.component_code in counted:
                kept = "oui"
            elif breakdown.total_eur is None:
                kept = "non calculable"
            else:
                kept = "non"
            rows.append({
                "Composante": c.label,
                "Mission": labels.get(c.mission_code, "—") if c.mission_code else "—",
                f"Montant annuel maximal (taille {klass})" if klass else "Montant annuel maximal":
                    fr_euros(c.amounts_eur[klass]) if klass else "taille inconnue",
                "Compté dans le plafond": kept,
            })
        for bonus in grid.bonuses:
            if klass not in bonus.size_classes:
                continue
            if bonus.bonus_code in counted:
                kept = "oui"
            elif member_count is None:
                kept = f"non (nombre de membres non renseigné ; au moins {bonus.min_members} requis)"
            else:
                kept = f"non ({member_count} membres, au moins {bonus.min_members} requis)"
            rows.append({
                "Composante": bonus.label, "Mission": "—",
                f"Montant annuel maximal (taille {klass})": fr_euros(bonus.amount_eur), "Compté dans le plafond": kept,
            })  # fmt: skip
        maximum = grid.published_maximum_eur[klass] if klass else None
        if klass is None:
            status = "Plafond non calculable : population couverte inconnue, donc taille ACI inconnue."
        elif missions is None:
            status = (f"Plafond non calculable : missions contractualisées non renseignées dans ce registre. "
                      f"Maximum théorique pour la taille {klass} : {fr_euros(maximum)} par an.")
        elif breakdown.total_eur is None:
            status = " ".join(n for n in breakdown.notes if n.startswith("Plafond non calculable")) or (
                "Plafond non calculable avec cette grille.")
        elif not missions:
            status = (f"Aucune mission contractualisée : financement du fonctionnement seul, "
                      f"{fr_euros(breakdown.total_eur)} par an (maximum de la taille {klass} : {fr_euros(maximum)}).")
        else:
            status = (f"Plafond annuel pour {len(breakdown.missions)} mission(s) contractualisée(s) : "
                      f"{fr_euros(breakdown.total_eur)} (maximum de la taille {klass} : {fr_euros(maximum)}).")
        bonus = sum(b.amount_eur for b in grid.bonuses if b.bonus_code in counted)
        if bonus:
            status += f" Dont {fr_euros(bonus)} de majoration ({member_count} membres), hors maximum publié."
        views.append(FundingView(
            grid_id=grid.grid_id, grid_label=grid.label, source=grid.source, source_date=grid.source_date,
            valid_from=grid.valid_from, is_in_force=grid.grid_id == in_force, size_class=klass,
            total_eur=breakdown.total_eur if breakdown else None, maximum_eur=maximum, status=status,
            components=pd.DataFrame(rows),
            notes=(grid.ceiling_rule, *grid.notes, *(f"{b.label} : {b.source} {b.note}" for b in grid.bonuses)),
        ))
    return views


# ---------------------------------------------------------------------------------------------------
# Self-assessment history (radar series and peers: observatory.self_assessment and observatory.peers)
# ---------------------------------------------------------------------------------------------------


def score_history_frame(history: Sequence[tuple[object, ScoreResult]], instrument: Instrument) -> pd.DataFrame:
    """Long frame of overall and dimension scores per submission: submitted_at, series, score,
    scoring_version (oldest first; unscored values are left out, never drawn at 0)."""
    rows = []
    for submitted_at, result in history:
        when = pd.Timestamp(submitted_at)
        rows.append((when, "Score global", result.overall, result.scoring_version))
        for d in instrument.dimensions:
            score = result.dimensions[d.id].score if d.id in result.dimensions else None
            rows.append((when, d.label, score, result.scoring_version))
    frame = pd.DataFrame(rows, columns=["submitted_at", "series", "score", "scoring_version"])
    # Stable sort on the date only: series keep the questionnaire's order (global, Structure, Processus...).
    frame = frame[frame["score"].notna()].sort_values("submitted_at", kind="stable")
    return frame.reset_index(drop=True)


def score_history_chart(frame: pd.DataFrame, title: str = "Évolution des scores (sur 100)") -> alt.TopLevelMixin:
    data = frame.assign(date_text=frame["submitted_at"].map(fr_date), score_text=frame["score"].map(lambda v: format_number(v, 1)))
    order = ["Score global", *[s for s in dict.fromkeys(frame["series"]) if s != "Score global"]]  # legend order
    colour = alt.Color("series:N", title="Score", sort=order,
                       scale=alt.Scale(domain=order, range=["#252525", "#2c7fb8", "#41b6c4", "#d95f0e"][: len(order)]),
                       legend=alt.Legend(orient="bottom"))
    data["version_text"] = "notation v" + data["scoring_version"].astype(str)
    versions = sorted(dict.fromkeys(data["version_text"]))
    # Scores frozen with different model versions are never joined by a line: one line per series and
    # version, dashed for the older versions, the version in the legend and the tooltip.
    dash = alt.StrokeDash("version_text:N", title="Modèle de notation", sort=versions,
                          scale=alt.Scale(domain=versions, range=[[4, 3]] * (len(versions) - 1) + [[1, 0]]),
                          legend=alt.Legend(orient="bottom"))
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("submitted_at:T", title="Date de soumission", axis=alt.Axis(format="%m/%Y")),
        y=alt.Y("score:Q", title="Score (0 à 100)", scale=alt.Scale(domain=[0, 100])),
        color=colour, strokeDash=dash, detail="version_text:N",
        tooltip=[alt.Tooltip("series:N", title="Score"), alt.Tooltip("date_text:N", title="Soumise le"),
                 alt.Tooltip("score_text:N", title="Valeur"), alt.Tooltip("version_text:N", title="Modèle")],
    )
    return chart.properties(title=title, height=300).configure(locale=FRENCH_LOCALE)


RADAR_TITLES = {"subdimensions": "Sous-dimensions (19)", "dimensions": "Dimensions de Donabedian (3)"}
RADAR_SIZES_PX = {"subdimensions": 500, "dimensions": 320}


@dataclass(frozen=True)
class AssessmentView:
    """The self-assessment section of a profile, charts included (built once, then cached by the page)."""

    latest: Assessment  # the latest submitted assessment
    result: ScoreResult
    peers: PeerComparison | None
    radars: tuple[tuple[str, alt.TopLevelMixin], ...]  # (level, chart): sub-dimensions then dimensions
    history_chart: alt.TopLevelMixin | None
    submissions_count: int


def assessment_view(history: Sequence[Assessment], instrument: Instrument, cpts_label: str,
                    peers: PeerComparison | None = None) -> AssessmentView | None:
    """Radars of the latest submission (with the peer median only when ``peers.is_shown``) and the
    history of overall and dimension scores; None without any submission."""
    if not history:
        return None
    latest = history[-1]
    result = latest.score_result
    radars = []
    for level in ("subdimensions", "dimensions"):
        labels, series = radar_series(result, instrument, level, cpts_label=cpts_label, peers=peers)
        radars.append((level, radar_chart(series, labels, RADAR_TITLES[level], size_px=RADAR_SIZES_PX[level])))
    frame = score_history_frame([(a.submitted_at, a.score_result) for a in history], instrument)
    chart = score_history_chart(frame) if not frame.empty else None
    return AssessmentView(latest, result, peers, tuple(radars), chart, len(history))


def case_study_radars(result: ScoreResult, instrument: Instrument, cpts_label: str) -> tuple[tuple[str, alt.TopLevelMixin], ...]:
    """Radars of a case study's partial scores (no peers: the case studies are outside any register)."""
    out = []
    for level in ("subdimensions", "dimensions"):
        labels, series = radar_series(result, instrument, level, cpts_label=cpts_label)
        out.append((level, radar_chart(series, labels, RADAR_TITLES[level], size_px=RADAR_SIZES_PX[level])))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# Case studies (thesis Tableaux 3 to 7)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseStudyTable:
    table_ref: str
    title: str
    source_note: str
    figure_codes: tuple[str, ...]  # published row order
    has_reference: bool  # the table has an Île-de-France column


@lru_cache(maxsize=1)
def case_study_tables() -> tuple[CaseStudyTable, ...]:
    data = load_case_studies_file()
    return tuple(
        CaseStudyTable(t["table_ref"], t["title"], t.get("source_note", ""),
                       tuple(r["figure_code"] for r in t["rows"]), "idf" in t["columns"])
        for t in data["tables"]
    )


@lru_cache(maxsize=1)
def case_study_letters() -> dict[str, str]:
    """cpts_id of a case study -> its letter in the thesis (« A » ... « E »)."""
    return {c["cpts_id"]: c["column"] for c in load_case_studies_file()["cpts"]}


def case_study_table(figures: pd.DataFrame, cpts_id: str, table: CaseStudyTable, reference_id: str = "idf") -> pd.DataFrame:
    """A published table for one case study, in the thesis's row order: « Indicateur », its published
    value and, for Tableaux 3 and 5, the Île-de-France reference beside it."""
    letter = case_study_letters().get(cpts_id, cpts_id)
    part = figures[figures["table_ref"] == table.table_ref]
    own = part[part["cpts_id"] == cpts_id].set_index("figure_code")
    ref = part[part["cpts_id"] == reference_id].set_index("figure_code")
    rows = []
    for code in table.figure_codes:
        if code not in own.index:
            continue
        row = {"Indicateur": own.at[code, "label"], f"CPTS {letter}": own.at[code, "value_text"]}
        if table.has_reference:
            row["Île-de-France"] = ref.at[code, "value_text"] if code in ref.index else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def published_population(figures: pd.DataFrame, cpts_id: str) -> float | None:
    rows = figures[(figures["cpts_id"] == cpts_id) & (figures["figure_code"] == "population_count")]
    return None if rows.empty else _none_if_missing(rows.iloc[0]["value_num"])


def case_study_result(cpts_id: str, answers_by_case: Mapping[str, Mapping], instrument: Instrument,
                      model: ScoringModel) -> ScoreResult | None:
    """Scores of a case study's partial answers (``demo_assessments.load_case_study_answers``), scored
    leniently: the tables determine few questions, so completeness is low and the level undetermined."""
    letter = case_study_letters().get(cpts_id)
    answers = answers_by_case.get(letter) if letter else None
    if not answers:
        return None
    return score_assessment(instrument, model, answers_for(instrument, answers), strict=False)


def profile_workbook_sheets(identity: ProfileIdentity, timeline: pd.DataFrame, territory: TerritoryProfile | None,
                            funding: list[FundingView]) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The Fiche CPTS's tables as spreadsheet sheets (name -> frame) and the notes under them (source,
    date, demonstration), for ``exports.xlsx_bytes``."""
    when = f"{identity.as_of:%d/%m/%Y}" if identity.as_of else "date du registre"
    demo = ["CPTS fictive du registre de démonstration."] if identity.is_demo else []
    sheets = {"Identité": pd.DataFrame({
        "Rubrique": ["CPTS", "Registre", f"Stade au {when}", "Population", "Communes", "Taille ACI", "Départements"],
        "Valeur": [identity.name, identity.register_name, identity.stage_label, identity.population_count,
                   identity.communes_count, identity.size_class_label, ", ".join(identity.departements)],
    })}  # fmt: skip
    notes = {"Identité": [f"Population : {identity.population_source}.", *demo]}
    if len(timeline):
        sheets["Stades"] = timeline.rename(columns={"event_label": "Étape", "date_text": "Date"})[["Étape", "Date"]]
    if territory is not None:
        sheets["Population"] = territory_population_table(territory.population)
        notes["Population"] = [AGE_STRUCTURE_NOTE]
        for entry, table in territory.indicator_tables:
            name = str(entry["label"])[:31]
            sheets[name] = table
            notes[name] = [f"{entry['label']} ({entry['unit']})", str(entry.get("description") or "")]
    for view in funding:
        name = f"Plafond {view.grid_label}"[:31]
        sheets[name] = view.components
        notes[name] = [view.status, f"Source : {view.source} ({view.source_date}).", *view.notes]
    return sheets, notes
