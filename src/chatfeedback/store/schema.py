"""The database schema: SQLAlchemy Core tables, the single source of truth for migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy import Text as _Text


class Text(TypeDecorator[str]):
    """TEXT that stores a NUL character as U+FFFD on every database: PostgreSQL refuses NUL
    in text, and a prompt must not fail to save (or read back differently) because of it."""

    impl = _Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

ID = String(26)
WHEN = DateTime(timezone=True)

conversations = Table(
    "conversations", metadata,
    Column("id", ID, primary_key=True),
    Column("owner", String(320), nullable=True),          # user email; NULL = anonymous
    Column("title", Text, nullable=False, default=""),
    Column("model", String(200), nullable=True),           # the model entry chosen for it
    Column("source", String(20), nullable=False, default="chat"),  # chat | import | demo
    Column("training_consent", Boolean, nullable=False, default=False),
    Column("meta", JSON, nullable=True),                   # imported metadata
    Column("import_batch", ID, nullable=True),             # one `chatfeedback import` run
    # A randomized experiment's conversation: its experiment and arm, the unit that was
    # randomized (a person, or the conversation itself) and the chance of that arm.
    Column("experiment", String(200), nullable=True),
    Column("arm", String(200), nullable=True),
    Column("unit", String(320), nullable=True),
    Column("assignment_p", Float, nullable=True),
    Column("created_at", WHEN, nullable=False),
    Column("updated_at", WHEN, nullable=False),
    Index(None, "owner", "updated_at"),
    Index(None, "updated_at"),
    Index(None, "created_at"),          # the dashboard counts conversations by start
    Index(None, "model", "created_at"),
    Index(None, "import_batch"),
    Index(None, "experiment", "arm", "unit"),  # the report's per-unit sums
)

messages = Table(
    "messages", metadata,
    Column("id", ID, primary_key=True),
    Column("conversation_id", ID, ForeignKey("conversations.id", ondelete="CASCADE"),
           nullable=False),
    Column("parent_id", ID, nullable=True),        # an assistant message: the user message it answers
    Column("turn", Integer, nullable=False),       # 0, 1, 2 ... one per user prompt
    Column("role", String(16), nullable=False),    # system | user | assistant
    Column("content", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),    # regenerated answers: 1, 2, 3 ...
    Column("selected", Boolean, nullable=False, default=True),  # the version shown in the chat
    Column("status", String(16), nullable=False, default="complete"),
    # complete | streaming | stopped | error
    Column("error", Text, nullable=True),
    Column("model", String(200), nullable=True),
    Column("backend", String(100), nullable=True),
    Column("settings", JSON, nullable=True),       # generation settings, never secrets
    Column("system_prompt", Text, nullable=True),
    Column("ttft_ms", Float, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("total_tokens", Integer, nullable=True),
    Column("finish_reason", String(50), nullable=True),
    Column("shown_at", WHEN, nullable=True),       # first time a person saw it (exposure)
    Column("created_at", WHEN, nullable=False),
    Column("updated_at", WHEN, nullable=False),
    # An answer's context, what its request contained (see store/context.py): the context
    # of the earlier answer ``context_from``, then that answer, then the ids in ``context``
    # (space-separated). Written with the answer row; NULL on prompts and system messages.
    Column("context_from", ID, nullable=True),
    Column("context", _Text, nullable=True),
    # The answer's trace in an observability tool (Langfuse, OpenTelemetry), when it has one.
    Column("trace_id", String(200), nullable=True),
    Index(None, "conversation_id", "turn"),
    Index(None, "parent_id"),
    Index(None, "status"),  # finding answers still streaming (Store.recover_interrupted)
)

# Experiments started and stopped (``chatfeedback experiments start|stop``): append-only;
# an experiment runs while its latest event is a start, whose definition (arms, weights)
# is the one that assigns.
experiment_events = Table(
    "experiment_events", metadata,
    Column("id", ID, primary_key=True),
    Column("experiment", String(200), nullable=False),
    Column("action", String(8), nullable=False),   # start | stop
    Column("definition", JSON, nullable=True),     # the arms at start
    Column("actor", String(320), nullable=True),
    Column("at", WHEN, nullable=False),
    Index(None, "experiment", "at"),
)

# The current rating of each assistant message, derived from rating_events in the same
# transaction that appends the event; ``value`` is NULL once a rating was cleared.
ratings = Table(
    "ratings", metadata,
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("conversation_id", ID, ForeignKey("conversations.id", ondelete="CASCADE"),
           nullable=False),
    Column("model", String(200), nullable=True),   # copied from the message for fast aggregates
    Column("system_prompt", Text, nullable=True),  # copied from the message, likewise
    Column("scale", String(10), nullable=False),   # thumbs | faces | stars
    Column("value", Integer, nullable=True),       # thumbs 0/1, faces and stars 1..5
    Column("score", Float, nullable=True),         # value normalised to 0..1
    Column("comment", Text, nullable=True),
    Column("tags", JSON, nullable=True),           # list of reason tags
    Column("rater", String(320), nullable=True),
    Column("created_at", WHEN, nullable=False),
    Column("rated_at", WHEN, nullable=False),
    Index(None, "conversation_id"),
    Index(None, "rated_at"),
    Index(None, "model", "rated_at"),
    Index(None, "score", "rated_at"),  # the dashboard's lowest-rated answers
)

# Reason tags one row each, so that SQL can count them by polarity.
rating_tags = Table(
    "rating_tags", metadata,
    Column("message_id", ID, ForeignKey("ratings.message_id", ondelete="CASCADE"),
           primary_key=True),
    Column("tag", String(200), primary_key=True),
)

# The append-only audit trail: one row per rating action.
rating_events = Table(
    "rating_events", metadata,
    Column("id", ID, primary_key=True),
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("conversation_id", ID, nullable=False),
    Column("action", String(16), nullable=False),  # set | change | clear | comment | tags
    Column("scale", String(10), nullable=True),
    Column("value", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("tags", JSON, nullable=True),
    Column("actor", String(320), nullable=True),   # user email or session id
    Column("created_at", WHEN, nullable=False),
    Index(None, "message_id"),
    Index(None, "created_at"),
)

# Running totals for the dashboard, kept in the same transaction as the rows they count
# (Store.rate, annotate, add_message, import_conversation, mark_shown) and rebuilt by ``Store.rebuild_stats``.
# They turn "aggregate a million ratings" into "sum a few thousand counters". Days are UTC.
rating_counts = Table(
    "rating_counts", metadata,
    Column("day", Date, primary_key=True),             # the day of rated_at
    Column("model", String(200), primary_key=True),    # "" when unknown
    Column("prompt_key", String(16), primary_key=True),  # hash of the system prompt; "" none
    Column("scale", String(10), primary_key=True),
    Column("value", Integer, primary_key=True),
    Column("system_prompt", Text, nullable=True),
    Column("n", Integer, nullable=False),
)

tag_counts = Table(
    "tag_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("scale", String(10), primary_key=True),
    Column("value", Integer, primary_key=True),
    Column("tag", String(200), primary_key=True),
    Column("n", Integer, nullable=False),
)

answer_counts = Table(
    "answer_counts", metadata,
    Column("day", Date, primary_key=True),             # the day the answer was created
    Column("model", String(200), primary_key=True),
    Column("answers", Integer, nullable=False),
    Column("shown", Integer, nullable=False),
)

# Shown answers that have a rating now (the numerator of the dashboard's rated share; its
# denominator is answer_counts.shown). Keyed like answer_counts, by the day the answer was
# created, so that under any date and model filter the rated among shown are a part of the
# shown; and by the scale of the rating, for the scale filter.
shown_rated_counts = Table(
    "shown_rated_counts", metadata,
    Column("day", Date, primary_key=True),             # the day the answer was created
    Column("model", String(200), primary_key=True),    # the answer's model; "" when unknown
    Column("scale", String(10), primary_key=True),     # the scale of its current rating
    Column("n", Integer, nullable=False),
)


# An experiment's ratings summed per unit (a person or a conversation) and UTC day, kept
# like the counters above (Store.rate) for conversations in an experiment: the report sums
# these instead of a million ratings. Without rowid on SQLite: the key is the read order.
unit_counts = Table(
    "unit_counts", metadata,
    Column("experiment", String(200), primary_key=True),
    Column("arm", String(200), primary_key=True),
    Column("unit", String(320), primary_key=True),
    Column("day", Date, primary_key=True),            # the day of rated_at
    Column("n", Integer, nullable=False),             # ratings
    Column("positive", Integer, nullable=False),      # of them positive (scales.polarity)
    Column("score", Float, nullable=False),           # sum of their 0-1 scores
    Column("score_sq", Float, nullable=False),        # sum of the squared scores
    sqlite_with_rowid=False,
)


# Ratings per rater (the person who rated; the conversation when nobody is known), UTC day,
# model, system prompt and scale: the dashboard's per-person intervals for its observational
# comparisons of models and system prompts sum these, kept like the counters above.
rater_counts = Table(
    "rater_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("prompt_key", String(16), primary_key=True),
    Column("scale", String(10), primary_key=True),
    Column("rater", String(320), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    sqlite_with_rowid=False,
)


# Review: queues of answers that reviewers judge by a rubric (see review.py).
review_queues = Table(
    "review_queues", metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("filter", JSON, nullable=False),        # how its answers were chosen
    Column("k", Integer, nullable=False),          # reviewers wanted per item
    Column("criteria", JSON, nullable=False),      # the rubric, as it was when created
    Column("items", Integer, nullable=False),
    Column("created_by", String(320), nullable=True),
    Column("created_at", WHEN, nullable=False),
    Index(None, "name", unique=True),
)

review_items = Table(
    "review_items", metadata,
    Column("id", ID, primary_key=True),
    Column("queue_id", ID, ForeignKey("review_queues.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),   # the order items are handed out in
    Column("taken", Integer, nullable=False),      # reviewers holding it or done with it
    Column("done", Integer, nullable=False),       # reviewers who judged it
    Column("wanted", Boolean, nullable=False),     # taken < k: the next reviewer may get it
    Index(None, "queue_id", "wanted", "position"),  # the next item: one index range
    Index(None, "queue_id", "message_id", unique=True),
    Index(None, "message_id"),
)

# Who holds or held an item: one row per (item, reviewer), so no one gets an item twice.
review_assignments = Table(
    "review_assignments", metadata,
    Column("item_id", ID, ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True),
    Column("reviewer", String(320), primary_key=True),
    Column("queue_id", ID, nullable=False),
    Column("state", String(10), nullable=False),   # open | done | skipped | expired
    Column("reason", Text, nullable=True),         # why it was skipped
    Column("claimed_at", WHEN, nullable=False),
    Column("finished_at", WHEN, nullable=True),
    Index(None, "queue_id", "reviewer", "state"),
    Index(None, "queue_id", "state", "claimed_at"),
)

review_judgements = Table(
    "review_judgements", metadata,
    Column("id", ID, primary_key=True),
    Column("item_id", ID, ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False),
    Column("queue_id", ID, nullable=False),
    Column("message_id", ID, nullable=False),
    Column("reviewer", String(320), nullable=False),
    Column("criterion", String(200), nullable=False),
    Column("value", Text, nullable=False),         # as the criterion stores it (rubric.py)
    Column("created_at", WHEN, nullable=False),
    Index(None, "item_id", "reviewer", "criterion", unique=True),
    Index(None, "queue_id", "criterion"),
)

# The answer that should have been given; the answer itself is never changed.
review_corrections = Table(
    "review_corrections", metadata,
    Column("id", ID, primary_key=True),
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ID, nullable=True),
    Column("queue_id", ID, nullable=True),
    Column("content", Text, nullable=False),
    Column("author", String(320), nullable=True),
    Column("created_at", WHEN, nullable=False),
    Index(None, "message_id"),
    Index(None, "queue_id"),
)

# An admin's final value for an item and criterion: the gold label.
review_adjudications = Table(
    "review_adjudications", metadata,
    Column("item_id", ID, ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True),
    Column("criterion", String(200), primary_key=True),
    Column("queue_id", ID, nullable=False),
    Column("message_id", ID, nullable=False),
    Column("value", Text, nullable=False),
    Column("admin", String(320), nullable=True),
    Column("created_at", WHEN, nullable=False),
    Index(None, "queue_id"),
)

# Arena: a round is two conversations, one per model, that get the same prompts side by side.
arena_rounds = Table(
    "arena_rounds", metadata,
    Column("id", ID, primary_key=True),
    Column("voter", String(320), nullable=False),      # user email or session:<id>
    Column("model_a", String(200), nullable=False),
    Column("model_b", String(200), nullable=False),
    Column("conversation_a", ID, ForeignKey("conversations.id", ondelete="CASCADE"),
           nullable=False),
    Column("conversation_b", ID, ForeignKey("conversations.id", ondelete="CASCADE"),
           nullable=False),
    Column("sampling", String(10), nullable=False),    # uniform | active
    Column("probability", Float, nullable=False),      # of drawing this pair (unordered)
    Column("weight", Float, nullable=False),           # 1 / (pairs x probability)
    Column("status", String(10), nullable=False),      # open | voted | failed
    Column("created_at", WHEN, nullable=False),
    Column("updated_at", WHEN, nullable=False),
    Index(None, "voter", "created_at"),
    Index(None, "status"),
)

# One vote per round (or per imported battle), with both sides' style counts for style control.
arena_votes = Table(
    "arena_votes", metadata,
    Column("id", ID, primary_key=True),
    Column("round_id", ID, ForeignKey("arena_rounds.id", ondelete="CASCADE"), nullable=True,
           unique=True),
    Column("voter", String(320), nullable=False),
    Column("model_a", String(200), nullable=False),
    Column("model_b", String(200), nullable=False),
    Column("winner", String(16), nullable=False),      # model_a | model_b | tie | tie (bothbad)
    Column("conversation_a", ID, nullable=True),
    Column("conversation_b", ID, nullable=True),
    Column("message_a", ID, nullable=True),            # the answers voted on (the last turn's)
    Column("message_b", ID, nullable=True),
    Column("probability", Float, nullable=True),
    Column("weight", Float, nullable=False),
    Column("length_a", Integer, nullable=True),        # characters of all of side A's answers
    Column("headers_a", Integer, nullable=True),       # Markdown headers, list items, bold
    Column("lists_a", Integer, nullable=True),
    Column("bold_a", Integer, nullable=True),
    Column("length_b", Integer, nullable=True),
    Column("headers_b", Integer, nullable=True),
    Column("lists_b", Integer, nullable=True),
    Column("bold_b", Integer, nullable=True),
    Column("source", String(10), nullable=False),      # arena | import
    Column("created_at", WHEN, nullable=False),
    Column("updated_at", WHEN, nullable=False),
    Index(None, "created_at"),
    # covers the leaderboard's GROUP BY with its SUM(weight): read in order, never sorted
    Index(None, "voter", "model_a", "model_b", "winner", "weight"),
)

# The delivery outbox (outbox/, store/outbox.py). Every rating event, arena vote and review
# judgement is also written here, in the transaction that writes it; the delivery worker
# hands each row to the queue of every configured sink ("fans it out", ``fanned``), then
# delivers from those queues. ``payload`` is the event as sinks get it (outbox/base.py Event).
outbox = Table(
    "outbox", metadata,
    Column("id", ID, primary_key=True),            # the event's id: the idempotency key
    Column("payload", JSON, nullable=False),
    Column("created_at", WHEN, nullable=False),    # when it was written (not the event's time)
    Column("fanned", Boolean, nullable=False),     # queued for the sinks configured then
    Index(None, "fanned", "id"),
)

# The sinks a worker has seen, each from when it was first seen: older events are not
# queued for it (a sink added later gets no flood of history; ``sinks replay`` asks for it).
outbox_sinks = Table(
    "outbox_sinks", metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("since", WHEN, nullable=False),
)

# One row per (sink, event): the delivery's state, tries and the last failure.
outbox_deliveries = Table(
    "outbox_deliveries", metadata,
    Column("sink", String(200), primary_key=True),
    Column("event_id", ID, primary_key=True),
    Column("state", String(10), nullable=False),   # pending | delivered | dead
    Column("tries", Integer, nullable=False),
    Column("next_at", WHEN, nullable=False),       # a pending delivery is tried from then on
    Column("error", Text, nullable=True),          # the last failure
    Column("updated_at", WHEN, nullable=False),
    Index(None, "sink", "state", "next_at"),
)

# Which process delivers: on SQLite the lease itself (taken over once it expires), on
# PostgreSQL only a record of the advisory lock's holder (shown by ``sinks status``).
outbox_leases = Table(
    "outbox_leases", metadata,
    Column("name", String(50), primary_key=True),
    Column("holder", String(200), nullable=False),  # host:pid
    Column("expires_at", WHEN, nullable=False),
)

# The arena's running totals (store/arena_totals.py): kept in the transaction of each vote,
# changed vote and import, rebuilt by Store.rebuild_stats; the leaderboard reads these instead
# of every vote. A voter's cluster, the unit its bootstrap resamples: voters numbered in the
# order of their first vote, modulo arena_totals.CLUSTERS (each voter its own up to that many).
arena_voters = Table(
    "arena_voters", metadata,
    Column("voter", String(320), primary_key=True),
    Column("cluster", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Per cluster and pair of models (names in code-point order): votes, the first model's wins
# (a tie and "both bad" half), and the same weighted by 1 / (pairs x probability of the pair).
arena_totals = Table(
    "arena_totals", metadata,
    Column("cluster", Integer, primary_key=True),
    Column("model_lo", String(200), primary_key=True),
    Column("model_hi", String(200), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("wins", Float, nullable=False),
    Column("weight", Float, nullable=False),
    Column("weighted_wins", Float, nullable=False),
    sqlite_with_rowid=False,
)
