"""The one rule for what an answer's request contains (its context), and how it is sent.

The Store applies :func:`contexts` when an answer is started and keeps the result with the
answer (see store/context.py); the chat sends that stored context, and the training exports
build their prompts from it, so what a model was sent is written down once and never
derived again. (Migration 0012 carries a frozen copy of this rule, as migrations must.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

USABLE = ("complete", "stopped")  # answers that later turns are built on


class Said(Protocol):
    """What the rule reads of a message (a Store Message, or a row with these columns)."""

    @property
    def id(self) -> str: ...
    @property
    def turn(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def selected(self) -> bool: ...


M = TypeVar("M", bound=Said)


def contexts(messages: Iterable[M]) -> Iterator[tuple[M, list[M]]]:
    """Each answer in ``messages`` with what the model is sent for it, besides the
    answer's own system prompt: the earlier exchanges and its prompt, so that roles
    alternate user/assistant as strict chat templates require (vLLM's, Mistral's).

    ``messages`` is a conversation in order (by turn; in a turn system messages, then the
    prompt, then its answers), as the Store reads it; other versions of an answer may be
    in it. An earlier turn is sent only when its selected answer is usable: complete, or
    stopped (the person saw the text and moved on), with some text. A turn whose answer
    failed (an error, an interruption by a crash), is still streaming or is empty is left
    out entirely, prompt included: a failed answer's partial text was never accepted, and
    its prompt alone would make two user turns in a row. System messages (e.g. imported
    ones) are kept where they stand; an answer without a prompt (an imported greeting) is
    not sent. Versions of the same turn never see each other."""
    sent: list[M] = []
    prompts: dict[str, M] = {}
    turn: int | None = None
    accepted: list[M] = []  # this turn's exchange, sent from the next turn on
    for message in messages:
        if message.turn != turn:
            sent += accepted
            accepted, turn = [], message.turn
        if message.role == "system":
            sent.append(message)
        elif message.role == "user":
            prompts[message.id] = message
        else:
            prompt = prompts.get(message.parent_id) if message.parent_id else None
            yield message, (sent + [prompt] if prompt else list(sent))
            if prompt and message.selected and message.status in USABLE \
                    and message.content.strip():
                accepted = [prompt, message]


def context(answer: M, messages: Sequence[M]) -> list[M]:
    """What :func:`contexts` gives ``answer`` (which need not be saved yet) after the
    conversation ``messages``; only the turns up to the answer's count."""
    before = [m for m in messages if m.turn < answer.turn
              or (m.turn == answer.turn and m.role != "assistant")]
    for message, sent in contexts([*before, answer]):
        if message is answer:
            return sent
    raise AssertionError("unreachable: the answer is the last message")


def request(system_prompt: str | None,
            context: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The messages of a chat-completions request: the system prompt (when there is one),
    then the context as ``(role, content)`` pairs. Exports write their prompts with it too."""
    sent = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return sent + [{"role": role, "content": content} for role, content in context]
