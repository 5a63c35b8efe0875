"""Pure Altair chart builders of the model, the collective self-assessment and the regional synthesis
(French titles and axes, French number format). Pages only display what these return."""

from __future__ import annotations

import altair as alt
import pandas as pd

from observatory.charts import FRENCH_LOCALE

VERSION_COLOURS = ["#bdbdbd", "#2c7fb8", "#d95f0e", "#31a354"]
LEVEL_COLOURS = {"emergente": "#fdd49e", "en_structuration": "#fc8d59", "operationnelle": "#6baed6",
                 "consolidee": "#08519c", "non_determine": "#d9d9d9"}


def effective_weight_chart(table: pd.DataFrame, versions: list[str], top: int = 15,
                           bound_pct: float | None = None) -> alt.TopLevelMixin:
    """Grouped horizontal bars: effective weight (%) of the ``top`` heaviest questions of the last version,
    one bar per model version; a rule marks the published bound when given."""
    head = table.head(top)
    long = head.melt(id_vars=["Question", "Sous-dimension"], value_vars=[f"Poids effectif v{v} (%)" for v in versions],
                     var_name="Version", value_name="Poids")
    long["Version"] = long["Version"].str.extract(r"(v\d+)", expand=False)
    long["Libellé"] = long["Question"] + " — " + long["Sous-dimension"]
    order = list(head["Question"] + " — " + head["Sous-dimension"])
    y = alt.Y("Libellé:N", sort=order, title=None, axis=alt.Axis(labelLimit=330))
    bars = alt.Chart(long).mark_bar().encode(
        y=y,
        yOffset=alt.YOffset("Version:N", sort=[f"v{v}" for v in versions]),
        x=alt.X("Poids:Q", title="Part du score global que la question peut faire bouger (%)"),
        color=alt.Color("Version:N", title="Modèle", scale=alt.Scale(domain=[f"v{v}" for v in versions],
                                                                     range=VERSION_COLOURS[-len(versions):])),
        tooltip=[alt.Tooltip("Question:N"), alt.Tooltip("Sous-dimension:N"), alt.Tooltip("Version:N", title="Modèle"),
                 alt.Tooltip("Poids:Q", title="Poids effectif (%)", format=".1f")],
    )
    layers = [bars]
    if bound_pct is not None:
        rule = alt.Chart(pd.DataFrame({"borne": [bound_pct]})).mark_rule(color="#e6550d", strokeDash=[4, 3]).encode(
            x="borne:Q", tooltip=[alt.Tooltip("borne:Q", title="Borne publiée (%)")])
        layers.append(rule)
    chart = alt.layer(*layers).properties(height=alt.Step(11), width=420,
                                          title=f"Poids effectif des {len(head)} questions les plus lourdes")
    return chart.configure(locale=FRENCH_LOCALE).configure_legend(orient="bottom")


def answer_distribution_chart(counts: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """Stacked horizontal bars: for each answer option, how many respondents chose it, by profession.
    ``counts`` has columns Réponse, Profession, Répondants."""
    chart = alt.Chart(counts).mark_bar().encode(
        y=alt.Y("Réponse:N", title=None, sort=None, axis=alt.Axis(labelLimit=300)),
        x=alt.X("Répondants:Q", title="Répondants", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("Profession:N", title="Profession"),
        tooltip=["Réponse:N", "Profession:N", alt.Tooltip("Répondants:Q", format="d")],
    )
    return chart.properties(title=title, width=380).configure(locale=FRENCH_LOCALE).configure_legend(orient="bottom")


def level_distribution_chart(frame: pd.DataFrame, group_column: str, title: str,
                             level_labels: dict[str, str]) -> alt.TopLevelMixin:
    """Stacked bars of maturity levels per group (size class or stage). ``frame`` has the group column,
    ``level_id`` and ``CPTS`` (count; masked groups are absent)."""
    data = frame.assign(Niveau=frame["level_id"].map(level_labels))
    domain = [level_labels[k] for k in LEVEL_COLOURS if k in level_labels]
    # Horizontal bars: size-class and stage labels are long, they stay readable on the left.
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y(f"{group_column}:N", title=None, sort=None, axis=alt.Axis(labelLimit=230)),
        x=alt.X("CPTS:Q", title="CPTS évaluées", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("Niveau:N", title="Niveau de maturité", sort=domain,
                        scale=alt.Scale(domain=domain, range=[LEVEL_COLOURS[k] for k in LEVEL_COLOURS if k in level_labels])),
        order=alt.Order("level_order:Q"),
        tooltip=[f"{group_column}:N", "Niveau:N", alt.Tooltip("CPTS:Q", format="d")],
    )
    return (chart.transform_calculate(level_order=f"indexof({domain!r}, datum.Niveau)")
            .properties(title=title, height=alt.Step(34))
            .configure(locale=FRENCH_LOCALE).configure_legend(orient="bottom", columns=3, labelLimit=200))
