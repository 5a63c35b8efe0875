"""Benchmark of the « Financement » page's domain layer on the real analytical database, and the figures
of the threshold effect for every mapped register (the note of issue 12 quotes them from this output).

For each register: time to compute every CPTS's ceiling, the merger table and the allocation for France
and for one région; CPTS within 5 % of a class limit; the largest loss from merging two CPTS of the same
département; the alternative allocation's winners and losers in the région (proportional to population,
then weighted by low APL at full intensity).

    .venv/bin/python scripts/bench_financement.py [--db data/observatoire.duckdb] [--region 93]

Exit code 0 when the budget holds (France computed in under 3 s), 1 otherwise, 2 when the database is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from observatory import config, funding  # noqa: E402
from observatory import coverage as cov  # noqa: E402
from observatory import funding_allocation as al  # noqa: E402
from observatory import funding_analysis as fa  # noqa: E402
from observatory import indicators as ind  # noqa: E402
from observatory import queries as q  # noqa: E402
from observatory.db import DatabaseMissingError, open_readonly  # noqa: E402
from observatory.indicators import format_number  # noqa: E402

FRANCE_BUDGET_S = 3.0
NEED_INDICATOR, NEED_YEAR = "apl_mg", 2023


def eur(value: float) -> str:
    return format_number(value, 0) + " €"


def register_figures(con, units, register: dict, region_code: str, need_frame, need_entry) -> float:
    register_id = register["register_id"]
    as_of = (register["as_of_date"] or dt.date.today()).isoformat()[:10]
    cpts, links = q.list_cpts(con, register_id), q.cpts_units(con, register_id)
    recorded = fa.register_missions(q.cpts_missions(con, register_id), as_of)
    start = time.perf_counter()
    snapshot = cov.coverage_snapshot(units, cpts, links, as_of, register["region_code"])
    undated = bool((~snapshot.cpts["has_dates"]).any())
    grid_id = funding.grid_for_date(as_of).grid_id
    assumptions = fa.Assumptions(grid_id, "registre" if recorded is not None else "socles", undated)
    rows = fa.cpts_funding(snapshot.cpts, recorded, assumptions)
    mergers = fa.merger_effects(rows, snapshot.links, snapshot.units, grid_id)
    near = fa.near_limits(rows, grid_id)
    totals = fa.area_totals(rows, snapshot.links, snapshot.units)
    elapsed = time.perf_counter() - start
    print(f"\nRegistre « {register['name']} » ({register_id}), date {as_of}, grille {grid_id}, "
          f"missions : {fa.MISSION_RULES[assumptions.mission_rule]}"
          + (" ; CPTS sans date comptées comme signataires (hypothèse)" if undated else ""))
    print(f"  calcul France (couverture, plafonds, fusions, seuils) : {elapsed:.2f} s")
    print(f"  CPTS actives : {len(rows)} ; avec un plafond : {int(rows['ceiling_eur'].notna().sum())} ; "
          f"total des plafonds : {eur(totals.total_eur)} ; par habitant couvert : {totals.per_inhabitant_eur:.2f} €")
    by_limit = near.groupby("limit")["cpts_id"].nunique().to_dict()
    sides = near.groupby("side")["cpts_id"].nunique().to_dict()
    print(f"  CPTS à moins de 5 % d'une limite : {near['cpts_id'].nunique()} sur {int(rows['population_count'].notna().sum())} "
          f"(par limite : {by_limit} ; {sides})")
    aci_near = near[near["ceiling_eur"].notna()]
    print(f"    dont signataires : {aci_near['cpts_id'].nunique()} ; écart de plafond si elles passaient la limite : "
          f"de {eur(aci_near['ceiling_change_eur'].min()) if len(aci_near) else 'n.d.'} à "
          f"{eur(aci_near['ceiling_change_eur'].max()) if len(aci_near) else 'n.d.'}")
    if len(mergers):
        top = mergers.iloc[0]
        losing = mergers[mergers["loss_eur"] > 0]
        largest_class = max(c.size_class for c in funding.load_grids().size_classes)
        below4 = mergers[(mergers["population_a"].map(funding.size_class) < largest_class)
                         & (mergers["population_b"].map(funding.size_class) < largest_class)]
        print(f"  fusions de deux CPTS d'un même département : {len(mergers)} paires, {len(losing)} feraient perdre ; "
              f"plus forte perte : {eur(top['loss_eur'])} ({top['name_a']} + {top['name_b']}, {top['departement_code']} : "
              f"{eur(top['ceiling_apart_eur'])} séparées, {eur(top['ceiling_merged_eur'])} fusionnées, taille "
              f"{top['merged_size_class']})")
        if len(below4):
            b = below4.iloc[0]
            print(f"    entre deux CPTS sous la taille {largest_class} : {eur(b['loss_eur'])} ({b['name_a']} + "
                  f"{b['name_b']}, taille fusionnée {b['merged_size_class']})")
    area = fa.in_area(rows, snapshot.links, "region", region_code)
    ids = list(fa.with_ceiling(area)["cpts_id"])
    values, reference = al.need_values(need_frame.units, snapshot.links, ids, need_entry["aggregation"])
    for label, need in (("proportionnelle à la population", None),
                        (f"pondérée par l'APL {NEED_YEAR} (α = 1)",
                         al.NeedChoice(NEED_INDICATOR, need_entry["label"], need_entry["unit"], need_entry["direction"],
                                       NEED_YEAR, 1.0, values, reference))):
        allocation = al.alternative_allocation(area, need)
        table = allocation.table
        print(f"  région {region_code}, répartition {label} : enveloppe {eur(allocation.total_eur)} sur {len(table)} CPTS ; "
              f"Gini par habitant grille {allocation.gini_grid:.3f} → alternative {allocation.gini_alternative:.3f} ; "
              f"{allocation.winners_count} gagnantes, {allocation.losers_count} perdantes")
        for _, r in table.head(3).iterrows():
            print(f"    + {r['name']} ({format_number(r['population_count'], 0)} hab.) : {eur(r['ceiling_eur'])} → "
                  f"{eur(r['alternative_eur'])} ({r['difference_pct']:+.0f} %)")
        for _, r in table.tail(3).iloc[::-1].iterrows():
            print(f"    − {r['name']} ({format_number(r['population_count'], 0)} hab.) : {eur(r['ceiling_eur'])} → "
                  f"{eur(r['alternative_eur'])} ({r['difference_pct']:+.0f} %)")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai et chiffres de la page Financement")
    parser.add_argument("--db", default=str(config.database_path()))
    parser.add_argument("--region", default="93", help="région des répartitions alternatives (défaut : PACA)")
    args = parser.parse_args(argv)
    try:
        con = open_readonly(args.db)
    except DatabaseMissingError as error:
        print(error)
        return 2
    units = q.territorial_units(con)
    entry = ind.catalogue_entry(q.indicator_catalogue(con), NEED_INDICATOR)
    need_frame = ind.indicator_frame(entry, NEED_YEAR, q.indicator_values(con, NEED_INDICATOR, NEED_YEAR),
                                     q.indicator_values(con, entry["weight_indicator_code"], NEED_YEAR), units)
    registers = q.list_registers(con)
    worst = 0.0
    for register in registers[registers["kind"] != "case_study"].to_dict("records"):
        worst = max(worst, register_figures(con, units, register, args.region, need_frame, entry))
    print(f"\nBudget : calcul d'un registre pour la France en moins de {FRANCE_BUDGET_S:.0f} s — "
          f"{'OK' if worst <= FRANCE_BUDGET_S else 'DÉPASSÉ'} ({worst:.2f} s au pire)")
    return 0 if worst <= FRANCE_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
