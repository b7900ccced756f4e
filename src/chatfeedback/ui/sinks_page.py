"""The Sinks page (admins): per sink, deliveries pending, delivered and dead, the oldest
pending one and the last error, which process delivers, and Retry dead (the figures of
``chatfeedback sinks status``, outbox/status.py)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from ..display import plain
from ..outbox import status
from ..store import outbox as queue
from .context import service


def _time(value: str | None) -> str:
    return "–" if value is None else datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def render() -> None:
    st.title("Sinks")
    st.caption("Every rating, vote and judgement, delivered to the `[[sinks]]` of the "
               "settings, at least once (docs: Sinks).")
    svc = service()
    report = status.report(svc.settings, svc.store)
    if not report["sinks"]:
        st.info("No sinks configured. Add a `[[sinks]]` entry to the settings file "
                "(a webhook, Langfuse or OpenTelemetry) and restart the app.")
        return
    st.dataframe(pd.DataFrame([{
        "Sink": r["name"] + ("" if r["configured"] else " (not configured)"),
        "Kind": r["kind"] or "–", "Pending": r["pending"], "Delivered": r["delivered"],
        "Dead": r["dead"], "Oldest pending": _time(r["oldest_pending"]),
        "Last delivered": _time(r["last_delivered"]), "Last error": r["last_error"] or "–"}
        for r in report["sinks"]]), hide_index=True, width="stretch")
    st.caption(plain(status.delivering(report)))
    for r in report["sinks"]:
        if r["dead"]:
            label = f"Retry {r['dead']:,} dead deliver{'y' if r['dead'] == 1 else 'ies'} " \
                    f"of {r['name']}"
            if st.button(label, key=f"sinks_retry_{r['name']}", icon=":material/replay:"):
                count = queue.retry(svc.store, r["name"])
                st.toast(f"{count:,} queued again for {r['name']}")
                st.rerun()
    st.button("Refresh", key="sinks_refresh", icon=":material/refresh:")
