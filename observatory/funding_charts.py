"""Pure Altair chart of the ACI threshold effect (French titles, axes and number formats).

The ceiling per inhabitant against population: one line segment per size class for the whole grid (the
jumps at 40 000, 80 000 and 175 000 are the cliffs), each CPTS of the selection as a point, the limits as
rules with a shaded ±5 % band. Logarithmic population axis (CPTS range from ten thousand to several hundred
thousand inhabitants), linear amount axis from 0 (so the jumps compare).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from observatory.charts import FRENCH_LOCALE
from observatory.funding import class_limits, size_class_labels
from observatory.funding_analysis import NEAR_LIMIT_SHARE
from observatory.indicators import format_number

POINT_COLOR = "#2c7fb8"
HIGHLIGHT_COLOR = "#d7301f"
CURVE_COLORS = ("#252525", "#969696", "#737373")


DOMAIN_LOW, DOMAIN_HIGH = 10_000, 400_000


def chart_domain(points: pd.DataFrame) -> tuple[int, int]:
    """Population range drawn: 10 000 to 400 000 inhabitants, widened to the largest CPTS. Smaller CPTS
    (a few thousand inhabitants, up to hundreds of euros per inhabitant) would flatten every cliff: the page
    counts them apart (:func:`outside_chart`)."""
    largest = points["population_count"].dropna()
    high = max(DOMAIN_HIGH, int(largest.max() * 1.1)) if len(largest) else DOMAIN_HIGH
    return DOMAIN_LOW, high


def outside_chart(points: pd.DataFrame) -> int:
    low, _ = chart_domain(points)
    return int((points["population_count"].dropna() < low).sum())


def cliff_chart(
    curve: pd.DataFrame,
    points: pd.DataFrame,
    highlight_id: str | None = None,
    title: str = "Plafond par habitant selon la population couverte",
) -> alt.TopLevelMixin:
    """``curve``: ``funding_analysis.cliff_curve``; ``points``: ``cpts_funding`` rows with a ceiling."""
    limits = list(class_limits())
    low, high = chart_domain(points)
    curve = curve[(curve["population_count"] >= low) & (curve["population_count"] <= high)]
    x_scale = alt.Scale(type="log", domain=[low, high], nice=False)
    x = alt.X("population_count:Q", title="Population couverte (échelle logarithmique)", scale=x_scale,
              axis=alt.Axis(labelExpr="format(datum.value, ',d')", labelOverlap=True))
    # A linear scale keeps each jump at a limit visible as a jump; it starts at 0 so heights compare.
    y_top = float(curve["per_inhabitant_eur"].max()) * 1.05 if len(curve) else 1.0
    y = alt.Y("per_inhabitant_eur:Q", title="Plafond annuel par habitant (€)", scale=alt.Scale(domain=[0, y_top]))
    series = list(dict.fromkeys(curve["series"]))
    color = alt.Color("series:N", title="Grille (100 % d'atteinte)",
                      scale=alt.Scale(domain=series, range=list(CURVE_COLORS[: len(series)])),
                      legend=alt.Legend(orient="bottom", direction="vertical"))
    curve = curve.assign(segment=curve["series"] + " – " + curve["size_class"].astype(str),
                         ceiling_text=curve["ceiling_eur"].map(lambda v: format_number(v, 0) + " €"))
    lines = alt.Chart(curve).mark_line(strokeWidth=2).encode(
        x=x, y=y, color=color, detail="segment:N",
        tooltip=[alt.Tooltip("series:N", title="Missions"), alt.Tooltip("size_class:O", title="Taille"),
                 alt.Tooltip("ceiling_text:N", title="Plafond annuel")],
    )  # fmt: skip
    bands = pd.DataFrame({"low": [v * (1 - NEAR_LIMIT_SHARE) for v in limits],
                          "high": [v * (1 + NEAR_LIMIT_SHARE) for v in limits],
                          "limit": limits, "label": [f"{format_number(v, 0)} hab." for v in limits]})  # fmt: skip
    band = alt.Chart(bands).mark_rect(opacity=0.12, color="#e6550d").encode(
        x=alt.X("low:Q", scale=x_scale), x2="high:Q",
        tooltip=[alt.Tooltip("label:N", title="Limite de taille"),
                 alt.Tooltip("low:Q", title="À 5 % sous", format=",.0f"),
                 alt.Tooltip("high:Q", title="À 5 % au-dessus", format=",.0f")],
    )  # fmt: skip
    rules = alt.Chart(bands).mark_rule(color="#e6550d", strokeDash=[4, 3]).encode(x=alt.X("limit:Q", scale=x_scale))
    labels = alt.Chart(bands).mark_text(align="left", dx=3, dy=-6, color="#a63603", fontSize=11).encode(
        x=alt.X("limit:Q", scale=x_scale), y=alt.value(12), text="label:N"
    )
    size_labels = size_class_labels()
    dots = points.dropna(subset=["population_count", "per_inhabitant_eur"]).copy()
    dots = dots[(dots["population_count"] >= low) & (dots["population_count"] <= high)]
    dots["population_count"] = dots["population_count"].astype("int64")
    dots["is_highlight"] = dots["cpts_id"].eq(highlight_id) if highlight_id else False
    dots["size_text"] = dots["size_class"].map(lambda c: size_labels.get(int(c), "") if pd.notna(c) else "")
    dots["ceiling_text"] = dots["ceiling_eur"].map(lambda v: format_number(v, 0) + " €")
    dots["per_text"] = dots["per_inhabitant_eur"].map(lambda v: format_number(v, 2) + " €")
    dots = dots[["cpts_id", "name", "population_count", "per_inhabitant_eur", "is_highlight", "size_text",
                 "ceiling_text", "per_text"]]  # fmt: skip
    tooltip = [alt.Tooltip("name:N", title="CPTS"), alt.Tooltip("population_count:Q", title="Population", format=",d"),
               alt.Tooltip("size_text:N", title="Taille ACI"), alt.Tooltip("ceiling_text:N", title="Plafond annuel"),
               alt.Tooltip("per_text:N", title="Par habitant")]  # fmt: skip
    scatter = alt.Chart(dots).mark_circle(opacity=0.75).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.condition("datum.is_highlight", alt.value(HIGHLIGHT_COLOR), alt.value(POINT_COLOR)),
        size=alt.condition("datum.is_highlight", alt.value(160), alt.value(45)),
    )  # fmt: skip
    chart = alt.layer(band, rules, labels, lines, scatter).properties(width="container", height=380)
    return chart.properties(title=title).configure(locale=FRENCH_LOCALE).configure_legend(labelLimit=320)
