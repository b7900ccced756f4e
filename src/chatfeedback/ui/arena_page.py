"""The Arena page: a prompt, two anonymous answers streaming side by side, a vote, then the
names; and the leaderboard (plain and style-controlled, with intervals and heatmaps)."""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ..arena import SIDES, Arena, ArenaTurn, RoundView, interleave, style_leaderboard
from ..chat import ChatService
from ..display import safe_markdown
from ..errors import ChatfeedbackError, NotFound, StoreError
from ..store import Message
from ..store.arena_totals import CLUSTERS
from . import keys
from .chat_page import show_answer
from .context import actor, current_user, service
from .internals import partial_markdown
from .stop import on_stop
from .text import show_text

PARAM = "r"           # the round in the URL
BUTTONS = (("model_a", "A is better", ":material/arrow_back:"),
           ("model_b", "B is better", ":material/arrow_forward:"),
           ("tie", "Tie", ":material/drag_handle:"),
           ("tie (bothbad)", "Both are bad", ":material/thumb_down:"))
LABELS = {w: label for w, label, _ in BUTTONS}
REDRAW = 0.05         # seconds between redraws of a streaming side
FEW_VOTERS = 10       # below this, the leaderboard says its intervals mean little yet
STYLE_AT_ONCE = 100_000   # votes up to which style control is computed with the leaderboard


@st.cache_resource(show_spinner=False)
def _arena(_service: ChatService, key: int) -> Arena:
    del key  # the cache key: one Arena per ChatService (per settings)
    return Arena(_service)


def arena() -> Arena:
    svc = service()
    return _arena(svc, id(svc))


def render() -> None:
    st.set_page_config(layout="wide")
    current = arena()
    st.title("Arena")
    if not current.enabled:
        st.info("The arena is off. Name two or more `[[models]]` entries in the settings: "
                '`[arena] models = ["gpt", "llama"]`.')
        return
    prompt = st.chat_input("Ask both models", submit_mode="stop")
    if prompt is not None and not prompt.strip():
        prompt = None
    if prompt is not None:  # a prompt is always answered where the answers are shown
        st.session_state[keys.ARENA_TAB] = "Battle"
    # only the open tab runs: a vote or a prompt never waits for the leaderboard's bootstrap
    battle, board = st.tabs(["Battle", "Leaderboard"], key=keys.ARENA_TAB, on_change="rerun")
    if battle.open:
        with battle:
            try:
                battle_tab(current, prompt)
            except StoreError as exc:
                st.error(f"The arena cannot be shown right now: {exc}",
                         icon=":material/error:")
    if board.open:
        with board:
            try:
                leaderboard_tab()
            except StoreError as exc:
                st.error(f"The leaderboard cannot be shown right now: {exc}",
                         icon=":material/error:")


def _new_round() -> None:
    st.query_params.pop(PARAM, None)


def _vote(round_id: str, winner: str) -> None:
    try:
        arena().vote(round_id, winner, actor=actor())
    except ChatfeedbackError as exc:
        st.session_state[keys.ARENA_ERROR] = f"Vote not saved: {exc}"


def current_round(current: Arena) -> RoundView | None:
    round_id = st.query_params.get(PARAM)
    if not round_id:
        return None
    try:
        view = current.view(round_id)
    except NotFound:
        view = None
    if view is None or view.round.voter != actor():
        st.error("Round not found")
        _new_round()
        return None
    return view


def battle_tab(current: Arena, prompt: str | None) -> None:
    st.caption("Two anonymous models answer your prompt side by side. Vote for the better "
               "answer; their names are shown after your vote.")
    st.button("New round", icon=":material/add:", key=keys.ARENA_NEW_ROUND, on_click=_new_round)
    view = current_round(current)
    if prompt is not None:
        view = play_turn(current, view, prompt)
        if view is None:
            return
    elif view is None:
        st.info("Type a prompt below to start a round.")
        return
    else:
        columns = side_columns(view)
        for side, column in zip(SIDES, columns, strict=True):
            with column:
                show_side(getattr(view, side))
    vote_area(view)


def side_columns(view: RoundView | None) -> list[DeltaGenerator]:
    columns = st.columns(2, gap="medium")
    voted = view is not None and view.vote is not None
    for side, column in zip(SIDES, columns, strict=True):
        name = ""
        if voted:
            assert view is not None
            name = ": " + (view.round.model_a if side == "a" else view.round.model_b)
        column.subheader(f"Model {side.upper()}{name}")
    return columns


def show_side(messages: list[Message]) -> None:
    for message in messages:
        with st.chat_message(message.role):
            if message.role == "assistant":
                show_answer(message)
            else:
                show_text(message.content)


def play_turn(current: Arena, view: RoundView | None, prompt: str) -> RoundView | None:
    """Send the prompt (a new round unless the current one can go on) and stream both
    answers at the same time, each into its own column."""
    owner = current_user()
    try:
        if view is None or view.vote is not None or view.failed:
            turn = current.start(prompt, voter=actor(), owner=owner)
            st.query_params[PARAM] = turn.round.id
            view = None
        else:
            turn = current.send(view.round, prompt, owner=owner)
    except ChatfeedbackError as exc:
        st.error(f"Your prompt was not sent: {exc}")
        return None
    replies = current.replies(turn)
    columns = side_columns(view)
    slots = {}
    for side, column in zip(SIDES, columns, strict=True):
        with column:
            if view is not None:
                show_side(getattr(view, side))
            with st.chat_message("user"):
                show_text(prompt)
            with st.chat_message("assistant"):
                slots[side] = st.empty()
    with on_stop(replies["a"]), on_stop(replies["b"]):
        stream_both(current, turn, replies, slots)
    return current.finish(turn.round.id)


def stream_both(current: Arena, turn: ArenaTurn, replies: dict[str, Any],
                slots: dict[str, DeltaGenerator]) -> None:
    hosts = service().settings.chat.allowed_image_hosts
    texts = {side: "" for side in SIDES}
    drawn = {side: 0.0 for side in SIDES}
    for side, piece in interleave(replies):
        if not piece:
            st.session_state.get(keys.STOP_CHECK)  # where Streamlit acts on a Stop click
            continue
        texts[side] += piece
        if time.perf_counter() - drawn[side] >= REDRAW:
            # rewritten like every stored text, so that nothing in it loads anything
            partial_markdown(slots[side], safe_markdown(texts[side], hosts, cached=False))
            drawn[side] = time.perf_counter()
    for side in SIDES:
        answer = replies[side].message
        with slots[side].container():
            show_answer(answer)
    current.store.mark_shown([replies[s].message.id for s in SIDES])


def vote_area(view: RoundView) -> None:
    error = st.session_state.pop(keys.ARENA_ERROR, None)
    if error:
        st.error(error, icon=":material/error:")
    if view.failed:
        st.warning("One side failed, so this round cannot be voted (it counts as failed). "
                   "Your next prompt starts a new round.", icon=":material/warning:")
        return
    if view.streaming:
        st.caption("The answers are still being written…")
        return
    policy = service().settings.feedback.policy
    vote = view.vote
    if vote is not None:
        st.success(f"You voted: **{LABELS[vote.winner]}**. Model A was **{view.round.model_a}**, "
                   f"Model B was **{view.round.model_b}**. Your next prompt starts a new round.",
                   icon=":material/how_to_vote:")
        if not policy.changeable:
            return
    if not view.votable:
        return
    columns = st.columns(4)
    for column, (winner, label, icon) in zip(columns, BUTTONS, strict=True):
        column.button(label, icon=icon, key=keys.arena_vote(winner), width="stretch",
                      type="primary" if vote is not None and vote.winner == winner else "secondary",
                      on_click=_vote, args=(view.round.id, winner))


# ------------------------------------------------------------------ leaderboard
@st.cache_data(ttl=3600, show_spinner="Computing the leaderboard…")
def _leaderboard(database: str, stamp: tuple) -> tuple[dict, tuple, Any, Any]:
    del database, stamp  # the cache key: a new or changed vote computes it again
    current = arena()
    board = current.leaderboard(bootstrap=1000, style=False)
    models, rate, n = current.matrices()
    return board, models, rate, n


@st.cache_data(ttl=3600, show_spinner="Computing the style-controlled ranking from every vote…")
def _style(database: str, stamp: tuple, models: tuple[str, ...]) -> dict:
    del database, stamp  # the cache key, as _leaderboard's
    return style_leaderboard(arena().store, models, bootstrap=1000)


def leaderboard_tab() -> None:
    current = arena()
    stamp = current.store.arena_stamp()
    board, models, rate, n = _leaderboard(current.store.url, stamp)
    rounds = board["rounds"]
    st.caption(f"Votes: {board['votes']:,} · rounds: {rounds['voted']:,} voted, "
               f"{rounds['failed']:,} failed, {rounds['open']:,} not voted")
    if not board["votes"]:
        st.info("No votes yet.")
        return
    if board["voters"] < FEW_VOTERS:
        st.warning(f"Only {board['voters']} voter(s) so far: intervals resample voters, so "
                   "they mean little until several people have voted"
                   + (" (with one voter there is none)." if board["voters"] < 2 else "."),
                   icon=":material/info:")
    wanted = board["votes"] <= STYLE_AT_ONCE or st.toggle(
        f"Style control (reads all {board['votes']:,} votes: seconds)", key=keys.ARENA_STYLE,
        help="The ranking with answer length and Markdown taken out needs every vote's "
             "style counts; the plain ranking reads running totals.")
    style = _style(current.store.url, stamp, models) if wanted else None
    styled = {m["model"]: m for m in (style or {"models": []})["models"]}
    st.dataframe(pd.DataFrame([{
        "Rank": m["rank"], "Model": m["model"], "Rating": m["rating"],
        "95 % interval": _ci(m["ci"]), "Votes": m["votes"],
        "Style-controlled": styled.get(m["model"], {}).get("rating"),
        "Style 95 % interval": _ci(styled[m["model"]]["ci"]) if m["model"] in styled else "–",
        "Style rank": styled.get(m["model"], {}).get("rank"),
    } for m in board["models"]]), hide_index=True, width="stretch", key=keys.ARENA_TABLE)
    st.caption("Bradley-Terry ratings (1000 = the mean; +400 = ten times the odds of "
               "winning), 95 % intervals from 1,000 bootstrap resamples of voters (beyond "
               f"{CLUSTERS:,} voters, of {CLUSTERS:,} groups of whole voters); rank = 1 + "
               "the models clearly above. Style-controlled: the same with the differences in "
               "answer length and Markdown (headers, lists, bold) taken out.")
    rating_chart(board, style)
    left, right = st.columns(2)
    with left:
        st.subheader("Win rate (row beats column)")
        heatmap(models, rate, "Win rate", ".0%")
    with right:
        st.subheader("Votes per pair")
        heatmap(models, n, "Votes", ",")


def _ci(ci: list) -> str:
    return "–" if ci[0] is None else f"{ci[0]:.0f} – {ci[1]:.0f}"


def rating_chart(board: dict, style: dict | None) -> None:
    rows = [{"model": m["model"], "kind": kind, "rating": m["rating"],
             "low": m["ci"][0] if m["ci"][0] is not None else m["rating"],
             "high": m["ci"][1] if m["ci"][1] is not None else m["rating"]}
            for kind, part in (("plain", board), ("style-controlled", style)) if part
            for m in part["models"]]
    data = pd.DataFrame(rows)
    order = [m["model"] for m in board["models"]]
    base = alt.Chart(data).encode(
        y=alt.Y("model:N", sort=order, title=None),
        yOffset=alt.YOffset("kind:N"),
        color=alt.Color("kind:N", title=None))
    bars = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title="Rating",
                                                        scale=alt.Scale(zero=False)), x2="high:Q")
    points = base.mark_point(filled=True).encode(
        x="rating:Q", tooltip=["model", "kind", alt.Tooltip("rating:Q", format=".1f"),
                               alt.Tooltip("low:Q", format=".1f"),
                               alt.Tooltip("high:Q", format=".1f")])
    st.altair_chart(bars + points, width="stretch")


def heatmap(models: tuple[str, ...], matrix: Any, title: str, fmt: str) -> None:
    data = pd.DataFrame([{"row": a, "column": b, "value": float(matrix[i, j])}
                         for i, a in enumerate(models) for j, b in enumerate(models)
                         if i != j and matrix[i, j] == matrix[i, j]])
    if data.empty:
        st.caption("No pairs yet.")
        return
    base = alt.Chart(data).encode(x=alt.X("column:N", title=None, sort=list(models)),
                                  y=alt.Y("row:N", title=None, sort=list(models)))
    cells = base.mark_rect().encode(color=alt.Color("value:Q", title=title,
                                                    legend=alt.Legend(format=fmt)),
                                    tooltip=["row", "column", alt.Tooltip("value:Q", format=fmt)])
    labels = base.mark_text().encode(text=alt.Text("value:Q", format=fmt))
    st.altair_chart(cells + labels, width="stretch")
