"""Every session-state key of the app, widget keys included, named here and nowhere else,
all with one prefix (``cf_``): two pages never collide, and a reader finds what each key
holds in one list. Keys of one answer, conversation or review item end with its id:
``keys.rating(message_id)`` is ``cf_fb_<message id>``."""

from __future__ import annotations

PREFIX = "cf_"


def key(*parts: object) -> str:
    """``cf_`` and the parts joined by ``_``."""
    return PREFIX + "_".join(str(part) for part in parts)


class Family(str):
    """The keys of one kind of widget or state, one per id: ``Family("fb")(id)``."""

    def __call__(self, *ids: object) -> str:
        return key(self, *ids)


# ------------------------------------------------------------------ state the pages keep
RATINGS = key("ratings")            # message id -> Rating, refreshed on each full run
SAVED = key("saved")                # message id -> the server-confirmed "Saved" note
DETAILS_OPEN = key("details")       # message ids whose reasons/comment editor is open
SHOWN_TURNS = key("shown_turns")    # conversation id -> how many latest turns to render
LISTED = key("listed")              # how many conversations the sidebar lists
REGENERATE = key("regenerate")      # the answer whose prompt is answered again this run
VERSION_ERROR = key("version_error")  # a version switch that failed, shown next run
MODEL_CHOSEN = key("model_chosen")  # the last model picked, kept for the next conversation
CONSENT_ERROR = key("consent_error")
STOP_CHECK = key("stop_check")      # never set: reading Session State is where a Stop acts
STREAMLIT_WARNED = key("streamlit_warned")  # the untested-Streamlit warning was shown
ARENA_ERROR = key("arena_error")
REVIEW_FLASH = key("review_flash")  # the note shown once after a review action
DROPIN_CONVERSATION = key("dropin_conversation")  # the drop-in chat's open conversation
review_going = Family("review_going")  # queue id -> True once this session took an item

# ------------------------------------------------------------------ the chat page
PROMPT = key("prompt")              # the chat input
NEW_CHAT = key("new_chat")
SHOW_EARLIER = key("show_earlier")
LIST_MORE = key("list_more")        # the sidebar's "More conversations" button
NOT_FOUND_NEW = key("not_found_new")
MODEL_PICK = key("model")           # the model selectbox
CONSENT_NEW = key("consent_new")    # the switch shown before a conversation exists
SIGN_OUT = key("sign_out")
sign_in = Family("sign_in")         # per sign-in provider ("default": the only one)
conversation = Family("conv")       # the sidebar's button of a conversation
consent = Family("consent")         # a conversation's training-consent switch
rating = Family("fb")               # an answer's st.feedback widget
rating_error = Family("fb_error")   # why an answer's rating was not saved
tags = Family("tags")               # an answer's reason pills
comment = Family("comment")         # an answer's comment box
details_form = Family("form")       # the form around both
details_edit = Family("edit")       # the button that opens it
details_error = Family("error")     # why they were not saved
versions = Family("versions")       # a prompt's version switcher
previous_version = Family("prev")
next_version = Family("next")
regenerate = Family("regen")
ECHO_HINT = key("echo_hint")                  # the echo-only hint's row
ECHO_HINT_CLOSE = key("echo_hint_close")      # ... its close button
ECHO_HINT_DISMISSED = key("echo_hint_dismissed")  # closed for this session

# ------------------------------------------------------------------ the other pages
DASH_DATES = key("dash_dates")
DASH_MODEL = key("dash_model")
DASH_SCALE = key("dash_scale")
DASH_PERIOD = key("dash_period")
DASH_REFRESH = key("dash_refresh")
DASH_WITH_COMMENT = key("dash_with_comment")
dash_compare = Family("dash_cmp")   # (what, "a" or "b"): the two sides of a comparison
export = Family("export")           # a download button, per format
EXPORT_REDACT = key("export_redact")          # the Export page's privacy options ...
EXPORT_HASH = key("export_hash")
EXPORT_SALT = key("export_salt")
EXPORT_FORMAT = key("export_format")          # ... the format of a private export
EXPORT_PREPARE = key("export_prepare")        # ... the button that builds it
EXPORT_PREPARED = key("export_prepared")      # ... and the file it built (Prepared)
EXP_NAME = key("exp_name")
EXP_METRIC = key("exp_metric")
EXP_REFRESH = key("exp_refresh")
ARENA_NEW_ROUND = key("arena_new_round")
ARENA_TABLE = key("arena_table")
arena_vote = Family("vote")         # per winner: a, b, tie, both bad
ARENA_TAB = key("arena_tab")        # the open tab of the Arena page: Battle or Leaderboard
ARENA_STYLE = key("arena_style")    # the button that computes style control on a large arena
REVIEW_QUEUE = key("review_queue")
REVIEW_VIEW = key("review_view")
REVIEW_NAME = key("review_name")
REVIEW_TAKE = key("review_take")
REVIEW_PROGRESS = key("review_progress")
review = Family("review")           # (what, ids...): a widget of one review item or queue
new_queue = Family("nq")            # a field of the new-queue form (name, k, criteria, ...)
