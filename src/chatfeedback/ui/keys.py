"""Every session-state key of the app, widget keys included, named here and nowhere else,
all with one prefix (``cf_``): two pages never collide, and a reader finds what each key
holds in one list. Keys of one answer, conversation or review item end with its id."""

from __future__ import annotations

PREFIX = "cf_"


def key(*parts: object) -> str:
    """``cf_`` and the parts joined by ``_``."""
    return PREFIX + "_".join(str(part) for part in parts)


# ------------------------------------------------------------------ state the pages keep
RATINGS = key("ratings")            # message id -> Rating, refreshed on each full run
SAVED = key("saved")                # message id -> the server-confirmed "Saved" note
DETAILS_OPEN = key("details")       # message ids whose reasons/comment editor is open
SHOWN_TURNS = key("shown_turns")    # conversation id -> how many latest turns to render
REGENERATE = key("regenerate")      # the answer whose prompt is answered again this run
VERSION_ERROR = key("version_error")  # a version switch that failed, shown next run
MODEL_CHOSEN = key("model_chosen")  # the last model picked, kept for the next conversation
CONSENT_ERROR = key("consent_error")
STOP_CHECK = key("stop_check")      # never set: reading Session State is where a Stop acts
STREAMLIT_WARNED = key("streamlit_warned")  # the untested-Streamlit warning was shown
ARENA_ERROR = key("arena_error")
REVIEW_FLASH = key("review_flash")  # the note shown once after a review action


def review_going(queue_id: str) -> str:
    """True once this session took an item of the queue."""
    return key("review_going", queue_id)


# ------------------------------------------------------------------- the chat page
NEW_CHAT = key("new_chat")
SHOW_EARLIER = key("show_earlier")
NOT_FOUND_NEW = key("not_found_new")
MODEL_PICK = key("model")           # the model selectbox
CONSENT_NEW = key("consent_new")    # the switch shown before a conversation exists
SIGN_OUT = key("sign_out")


def conversation(conversation_id: str) -> str:
    """The sidebar's button of a conversation."""
    return key("conv", conversation_id)


def consent(conversation_id: str) -> str:
    return key("consent", conversation_id)


def sign_in(provider: str | None) -> str:
    return key("sign_in", provider or "default")


def rating(message_id: str) -> str:
    """The answer's ``st.feedback`` widget."""
    return key("fb", message_id)


def rating_error(message_id: str) -> str:
    return key("fb_error", message_id)


def tags(message_id: str) -> str:
    return key("tags", message_id)


def comment(message_id: str) -> str:
    return key("comment", message_id)


def details_form(message_id: str) -> str:
    return key("form", message_id)


def details_edit(message_id: str) -> str:
    return key("edit", message_id)


def details_error(message_id: str) -> str:
    return key("error", message_id)


def versions(slot: str) -> str:
    return key("versions", slot)


def previous_version(slot: str) -> str:
    return key("prev", slot)


def next_version(slot: str) -> str:
    return key("next", slot)


def regenerate(slot: str) -> str:
    return key("regen", slot)


# ------------------------------------------------------------- the other pages
DASH_DATES = key("dash_dates")
DASH_MODEL = key("dash_model")
DASH_SCALE = key("dash_scale")
DASH_PERIOD = key("dash_period")
DASH_REFRESH = key("dash_refresh")
DASH_WITH_COMMENT = key("dash_with_comment")


def dash_compare(name: str, side: str) -> str:
    """One of the two selectboxes (``side`` a or b) comparing ``name`` (e.g. model)."""
    return key("dash_cmp", name, side)


def export(fmt: str) -> str:
    return key("export", fmt)


EXP_NAME = key("exp_name")
EXP_METRIC = key("exp_metric")
EXP_REFRESH = key("exp_refresh")

ARENA_NEW_ROUND = key("arena_new_round")
ARENA_TABLE = key("arena_table")


def arena_vote(winner: str) -> str:
    return key("vote", winner)


REVIEW_QUEUE = key("review_queue")
REVIEW_VIEW = key("review_view")
REVIEW_NAME = key("review_name")
REVIEW_TAKE = key("review_take")
REVIEW_PROGRESS = key("review_progress")


def review(*parts: object) -> str:
    """A widget of one review item or queue: ``review("skip", item_id)``."""
    return key("review", *parts)


def new_queue(field: str) -> str:
    """A field of the new-queue form (name, k, criteria, since, ...)."""
    return key("nq", field)
