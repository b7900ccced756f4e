"""Arena votes in and out as JSON Lines, in the shape of LMArena's public releases.

One vote a line: ``{"model_a": "...", "model_b": "...", "winner": "model_a" | "model_b" |
"tie" | "tie (bothbad)", "judge": "<voter>", "tstamp": <unix seconds or ISO-8601>,
"conversation_a": [{"role": ..., "content": ...}, ...], "conversation_b": [...]}``; the two
conversations are optional (without them a vote counts in the leaderboard but not in style
control). Other keys are ignored. A line that does not fit is reported with its number and
the reason; the other lines are imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from .importer import LineError, Outcome, json_kind, json_object, parse_message, parsed_lines
from .stats.bradley_terry import STYLE_FEATURES, WINNERS
from .stats.style_control import style_features
from .store import Store
from .store.arena import FEATURE_COLUMNS
from .store.engine import now


@dataclass(frozen=True)
class ParsedVote:
    model_a: str
    model_b: str
    winner: str
    judge: str
    when: datetime
    conversation_a: list[tuple[str, str]] | None
    conversation_b: list[tuple[str, str]] | None


def parse_vote(text: str) -> ParsedVote:
    """The vote on one line, or LineError saying what is wrong with it."""
    data = json_object(text)
    names = []
    for key in ("model_a", "model_b", "judge"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise LineError(f"'{key}' must be a non-empty string")
        names.append(value.strip())
    if names[0] == names[1]:
        raise LineError(f"'model_a' and 'model_b' are the same model ({names[0]!r})")
    winner = data.get("winner")
    if winner not in WINNERS:
        raise LineError(f"'winner' must be one of {', '.join(WINNERS)}; got {winner!r}")
    sides = [_conversation(data.get(f"conversation_{side}"), side) for side in "ab"]
    if (sides[0] is None) != (sides[1] is None):
        raise LineError("give both 'conversation_a' and 'conversation_b', or neither")
    return ParsedVote(names[0], names[1], winner, names[2].lower(), _when(data.get("tstamp")),
                      sides[0], sides[1])


def _conversation(raw: Any, side: str) -> list[tuple[str, str]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise LineError(f"'conversation_{side}' must be a non-empty list of messages")
    try:
        messages = [parse_message(item, n) for n, item in enumerate(raw, start=1)]
    except LineError as exc:
        raise LineError(f"conversation_{side}: {exc}") from None
    if not any(role == "assistant" for role, _ in messages):
        raise LineError(f"conversation_{side} has no assistant message")
    for n, (previous, current) in enumerate(pairwise(messages), start=2):
        if previous[0] == current[0] == "assistant":
            raise LineError(f"conversation_{side}: message {n}: two assistant messages in a "
                            "row (an answer must follow a user message)")
    return messages


def _when(raw: Any) -> datetime:
    if raw is None:
        return now()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            raise LineError(f"'tstamp' {raw!r} is not a time") from None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise LineError(f"'tstamp' {raw!r} is not an ISO-8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise LineError(f"'tstamp' must be Unix seconds or an ISO-8601 string, got {json_kind(raw)}")


def _features(messages: list[tuple[str, str]]) -> list[int]:
    total = [0] * len(STYLE_FEATURES)
    for role, content in messages:
        if role == "assistant":
            total = [a + b for a, b in zip(total, style_features(content), strict=True)]
    return total


def import_votes(store: Store, lines: Iterable[str | bytes], *,
                 batch: int = 5000) -> Iterator[Outcome]:
    """Import each non-blank line as one vote, yielding an Outcome per line. A vote with its
    conversations stores them (hidden from the chat's list, like the arena's own) and their
    style counts; votes are written in batches of ``batch``."""
    pending: list[dict[str, Any]] = []
    for number, vote in parsed_lines(lines, parse_vote):
        if isinstance(vote, LineError):
            yield Outcome(number, error=str(vote))
            continue
        row: dict[str, Any] = {"voter": vote.judge, "model_a": vote.model_a,
                               "model_b": vote.model_b, "winner": vote.winner,
                               "created_at": vote.when}
        if vote.conversation_a is not None and vote.conversation_b is not None:
            for side, model, messages in (("a", vote.model_a, vote.conversation_a),
                                          ("b", vote.model_b, vote.conversation_b)):
                conv = store.import_conversation(messages, model=model, source="arena")
                answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
                row[f"conversation_{side}"] = conv.id
                row[f"message_{side}"] = answers[-1].id
            row.update(zip(FEATURE_COLUMNS, _features(vote.conversation_a)
                           + _features(vote.conversation_b), strict=True))
        pending.append(row)
        yield Outcome(number)
        if len(pending) >= batch:
            store.import_votes(pending)
            pending.clear()
    if pending:
        store.import_votes(pending)


def vote_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Every vote in the shape :func:`parse_vote` reads, oldest first, with the two
    conversations (prompts and shown answers) when the vote has them."""
    for vote in store.iter_votes():
        row: dict[str, Any] = {"model_a": vote["model_a"], "model_b": vote["model_b"],
                               "winner": vote["winner"], "judge": vote["voter"],
                               "tstamp": vote["created_at"].timestamp()}
        if vote["conversation_a"] and vote["conversation_b"]:
            for side in "ab":
                row[f"conversation_{side}"] = [
                    {"role": role, "content": content}
                    for role, content in store.selected_answers(vote[f"conversation_{side}"])]
        yield row
