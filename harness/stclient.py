"""A headless Streamlit client: speaks the app's websocket protocol (BackMsg / ForwardMsg
protobufs on /_stcore/stream) like the browser does, for load tests that real browsers
are too heavy for (50 Chromium tabs do not fit in 2 cores).

Written by hand because no library speaks this protocol outside Streamlit's own frontend;
it uses Streamlit's own protobuf classes and the ``websockets`` package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import parse_qs

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN


@dataclass
class Run:
    """What one script (or fragment) run sent back, each message with its arrival time."""

    started: float
    messages: list[tuple[float, ForwardMsg]] = field(default_factory=list)
    finished: float = 0.0

    def elements(self, root: int | None = None) -> list[tuple[float, str, object]]:
        """(time, element type, element) of every new element, in order; ``root``: only
        those drawn into that root container of the page (RootContainer: MAIN, SIDEBAR,
        BOTTOM...)."""
        out = []
        for when, msg in self.messages:
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == \
                    "new_element" and root in (None, msg.metadata.delta_path[0]):
                element = msg.delta.new_element
                kind = element.WhichOneof("type")
                out.append((when, kind, getattr(element, kind)))
        return out

    def texts(self) -> list[str]:
        """Every markdown, alert and exception text shown in this run."""
        found = []
        for _, kind, element in self.elements():
            if kind in ("markdown", "alert"):
                found.append(element.body)
            elif kind == "exception":
                found.append(f"{element.type}: {element.message}")
        return found

    def first_time_containing(self, text: str) -> float | None:
        for when, kind, element in self.elements():
            if kind == "markdown" and text in element.body:
                return when
        return None


class StreamlitSession:
    """One browser tab: a websocket session with its query string and widget values."""

    def __init__(self, base_url: str, cookie: str | None = None) -> None:
        self.ws_url = base_url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
        self.cookie = cookie
        self.query_string = ""
        self.page_script_hash = ""
        self.chat_input_id: str | None = None
        self.chat_fragment = ""  # the fragment the chat input is in ("": none)
        self.feedback: dict[str, tuple[str, str]] = {}  # widget key -> (widget id, fragment)
        self.values: dict[str, str] = {}                # widget id -> value sent (feedback)
        self._ws: ClientConnection | None = None

    async def __aenter__(self) -> Self:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self._ws = await connect(self.ws_url, subprotocols=["streamlit"],
                                 additional_headers=headers, max_size=2**26,
                                 open_timeout=60, ping_interval=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.query_string).items()}

    async def rerun(self, *, chat: str | None = None, fragment_id: str = "",
                    timeout: float = 300) -> Run:
        """Send a rerun like the browser (current query string, every widget value; a chat
        message as the chat input's trigger, in the chat input's fragment as the browser
        sends it) and collect messages until it finishes, also through the full run that
        a fragment run may ask for (``st.rerun()``)."""
        if chat is not None and not fragment_id:
            fragment_id = self.chat_fragment
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        state.fragment_id = fragment_id
        for widget_id, value in self.values.items():
            state.widget_states.widgets.append(WidgetState(id=widget_id, string_value=value))
        if chat is not None:
            if self.chat_input_id is None:
                raise RuntimeError("no chat input on the page")
            widget = state.widget_states.widgets.add(id=self.chat_input_id)
            widget.chat_input_value.data = chat
        run = Run(started=time.perf_counter())
        assert self._ws is not None
        await self._ws.send(back.SerializeToString())
        deadline = time.monotonic() + timeout
        while True:
            raw = await self._ws.recv(decode=False)
            now = time.perf_counter()
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            run.messages.append((now, msg))
            self._track(msg)
            kind = msg.WhichOneof("type")
            if kind == "script_finished" and msg.script_finished in FINISHED:
                run.finished = now
                return run
            if kind == "script_finished" and msg.script_finished == RERUN:
                continue  # the run it asked for follows
            if kind == "script_finished" and msg.script_finished not in FINISHED:
                name = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                raise RuntimeError(f"script run ended with {name}")
            if time.monotonic() > deadline:
                raise TimeoutError("the script run did not finish")

    def _track(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "chat_input":
                self.chat_input_id = element.chat_input.id
                self.chat_fragment = msg.delta.fragment_id
            elif which == "feedback":
                widget_id = element.feedback.id
                key = widget_id.rsplit("-", 1)[-1] if "-" in widget_id else widget_id
                self.feedback[key] = (widget_id, msg.delta.fragment_id)

    async def click_feedback(self, key: str, index: int) -> Run:
        """Click option ``index`` of the feedback widget with ``key``: a fragment rerun."""
        widget_id, fragment_id = self.feedback[key]
        self.values[widget_id] = str(index)
        return await self.rerun(fragment_id=fragment_id)
