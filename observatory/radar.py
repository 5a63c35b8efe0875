"""Radar charts in Altair (which has no radar mark) for the CPTS profile and the printable report.

Geometry is computed here: axis *i* of *n* points at angle ``90° - 360°·i/n`` (first axis at the top,
then clockwise), a value *v* sits at radius ``v / max_value``. Layers: rings (25/50/75/100 % of the
scale) and spokes, one filled polygon (the CPTS) or outline (dashed for a peer median) per series,
points with a French tooltip, and wrapped axis labels at radius 1.15. Same x/y domain, axes hidden.

Missing values (``None``) are left as **gaps**, never drawn at 0: a 0 would claim the CPTS scored
nothing where it simply did not answer. The outline is interrupted on both edges adjacent to a
missing axis; a filled series is shaded only when every axis is answered (a shading that dips to the
centre at a missing axis reads as a zero); the label of an axis the first series leaves unanswered is
greyed and says « non renseigné »; and the subtitle lists the missing axes per series.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

STYLES = ("filled", "dashed", "line")
DEFAULT_COLOURS = ("#2c7fb8", "#d95f0e", "#636363", "#7570b3", "#1b9e77")
RING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
LABEL_RADIUS = 1.15
DOMAIN_HALF_WIDTH = 1.6  # room for the wrapped labels around the unit circle
LABEL_WRAP_CHARS = 22
DASH = {"filled": [1, 0], "line": [1, 0], "dashed": [6, 4]}


class RadarError(ValueError):
    """Inconsistent series or axes."""


MISSING_LABEL = "(non renseigné)"
MISSING_COLOUR = "#adb5bd"

@dataclass(frozen=True)
class RadarSeries:
    """One polygon: ``values`` aligned with the chart's axis labels, ``None`` for "non renseigné".

    ``style``: ``filled`` (the CPTS itself), ``dashed`` (a peer or national median), ``line``.
    """

    name: str
    values: Sequence[float | None]
    style: str = "filled"
    colour: str | None = None


def _angle(i: int, n: int) -> float:
    return math.pi / 2 - 2 * math.pi * i / n


def _xy(radius: float, i: int, n: int) -> tuple[float, float]:
    a = _angle(i, n)
    # round: keeps the spec small and stable (tests compare it), far below a pixel
    return round(radius * math.cos(a), 6), round(radius * math.sin(a), 6)


def _runs(present: list[bool]) -> list[list[int]]:
    """Maximal runs of consecutive answered axes, going round the circle (the last axis touches the first)."""
    n = len(present)
    if all(present):
        return [list(range(n)) + [0]]  # closed polygon: first vertex repeated
    start = next(i for i in range(n) if not present[i])  # begin right after a gap so no run wraps badly
    runs, current = [], []
    for k in range(1, n + 1):
        i = (start + k) % n
        if present[i]:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _check(series: Sequence[RadarSeries], axis_labels: Sequence[str], max_value: float) -> None:
    if len(axis_labels) < 3:
        raise RadarError(f"Un radar demande au moins 3 axes ({len(axis_labels)} fournis).")
    if not series:
        raise RadarError("Aucune série à dessiner.")
    if max_value <= 0:
        raise RadarError(f"Valeur maximale invalide : {max_value}.")
    names = [s.name for s in series]
    if len(set(names)) != len(names):
        raise RadarError(f"Noms de séries en double : {', '.join(names)}.")
    for s in series:
        if s.style not in STYLES:
            raise RadarError(f"Série « {s.name} » : style « {s.style} » inconnu (attendu : {', '.join(STYLES)}).")
        if len(s.values) != len(axis_labels):
            raise RadarError(
                f"Série « {s.name} » : {len(s.values)} valeurs pour {len(axis_labels)} axes."
            )
        for label, v in zip(axis_labels, s.values, strict=True):
            if v is None:
                continue
            if v != v or not 0 <= v <= max_value:
                raise RadarError(f"Série « {s.name} », axe « {label} » : valeur {v} hors de [0, {max_value:g}].")


def radar_frames(
    series: Sequence[RadarSeries], axis_labels: Sequence[str], max_value: float = 100
) -> dict[str, pd.DataFrame]:
    """The tidy geometry behind the chart (outlines, fills, points, rings, spokes, labels)."""
    _check(series, axis_labels, max_value)
    n = len(axis_labels)
    outline_rows, fill_rows, point_rows = [], [], []
    for s in series:
        present = [v is not None for v in s.values]
        if not any(present):
            continue
        for k, run in enumerate(_runs(present)):
            segment = f"{s.name}#{k}"
            for order, i in enumerate(run):
                x, y = _xy(s.values[i] / max_value, i, n)
                outline_rows.append({"series": s.name, "segment": segment, "order": order, "x": x, "y": y})
            if s.style == "filled" and all(present):
                for order, i in enumerate(run):
                    x, y = _xy(s.values[i] / max_value, i, n)
                    fill_rows.append({"series": s.name, "segment": segment, "order": order, "x": x, "y": y})
        for i, v in enumerate(s.values):
            if v is not None:
                x, y = _xy(v / max_value, i, n)
                point_rows.append({"series": s.name, "axis_label": axis_labels[i], "value": float(v), "x": x, "y": y})
    ring_rows = []
    for f in RING_FRACTIONS:
        for order, i in enumerate([*range(n), 0]):
            x, y = _xy(f, i, n)
            ring_rows.append({"ring": f"{f * max_value:g}", "order": order, "x": x, "y": y})
    spoke_rows = []
    label_rows = []
    first = series[0].values if series else [0.0] * n
    for i, label in enumerate(axis_labels):
        x, y = _xy(1.0, i, n)
        spoke_rows.append({"x": 0.0, "y": 0.0, "x2": x, "y2": y})
        # Side labels are centred vertically on their anchor, so a wrapped label grows both ways
        # instead of running into its neighbour; labels near the poles sit above/below, a bit further
        # out so they clear the side labels next to them.
        lx, ly = _xy(LABEL_RADIUS, i, n)
        side = abs(lx) > 0.45
        if not side:
            lx, ly = _xy(LABEL_RADIUS + 0.07, i, n)
        align = "left" if lx > 0.1 else "right" if lx < -0.1 else "center"
        baseline = "middle" if side else "bottom" if ly > 0 else "top"
        missing = first[i] is None and bool(series)
        shown = textwrap.wrap(label, LABEL_WRAP_CHARS) or [label]
        if missing:
            shown = [*shown, MISSING_LABEL]
        label_rows.append(
            {"axis_label": label, "lines": shown, "text": "\n".join(shown), "missing": missing,
             "x": lx, "y": ly, "align": align, "baseline": baseline}
        )
    ring_label_rows = []
    for f in RING_FRACTIONS:
        x, y = _xy(f, 0, n)
        ring_label_rows.append({"text": f"{f * max_value:g}", "x": x + 0.03, "y": y})
    return {
        "outlines": pd.DataFrame(outline_rows, columns=["series", "segment", "order", "x", "y"]),
        "fills": pd.DataFrame(fill_rows, columns=["series", "segment", "order", "x", "y"]),
        "points": pd.DataFrame(point_rows, columns=["series", "axis_label", "value", "x", "y"]),
        "rings": pd.DataFrame(ring_rows, columns=["ring", "order", "x", "y"]),
        "spokes": pd.DataFrame(spoke_rows, columns=["x", "y", "x2", "y2"]),
        "labels": pd.DataFrame(label_rows, columns=["axis_label", "lines", "text", "missing", "x", "y", "align",
                                                    "baseline"]),
        "ring_labels": pd.DataFrame(ring_label_rows, columns=["text", "x", "y"]),
    }


def radar_chart(
    series: Sequence[RadarSeries],
    axis_labels: Sequence[str],
    title: str,
    max_value: float = 100,
    size_px: int = 520,
) -> alt.LayerChart:
    """A radar chart as an Altair layer chart (works for the 19 sub-dimensions and the 3 dimensions)."""
    frames = radar_frames(series, axis_labels, max_value)
    names = [s.name for s in series]
    colours = [s.colour or DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i, s in enumerate(series)]
    dashes = [DASH[s.style] for s in series]
    domain = [-DOMAIN_HALF_WIDTH, DOMAIN_HALF_WIDTH]
    x = alt.X("x:Q", scale=alt.Scale(domain=domain), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=domain), axis=None)
    colour = alt.Color(
        "series:N",
        scale=alt.Scale(domain=names, range=colours),
        legend=alt.Legend(title="Série", orient="bottom", symbolType="stroke", symbolStrokeWidth=3),
    )
    stroke_dash = alt.StrokeDash("series:N", scale=alt.Scale(domain=names, range=dashes), legend=None)

    rings = alt.Chart(frames["rings"]).mark_line(color="#ced4da", strokeWidth=1).encode(
        x=x, y=y, detail="ring:N", order="order:Q"
    ).properties(name="rings")
    spokes = alt.Chart(frames["spokes"]).mark_rule(color="#ced4da", strokeWidth=1).encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q"
    ).properties(name="spokes")
    ring_labels = alt.Chart(frames["ring_labels"]).mark_text(
        align="left", baseline="middle", fontSize=10, color="#868e96"
    ).encode(x=x, y=y, text="text:N").properties(name="ring_labels")
    layers: list[alt.Chart] = [rings, spokes, ring_labels]
    if not frames["fills"].empty:
        layers.append(
            alt.Chart(frames["fills"]).mark_line(filled=True, fillOpacity=0.22, strokeWidth=0, interpolate="linear")
            .encode(x=x, y=y, color=colour, detail="segment:N", order="order:Q")
            .properties(name="fills")
        )
    if not frames["outlines"].empty:
        layers.append(
            alt.Chart(frames["outlines"]).mark_line(strokeWidth=2.5, interpolate="linear")
            .encode(x=x, y=y, color=colour, strokeDash=stroke_dash, detail="segment:N", order="order:Q")
            .properties(name="outlines")
        )
    if not frames["points"].empty:
        layers.append(
            alt.Chart(frames["points"]).mark_point(filled=True, size=45, opacity=1)
            .encode(
                x=x,
                y=y,
                color=colour,
                tooltip=[
                    alt.Tooltip("series:N", title="Série"),
                    alt.Tooltip("axis_label:N", title="Axe"),
                    alt.Tooltip("value:Q", title="Valeur", format=".0f"),
                ],
            )
            .properties(name="points")
        )
    # Vega-Lite has no align/baseline encoding: one text layer per (align, baseline) combination.
    labels = frames["labels"]
    for (align, baseline), group in labels.groupby(["align", "baseline"], sort=True):
        layers.append(
            # One string with line breaks rather than a list: Streamlit ships chart data as Arrow, and a
            # list column reaches Vega as the text "[a,b]" instead of two lines.
            alt.Chart(group.drop(columns=["align", "baseline"]))
            .mark_text(align=align, baseline=baseline, fontSize=11, lineHeight=13, lineBreak="\n")
            .encode(x=x, y=y, text="text:N", tooltip=[alt.Tooltip("axis_label:N", title="Axe")],
                    color=alt.condition("datum.missing", alt.value(MISSING_COLOUR), alt.value("#343a40")))
            .properties(name=f"labels_{align}_{baseline}")
        )
    subtitle = _missing_subtitle(series, axis_labels, wrap_chars=max(40, int(size_px / 6.5)))
    chart_title = alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title)
    return alt.layer(*layers).properties(
        title=chart_title, width=size_px, height=size_px, view=alt.ViewBackground(stroke=None)
    )


def _missing_subtitle(series: Sequence[RadarSeries], axis_labels: Sequence[str], wrap_chars: int = 80) -> list[str]:
    """One entry per series with gaps, wrapped so a long list never widens the chart beyond its size; when
    most axes are missing, the few answered ones are listed instead (shorter, same information)."""
    lines = []
    for s in series:
        missing = [label for label, v in zip(axis_labels, s.values, strict=True) if v is None]
        present = [label for label, v in zip(axis_labels, s.values, strict=True) if v is not None]
        if not missing:
            continue
        if not present:
            text = f"{s.name} : aucune valeur renseignée"
        elif len(missing) > len(present):
            text = f"{s.name} : renseigné seulement pour {', '.join(present)}"
        else:
            text = f"{s.name} : non renseigné pour {', '.join(missing)}"
        lines.extend(textwrap.wrap(text, wrap_chars))
    return lines


def radar_png(chart: alt.TopLevelMixin, scale: float = 2) -> bytes:
    """PNG bytes of a chart for the printable report (rendered offline by vl-convert, French number format)."""
    import vl_convert as vlc  # imported here: only the report needs the renderer

    return vlc.vegalite_to_png(chart.to_dict(), scale=scale, format_locale="fr-FR", allowed_base_urls=[])
