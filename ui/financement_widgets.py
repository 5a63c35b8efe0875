"""Renderers of the « Financement » page: they only display what ``observatory.funding_*`` computed
(through ``ui.cache_financement``). Text from a register (CPTS names) goes through
``safe_text.markdown_literal`` before any Markdown; tables are shown with ``ui.tables.show_table`` (never Markdown).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from observatory import exports, funding
from observatory import funding_allocation as al
from observatory import funding_analysis as fa
from observatory.funding import size_class_name
from observatory.indicators import format_number
from observatory.profile import FundingView
from observatory.safe_text import markdown_literal
from ui import fiche_widgets
from ui.tables import show_table

THESIS_QUOTE = (
    "« On se retrouve si on fait les deux communautés de communes avec un territoire de stade 4, plus de 200 000 "
    "et alors qu'on a 150.000 habitants en plus, on récupère 150.000 euros alors que si on fait 2 territoires, on a "
    "deux fois 350.000 euros. » — un médecin responsable de CPTS, thèse, section 4.3 (« Les modalités de "
    "financement des CPTS sont trop étroitement liées aux seuils de la population couverte »)."
)
TOP = 10


def eur(amount) -> str:
    return "n.d." if amount is None or pd.isna(amount) else f"{format_number(float(amount), 0)} €"


def eur_short(amount) -> str:
    """« 5,15 M€ », « 26,7 M€ », « 210 M€ » above a million (a metric stays readable at 1024 px), else « 287 500 € »."""
    if amount is None or pd.isna(amount):
        return "n.d."
    value = abs(float(amount))
    if value < 1e6:
        return eur(amount)
    return f"{format_number(float(amount) / 1e6, 2 if value < 1e7 else 1 if value < 1e8 else 0)} M€"


def eur2(amount) -> str:
    return "n.d." if amount is None or pd.isna(amount) else f"{format_number(float(amount), 2)} €"


def hypotheses_text(assumptions: fa.Assumptions) -> str:
    grid = funding.load_grids().grids[assumptions.grid_id]
    unknown = " ; CPTS au stade inconnu comptées comme signataires (hypothèse)" if assumptions.unknown_stage_as_aci else ""
    return (f"Grille : {grid.label} — {grid.source} ({grid.source_date}), appliquée à partir du "
            f"{grid.valid_from:%d/%m/%Y}. Missions : {fa.MISSION_RULES[assumptions.mission_rule].lower()}{unknown}.")


# --- what the grid implies -------------------------------------------------------------------------


def cpts_display(rows: pd.DataFrame, stage_labels: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({
        "CPTS": rows["name"], "Stade à la date": rows["stage_code"].map(lambda s: stage_labels.get(s, s)),
        "ACI": rows["aci_basis"], "Population": rows["population_count"],
        "Taille ACI": rows["size_class"].map(lambda c: size_class_name(c, "")),
        "Missions": rows["missions"].map(len), "Plafond annuel (€)": rows["ceiling_eur"].round(0).astype("Int64"),
        "Plafond par habitant (€)": rows["per_inhabitant_eur"].round(2), "Statut": rows["ceiling_status"],
        "Départements": rows["departement_codes"],
    })  # fmt: skip


def render_overview(tables: dict, rows: pd.DataFrame, area_name: str, assumptions: fa.Assumptions,
                    stage_labels: Mapping[str, str], as_of: str) -> None:
    totals: fa.AreaTotals = tables["totals"]
    st.subheader(f"Ce que la grille implique — {markdown_literal(area_name)}")
    cols = st.columns(4)
    cols[0].metric("CPTS avec ACI", f"{totals.aci_count} / {totals.cpts_count}",
                   help="CPTS signataires de l'ACI parmi les CPTS actives à la date ayant une commune dans la zone ; "
                   "les autres n'ont pas de plafond.")  # fmt: skip
    cols[1].metric("Plafond total", eur_short(totals.total_eur), help=fa.CEILING_RULES[0])
    cols[2].metric("Par habitant", eur2(totals.per_inhabitant_eur), help=fa.CEILING_RULES[2])
    cols[3].metric("Habitants couverts", eur_short(totals.covered_population).replace(" M€", " M").replace(" €", ""),
                   help="Habitants des communes des CPTS ayant un plafond, chacun une fois.")
    st.caption(f"Plafond annuel total : {eur(totals.total_eur)} pour {format_number(totals.covered_population, 0)} "
               f"habitants couverts. État au {pd.Timestamp(as_of):%d/%m/%Y}. {hypotheses_text(assumptions)} "
               f"{fa.CEILING_RULES[0]}")
    grid = funding.load_grids().grids[assumptions.grid_id]
    if totals.size4_count and grid.bonuses and not assumptions.member_counts:
        bonus = grid.bonuses[0]
        st.info(f"{totals.size4_count} CPTS de taille 4 : jusqu'à {eur(bonus.amount_eur)} de plus chacune si elles "
                f"comptent au moins {bonus.min_members} membres (avenant 2). Le registre ne donne pas le "
                "nombre de membres : la majoration n'est pas comptée ; détaillez une CPTS pour la saisir.",
                icon=":material/groups:")  # fmt: skip
    if totals.not_computable_count:
        st.warning(f"{totals.not_computable_count} CPTS signataires n'ont pas de plafond calculable avec ces "
                   "hypothèses (voir la colonne « Statut »).")
    stage_tab, mission_tab, grid_tab, without_tab, all_tab = st.tabs(
        ["Par stade", "Par mission", "Par grille", f"Sans ACI ({totals.without_aci_count})", "Toutes les CPTS"]
    )
    show_table(tables["by_stage"], stage_tab)
    stage_tab.caption(fa.CEILING_RULES[1])
    show_table(tables["by_component"], mission_tab)
    mission_tab.caption("Somme, sur les CPTS ayant un plafond, de chaque ligne de la grille qu'elles reçoivent.")
    show_table(tables["by_grid"], grid_tab)
    grid_tab.caption("Mêmes CPTS, mêmes missions, sous chaque grille datée : les deux grilles sont réelles et "
                     "aucune n'écrase l'autre.")
    without = rows[~rows["has_aci"]]
    show_table(cpts_display(without, stage_labels)[["CPTS", "Stade à la date", "ACI", "Population", "Taille ACI"]],
               without_tab)
    without_tab.caption("CPTS actives sans ACI signé à la date : montrées à part, sans plafond.")
    show_table(cpts_display(rows, stage_labels), all_tab)


# --- thresholds -------------------------------------------------------------------------------------


def near_display(near: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "CPTS": near["name"], "Population": near["population_count"],
        "Limite (hab.)": near["limit"], "Écart à la limite (%)": near["gap_pct"].round(1), "Position": near["side"],
        "Taille": near["size_class"].map(size_class_name),
        "Plafond actuel (€)": near["ceiling_eur"].round(0).astype("Int64"),
        "Si elle passait la limite (€)": near["ceiling_change_eur"].round(0).astype("Int64"),
    })  # fmt: skip


def merger_display(mergers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "CPTS A": mergers["name_a"], "CPTS B": mergers["name_b"], "Département": mergers["departement_code"],
        "Population A": mergers["population_a"], "Population B": mergers["population_b"],
        "Population fusionnée": mergers["merged_population"],
        "Taille fusionnée": mergers["merged_size_class"].map(size_class_name),
        "Deux plafonds (€)": mergers["ceiling_apart_eur"].round(0).astype("int64"),
        "Plafond fusionné (€)": mergers["ceiling_merged_eur"].round(0).astype("int64"),
        "Perte (€)": mergers["loss_eur"].round(0).astype("int64"),
    })  # fmt: skip


def render_thresholds(tables: dict, spec: dict, outside: int) -> None:
    near, mergers = tables["near_limits"], tables["mergers"]
    st.subheader("Où les seuils mordent")
    st.vega_lite_chart(spec=spec, width="stretch", theme=None)
    limits = ", ".join(format_number(v, 0) for v in funding.class_limits())
    st.caption(f"Traits : le plafond annuel par habitant que la grille donne à une CPTS de chaque population "
               f"(100 % d'atteinte) ; il saute à chaque limite de taille ({limits} habitants). Points : les CPTS de "
               "la zone ayant un plafond ; bandes : ±5 % autour de chaque limite."
               + (f" {outside} CPTS de moins de 10 000 habitants sont hors du graphique." if outside else ""))
    cols = st.columns(3)
    cols[0].metric("À ±5 % d'une limite", format_number(near["cpts_id"].nunique(), 0),
                   help="Population à moins de 5 % de 40 000, 80 000 ou 175 000 habitants, d'un côté ou de l'autre.")
    largest = mergers["loss_eur"].max() if len(mergers) else None
    cols[1].metric("Perte maximale d'une fusion", eur(largest),
                   help="Deux plafonds séparés moins le plafond de la CPTS fusionnée (même département).")
    median = mergers["loss_eur"].median() if len(mergers) else None
    cols[2].metric("Perte médiane d'une fusion", eur(median),
                   help=f"Sur les {len(mergers)} paires de CPTS ayant un plafond et partageant un département ; "
                   f"{int((mergers['loss_eur'] > 0).sum())} feraient perdre.")  # fmt: skip
    if len(near):
        st.markdown("**CPTS proches d'une limite de taille**")
        show_table(near_display(near))
    if len(mergers):
        st.markdown(f"**Les {min(TOP, len(mergers))} fusions les plus coûteuses** (paires du même département)")
        show_table(merger_display(mergers.head(TOP)))
    with st.expander("Pourquoi ces seuils comptent (thèse)"):
        st.markdown(THESIS_QUOTE)
        st.markdown("La thèse propose de moduler le financement selon les besoins, « selon une logique "
                    "d'universalisme proportionné » (Discussion) : voir la répartition alternative plus bas.")


# --- one CPTS ---------------------------------------------------------------------------------------


def render_focus(row: pd.Series, views: list[FundingView], stage_code: str | None) -> None:
    st.subheader(f"Plafond de {markdown_literal(row['name'])}")
    population = row["population_count"]
    if pd.notna(population):
        limit = min(funding.class_limits(), key=lambda v: abs(int(population) - v))
        gap = (int(population) - limit) / limit * 100
        st.markdown(f"Population {format_number(int(population), 0)} habitants, taille {int(row['size_class'])} : "
                    f"à {format_number(abs(gap), 1)} % {'au-dessus' if gap >= 0 else 'en dessous'} de la limite de "
                    f"{format_number(limit, 0)} habitants.")  # fmt: skip
    labels = {code: m.label for code, m in funding.load_grids().missions.items()}
    fiche_widgets.render_funding(views, tuple(row["missions"]), labels, stage_code, title=None)


# --- scenario ---------------------------------------------------------------------------------------


def render_scenario(result: dict) -> None:
    st.markdown(markdown_literal(result["description"], max_length=400))
    st.markdown("**CPTS concernées, avant et après**")
    show_table(result["comparison"])
    before, after = result["population_before"], result["population_after"]
    if before == after:
        st.caption(f"Population des CPTS concernées conservée : {format_number(before, 0)} habitants avant et après.")
    else:
        st.caption(f"Population des CPTS concernées : {format_number(before, 0)} avant, {format_number(after, 0)} "
                   "après (une commune revendiquée par deux CPTS ne compte plus qu'une fois).")
    st.markdown("**Couverture de la zone, avant et après**")
    show_table(result["coverage"])
    st.caption("Fusion : la CPTS fusionnée couvre l'union des territoires, au stade le plus avancé de ses membres, "
               "avec l'union de leurs missions. Scission : une nouvelle CPTS hérite du stade et des missions de la CPTS "
               "d'origine ; une CPTS voisine garde les siens. Couverture et zones blanches recalculées comme sur la "
               "page Couverture.")


# --- alternative allocation -------------------------------------------------------------------------


def render_allocation(allocation: al.Allocation, need_label: str | None) -> pd.DataFrame:
    st.latex(al.FORMULA_LATEX)
    need = allocation.need
    if need is None:
        st.markdown("Avec $m_i = 1$ pour toutes : chaque CPTS reçoit la même somme par habitant. $T$ est la somme des "
                    "plafonds de la grille sur les CPTS de la zone qui en ont un ; $P_i$ la population de son territoire.")
    else:
        st.latex(al.MULTIPLIER_LATEX[need.direction] + rf",\quad R = {format_number(need.reference, 2)},\ "
                 rf"\alpha = {format_number(need.intensity, 1)}")
        st.markdown(f"$V_i$ : {markdown_literal(need.label)} ({need.year}) sur le territoire de la CPTS ; $R$ : la "
                    "même valeur sur l'ensemble de leurs communes ; $\\alpha$ : l'intensité. Une CPTS sans valeur "
                    "garde $m_i = 1$.")
    cols = st.columns(4)
    cols[0].metric("Enveloppe répartie (T)", eur_short(allocation.total_eur), help=eur(allocation.total_eur))
    cols[1].metric("Gini par habitant — grille", format_number(allocation.gini_grid, 3),
                   help="0 : chaque habitant porte le même montant ; plus c'est haut, plus les montants par habitant "
                   "diffèrent entre CPTS.")  # fmt: skip
    cols[2].metric("Gini par habitant — alternative", format_number(allocation.gini_alternative, 3))
    cols[3].metric("Gagnantes / perdantes", f"{allocation.winners_count} / {allocation.losers_count}")
    table = al.allocation_display(allocation.table, need_label)
    shown = ["CPTS", "Population", "Grille, par habitant (€)", "Alternative, par habitant (€)",
             "Plafond de la grille (€)", "Répartition alternative (€)", "Écart (€)", "Écart (%)"]  # fmt: skip
    gains, losses = table[table["Écart (€)"] > 0], table[table["Écart (€)"] < 0]
    st.markdown(f"**Les {min(TOP, len(gains))} qui gagnent le plus**")
    show_table(gains.head(TOP)[shown])
    st.markdown(f"**Les {min(TOP, len(losses))} qui perdent le plus**")
    show_table(losses.tail(TOP).iloc[::-1][shown])
    with st.expander(f"Toutes les CPTS ({len(table)})"):
        show_table(table)
    return table


# --- national figures -------------------------------------------------------------------------------


def payments_display(payments: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Année": payments["date"].dt.year, "Montant publié (€)": payments["value"].round(0).astype("int64"),
        "Source": payments["source_label"], "Règle de comptage": payments["definition"],
    })  # fmt: skip


def render_national(totals: fa.AreaTotals | None, payments: pd.DataFrame, register_text: str, is_demo: bool,
                    left_out: list[dict]) -> None:
    st.subheader("Plafonds calculés et sommes versées publiées")
    if totals is None:
        st.info("Ce registre ne couvre qu'une région : il ne donne pas de total national.")
    else:
        label = "Total des plafonds du registre (France)"
        st.metric(label, eur_short(totals.total_eur),
                  help=f"{totals.aci_count} CPTS avec un plafond ; {fa.CEILING_RULES[0]}")
        st.caption(register_text + (" Ce total porte sur des CPTS fictives : il ne se compare pas aux montants "
                                    "réels." if is_demo else ""))
    show_table(payments_display(payments))
    st.caption("L'application calcule des plafonds à 100 % d'atteinte des indicateurs, à une date, pour les CPTS du "
               "registre ; les montants publiés sont des sommes versées sur une année, dont la part variable dépend "
               "de l'atteinte réelle et le périmètre de la source. Les deux ne mesurent pas la même chose.")
    for item in left_out:
        st.caption(f"Non retenu : {item['candidate']} — {item['reason']}")


# --- exports ----------------------------------------------------------------------------------------


def render_exports(parameters: list[tuple[str, object]], tables: dict[str, pd.DataFrame], stem: str) -> None:
    st.subheader("Exporter le scénario")
    left, middle, right = st.columns([2, 3, 2])
    # Files are built only when a button is clicked (callables), not at every rerun of the page.
    left.download_button("Classeur XLSX (toutes les tables)", data=lambda: exports.xlsx_bytes({"Scénario": exports.parameters_frame(parameters), **tables}),
                         file_name=f"{stem}.xlsx", on_click="ignore", key="financement_xlsx",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    names = list(tables)
    chosen = middle.selectbox("Table en CSV", names, key="financement_csv_table", label_visibility="collapsed")
    right.download_button("CSV de cette table", data=lambda: exports.csv_bytes(tables[chosen]),
                          file_name=f"{stem}_{_slug(chosen)}.csv",
                          mime="text/csv", on_click="ignore", key="financement_csv")
    st.caption("CSV pour Excel (séparateur « ; », virgule décimale, UTF-8). Le classeur commence par les paramètres "
               "du scénario, dont le lien qui le rouvre.")


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c if c.isalnum() else "_" for c in plain).strip("_")
