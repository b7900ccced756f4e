"""The Review page: a reviewer judges the next answer of a queue by its rubric (blind), may
write a correction or skip; everyone reviewing sees progress and agreement; admins create
queues from a filter and adjudicate disagreements."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ..analytics import Analytics
from ..display import plain
from ..errors import ChatfeedbackError
from ..review import Queue, QueueFilter, Review
from ..rubric import Criterion
from ..store.review import POLARITIES
from . import keys
from .context import actor, is_admin, is_reviewer, service, sign_in_configured
from .text import show_text

ANY = "any"
CACHE_SECONDS = 30
VIEWS = ["Judge", "Progress", "Agreement"]
THUMBS = {1: ":material/thumb_up: good", 0: ":material/thumb_down: bad"}


def _review() -> Review:
    svc = service()
    return Review(svc.store, svc.settings.criteria)


def render() -> None:
    st.title("Review")
    if not is_reviewer():  # also when the page's address is typed in
        st.error("Reviewing is open to the reviewers and admins named in the settings "
                 "([access] reviewers).")
        return
    review = _review()
    admin = is_admin()
    if admin:
        new_queue(review)
    if flash := st.session_state.pop(keys.REVIEW_FLASH, None):
        st.success(flash, icon=":material/check_circle:")
    queues = review.queues()
    if not queues:
        st.info("No review queues yet. " + ("Create one above." if admin else
                                            "An admin creates them."))
        return
    names = [q.name for q in queues]
    wanted = st.query_params.get("queue")
    name = st.selectbox("Queue", names, index=names.index(wanted) if wanted in names else 0,
                        key=keys.REVIEW_QUEUE)
    st.query_params["queue"] = name
    queue = next(q for q in queues if q.name == name)
    # One view at a time, kept across reruns (a tab would fall back to the first one after
    # every click, and every tab's content would be computed on every run).
    view = st.radio("View", VIEWS, horizontal=True, key=keys.REVIEW_VIEW,
                    label_visibility="collapsed")
    if view == "Judge":
        reviewer = who_reviews()
        if reviewer is not None:
            judge(review, queue, reviewer)
    elif view == "Progress":
        progress(review, queue)
    else:
        agreement(review, queue, admin)


def who_reviews() -> str | None:
    """The signed-in user; without sign-in, the name typed here (kept in the address, so
    that a reload resumes the same reviewer's item)."""
    if sign_in_configured():
        return actor()
    name = st.text_input("Your name (judgements are saved under it)",
                         value=st.query_params.get("reviewer", ""), key=keys.REVIEW_NAME)
    if not name.strip():
        st.info("Type your name to start reviewing.")
        return None
    st.query_params["reviewer"] = name.strip()
    return name.strip().lower()


# ------------------------------------------------------------------------------- judging
def judge(review: Review, queue: Queue, reviewer: str) -> None:
    counts = review.progress(queue)
    mine = counts["reviewers"].get(reviewer, {}).get("done", 0)
    st.progress(counts["complete"] / max(counts["items"], 1),
                text=f"{counts['complete']:,} of {counts['items']:,} items complete · "
                     f"you judged {mine:,}")
    # Opening the page takes nothing (an admin looking around holds no item); the first
    # item is taken on request, the next ones as each is judged or skipped.
    item = review.held_item(queue, reviewer)
    going = st.session_state.get(keys.review_going(queue.id), False)
    if item is None and not going:
        if not st.button("Take the next item", type="primary", key=keys.REVIEW_TAKE,
                         icon=":material/play_arrow:"):
            return
        st.session_state[keys.review_going(queue.id)] = True
    if item is None:
        try:
            item = review.next_item(queue, reviewer)
        except ChatfeedbackError as exc:
            st.error(str(exc))
            return
    if item is None:
        st.info("Nothing left for you in this queue: every item has its reviewers, or you "
                "have had it already.")
        return
    st.caption(f"Item {item.position + 1} of {queue.items:,} · model "
               f"{plain(item.model or 'unknown')}"
               " · other reviewers' values stay hidden until the item is complete")
    conversation = review.conversation(item)
    with st.container(border=True, key=keys.review("conversation", item.id)):
        if conversation[-1].system_prompt:
            with st.chat_message("system", avatar=":material/settings:"):
                show_text(conversation[-1].system_prompt)
        for message in conversation:
            with st.chat_message(message.role):
                show_text(message.content)
    with st.form(f"judge_{item.id}", border=True):
        values = {c.name: criterion_input(c, keys.review("criterion", item.id, c.name))
                  for c in queue.criteria}
        correction = st.text_area("Correction (optional): the answer that should have been "
                                  "given", key=keys.review("correction", item.id), height=120)
        submitted = st.form_submit_button("Submit", type="primary", icon=":material/check:")
    if submitted:
        try:
            review.submit(queue, item.id, reviewer, values, correction)
        except ChatfeedbackError as exc:
            st.error(str(exc))
        else:
            st.session_state[keys.REVIEW_FLASH] = "Saved. Here is the next item."
            st.rerun()
    with st.expander("Skip this item", icon=":material/skip_next:"):
        reason = st.text_input("Why do you skip it?", key=keys.review("skip_reason", item.id))
        if st.button("Skip", key=keys.review("skip", item.id)):
            try:
                review.skip(item.id, reviewer, reason)
            except ChatfeedbackError as exc:
                st.error(str(exc))
            else:
                st.session_state[keys.REVIEW_FLASH] = "Skipped; it goes to another reviewer."
                st.rerun()


def criterion_input(criterion: Criterion, key: str) -> Any:
    """One criterion's input: its values as a row of choices, nothing chosen at first."""
    value = st.radio(f"**{criterion.name}**", list(criterion.domain), index=None,
                     horizontal=True, key=key, format_func=lambda v: _label(criterion, v))
    if criterion.description:
        st.caption(criterion.description)
    return value


def _label(criterion: Criterion, value: Any) -> str:
    if criterion.kind == "thumbs":
        return THUMBS[value]
    return criterion.label(value)


# ------------------------------------------------------------------------------ progress
def progress(review: Review, queue: Queue) -> None:
    counts = review.progress(queue)
    cols = st.columns(3)
    cols[0].metric("Items", f"{counts['items']:,}")
    cols[1].metric("Complete", f"{counts['complete']:,}")
    cols[2].metric("Reviews", f"{counts['judged']:,}")
    st.caption(f"{queue.k} reviewer{'s' if queue.k > 1 else ''} per item · criteria "
               f"{', '.join(c.name for c in queue.criteria)} · filter "
               f"{_describe(queue.filter)} · created by {queue.created_by or 'nobody named'}")
    if not counts["reviewers"]:
        st.info("Nobody has taken an item yet.")
        return
    table = pd.DataFrame([{"Reviewer": r, "Judged": c["done"], "Skipped": c["skipped"],
                           "Open": c["open"], "Given up": c["expired"]}
                          for r, c in sorted(counts["reviewers"].items())])
    st.dataframe(table, hide_index=True, key=keys.REVIEW_PROGRESS)


def _describe(qfilter: QueueFilter) -> str:
    parts = [f"{k}={v}" for k, v in qfilter.as_dict().items()]
    return ", ".join(parts) if parts else "every answer"


# ----------------------------------------------------------------------------- agreement
@st.cache_data(ttl=CACHE_SECONDS, show_spinner="Computing agreement…")
def _agreement(database: str, queue_id: str, reviews: int) -> dict[str, Any]:
    del database, reviews  # the cache key: a new judgement recomputes
    review = _review()
    return review.agreement(review.queue(queue_id))


def agreement(review: Review, queue: Queue, admin: bool) -> None:
    counts = review.progress(queue)
    results = _agreement(review.store.url, queue.id, counts["judged"])
    st.caption("Over the complete items (the others are still blind). Krippendorff's alpha by "
               "the `krippendorff` package, 95 % bootstrap interval over items; Cohen's kappa "
               "per pair of reviewers over the items both judged.")
    final = review.adjudications(queue) if admin else {}
    for name, result in results.items():
        criterion = queue.criterion(name)
        st.subheader(name)
        if result.alpha is None:
            st.info(f"Alpha is not defined yet: {result.items} complete items with two or more "
                    "judgements, and it needs values that differ somewhere.")
        else:
            st.metric(f"Krippendorff's alpha ({result.level})", f"{result.alpha:.3f}",
                      help=f"{result.items:,} items, {result.judgements:,} judgements, "
                           f"{result.raters} reviewers")
            st.write(f"95 % interval: {_num(result.low)} to {_num(result.high)} · "
                     f"{result.items:,} items")
        if result.pairs:
            st.dataframe(pd.DataFrame([{"Reviewer A": p.rater_a, "Reviewer B": p.rater_b,
                                        "Items": p.items, "Cohen's kappa": p.kappa}
                                       for p in result.pairs]),
                         hide_index=True, key=keys.review("kappa", queue.id, name))
        if result.widest:
            st.markdown("**Widest disagreements**")
        for disagreement in result.widest:
            widest_item(review, queue, criterion, disagreement, admin, final)


def widest_item(review: Review, queue: Queue, criterion: Criterion, disagreement: Any,
                admin: bool, final: dict[tuple[str, str], Any]) -> None:
    item = review.item(disagreement.item)
    values = ", ".join(_label(criterion, v) for v in disagreement.values)
    settled = final.get((item.id, criterion.name))
    title = f"Item {item.position + 1}: {values}" + (
        f" → {_label(criterion, settled)}" if settled is not None else "")
    with st.expander(title):
        show_text(item.content[:1000])
        if not admin:
            return
        domain = list(criterion.domain)
        choice = st.radio("Final value", domain,
                          key=keys.review("final", criterion.name, item.id),
                          index=domain.index(settled) if settled in domain else None,
                          horizontal=True, format_func=lambda v: _label(criterion, v))
        if st.button("Set final value", key=keys.review("adjudicate", criterion.name, item.id)):
            try:
                review.adjudicate(queue, item.id, criterion.name, choice, actor())
            except ChatfeedbackError as exc:
                st.error(str(exc))
            else:
                st.session_state[keys.REVIEW_FLASH] = (f"Final value of {criterion.name} for item "
                                                    f"{item.position + 1} saved.")
                st.rerun()


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


# ----------------------------------------------------------------------------- new queue
def new_queue(review: Review) -> None:
    with st.expander("New queue", icon=":material/add:"), st.form("new_queue"):
        name = st.text_input("Name", key=keys.new_queue("name"))
        k = st.number_input("Reviewers per item (k)", min_value=1, max_value=50, value=1,
                            key=keys.new_queue("k"))
        everything = [c.name for c in review.criteria]
        criteria = st.multiselect("Criteria", everything, default=everything,
                                  key=keys.new_queue("criteria"))
        cols = st.columns(2)
        since = cols[0].date_input("Answers from (UTC day)", value=None,
                                   key=keys.new_queue("since"))
        until = cols[1].date_input("Answers before (UTC day)", value=None,
                                   key=keys.new_queue("until"))
        cols = st.columns(2)
        model = cols[0].selectbox("Model", [ANY, *Analytics(review.store).models()],
                                  key=keys.new_queue("model"))
        polarity = cols[1].selectbox("Rating", [ANY, *POLARITIES],
                                     key=keys.new_queue("polarity"))
        cols = st.columns(2)
        tag = cols[0].text_input("Reason tag", key=keys.new_queue("tag"))
        batch = cols[1].text_input("Import batch id", key=keys.new_queue("batch"))
        cols = st.columns(2)
        experiment = cols[0].text_input("Experiment", key=keys.new_queue("experiment"))
        arm = cols[1].text_input("Arm", key=keys.new_queue("arm"))
        shown_unrated = st.checkbox("Only answers shown but not rated",
                                    key=keys.new_queue("shown_unrated"))
        cols = st.columns(2)
        sample = cols[0].number_input("Random sample of N (0: all)", min_value=0, value=0,
                                      key=keys.new_queue("sample"))
        seed = cols[1].number_input("Sample seed", min_value=0, value=0, key=keys.new_queue("seed"))
        create = st.form_submit_button("Create queue", type="primary")
    if not create:
        return
    try:
        qfilter = QueueFilter(since=since, until=until, model=None if model == ANY else model,
                              polarity=None if polarity == ANY else polarity,
                              tag=tag.strip() or None, shown_unrated=shown_unrated,
                              batch=batch.strip() or None,
                              experiment=experiment.strip() or None, arm=arm.strip() or None,
                              sample=int(sample) or None,
                              seed=int(seed) if sample else None)
        made = review.create_queue(name, qfilter, k=int(k), criteria=criteria or None,
                                   created_by=actor())
    except ChatfeedbackError as exc:
        st.error(str(exc))
        return
    st.query_params["queue"] = made.name
    st.session_state[keys.REVIEW_QUEUE] = made.name  # the selectbox below is not drawn yet
    st.session_state[keys.REVIEW_FLASH] = f"Created queue '{made.name}' with {made.items:,} items."
    st.rerun()
