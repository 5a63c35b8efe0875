"""A Streamlit session without a browser: the WebSocket protocol the page speaks, driven from Python.

Used by the load benchmark (``scripts/bench_instances.py``): each simulated user opens a real session on a
real server, runs pages with their query string, sets widgets and clicks buttons exactly as the browser's
frontend does (it sends ``BackMsg.rerun_script`` with the state of every widget; the server answers with
``ForwardMsg`` deltas until ``script_finished``). The elements received are parsed with Streamlit's own
testing tree, so widgets are found by key and set with the same API as AppTest. A page time is measured
from the request to the server's « script finished ».
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1.element_tree import ElementTree, parse_tree_from_messages
from websockets.sync.client import connect

FINISHED = (ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
            ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class RunResult:
    seconds: float
    tree: ElementTree


class StreamlitSession:
    def __init__(self, base_url: str, timeout_s: float = 120):
        ws_url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self._ws = connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout_s)
        self._timeout_s = timeout_s
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self.tree: ElementTree | None = None
        self.page = ""
        self.query = ""
        self.fragment_ids: list[str] = []  # fragments of the last full run, in page order

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> StreamlitSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, page: str | None = None, query: str | None = None, widget_states=None,
            fragment_id: str | None = None) -> RunResult:
        """One script run; ``page`` is a url path (``auto-evaluation``), ``query`` a query string. With
        ``fragment_id``, only that fragment reruns (what the browser asks when a widget inside it changes): the
        full tree of the last run is kept, with the values set on it."""
        self.page = self.page if page is None else page
        self.query = self.query if query is None else query
        message = BackMsg()
        message.rerun_script.query_string = self.query
        message.rerun_script.page_name = self.page
        if self.page in self.page_hashes:
            message.rerun_script.page_script_hash = self.page_hashes[self.page]
        if widget_states is not None:
            message.rerun_script.widget_states.CopyFrom(widget_states)
        if fragment_id is not None:
            message.rerun_script.fragment_id = fragment_id
        started = time.perf_counter()
        self._ws.send(message.SerializeToString())
        received: list[ForwardMsg] = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self._ws.recv(timeout=self._timeout_s))
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "new_session":
                received = []  # a rerun started over (the frame reruns a page run alone): keep the last run's elements
            elif kind == "delta":
                received.append(forward)
            elif kind == "script_finished" and forward.script_finished in FINISHED:
                break
        seconds = time.perf_counter() - started
        if fragment_id is not None and self.tree is not None:
            return RunResult(seconds, self.tree)
        self.fragment_ids = list(dict.fromkeys(m.delta.fragment_id for m in received if m.delta.fragment_id))
        self.tree = parse_tree_from_messages(received)
        return RunResult(seconds, self.tree)

    @staticmethod
    def choice(widget, label: str) -> WidgetState:
        """A radio or selectbox set to the option shown as ``label`` (what the browser sends: the label)."""
        state = WidgetState()
        state.id = widget.id
        state.string_value = label
        return state

    def interact(self, *widgets, fragment_id: str | None = None) -> RunResult:
        """Rerun after setting ``widgets`` (from :attr:`tree`: ``tree.radio(key=…).set_value(…)``, a button's
        ``.click()``). Only these widgets' states are sent: the server keeps every other widget's value from
        the previous run, as it does for a browser."""
        assert self.tree is not None, "run a page first"
        states = WidgetStates()
        states.widgets.extend(w if isinstance(w, WidgetState) else w._widget_state for w in widgets)
        return self.run(widget_states=states, fragment_id=fragment_id)
