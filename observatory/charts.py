"""Pure Altair chart builders for the coverage page (French titles, axes and number formats).

Every builder returns a finished chart (configured with a French locale: decimal comma, narrow space
for thousands, French month names), so pages only display it. Published national figures
(``coverage.published_national_figures``) are drawn as points next to the computed series, never in
place of them: their tooltips give source, date and definition.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from observatory.coverage import (
    STAGE_ORDER,
    stage_styles,
)
from observatory.funding import size_class_labels
from observatory.indicators import Classification, IndicatorFrame, format_number

TOTAL_LABEL = "Toutes les CPTS"
TOTAL_COLOR = "#252525"
# Fallback colours when no `stages` table is given: the vocabulary file's colours.

FRENCH_LOCALE = {
    "number": {"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]},
    "time": {
        "dateTime": "%A %e %B %Y à %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                   "octobre", "novembre", "décembre"],
        "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                        "nov.", "déc."],
    },
}  # fmt: skip


def _finish(chart: alt.TopLevelMixin, title: str) -> alt.TopLevelMixin:
    return chart.properties(title=title).configure(locale=FRENCH_LOCALE).configure_legend(labelLimit=320)


def _stage_scale(stages: pd.DataFrame | None, codes: list[str], with_total: bool) -> tuple[dict[str, str], alt.Scale]:
    labels, colors = stage_styles(stages)
    domain = [labels[c] for c in codes]
    rng = [colors.get(c, "#969696") for c in codes]
    if with_total:
        domain.append(TOTAL_LABEL)
        rng.append(TOTAL_COLOR)
    return labels, alt.Scale(domain=domain, range=rng)


def _published_points(published: pd.DataFrame, measure: str, label_of) -> pd.DataFrame:
    points = published[published["measure"] == measure].copy()
    points["series_label"] = points["stage"].map(label_of)
    points["value_text"] = [
        (f"{q} " if isinstance(q, str) and q else "") + format_number(v, 0 if float(v).is_integer() else 1)
        for q, v in zip(points["qualifier"], points["value"], strict=True)
    ]
    return points


PUBLISHED_TOOLTIP = [
    alt.Tooltip("source_label:N", title="Source"),
    alt.Tooltip("date_text:N", title="Date"),
    alt.Tooltip("value_text:N", title="Valeur publiée"),
    alt.Tooltip("stage_label:N", title="Stade compté"),
    alt.Tooltip("definition:N", title="Définition"),
]


def stage_counts_chart(
    counts: pd.DataFrame,
    stages: pd.DataFrame | None = None,
    published: pd.DataFrame | None = None,
    show_total: bool = True,
    title: str = "Nombre de CPTS par stade",
) -> alt.TopLevelMixin:
    """Lines: CPTS at each stage over time (``coverage.stage_counts_over_time``), plus the total;
    diamonds: published national counts (measure ``cpts_count``), coloured like the stage they count."""
    codes = [c for c in STAGE_ORDER if c in set(counts["stage_code"])]
    labels, scale = _stage_scale(stages, codes, show_total)
    data = counts.copy()
    data["series_label"] = data["stage_code"].map(labels)
    if show_total:
        total = data.groupby("date", as_index=False)["cpts_count"].sum().assign(series_label=TOTAL_LABEL)
        data = pd.concat([data[["date", "series_label", "cpts_count"]], total], ignore_index=True)
    color = alt.Color("series_label:N", title="Stade", scale=scale, sort=scale.domain)
    lines = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("date:T", title="Date", axis=alt.Axis(format="%Y", tickCount="year")),
            y=alt.Y("cpts_count:Q", title="Nombre de CPTS"),
            color=color,
            tooltip=[
                alt.Tooltip("date:T", title="Fin de mois", format="%B %Y"),
                alt.Tooltip("series_label:N", title="Stade"),
                alt.Tooltip("cpts_count:Q", title="CPTS", format=",d"),
            ],
        )
    )
    layers = [lines]
    if published is not None and len(published):

        def label_of(stage):
            return TOTAL_LABEL if stage == "tous" else labels.get(stage, stage)

        points = _published_points(published, "cpts_count", label_of)
        points = points[points["series_label"].isin(scale.domain)]
        if len(points):
            layers.append(
                alt.Chart(points)
                .mark_point(shape="diamond", size=90, filled=True, stroke="#000000", strokeWidth=0.6)
                .encode(x="date:T", y="value:Q", color=color, tooltip=PUBLISHED_TOOLTIP)
            )
    return _finish(alt.layer(*layers).properties(width="container", height=320), title)


def coverage_over_time_chart(
    series: pd.DataFrame,
    published: pd.DataFrame | None = None,
    title: str = "Part de la population couverte par une CPTS",
) -> alt.TopLevelMixin:
    """Line: covered share of the population over time (``coverage.coverage_over_time``); diamonds:
    published national shares (measure ``population_covered_pct``) with their source and definition."""
    data = series.assign(series_label="Registre (calculé)")
    line = (
        alt.Chart(data)
        .mark_line(interpolate="step-after", color=TOTAL_COLOR)
        .encode(
            x=alt.X("date:T", title="Date", axis=alt.Axis(format="%Y", tickCount="year")),
            y=alt.Y("coverage_pct:Q", title="Population couverte (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("date:T", title="Fin de mois", format="%B %Y"),
                alt.Tooltip("coverage_pct:Q", title="Couverte (%)", format=".1f"),
                alt.Tooltip("population_covered:Q", title="Habitants couverts", format=",d"),
            ],
        )
    )
    layers = [line]
    if published is not None and len(published):
        points = _published_points(published, "population_covered_pct", lambda s: s)
        if len(points):
            layers.append(
                alt.Chart(points)
                .mark_point(shape="diamond", size=90, filled=True, color="#e6550d")
                .encode(x="date:T", y="value:Q", tooltip=PUBLISHED_TOOLTIP)
            )
    return _finish(alt.layer(*layers).properties(width="container", height=280), title)


TERRITORY_COLORS = {
    "cpts": "#2171b5",
    "zone_blanche": "#e6a157",
    "departement": "#737373",
    "region": "#525252",
    "france": "#252525",
    "couvert": "#2171b5",
}


AXIS_LABEL_CHARS = 38  # what fits the axis of the comparison chart (the tooltip gives the whole name)


def distinct_short_labels(labels: list[str], max_chars: int = AXIS_LABEL_CHARS) -> list[str]:
    """Labels short enough for an axis and still telling the bars apart. A long label keeps its first word
    and its end (« [Démo] …Marseille 13e Arrondissement »): names of one area share their beginning
    (« [Démo] CPTS du secteur de Marse… » fourteen times over), not their end. A label that would then read
    like another is kept whole."""
    def shorten(label: str) -> str:
        if len(label) <= max_chars:
            return label
        head = label.split(" ", 1)[0]
        head = head if len(head) <= 10 else head[:9]
        return f"{head} …{label[-(max_chars - len(head) - 2):].lstrip()}"

    short = [shorten(str(label)) for label in labels]
    counts = pd.Series(short).value_counts()
    return [s if counts[s] == 1 else str(full) for s, full in zip(short, labels, strict=True)]


def indicator_comparison_chart(territories: pd.DataFrame, entry: dict, year: int) -> alt.TopLevelMixin:
    """Horizontal bars of an indicator over CPTS territories, white zone, département, région, France
    (``indicators.indicator_by_territory``), with the catalogue threshold as a dashed rule."""
    decimals = int(entry.get("decimals") or 0)
    data = territories.copy()
    data["value_text"] = data["value"].map(lambda v: format_number(v, decimals))
    data["axis_label"] = distinct_short_labels(data["territory_label"].astype(str).tolist())
    data["share_text"] = data["share_below_threshold_pct"].map(
        lambda v: "n.d." if pd.isna(v) else format_number(v, 1) + " %"
    )
    kinds = [k for k in TERRITORY_COLORS if k in set(data["territory_kind"])]
    tooltip = [
        alt.Tooltip("territory_label:N", title="Territoire"),
        alt.Tooltip("value_text:N", title=f"Valeur ({entry['unit']})"),
        alt.Tooltip("population_count:Q", title="Population", format=",d"),
        alt.Tooltip("units_with_value:Q", title="Communes avec une valeur", format=",d"),
    ]
    if entry.get("threshold_value") is not None:
        tooltip.append(
            alt.Tooltip("share_text:N", title=f"Population sous le {entry.get('threshold_label') or 'seuil'}")
        )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("axis_label:N", title=None, sort=list(data["axis_label"]), axis=alt.Axis(labelLimit=300)),
            # The chart's title names the indicator; the axis keeps the unit (long labels were cut off).
            x=alt.X("value:Q", title=entry["unit"]),
            color=alt.Color(
                "territory_kind:N",
                scale=alt.Scale(domain=kinds, range=[TERRITORY_COLORS[k] for k in kinds]),
                legend=None,
            ),
            tooltip=tooltip,
        )
    )
    text = bars.mark_text(align="left", dx=3, color="#222222").encode(text="value_text:N", color=alt.value("#222222"))
    layers = [bars, text]
    if entry.get("threshold_value") is not None:
        rule = pd.DataFrame(
            {"threshold": [entry["threshold_value"]], "label": [entry.get("threshold_label") or "seuil"]}
        )
        layers.append(
            alt.Chart(rule)
            .mark_rule(color="#d7191c", strokeDash=[4, 3])
            .encode(x="threshold:Q", tooltip=[alt.Tooltip("label:N", title="Seuil")])
        )
    height = max(120, 28 * len(data))
    return _finish(alt.layer(*layers).properties(width="container", height=height), f"{entry['label']} en {year}")


def indicator_distribution_chart(
    data: IndicatorFrame,
    classification: Classification | None = None,
    weight: str = "population",
    bins: int = 30,
) -> alt.TopLevelMixin:
    """Distribution of the communes' values: population (``weight='population'``) or number of communes
    per value bin, bars coloured by map class when ``classification`` is given; threshold as a rule."""
    if weight not in ("population", "communes"):
        raise ValueError(f"pondération inconnue : {weight!r} (attendu : population ou communes)")
    entry = data.entry
    frame = data.units[data.units["value"].notna()][["commune_code", "value", "population_count"]].copy()
    frame["class_label"] = (
        [classification.labels[int(i)] for i in classification.assign(frame["value"])] if classification else "Communes"
    )
    y = (
        alt.Y("sum(population_count):Q", title="Habitants", stack=True)
        if weight == "population"
        else alt.Y("count():Q", title="Communes", stack=True)
    )
    color = (
        alt.Color(
            "class_label:N",
            title="Classe",
            scale=alt.Scale(domain=classification.labels, range=classification.colors),
            sort=classification.labels,
        )
        if classification
        else alt.value("#6baed6")
    )
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=bins), title=f"{entry['label']} ({entry['unit']})"),
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("value:Q", bin=alt.Bin(maxbins=bins), title="Valeurs"),
                alt.Tooltip("count():Q", title="Communes", format=",d"),
                alt.Tooltip("sum(population_count):Q", title="Habitants", format=",d"),
            ],
        )
    )
    layers = [bars]
    if entry.get("threshold_value") is not None:
        rule = pd.DataFrame(
            {"threshold": [entry["threshold_value"]], "label": [entry.get("threshold_label") or "seuil"]}
        )
        layers.append(
            alt.Chart(rule)
            .mark_rule(color="#d7191c", strokeDash=[4, 3])
            .encode(x="threshold:Q", tooltip=[alt.Tooltip("label:N", title="Seuil")])
        )
    subject = "Population" if weight == "population" else "Communes"
    return _finish(
        alt.layer(*layers).properties(width="container", height=260),
        f"{subject} selon la valeur : {entry['label']} ({data.year})",
    )


def size_class_chart(cpts_summary: pd.DataFrame, title: str = "CPTS par taille ACI") -> alt.TopLevelMixin:
    """Bars: active CPTS per ACI size class (``coverage.cpts_summary``)."""
    active = cpts_summary[cpts_summary["is_active"] & cpts_summary["size_class"].notna()]
    counts = active.groupby("size_class").size().reindex(list(size_class_labels()), fill_value=0)
    data = pd.DataFrame({"size_label": [size_class_labels()[c] for c in counts.index], "cpts_count": counts.to_numpy()})
    chart = (
        alt.Chart(data)
        .mark_bar(color="#2171b5")
        .encode(
            x=alt.X("size_label:N", title="Taille (population couverte)", sort=list(data["size_label"]),
                    axis=alt.Axis(labelAngle=0, labelLimit=200)),
            y=alt.Y("cpts_count:Q", title="Nombre de CPTS"),
            tooltip=[alt.Tooltip("size_label:N", title="Taille"), alt.Tooltip("cpts_count:Q", title="CPTS")],
        )
    )  # fmt: skip
    return _finish(chart.properties(width="container", height=240), title)
