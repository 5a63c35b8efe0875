"""What the « Couverture » page shows for an area, assembled from the coverage snapshot (pure: no database,
no Streamlit). The page's cache wrappers (``ui/cache_couverture.py``) call these with the frames of
:mod:`observatory.queries`; the tests call them on tiny inline data.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from observatory import coverage as cov
from observatory import indicators as ind
from observatory.coverage_map import Area
from observatory.view_state import ViewOptions

DROM_ZONE = "drom"
AREA_TITLES = {"france": "Chiffres par région", "region": "Chiffres par département – {name}",
               "departement": "CPTS actives dans le département – {name}"}  # fmt: skip


def fit_key(state, searches: int) -> str:
    """Changes when the map must be fitted again: another area, a commune found, a new search (``searches``
    counts them) — never a date or a selection change, which keep the user's pan and zoom."""
    return f"{state.scale}|{state.area_code}|{state.commune_code}|{searches}"


def area_of(level: str, code: str | None, departements: pd.DataFrame) -> Area:
    """The area's départements (``queries.departements``: departement_code, region_code, zone)."""
    if level == "france":
        return Area("france", None, tuple(departements["departement_code"]), False)
    column = "region_code" if level == "region" else "departement_code"
    rows = departements[departements[column] == code]
    overseas = bool(len(rows)) and bool((rows["zone"] == DROM_ZONE).all()) if "zone" in rows else False
    return Area(level, code, tuple(rows["departement_code"]), overseas)


def area_name(level: str, code: str | None, regions: Mapping[str, str], departements: Mapping[str, str]) -> str:
    if level == "region":
        return regions.get(code, str(code))
    if level == "departement":
        return f"{departements.get(code, code)} ({code})"
    return "France entière"


def area_table(snapshot: cov.CoverageSnapshot, level: str, code: str | None, regions: pd.DataFrame,
               departements: pd.DataFrame, stage_labels: Mapping[str, str]) -> pd.DataFrame:
    """France: one row per région; a région: one row per département of it; a département: one row per
    CPTS active at the date with a commune in it. French headers (display, CSV and XLSX)."""
    if level == "france":
        return cov.table_by_area(snapshot, "region", regions, stage_labels)
    if level == "region":
        table = cov.table_by_area(snapshot, "departement", departements, stage_labels)
        codes = set(departements.loc[departements["region_code"] == code, "departement_code"])
        return table[table["Code"].isin(codes)].reset_index(drop=True)
    ids = set(snapshot.links.loc[snapshot.links["departement_code"] == code, "cpts_id"])
    summary = snapshot.cpts[snapshot.cpts["is_active"] & snapshot.cpts["cpts_id"].isin(ids)]
    return cov.cpts_table(summary.sort_values(["name", "cpts_id"]), stage_labels)


def area_frames(cpts: pd.DataFrame, links: pd.DataFrame, units: pd.DataFrame, level: str, code: str | None):
    """(CPTS with a unit in the area, their territories, the area's units) for the series over time."""
    if level != "france":
        units = units[units[cov.AREA_LEVELS[level]] == code]
        ids = set(links.loc[links["commune_code"].isin(set(units["commune_code"])), "cpts_id"])
        cpts = cpts[cpts["cpts_id"].isin(ids)]
        links = links[links["cpts_id"].isin(ids)]
    return cpts, links, units


def indicator_rows(data: ind.IndicatorFrame, snapshot: cov.CoverageSnapshot, level: str, code: str | None,
                   regions: pd.DataFrame, departements: pd.DataFrame) -> pd.DataFrame:
    """The indicator over the CPTS of the area, its white zone and the enclosing areas up to France
    (France view: covered communes vs white zone vs France)."""
    if level == "france":
        by_status = ind.indicator_by_status(data, snapshot)
        france = ind.indicator_by_territory(data, snapshot, cpts_ids=[])
        return pd.concat([by_status, france[france["territory_kind"] == "france"]], ignore_index=True)
    names = regions.set_index("region_code")["name"]
    if level == "region":
        return ind.indicator_by_territory(data, snapshot, region_code=code, area_names={code: names.get(code, code)})
    depts = departements.set_index("departement_code")
    region_code = depts.loc[code, "region_code"]
    area_names = {code: depts.loc[code, "name"], region_code: names.get(region_code, region_code)}
    return ind.indicator_by_territory(data, snapshot, departement_code=code, area_names=area_names)


def view_options(register_ids: tuple[str, ...], regions: pd.DataFrame, departements: pd.DataFrame,
                 dates: list[str], default_date: str | None, cpts_ids, commune_codes,
                 register_region: str | None) -> ViewOptions:
    """What a link's values are matched against on the coverage pages. Régions are listed metropolitan
    first, by name (a list starting with Guadeloupe, code 01, opened « Région » on Guadeloupe)."""
    ordered = regions.assign(_drom=regions.get("zone", pd.Series("", index=regions.index)) == DROM_ZONE)
    ordered = ordered.sort_values(["_drom", "name"])
    depts = departements.sort_values("departement_code")
    return ViewOptions(
        register_ids=tuple(register_ids),
        region_codes=tuple(ordered["region_code"]),
        departement_regions=dict(zip(depts["departement_code"], depts["region_code"], strict=True)),
        dates=tuple(dates),
        default_date=default_date,
        cpts_ids=frozenset(cpts_ids),
        commune_codes=frozenset(commune_codes),
        default_region=register_region,
        default_scale="region" if register_region in set(regions["region_code"]) else "france",
    )


# ---------------------------------------------------------------------------------------------------
# Dates offered by the time control
# ---------------------------------------------------------------------------------------------------

# The time control starts in January 2019, the year of the interprofessional agreement (ACI) that funds CPTS.
DATE_START = "2019-01-01"


def date_options(cpts: pd.DataFrame, as_of: str | None, start: str = DATE_START) -> list[str]:
    """ISO dates offered by the time control: every month end from ``start`` up to the latest date of the
    register (its ``as_of`` date or its latest stage date, whichever is later), plus those two dates
    themselves, so that the register's own date is always a choice (the default)."""
    start_ts = cov.to_timestamp(start)
    known = [cov.to_timestamp(d) for d in (as_of, cov.latest_stage_date(cpts)) if d is not None]
    end = max(known) if known else pd.Timestamp.today().normalize()
    months = [d for d in cov.monthly_dates(cpts, start_ts, end) if d <= end]
    extra = [d for d in known if d >= start_ts]
    options = sorted(set(months) | set(extra)) or [start_ts + pd.offsets.MonthEnd(0)]
    return [d.date().isoformat() for d in options]


def default_date(options: list[str], as_of: str | None) -> str:
    """The register's date when offered, else the latest option."""
    if as_of is not None and cov.to_timestamp(as_of).date().isoformat() in options:
        return cov.to_timestamp(as_of).date().isoformat()
    return options[-1]


def format_date(iso: str) -> str:
    return f"{pd.Timestamp(iso):%d/%m/%Y}"


# ---------------------------------------------------------------------------------------------------
# CPTS of an area, map clicks
# ---------------------------------------------------------------------------------------------------


def cpts_ids_in_area(snapshot: cov.CoverageSnapshot, level: str, code: str | None) -> set[str]:
    """Every CPTS of the register (started or not) with at least one unit in the area."""
    column = cov.AREA_LEVELS[level]
    links = snapshot.links if column is None else snapshot.links[snapshot.links[column] == code]
    return set(links["cpts_id"])


def active_cpts_in_area(snapshot: cov.CoverageSnapshot, level: str, code: str | None) -> pd.DataFrame:
    """Rows of ``snapshot.cpts`` active at the snapshot date with a unit in the area, sorted by name."""
    ids = cpts_ids_in_area(snapshot, level, code)
    rows = snapshot.cpts[snapshot.cpts["is_active"] & snapshot.cpts["cpts_id"].isin(ids)]
    return rows.sort_values(["name", "cpts_id"]).reset_index(drop=True)


def cpts_id_of_feature(feature: Mapping | None, unit_cpts: Mapping[str, tuple]) -> str | None:
    """The CPTS designated by a clicked map feature (streamlit-folium's ``last_active_drawing``).

    A CPTS polygon carries its ``cpts_id``; a commune (département view, overlap layer) designates its
    most advanced CPTS (``unit_cpts``: commune_code -> cpts_ids, most advanced first); a département of
    the France view designates none.
    """
    if not isinstance(feature, Mapping):
        return None
    properties = feature.get("properties") or {}
    if properties.get("cpts_id"):
        return str(properties["cpts_id"])
    commune = properties.get("commune_code")
    if commune:
        ids = unit_cpts.get(str(commune)) or ()
        return str(ids[0]) if len(ids) else None
    return None


def unit_cpts_lookup(snapshot: cov.CoverageSnapshot, level: str, code: str | None) -> dict[str, tuple]:
    """commune_code -> its CPTS (most advanced first) for the communes a click can return: those of the
    département (département view) or the overlap communes drawn on the France and région maps."""
    units = snapshot.units
    if level == "departement":
        units = units[units["departement_code"] == code]
    else:
        units = units[units["cpts_count"] >= 2]
    return dict(zip(units["commune_code"], units["cpts_ids"], strict=True))
