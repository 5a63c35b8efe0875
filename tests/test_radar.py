"""Radar charts built with Altair: geometry in the spec, gaps for missing values, PNG rendering."""

from __future__ import annotations

import math
import time

import pytest

from observatory.radar import (
    LABEL_RADIUS,
    LABEL_WRAP_CHARS,
    RING_FRACTIONS,
    RadarError,
    RadarSeries,
    radar_chart,
    radar_png,
)

SUBDIMENSIONS = [
    "Niveau de maturité", "Identité professionnelle", "Population et territoire", "Acteurs du territoire", "Ressources",
    "Éthique et valeurs", "Gouvernance", "Système d'information et communication", "Organisation du travail",
    "Projet de santé", "Dynamique collective", "Accès aux soins – Médecin traitant",
    "Accès aux soins – Soins non programmés", "Coordination et continuité des soins", "Prévention",
    "Plan de réponse à une situation sanitaire exceptionnelle", "Intégration et accompagnement",
    "Qualité et pertinence", "Indicateurs",
]
DIMENSIONS = ["Structure", "Processus", "Résultats"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _layers(chart) -> dict[str, tuple[dict, list[dict]]]:
    """Layer name -> (layer spec, its rows), read from the Vega-Lite spec as a browser would get it."""
    spec = chart.to_dict()
    return {layer["name"]: (layer, spec["datasets"][layer["data"]["name"]]) for layer in spec["layer"]}


def _values(n: int, missing: tuple[int, ...] = ()) -> list[float | None]:
    return [None if i in missing else float(10 + (i * 37) % 90) for i in range(n)]


@pytest.mark.parametrize("labels", [SUBDIMENSIONS, DIMENSIONS], ids=["19 sous-dimensions", "3 dimensions"])
def test_complete_series_are_closed_polygons_with_one_point_per_axis(labels):
    n = len(labels)
    cpts, peers = _values(n), [50.0] * n
    chart = radar_chart(
        [RadarSeries("CPTS du Val", cpts, "filled"), RadarSeries("Médiane des pairs", peers, "dashed")],
        labels, "Profil",
    )
    layers = _layers(chart)
    points = layers["points"][1]
    for name, values in (("CPTS du Val", cpts), ("Médiane des pairs", peers)):
        rows = [r for r in points if r["series"] == name]
        assert [r["axis_label"] for r in rows] == labels
        assert [r["value"] for r in rows] == values
        for i, r in enumerate(rows):  # radius = value / max, angle from the top, clockwise
            assert math.hypot(r["x"], r["y"]) == pytest.approx(values[i] / 100, abs=1e-5)
            assert math.atan2(r["y"], r["x"]) == pytest.approx(
                math.atan2(math.sin(math.pi / 2 - 2 * math.pi * i / n), math.cos(math.pi / 2 - 2 * math.pi * i / n)),
                abs=1e-5,
            )
        outline = sorted((r for r in layers["outlines"][1] if r["series"] == name), key=lambda r: r["order"])
        assert len(outline) == n + 1 and (outline[0]["x"], outline[0]["y"]) == (outline[-1]["x"], outline[-1]["y"])
    fills = layers["fills"][1]
    assert {r["series"] for r in fills} == {"CPTS du Val"}  # only the CPTS is filled
    assert len(fills) == n + 1 and (fills[0]["x"], fills[0]["y"]) == (fills[-1]["x"], fills[-1]["y"])
    assert layers["fills"][0]["mark"]["filled"] is True


def test_styles_map_to_solid_and_dashed_lines_with_a_french_legend():
    chart = radar_chart(
        [RadarSeries("CPTS du Val", _values(3)), RadarSeries("Médiane nationale", [40.0, 40.0, 40.0], "dashed")],
        DIMENSIONS, "Profil par dimension",
    )
    layer, _ = _layers(chart)["outlines"]
    assert layer["encoding"]["strokeDash"]["scale"] == {"domain": ["CPTS du Val", "Médiane nationale"],
                                                        "range": [[1, 0], [6, 4]]}
    assert layer["encoding"]["color"]["legend"]["title"] == "Série"
    tooltip = _layers(chart)["points"][0]["encoding"]["tooltip"]
    assert [t["title"] for t in tooltip] == ["Série", "Axe", "Valeur"]


def test_rings_spokes_labels_and_shared_scale():
    chart = radar_chart([RadarSeries("CPTS", _values(19))], SUBDIMENSIONS, "Profil", max_value=100)
    layers = _layers(chart)
    rings = layers["rings"][1]
    assert sorted({r["ring"] for r in rings}, key=float) == [f"{f * 100:g}" for f in RING_FRACTIONS]
    for ring in {r["ring"] for r in rings}:
        vertices = sorted((r for r in rings if r["ring"] == ring), key=lambda r: r["order"])
        assert len(vertices) == 20 and (vertices[0]["x"], vertices[0]["y"]) == (vertices[-1]["x"], vertices[-1]["y"])
        assert math.hypot(vertices[0]["x"], vertices[0]["y"]) == pytest.approx(float(ring) / 100, abs=1e-5)
    assert len(layers["spokes"][1]) == 19
    label_rows = [row for name, (_, rows) in layers.items() if name.startswith("labels_") for row in rows]
    assert sorted(r["axis_label"] for r in label_rows) == sorted(SUBDIMENSIONS)
    for r in label_rows:
        assert " ".join(r["lines"]) == r["axis_label"]  # wrapped, nothing lost
        assert all(len(line) <= LABEL_WRAP_CHARS for line in r["lines"])
        assert math.hypot(r["x"], r["y"]) >= LABEL_RADIUS - 1e-6
    domains = set()
    for layer, _ in layers.values():
        for channel in ("x", "y"):
            assert layer["encoding"][channel]["axis"] is None
            domains.add(tuple(layer["encoding"][channel]["scale"]["domain"]))
    assert len(domains) == 1  # one shared x/y domain: circles stay circles


def test_missing_values_leave_a_gap_never_a_zero():
    missing = (5, 6, 12)
    values = _values(19, missing)
    chart = radar_chart([RadarSeries("CPTS du Val", values, "filled")], SUBDIMENSIONS, "Profil")
    layers = _layers(chart)
    points = layers["points"][1]
    assert len(points) == 19 - len(missing)
    assert not {SUBDIMENSIONS[i] for i in missing} & {r["axis_label"] for r in points}
    assert all(r["value"] > 0 for r in points)
    # Outline: runs of consecutive answered axes only, none passing through a missing axis or the centre.
    outline = layers["outlines"][1]
    segments = {}
    for r in outline:
        segments.setdefault(r["segment"], []).append(r)
    assert len(segments) == 2  # axes 7-11 and 13-4 (wrapping past the top)
    assert all((r["x"], r["y"]) != (0.0, 0.0) for r in outline)
    assert len(outline) == 19 - len(missing)
    # No shading at all when an axis is missing: a fill dipping to the centre would read as a zero.
    assert "fills" not in layers
    # The unanswered axes say so, greyed.
    label_rows = [r for name, (_, rows) in layers.items() if name.startswith("labels_") for r in rows]
    flagged = {r["axis_label"] for r in label_rows if r["missing"]}
    assert flagged == {SUBDIMENSIONS[i] for i in missing}
    assert all(r["text"].endswith("(non renseigné)") for r in label_rows if r["missing"])
    title = chart.to_dict()["title"]
    assert "non renseigné" in title["subtitle"][0] and "Éthique et valeurs" in title["subtitle"][0]


def test_a_series_with_no_answer_draws_nothing_but_keeps_its_legend_entry():
    chart = radar_chart(
        [RadarSeries("CPTS", [None, None, None]), RadarSeries("Médiane", [20.0, 30.0, 40.0], "dashed")],
        DIMENSIONS, "Profil",
    )
    layers = _layers(chart)
    assert {r["series"] for r in layers["points"][1]} == {"Médiane"}
    assert layers["outlines"][0]["encoding"]["color"]["scale"]["domain"] == ["CPTS", "Médiane"]


@pytest.mark.parametrize(
    ("series", "labels", "fragment"),
    [
        ([RadarSeries("CPTS", [1.0, 2.0])], DIMENSIONS, "2 valeurs pour 3 axes"),
        ([RadarSeries("CPTS", [1.0, 2.0])], ["A", "B"], "au moins 3 axes"),
        ([RadarSeries("CPTS", [10.0, 120.0, 30.0])], DIMENSIONS, "hors de \\[0, 100\\]"),
        ([RadarSeries("CPTS", [10.0, float("nan"), 30.0])], DIMENSIONS, "hors de"),
        ([RadarSeries("CPTS", [1.0, 2.0, 3.0], "pointillé")], DIMENSIONS, "style « pointillé » inconnu"),
        ([RadarSeries("A", [1.0, 2.0, 3.0]), RadarSeries("A", [1.0, 2.0, 3.0])], DIMENSIONS, "en double"),
        ([], DIMENSIONS, "Aucune série"),
    ],
)
def test_inconsistent_input_is_refused_in_french(series, labels, fragment):
    with pytest.raises(RadarError, match=fragment):
        radar_chart(series, labels, "Profil")


def test_png_rendering(capsys):
    chart = radar_chart(
        [RadarSeries("CPTS du Val", _values(19, (5,))), RadarSeries("Médiane des pairs", [50.0] * 19, "dashed")],
        SUBDIMENSIONS, "Profil par sous-dimension",
    )
    radar_png(chart, scale=1)  # warm-up: the first call starts the renderer's JavaScript engine
    start = time.perf_counter()
    png = radar_png(chart, scale=2)
    elapsed_ms = (time.perf_counter() - start) * 1000
    assert png.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 1000 and height > 1000  # scale 2 of a 520 px chart plus labels and legend
    with capsys.disabled():
        print(f"\n[radar] PNG 19 axes, 2 séries, échelle 2 : {elapsed_ms:.0f} ms, {len(png) / 1024:.0f} Kio")
