"""The Experiments page: a randomized experiment's arms, the difference with its
fixed-horizon and anytime-valid intervals, the confidence sequence over time, the
sample-ratio check and the verdict (the same report as ``chatfeedback report``)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from .. import report as reports
from ..store import experiments as log
from . import keys
from .context import service

CACHE_SECONDS = 30
METRIC_LABELS = {"positive_share": "Positive share", "mean_score": "Mean 0-1 score"}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner="Counting…")
def _report(database: str, name: str, metric: str) -> reports.Report:
    del database  # the cache key
    svc = service()
    return reports.build(svc.settings, svc.store, name, metric, over_time=True)


def _names() -> list[str]:
    svc = service()
    names = [e.name for e in svc.settings.experiments]
    return names + [n for n in log.runs(svc.store) if n not in names]


def arms_table(r: reports.Report) -> None:
    noun = reports.NOUNS[r.unit].capitalize()
    st.dataframe(pd.DataFrame([{
        "Arm": a.name, "Model": a.model, "Weight": a.weight, "Assigned": a.assigned,
        noun: a.units, "Ratings": a.ratings, METRIC_LABELS[r.metric]: a.estimate,
        "95 % interval": "–" if a.ci is None else f"{a.ci[0]:.1%} – {a.ci[1]:.1%}"}
        for a in r.arms]), hide_index=True, width="stretch",
        column_config={METRIC_LABELS[r.metric]: st.column_config.NumberColumn(
            format="percent" if r.metric == "positive_share" else "%.3f")})


def difference_row(c: reports.Comparison) -> None:
    cols = st.columns(3)
    if c.estimate is None or c.ci is None or c.anytime_ci is None:
        cols[0].metric(f"{c.arms[0]} − {c.arms[1]}", "–")
        return
    cols[0].metric(f"{c.arms[0]} − {c.arms[1]}", f"{c.estimate * 100:+.1f} points")
    cols[1].metric("Anytime-valid 95 %", f"{c.anytime_ci[0] * 100:+.1f} to "
                   f"{c.anytime_ci[1] * 100:+.1f}",
                   help="Valid however often it is looked at: decide when it excludes 0.")
    cols[2].metric("Fixed-horizon 95 %", f"{c.ci[0] * 100:+.1f} to {c.ci[1] * 100:+.1f}",
                   help=f"p = {c.p_value:.3g}. Valid once, at a sample size fixed in advance; "
                        "checked every day it finds differences that are not there.")


def sequence_chart(r: reports.Report) -> None:
    if not r.over_time:
        st.info("Not enough ratings yet to draw the difference over time.")
        return
    data = pd.DataFrame([{
        "day": pd.Timestamp(p.day), "units": p.units, "difference": p.estimate * 100,
        "anytime_low": p.anytime_ci[0] * 100, "anytime_high": p.anytime_ci[1] * 100,
        "fixed_low": p.ci[0] * 100, "fixed_high": p.ci[1] * 100} for p in r.over_time])
    base = alt.Chart(data).encode(x=alt.X("day:T", title=None))
    anytime = base.mark_area(opacity=0.2, color="#4c78a8").encode(
        y=alt.Y("anytime_low:Q", title=f"{r.difference.arms[0]} − {r.difference.arms[1]} "
                                       "(points)"), y2="anytime_high:Q")
    fixed = base.mark_area(opacity=0.25, color="#f58518").encode(y="fixed_low:Q",
                                                                y2="fixed_high:Q")
    line = base.mark_line(point=True, color="#222222").encode(
        y="difference:Q",
        tooltip=[alt.Tooltip("day:T"), alt.Tooltip("units:Q", format=","),
                 alt.Tooltip("difference:Q", format="+.1f"),
                 alt.Tooltip("anytime_low:Q", format="+.1f"),
                 alt.Tooltip("anytime_high:Q", format="+.1f"),
                 alt.Tooltip("fixed_low:Q", format="+.1f"),
                 alt.Tooltip("fixed_high:Q", format="+.1f")])
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    st.altair_chart(anytime + fixed + line + zero, width="stretch")
    st.caption("Blue: the anytime-valid 95 % confidence sequence (safe to look at every day); "
               "orange: the fixed-horizon 95 % interval (not safe to peek at). Each day shows "
               "the difference with every rating up to that day.")


def render() -> None:
    st.title("Experiments")
    names = _names()
    if not names:
        st.info("No experiments: add [[experiments]] to the settings file, then "
                "`chatfeedback experiments start NAME`.")
        return
    cols = st.columns([2, 1.2, 1])
    name = cols[0].selectbox("Experiment", names, key=keys.EXP_NAME)
    metric = cols[1].segmented_control("Metric", list(METRIC_LABELS), default="positive_share",
                                       format_func=METRIC_LABELS.__getitem__,
                                       key=keys.EXP_METRIC) or "positive_share"
    if cols[2].button("Refresh", icon=":material/refresh:", key=keys.EXP_REFRESH,
                      help=f"Figures are cached for {CACHE_SECONDS} s."):
        _report.clear()
    r = _report(service().store.url, name, metric)
    state = "running" if r.running else "not running"
    st.caption(f"Randomized by {r.unit} ({state}): each {r.unit if r.unit != 'user' else 'person'}"
               " got an arm by chance, so a difference is caused by the arm. Intervals count "
               "each unit once, however many answers it rated.")
    if r.srm_warning:
        st.warning(r.verdict, icon=":material/warning:")
    elif r.difference is not None and r.difference.anytime_ci is not None \
            and (r.difference.anytime_ci[0] > 0 or r.difference.anytime_ci[1] < 0):
        st.success(r.verdict)
    else:
        st.info(r.verdict)
    arms_table(r)
    for c in r.differences:
        difference_row(c)
    st.subheader("The difference over time")
    sequence_chart(r)
    srm_text = "–" if r.srm_p_value is None else f"{r.srm_p_value:.3g}"
    st.caption(f"Sample-ratio check (units per arm against the weights, chi-square): "
               f"p = {srm_text}; below 0.001 the split is not chance and the verdict is a "
               "warning.")
