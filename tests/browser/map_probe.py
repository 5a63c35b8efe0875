"""Looking into a streamlit-folium map in a real browser (Playwright): is it drawn, how fast, does a pan
or a zoom make Streamlit rerun the script.

The map lives in the component's iframe; Leaflet there is reachable as ``window.map``. Drawn polygons are
counted in the DOM (``path.leaflet-interactive``: the SVG renderer) and, for maps drawn on a canvas
(Leaflet's ``preferCanvas``), as Leaflet polygon layers already projected for drawing (non-empty
``_parts``) plus a check that the canvas really holds coloured pixels.

Reruns are observed where they are decided: every rerun of a Streamlit script is requested by the
browser with a ``BackMsg`` of type ``rerun_script`` on the websocket; :class:`RerunWatcher` decodes the
frames the page sends and counts those requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'

DRAWN_JS = """
() => {
    const svgPaths = document.querySelectorAll('path.leaflet-interactive').length;
    let layers = 0;
    if (window.map) {
        window.map.eachLayer(l => { if (l.feature && l._parts && l._parts.length) layers++; });
    }
    let colouredPixels = 0;
    for (const canvas of document.querySelectorAll('canvas.leaflet-zoom-animated')) {
        const ctx = canvas.getContext('2d');
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < data.length; i += 4 * 97) {  // sampled: every 97th pixel
            if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) colouredPixels++;
        }
    }
    return {svgPaths, layers, colouredPixels, hasMap: !!window.map};
}
"""


def map_frames(page) -> list:
    """The frames of the streamlit-folium maps, in page order."""
    return [handle.content_frame() for handle in page.query_selector_all(MAP_IFRAME)]


def drawn(frame) -> dict:
    """{svgPaths, layers, colouredPixels, hasMap} of one map frame."""
    return frame.evaluate(DRAWN_JS)


def polygons_drawn(state: dict) -> int:
    """Polygons on screen: SVG paths, or canvas layers when the canvas is really painted."""
    return max(state["svgPaths"], state["layers"] if state["colouredPixels"] > 0 else 0)


def wait_for_map_drawn(page, index: int = 0, timeout_s: float = 60) -> tuple[float, dict]:
    """Wait until map ``index`` has polygons on screen; returns (seconds waited, last state)."""
    start = time.monotonic()
    state: dict = {}
    while time.monotonic() - start < timeout_s:
        frames = [f for f in map_frames(page) if f is not None]
        if len(frames) > index:
            try:
                state = drawn(frames[index])
            except Exception:  # the frame is navigating (component loading): try again
                state = {}
            if state and polygons_drawn(state) > 0:
                return time.monotonic() - start, state
        page.wait_for_timeout(50)
    raise AssertionError(f"carte {index} non dessinée après {timeout_s} s : {state}")


def legend_visible(frame) -> bool:
    legend = frame.locator(".observatoire-legend")
    return legend.count() > 0 and legend.first.is_visible()


def map_view(frame) -> dict:
    return frame.evaluate(
        "() => ({lat: window.map.getCenter().lat, lng: window.map.getCenter().lng, zoom: window.map.getZoom()})"
    )


def iframe_box(page, index: int = 0) -> dict:
    """The map's box in the viewport, after scrolling it into view (mouse events need it on screen)."""
    handle = page.query_selector_all(MAP_IFRAME)[index]
    handle.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    return handle.bounding_box()


def pan_and_zoom(page, index: int = 0) -> None:
    """Drag the map by (160, 90) pixels, then zoom in with the mouse wheel, as a user would."""
    box = iframe_box(page, index)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 160, y + 90, steps=12)
    page.mouse.up()
    page.wait_for_timeout(400)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(400)


def click_feature(page, frame, index: int, feature_id: str) -> None:
    """Click the middle of the polygon whose GeoJSON id is ``feature_id`` (on screen)."""
    point = frame.evaluate(
        """(id) => {
            let found = null;
            window.map.eachLayer(l => { if (!found && l.feature && String(l.feature.id) === id && l.getBounds) found = l; });
            if (!found) return null;
            const p = window.map.latLngToContainerPoint(found.getBounds().getCenter());
            return {x: p.x, y: p.y};
        }""",
        feature_id,
    )
    assert point is not None, f"entité {feature_id} absente de la carte"
    box = iframe_box(page, index)
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


@dataclass
class RerunWatcher:
    """Counts the ``rerun_script`` requests the page sends to the Streamlit server."""

    reruns: list[float] = field(default_factory=list)

    def attach(self, page) -> RerunWatcher:
        page.on("websocket", lambda ws: ws.on("framesent", self._on_frame))
        return self

    def _on_frame(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, str):
            return
        message = BackMsg()
        try:
            message.ParseFromString(payload)
        except Exception:  # not a BackMsg (never seen): not a rerun request either
            return
        if message.WhichOneof("type") == "rerun_script":
            self.reruns.append(time.monotonic())

    @property
    def count(self) -> int:
        return len(self.reruns)


def drawn_view(frame) -> dict | None:
    """The « Couverture » map's last drawn view (``window.observatoireDrawn``: as_of, fit_key, selected,
    count), once its canvas has painted it (two animation frames later); None before the first view."""
    return frame.evaluate(
        """async () => {
            if (!window.observatoireDrawn) return null;
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return window.observatoireDrawn;
        }"""
    )


def wait_for_view(page, accept, index: int = 0, timeout_s: float = 60) -> tuple[float, dict]:
    """Wait until map ``index`` has drawn a view that ``accept(view)`` accepts; (seconds waited, view)."""
    start = time.monotonic()
    view = None
    while time.monotonic() - start < timeout_s:
        frames = [f for f in map_frames(page) if f is not None]
        if len(frames) > index:
            try:
                view = drawn_view(frames[index])
            except Exception:  # the frame is (re)loading
                view = None
            if view and accept(view):
                return time.monotonic() - start, view
        page.wait_for_timeout(20)
    raise AssertionError(f"vue de la carte {index} non dessinée après {timeout_s} s : {view}")


def wait_until_idle(page, timeout_s: float = 120, quiet_polls: int = 5) -> None:
    """Wait until the page has a title and Streamlit shows no running indicator for ``quiet_polls`` polls in a
    row (the indicator can appear a moment after the page first looks ready)."""
    page.wait_for_selector("h1", timeout=timeout_s * 1000)
    quiet, start = 0, time.monotonic()
    while quiet < quiet_polls and time.monotonic() - start < timeout_s:
        busy = page.evaluate("() => !!document.querySelector('[data-testid=\"stStatusWidget\"]') || "
                             "!!document.querySelector('[data-testid=\"stSkeleton\"]')")
        quiet = 0 if busy else quiet + 1
        page.wait_for_timeout(150)
