"""The radar's Vega-Lite spec, fast enough to rebuild at every answer of a live page.

Building the Altair chart (:func:`observatory.radar.radar_chart`) and converting it to a spec validates
every encoding against the Vega-Lite schema: 100 to 400 ms for a 19-axis radar, more than the page's
whole rerun budget. Between two answers only the *data* changes (the polygon's vertices, the points,
the "non renseigné" subtitle), never the layers, scales or encodings. So the spec is built once through
Altair for a given structure (axes, series names, styles and colours, title, size, which layers exist),
kept as a template, and each call only pours :func:`observatory.radar.radar_frames` into it as inline
values. The result is the same chart as ``radar_chart(...).to_dict()`` with its datasets inlined
(tested), so the radar's drawing rules stay in one place.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from observatory.radar import RadarSeries, _missing_subtitle, radar_chart, radar_frames

_MAX_TEMPLATES = 64
_templates: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()
_DATA_LAYERS = ("rings", "spokes", "ring_labels", "fills", "outlines", "points")


def _structure(series: Sequence[RadarSeries], axis_labels: Sequence[str], title: str, max_value: float, size_px: int,
               frames: dict[str, pd.DataFrame]) -> tuple:
    present = tuple(name for name in ("fills", "outlines", "points") if not frames[name].empty)
    return (tuple(axis_labels), tuple((s.name, s.style, s.colour) for s in series), title, float(max_value), int(size_px),
            present)


def _template(key: tuple, series: Sequence[RadarSeries], axis_labels: Sequence[str], title: str, max_value: float,
              size_px: int) -> dict[str, Any]:
    with _lock:
        cached = _templates.get(key)
        if cached is not None:
            _templates.move_to_end(key)
    if cached is None:
        spec = radar_chart(series, axis_labels, title, max_value=max_value, size_px=size_px).to_dict()
        spec.pop("datasets", None)
        for layer in spec["layer"]:
            layer.pop("data", None)
        spec.pop("title", None)
        cached = json.dumps(spec)
        with _lock:
            _templates[key] = cached
            while len(_templates) > _MAX_TEMPLATES:
                _templates.popitem(last=False)
    return json.loads(cached)


def _layer_values(name: str, frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    if name in _DATA_LAYERS:
        return frames[name].to_dict("records")
    _, align, baseline = name.split("_", 2)  # labels_<align>_<baseline>
    labels = frames["labels"]
    group = labels[(labels["align"] == align) & (labels["baseline"] == baseline)]
    return group.drop(columns=["align", "baseline"]).to_dict("records")


def radar_spec(series: Sequence[RadarSeries], axis_labels: Sequence[str], title: str, max_value: float = 100,
               size_px: int = 520) -> dict[str, Any]:
    """Vega-Lite spec (dict, data inline) of ``radar_chart(series, axis_labels, title, max_value, size_px)``."""
    frames = radar_frames(series, axis_labels, max_value)
    key = _structure(series, axis_labels, title, max_value, size_px, frames)
    spec = _template(key, series, axis_labels, title, max_value, size_px)
    for layer in spec["layer"]:
        layer["data"] = {"values": _layer_values(layer["name"], frames)}
    subtitle = _missing_subtitle(series, axis_labels, wrap_chars=max(40, int(size_px / 6.5)))
    spec["title"] = {"text": title, "subtitle": subtitle} if subtitle else {"text": title}
    return spec


def inline_datasets(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of an Altair spec with each layer's named dataset replaced by inline values (for comparison)."""
    out = copy.deepcopy(spec)
    datasets = out.pop("datasets", {})
    for layer in out.get("layer", []):
        data = layer.get("data")
        if isinstance(data, dict) and "name" in data:
            layer["data"] = {"values": datasets[data["name"]]}
    return out
