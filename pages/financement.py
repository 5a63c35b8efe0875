"""Financement : ce que la grille ACI implique pour une zone, où ses seuils mordent, ce qu'une fusion ou une
scission change, et une répartition de la même enveloppe proportionnelle à la population et aux besoins.
Every input lives in the link (see ui/financement_controls.py), so a scenario can be shared."""

import datetime as dt
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from observatory import funding
from observatory import profile as pf
from observatory.funding_analysis import CEILING_RULES, Assumptions
from observatory.funding_charts import outside_chart
from observatory.funding_scenario import ScenarioError
from observatory.safe_text import markdown_literal
from ui import cache, cache_couverture
from ui import cache_financement as cf
from ui import financement_controls as fc
from ui import financement_widgets as fw
from ui.couverture_widgets import register_source_text
from ui.frame import page_context
from ui.widgets import register_banner, source_caption

context = page_context()
st.title("Financement des CPTS")
register_banner(context)
st.caption("Plafonds annuels de la grille ACI (accord conventionnel interprofessionnel) à 100 % d'atteinte : ce que "
           "la grille prévoit, pas ce qui est versé. Aucun outil public ne simule ce financement : les hypothèses "
           "sont affichées et exportées avec les résultats.")
fc.forget_on_register_change(context.register_id)

path, register_id, region = context.db_path, context.register_id, context.register_region_code
as_of = context.register_as_of or dt.date.today().isoformat()
try:
    in_force = funding.grid_for_date(as_of).grid_id
except funding.FundingError:
    in_force = None
snapshot = cache_couverture.couverture_snapshot(path, register_id, as_of, region)
stage_labels = dict(zip(cache.stage_table(path)["stage_code"], cache.stage_table(path)["label"], strict=True))
has_undated = bool((~snapshot.cpts["has_dates"]).any())

# --- Zone, hypotheses, CPTS shown -----------------------------------------------------------------
linked = snapshot.cpts[snapshot.cpts["cpts_id"] == st.query_params.get(fc.P_CPTS)]
linked_dept = str(linked.iloc[0]["departement_codes"]).split(", ")[0] if len(linked) else None
area = fc.area_controls(cache.region_table(path), cache.departement_table(path), region, linked_dept)
hyp = fc.hypothesis_controls(in_force, cf.recorded_missions(path, register_id, as_of) is not None, has_undated)
if has_undated and hyp.unknown_as_aci:
    st.warning("Hypothèse : ce registre ne donne pas les stades des CPTS ; celles sans date sont comptées comme "
               "signataires de l'ACI. Décochez la case pour ne compter que les ACI connus.", icon=":material/help:")
base = Assumptions(hyp.grid_id, hyp.mission_rule, hyp.unknown_as_aci)
rows = cf.area_rows(path, register_id, as_of, region, base, area.level, area.code)
focus = fc.focus_control(rows)
focus_row = rows.set_index("cpts_id").loc[focus] if focus else None
bonus_classes = {c for b in funding.load_grids().grids[hyp.grid_id].bonuses for c in b.size_classes}
members = None
if focus_row is not None and pd.notna(focus_row["size_class"]) and int(focus_row["size_class"]) in bonus_classes:
    members = fc.members_control()  # the size-4 bonus needs the CPTS's member count
assumptions = Assumptions(hyp.grid_id, hyp.mission_rule, hyp.unknown_as_aci,
                          ((focus, int(members)),) if members is not None else ())
rows = cf.area_rows(path, register_id, as_of, region, assumptions, area.level, area.code)
if rows.empty:
    st.info("Aucune CPTS active dans cette zone à la date du registre : choisissez une autre zone.")
    st.stop()

# --- What the grid implies, where the thresholds bite -----------------------------------------------
tables = cf.area_tables(path, register_id, as_of, region, assumptions, area.level, area.code)
fw.render_overview(tables, rows, area.name, assumptions, stage_labels, as_of)
fw.render_thresholds(tables, cf.cliff_spec(path, register_id, as_of, region, assumptions, area.level, area.code, focus),
                     outside_chart(rows[rows["ceiling_eur"].notna()]))
if focus_row is not None:
    focus_row = rows.set_index("cpts_id").loc[focus]
    population = None if pd.isna(focus_row["population_count"]) else int(focus_row["population_count"])
    missions = tuple(focus_row["missions"]) if focus_row["ceiling_status"] != "missions non renseignées dans le registre" else None
    fw.render_focus(focus_row, pf.funding_views(population, missions, as_of, members), focus_row["stage_code"])

# --- Simulator: merge or split ------------------------------------------------------------------------
st.subheader("Simuler une fusion ou une scission")
all_rows = cf.funding_rows(path, register_id, as_of, region, assumptions)
scenario = fc.scenario_controls(rows, all_rows, cache_couverture.couverture_units(path), snapshot.links)
scenario_tables = {}
if scenario is not None:
    try:
        result = cf.scenario_result(path, register_id, as_of, region, assumptions, area.level, area.code, scenario)
    except ScenarioError as error:
        st.warning(markdown_literal(str(error), max_length=400))
    else:
        fw.render_scenario(result)
        scenario_tables = {"Scénario avant-après": result["comparison"], "Couverture avant-après": result["coverage"]}

# --- The same money, shared by population and need -----------------------------------------------------
st.subheader("Une autre répartition de la même enveloppe")
need_catalogue = cf.need_catalogue(path)
need = fc.need_controls(need_catalogue)
allocation = cf.allocation(path, register_id, as_of, region, assumptions, area.level, area.code,
                           need.indicator_code, need.year, need.intensity_pct)
need_label = allocation.need.label if allocation.need else None
allocation_table = fw.render_allocation(allocation, need_label)
if allocation.need is not None:
    source_id = need_catalogue.set_index("indicator_code").at[need.indicator_code, "source_id"]
    source_caption(cache.sources(path), [source_id], prefix=f"Indicateur de besoin (année {need.year})")

# --- National figures, link, exports ------------------------------------------------------------------
fw.render_national(
    cf.national_totals(path, register_id, as_of, region, assumptions) if region is None else None,
    cf.published_payments(), register_source_text(context.register_name, context.is_demo, context.register_kind,
                                                  context.register_as_of),
    context.is_demo, cf.left_out_figures(),
)
fc.sync_link(area, focus, hyp, has_undated, members, scenario, need)
link = "financement?" + urlencode({"registre": register_id, **st.query_params.to_dict()})
parameters = [
    ("Registre", context.register_name + (" (démonstration, CPTS fictives)" if context.is_demo else "")),
    ("Date", as_of), ("Zone", area.name), ("Hypothèses", fw.hypotheses_text(assumptions)),
    ("Scénario", result["description"] if scenario_tables else "aucun"),
    ("Répartition alternative", need_label or "proportionnelle à la population"),
    ("Lien du scénario", link), ("Règles", " ".join(CEILING_RULES)),
]  # fmt: skip
fw.render_exports(parameters, {
    "CPTS": fw.cpts_display(rows, stage_labels), "Par stade": tables["by_stage"], "Par mission": tables["by_component"],
    "Par grille": tables["by_grid"], "Proches d'une limite": fw.near_display(tables["near_limits"]),
    "Fusions": fw.merger_display(tables["mergers"]), **scenario_tables, "Répartition alternative": allocation_table,
    "Sommes versées publiées": fw.payments_display(cf.published_payments()),
}, f"financement_{area.code or 'france'}_{as_of}")  # fmt: skip
