"""The dashboard page: how the models do, how sure that is, and the answers people disliked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from .. import scales
from ..analytics import Analytics, Filters, Group, LowRated, TagCount, Totals, compare_people
from ..stats import cluster
from . import keys
from .context import service
from .hints import no_data

CACHE_SECONDS = 30
ALL = "All"
SCALE_LABELS = {ALL: "All scales (0-1 score)", "thumbs": "Thumbs", "faces": "Faces",
                "stars": "Stars"}


@dataclass(frozen=True)
class Figures:
    totals: Totals
    over_time: list[Group]
    models: list[Group]
    prompts: list[Group]
    tags: list[TagCount]
    lowest: list[LowRated]
    model_people: dict[object, cluster.UnitSums]
    prompt_people: dict[object, cluster.UnitSums]


def _analytics() -> Analytics:
    return Analytics(service().store)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _options(database: str) -> tuple[list[str], date | None, date | None]:
    del database  # the cache key
    analytics = _analytics()
    first, last = analytics.date_range()
    return analytics.models(), first, last


@st.cache_data(ttl=CACHE_SECONDS, show_spinner="Counting…")
def _figures(database: str, filters: Filters, period: str, with_comment: bool) -> Figures:
    del database  # the cache key
    a = _analytics()
    prompts = a.by_system_prompt(filters)
    return Figures(a.totals(filters), a.over_time(filters, period), a.by_model(filters),
                   prompts, a.tags(filters), a.lowest_rated(filters, with_comment=with_comment),
                   a.people_by_model(filters), a.people_by_system_prompt(filters, prompts))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _interval(group: Group | Totals) -> str:
    low, high = group.interval
    return f"{low:.1%} – {high:.1%}" if group.rated else "–"


def filters_row(models: list[str], first: date | None, last: date | None) -> tuple[Filters, str]:
    today = date.today()
    start, end = first or today - timedelta(days=28), max(last or today, first or today)
    cols = st.columns([2, 1.3, 1.3, 1])
    chosen = cols[0].date_input("Dates (UTC)", value=(start, end), key=keys.DASH_DATES,
                                format="YYYY-MM-DD")
    model = cols[1].selectbox("Model", [ALL, *models], key=keys.DASH_MODEL)
    scale = cols[2].selectbox("Scale", list(SCALE_LABELS), key=keys.DASH_SCALE,
                              format_func=SCALE_LABELS.__getitem__)
    period = cols[3].segmented_control("Period", ["day", "week"], default="week",
                                       key=keys.DASH_PERIOD) or "week"
    since, until = None, None
    if isinstance(chosen, (tuple, list)) and chosen:
        since = chosen[0]
        until = (chosen[1] if len(chosen) > 1 else chosen[0]) + timedelta(days=1)
    return Filters(since=since, until=until, model=None if model == ALL else model,
                   scale=None if scale == ALL else scale), period


def totals_row(t: Totals, scale: str | None = None) -> None:
    cols = st.columns(6)
    cols[0].metric("Conversations", f"{t.conversations:,}")
    cols[1].metric("Answers", f"{t.answers:,}")
    cols[2].metric("Shown", f"{t.shown:,}", help="Answers a person has seen (exposure).")
    cols[3].metric("Rated", f"{t.rated:,}", help="Ratings given in the date range.")
    low, high = t.rated_interval
    cols[4].metric("Rated / shown", _pct(t.rated_share),
                   help=f"{t.shown_rated:,} of the {t.shown:,} answers shown have a rating now"
                        f"{'' if scale is None else f' on the {scale} scale'} (answers "
                        "written in the date range; an answer rated without being shown "
                        "does not count). 95 % interval (Wilson): "
                        + (f"{low:.1%} – {high:.1%}." if t.shown else "–."))
    cols[5].metric("Positive", _pct(t.positive_share),
                   help=f"95 % interval (Wilson): {_interval(t)}. Mean 0-1 score: "
                        f"{'–' if t.mean_score is None else f'{t.mean_score:.2f}'}.")


def time_chart(groups: list[Group]) -> None:
    st.subheader("Positive share over time")
    if not groups:
        st.info("No ratings in this range.")
        return
    rows = []
    for g in groups:
        low, high = g.interval
        rows.append({"period": pd.Timestamp(g.key), "model": g.model or "(unknown)",
                     "share": g.share, "low": low, "high": high, "ratings": g.rated})
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(
        x=alt.X("period:T", title=None),
        color=alt.Color("model:N", title="Model"))
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("low:Q", title="Positive share", axis=alt.Axis(format="%")), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y="share:Q",
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("period:T"),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("low:Q", format=".1%"),
                 alt.Tooltip("high:Q", format=".1%"), alt.Tooltip("ratings:Q", format=",")])
    st.altair_chart(band + line, width="stretch")
    st.caption("Bands: 95 % Wilson intervals. Narrow bands need many ratings per period.")


def _per_person(sums: cluster.UnitSums | None) -> str:
    ci = None if sums is None else cluster.ratio(sums).ci
    return "–" if ci is None else f"{ci[0]:.1%} – {ci[1]:.1%}"


def group_table(groups: list[Group], name: str, label: dict[object, str],
                people: dict[object, cluster.UnitSums]) -> None:
    st.dataframe(pd.DataFrame([{
        name: label[g.key], "Ratings": g.rated,
        "People": people[g.key].units if g.key in people else 0, "Positive": g.share,
        "95 % interval": _per_person(people.get(g.key)), "Negative": g.negative,
        "Mean score (0-1)": g.mean_score} for g in groups]),
        hide_index=True, width="stretch",
        column_config={"Positive": st.column_config.NumberColumn(format="percent"),
                       "Mean score (0-1)": st.column_config.NumberColumn(format="%.2f")})


def comparison(title: str, groups: list[Group], name: str, label: dict[object, str],
               key: str, people: dict[object, cluster.UnitSums]) -> None:
    st.subheader(title)
    st.caption("Observational: people chose these. Intervals count each person (rater) "
               "once, however many answers they rated; only a randomized experiment "
               "(the Experiments page) says which is better.")
    if not groups:
        st.info("No ratings in this range.")
        return
    group_table(groups, name, label, people)
    if len(groups) < 2:
        st.caption(f"Only one {name.lower()} has ratings: nothing to compare.")
        return
    options = [g.key for g in groups]
    cols = st.columns(2)
    a = cols[0].selectbox(f"Compare {name.lower()}", options, index=0,
                          key=keys.dash_compare(key, "a"), format_func=label.__getitem__)
    b = cols[1].selectbox("with", options, index=1, key=keys.dash_compare(key, "b"),
                          format_func=label.__getitem__)
    if a == b:
        st.caption("Pick two different ones to compare.")
        return
    empty = cluster.UnitSums(0, 0, 0, 0, 0, 0, 0)
    verdict = compare_people(label[a], people.get(a, empty), label[b], people.get(b, empty))
    box = st.warning if verdict.small_sample else st.success if verdict.significant else st.info
    box(verdict.text)


def tags_chart(tags: list[TagCount]) -> None:
    st.subheader("Reasons")
    if not tags:
        st.info("No reason tags in this range.")
        return
    data = pd.DataFrame([{"tag": t.tag, "polarity": t.polarity, "count": t.count}
                         for t in tags])
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("count:Q", title="Times given"),
        y=alt.Y("tag:N", sort="-x", title=None),
        color=alt.Color("polarity:N", title="Rating",
                        scale=alt.Scale(domain=["positive", "negative", "neutral"],
                                        range=["#2e9d5b", "#d64545", "#999999"])),
        tooltip=["tag", "polarity", alt.Tooltip("count:Q", format=",")])
    st.altair_chart(chart, width="stretch")


def lowest_table(lowest: list[LowRated]) -> None:
    st.subheader("Lowest-rated answers")
    if not lowest:
        st.info("No ratings in this range.")
        return
    st.dataframe(pd.DataFrame([{
        "Rating": scales.label(r.scale, r.value), "Score": r.score, "Model": r.model,
        "Comment": r.comment or "", "Reasons": ", ".join(r.tags), "Prompt": r.prompt or "",
        "Answer": r.response, "Rated": r.rated_at, "Conversation": f"chat{r.link}"}
        for r in lowest]), hide_index=True, width="stretch",
        column_config={
            "Score": st.column_config.NumberColumn(format="%.2f"),
            "Rated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Conversation": st.column_config.LinkColumn(display_text="Open")})


def render() -> None:
    st.set_page_config(layout="wide")
    st.title("Dashboard")
    database = service().store.url
    models, first, last = _options(database)
    if first is None:  # not a single rating yet
        no_data(database)
        st.button("Refresh", icon=":material/refresh:", key=keys.DASH_REFRESH,
                  on_click=_options.clear)
        return
    filters, period = filters_row(models, first, last)
    cols = st.columns([1, 4])
    if cols[0].button("Refresh", icon=":material/refresh:", key=keys.DASH_REFRESH,
                      help=f"Figures are cached for {CACHE_SECONDS} s."):
        _options.clear()
        _figures.clear()
    with_comment = cols[1].toggle("Lowest-rated: only answers with a comment",
                                  key=keys.DASH_WITH_COMMENT)
    fig = _figures(database, filters, period, with_comment)
    totals_row(fig.totals, filters.scale)
    if filters.scale is None:
        st.caption("Thumbs, faces and stars side by side: :material/thumb_up:, 4-5 faces or "
                   "stars count as positive; :material/thumb_down:, 1-2 as negative; 3 as neutral (not positive). Mean scores "
                   "put every scale on 0 (worst) to 1 (best).")
    time_chart(fig.over_time)
    comparison("Models", fig.models, "Model", {g.key: str(g.key) for g in fig.models},
               "model", fig.model_people)
    prompt_labels = {g.key: _prompt_label(g.key) for g in fig.prompts}  # quoted, shortened
    comparison("System prompts", fig.prompts, "System prompt", prompt_labels, "prompt",
               fig.prompt_people)
    tags_chart(fig.tags)
    lowest_table(fig.lowest)


def _prompt_label(text: object) -> str:
    if not text:
        return "(no system prompt)"
    line = " ".join(str(text).split())
    return f"“{line}”" if len(line) <= 60 else f"“{line[:59]}…”"
