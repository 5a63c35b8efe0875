"""Draw a folium map through streamlit-folium's component from arguments prepared once (and cached).

Why not call ``st_folium`` on every run: for each call it renders the whole folium document again
(0.3 s for the France map), computes the bounds of every coordinate in Python (0.3 s) and, since folium
appends scripts each time a map is rendered, needs a fresh copy of the map (a deep copy recompiles
folium's Jinja templates: 0.3 s). :func:`prepare_map` does that work once and returns plain strings
(picklable, so ``st.cache_data`` keeps them); :func:`show_map` sends them to the same component with the
same arguments ``st_folium`` would send. This mirrors ``streamlit_folium.st_folium`` of the pinned
streamlit-folium 0.27.4 (requirements.txt); ``tests/test_page_couverture.py`` checks that both send the
same component arguments, so an upgrade that changes them fails a test instead of breaking maps.

View-related outputs (``bounds``, ``zoom``, ``center``) are not supported on purpose: asking for them
makes every pan or zoom rerun the page.

Dynamic updates: ``show_map(..., update=...)`` passes JavaScript as streamlit-folium's ``feature_group``
argument, which the component evaluates in the drawn map whenever it changes, without drawing the map
again (the « Couverture » map redraws a date, an area or a selection this way: ``observatory.coverage_map``).
The component's key depends on the map's script only, so the map stays in place while the update changes.

Payload: :func:`payload_bytes` is the one definition of what a map weighs, used by the page tests and by
every benchmark: the UTF-8 size of the JSON of the arguments that carry the map (script, header, HTML and
dynamic update), as the component receives them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import folium
import streamlit as st
import streamlit_folium

VIEW_OUTPUTS = {"bounds", "zoom", "center"}


@dataclass(frozen=True)
class PreparedMap:
    """What streamlit-folium's component needs to draw a map (strings only)."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    script_hash: str = field(default="", compare=False)  # streamlit-folium's hash of the script, computed once

    @property
    def payload_bytes(self) -> int:
        return payload_bytes({"script": self.script, "header": self.header, "html": self.html})


PAYLOAD_KEYS = ("script", "header", "html", "feature_group")


def payload_bytes(arguments: Mapping) -> int:
    """Bytes of a map as the component receives it: the JSON of its script, header, HTML and dynamic update
    (``arguments``: a :class:`PreparedMap`'s strings, or the ``json_args`` of a drawn component)."""
    carried = {k: arguments.get(k) for k in PAYLOAD_KEYS if arguments.get(k)}
    return len(json.dumps(carried).encode("utf-8"))


def _links(m: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """CSS and JS files the map's elements declare (the offline maps declare only local Leaflet)."""
    css, js = [], []

    def walk(element):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
        for child in getattr(element, "_children", {}).values():
            walk(child)

    walk(m)
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def prepare_map(m: folium.Map) -> PreparedMap:
    """Render ``m`` once into the component's arguments. ``m`` is consumed (its ids are rewritten)."""
    m.get_root().render()
    m.render()
    html = streamlit_folium._get_html(m)
    header = streamlit_folium._get_header(m)
    script = streamlit_folium._get_map_string(m)
    css, js = _links(m)
    # The hash streamlit-folium would compute on every run (a regex over the whole script): once here.
    script_hash = streamlit_folium.generate_js_hash(script, None, False)
    return PreparedMap(script, header, html, streamlit_folium.get_full_id(m), css, js, script_hash)


def register_component() -> None:
    """Register streamlit-folium's component with the running server. It registers itself when first imported
    inside a page run; the warm-up (``serve.py``) imports it earlier, outside any run, and the component's
    files would then answer 404."""
    from streamlit.components.v1.component_registry import ComponentRegistry

    ComponentRegistry.instance().register_component(streamlit_folium._component_func)


def show_map(
    prepared: PreparedMap,
    key: str,
    height: int,
    returned_objects: Iterable[str] = (),
    on_change: Callable[[], None] | None = None,
    update: str | None = None,
) -> dict:
    """Draw a prepared map (full width). Returns the requested outputs of the last interaction; after a
    change ``st.session_state[key]`` holds them too, as with ``st_folium`` (use it in ``on_change``).
    ``update``: JavaScript run in the drawn map whenever it changes (see the module's docstring)."""
    returned = list(returned_objects)
    if VIEW_OUTPUTS & set(returned):
        raise ValueError(f"sorties de vue non prises en charge (chaque déplacement relancerait la page) : {returned}")
    if prepared.script_hash:
        hash_key = hashlib.sha256(f"{prepared.script_hash}|{key}".encode()).hexdigest()
    else:
        hash_key = streamlit_folium.generate_js_hash(prepared.script, key, False)

    def _on_change():
        st.session_state[key] = st.session_state.get(hash_key, {})
        if on_change is not None:
            on_change()

    return streamlit_folium._component_func(
        script=prepared.script,
        header=prepared.header,
        html=prepared.html,
        id=prepared.map_id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=returned,
        default={name: None for name in returned},
        zoom=None,
        center=None,
        feature_group=update,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(prepared.css_links),
        js_links=list(prepared.js_links),
        on_change=_on_change,
        wrap_longitude=False,
    )
