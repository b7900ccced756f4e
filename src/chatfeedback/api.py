"""The Python API: an app that answers with its own model logs its conversations here and
records what people think of the answers, into the database the chat, the dashboard and
the exports use::

    import chatfeedback

    fb = chatfeedback.connect("sqlite:///feedback.db")      # opened and migrated
    turn = fb.log("What is 2 + 2?", "4", model="gpt-4o-mini", user="ann@example.org")
    fb.rate(turn.answer.id, 1, rater="ann@example.org")     # thumbs up
    fb.comment(turn.answer.id, "short and right", rater="ann@example.org")

Everything goes through the chat's own service (chat.ChatService) and Store, so the rating
mode (``[feedback] mode``), the audit trail and the running totals apply as they do to a
click in the chat. Every failure is a :class:`~chatfeedback.errors.ChatfeedbackError` with a
one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .backends.python import ModelFunction, PythonBackend
from .chat import ChatService, Turn
from .config import ArenaConfig, ModelConfig, Settings, load_settings, with_feedback
from .errors import FeedbackError
from .store import ArenaRound, ArenaVote, Message, Rating

if TYPE_CHECKING:
    from .arena import Arena

__all__ = ["Feedback", "connect", "function_service", "settings"]

Path = str | os.PathLike[str]


def settings(url: str | None = None, *, config: Path | None = None, scale: str | None = None,
             mode: str | None = None, comment: bool | None = None,
             where: str = "chatfeedback") -> Settings:
    """The settings as the app reads them (``config``, else $CHATFEEDBACK_CONFIG or
    ./chatfeedback.toml when present; the database ``url``, else $CHATFEEDBACK_DATABASE_URL
    or the file's), with the ``[feedback]`` keys given here over them."""
    loaded = load_settings(config, url)
    return with_feedback(loaded, where, scale=scale, mode=mode, comment=comment)


def connect(url: str | None = None, *, config: Path | None = None, scale: str | None = None,
            mode: str | None = None) -> Feedback:
    """Open the database at ``url`` (``sqlite:///feedback.db``,
    ``postgresql+psycopg://user@host/db``) and migrate it to the latest schema, as
    ``chatfeedback run`` does. ``scale`` (thumbs, faces, stars) and ``mode`` (locked,
    changeable, latest) override the settings file's ``[feedback]``."""
    return Feedback(ChatService.open(settings(url, config=config, scale=scale, mode=mode,
                                              where="chatfeedback.connect")))


def function_service(function: ModelFunction, *, url: str | None = None,
                     config: Path | None = None, scale: str | None = None,
                     mode: str | None = None, name: str | None = None,
                     system_prompt: str | None = None,
                     where: str = "feedback_chat") -> ChatService:
    """A chat service whose one model is ``function`` (see backends/python.py), called
    ``name`` (default: the function's name) with ``system_prompt``: the settings as
    :func:`settings` reads them, their models, arena and experiments replaced by it. The
    database is opened and migrated. (The drop-in chat, chatfeedback.streamlit, uses it.)"""
    base = settings(url, config=config, scale=scale, mode=mode, where=where)
    entry = ModelConfig(name or str(getattr(function, "__name__", None) or "model"), "python",
                        system_prompt=system_prompt)
    only = replace(base, models=(entry,), arena=ArenaConfig(), experiments=())
    return ChatService.open(only, {entry.name: PythonBackend(entry, function)})


class Feedback:
    """Conversations, answers and their ratings in one database (see :func:`connect`).

    Safe to share between threads (one per process is enough, e.g. a FastAPI app's)."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    @property
    def settings(self) -> Settings:
        return self.service.settings

    @property
    def scale(self) -> str:
        """The rating scale: values are 0/1 on ``thumbs``, 1-5 on ``faces`` and ``stars``."""
        return self.service.settings.feedback.scale

    # ------------------------------------------------------------------- logging
    def log(self, prompt: str, answer: str, *, model: str, user: str | None = None,
            conversation: str | None = None, system_prompt: str | None = None,
            trace_id: str | None = None, meta: dict[str, Any] | None = None,
            settings: dict[str, Any] | None = None, latency_ms: float | None = None, prompt_tokens: int | None = None,
            completion_tokens: int | None = None, status: str = "complete",
            error: str | None = None, shown: bool = True) -> Turn:
        """Log one exchange: ``prompt`` and the ``answer`` that ``model`` gave to it.

        ``conversation``: the id of a conversation to continue (``turn.conversation.id``
        of an earlier call); None starts one, owned by ``user``, with ``meta`` (any JSON
        object). ``system_prompt`` is what the model was told; ``trace_id`` is the answer's
        trace in Langfuse or OpenTelemetry, which rating events carry to their sinks;
        ``settings``: how it was generated (``{"temperature": 0.2}``; no secrets: exports
        carry it).
        ``status``: complete, stopped (cut short) or error (with ``error``). ``shown``: the
        person saw the answer (the dashboard's share of answers rated counts it).
        Returns the turn: ``.conversation``, ``.prompt`` and ``.answer`` as stored."""
        if not isinstance(model, str) or not model.strip():
            raise FeedbackError("log needs the model's name (model=...)")
        if trace_id is not None and (not isinstance(trace_id, str) or len(trace_id) > 200):
            raise FeedbackError("trace_id must be a string of at most 200 characters")
        total = (None if prompt_tokens is None or completion_tokens is None
                 else prompt_tokens + completion_tokens)
        return self.service.log(
            conversation, prompt, answer, model=model, owner=user, meta=meta, status=status,
            shown=shown, system_prompt=system_prompt, trace_id=trace_id, error=error,
            settings=settings,
            latency_ms=latency_ms, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens, total_tokens=total)

    # ------------------------------------------------------------------- ratings
    def rate(self, answer_id: str, value: int | None, *, rater: str | None = None) -> Rating:
        """Rate an answer on the configured scale (thumbs: 0 or 1; faces, stars: 1 to 5);
        ``None`` clears the rating. The rating mode applies: in ``locked`` mode (the
        default) a rated answer keeps its rating (FeedbackError)."""
        return self.service.rate(answer_id, value, actor=rater)

    def clear(self, answer_id: str, *, rater: str | None = None) -> Rating:
        """Take an answer's rating back (not in ``locked`` mode)."""
        return self.service.rate(answer_id, None, actor=rater)

    def comment(self, answer_id: str, text: str, *, rater: str | None = None) -> Rating:
        """Set the comment of a rated answer (``""`` removes it)."""
        if not isinstance(text, str):
            raise FeedbackError(f"a comment is text, got {type(text).__name__}")
        return self.service.annotate(answer_id, comment=text, actor=rater)

    def tag(self, answer_id: str, tags: Iterable[str], *, rater: str | None = None) -> Rating:
        """Set the reason tags of a rated answer (e.g. ``["Wrong", "Too long"]``; ``[]``
        removes them)."""
        given = [] if isinstance(tags, str) else list(tags)
        if isinstance(tags, str) or not all(isinstance(t, str) for t in given):
            raise FeedbackError("tags are a list of strings, e.g. [\"Wrong\", \"Too long\"]")
        return self.service.annotate(answer_id, tags=given, actor=rater)

    # ------------------------------------------------------------------- arena
    def log_battle(self, prompt: str, a: tuple[str, str], b: tuple[str, str], *,
                   voter: str, user: str | None = None) -> ArenaRound:
        """Log a side-by-side comparison that the app showed ``voter``: ``prompt`` answered
        by two models, ``a`` and ``b`` each ``(model, answer)``. Vote on it with
        :meth:`vote`; the Arena's leaderboard counts it."""
        for side in (a, b):
            if not (isinstance(side, tuple) and len(side) == 2
                    and all(isinstance(x, str) and x for x in side)):
                raise FeedbackError("each side is a (model, answer) pair of strings")
        if not isinstance(voter, str) or not voter:
            raise FeedbackError("log_battle needs the voter (voter=...)")
        return self._arena().log(prompt, a, b, voter=voter, owner=user or voter)

    def vote(self, round_id: str, winner: str, *, voter: str | None = None) -> ArenaVote:
        """The vote on a logged comparison: ``winner`` is "model_a", "model_b", "tie" or
        "tie (bothbad)" (LMArena's words). The rating mode applies, as to ratings."""
        return self._arena().vote(round_id, winner, actor=voter)

    def _arena(self) -> Arena:
        from .arena import Arena  # numpy's Bradley-Terry helpers: loaded when used

        return Arena(self.service)

    # --------------------------------------------------------------------- reads
    def rating(self, answer_id: str) -> Rating | None:
        """The answer's rating, comment and tags (None: never rated)."""
        return self.service.store.rating(answer_id)

    def messages(self, conversation_id: str) -> list[Message]:
        """A conversation as the chat shows it: each prompt, then its selected answer."""
        return self.service.store.messages(conversation_id)

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Release the database connections."""
        self.service.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
