"""Training exports that TRL and OpenAI fine-tuning read as they are: kto, dpo and sft.

All three are conversational (lists of ``{"role", "content"}`` messages):

* ``kto``: TRL's unpaired preference format, ``{"prompt": [...], "completion":
  [assistant message], "label": bool}``. Thumbs map directly; for faces and stars 4-5 are
  true, 1-2 false and 3 (neutral) is left out.
* ``dpo``: TRL's preference format, ``{"prompt": [...], "chosen": [assistant message],
  "rejected": [assistant message]}``, one row per pair of regenerated versions sent the
  same prompt (system prompt and context) whose 0-1 scores differ: the higher score is chosen
  (a pair whose two texts are the same once whitespace is normalised is left out);
  and one row per arena vote with a winner (the winner's answer chosen, the loser's rejected;
  ties and "both bad" left out) when both sides were sent the same request (a first turn
  with the same system prompt: after it, each side's history holds its own answers) and both
  sides' conversations allow training use.
* ``sft``: OpenAI's fine-tuning chat format, ``{"messages": [...]}``, one row per
  positively rated answer.

kto and sft leave out exact duplicates (the same prompt, completion and label as a row
already written). Everything left out is counted in the summary.

Reviewers' corrections (review.py) are training data too. Every sft and dpo row says where
it comes from in ``"source"``: ``"rating"``, ``"arena"`` or ``"correction"``. sft gets the
prompt with the corrected answer; dpo gets the correction chosen over the original answer
when that answer was rated below the top of its scale. A correction counts when it was
written inside the --since/--until window; the newest correction of an answer is used.

The prompt is what the model was sent for that answer: its system prompt, then the context
stored with the answer when it was started (history.py decides it, store/context.py keeps
it), never derived again here. Only conversations whose owner allowed training use are read;
only complete answers with text are exported (a stopped or failed answer is no example).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from math import ceil, floor
from typing import Any, TextIO

from .. import history, scales
from ..progress import Progress
from ..store import Store, context
from ..store.filters import Filters
from ..store.training import count_without_consent, iter_conversations

FORMATS = ("kto", "dpo", "sft")


@dataclass
class Summary:
    """What an export wrote and what it left out, for the line on stderr."""

    fmt: str
    rows: int = 0
    positives: int = 0
    negatives: int = 0
    pairs: int = 0
    neutral: int = 0
    incomplete: int = 0
    no_consent: int = 0
    arena_pairs: int = 0
    arena_ties: int = 0
    arena_no_consent: int = 0
    arena_context_differs: int = 0
    same_text: int = 0    # dpo: pairs whose chosen and rejected texts are the same
    duplicates: int = 0   # kto, sft: rows equal to one already written
    corrections: int = 0  # sft, dpo: rows made from reviewers' corrections
    notes: list[str] = field(default_factory=list)

    def weights(self) -> tuple[float, float] | None:
        """TRL's advice for KTO class imbalance: weight the rarer class so that
        (desirable_weight x positives) / (undesirable_weight x negatives) lies between
        1:1 and 4:3. The commoner class keeps weight 1; the rarer gets the weight that
        brings the ratio to 1:1, rounded to 2 decimals on the side that stays in range."""
        if not self.positives or not self.negatives:
            return None
        if self.positives >= self.negatives:
            return 1.0, floor(self.positives / self.negatives * 100) / 100
        return ceil(self.negatives / self.positives * 100) / 100, 1.0

    def lines(self) -> list[str]:
        text = f"{self.fmt}: {self.rows:,} rows"
        if self.fmt == "dpo":
            text += f", {self.pairs:,} pairs ({self.arena_pairs:,} from arena votes)"
        text += f", {self.positives:,} positives, {self.negatives:,} negatives"
        out = [text]
        left = []
        if self.neutral:
            left.append(f"{self.neutral:,} neutral (faces/stars 3)")
        if self.incomplete:
            left.append(f"{self.incomplete:,} stopped, failed or empty answers")
        if self.no_consent:
            left.append(f"{self.no_consent:,} rated answers in conversations without "
                        f"training consent")
        if self.arena_ties:
            left.append(f"{self.arena_ties:,} arena ties")
        if self.arena_no_consent:
            left.append(f"{self.arena_no_consent:,} arena votes without training consent on "
                        "both sides")
        if self.arena_context_differs:
            left.append(f"{self.arena_context_differs:,} arena votes whose sides were sent "
                        "different requests (later turns, or different system prompts)")
        if self.same_text:
            left.append(f"{self.same_text:,} pairs whose chosen and rejected texts are the "
                        f"same (whitespace normalised)")
        if self.duplicates:
            left.append(f"{self.duplicates:,} duplicate rows (the same prompt, completion "
                        f"and label as a row already written)")
        if left:
            out.append("left out: " + "; ".join(left))
        if self.corrections:
            out.append(f"{self.corrections:,} of the rows are reviewers' corrections "
                       f"(\"source\": \"correction\")")
        if self.fmt == "kto":
            weights = self.weights()
            if weights:
                out.append(f"KTOConfig(desirable_weight={weights[0]}, "
                           f"undesirable_weight={weights[1]})  # TRL: keep "
                           f"(desirable_weight x positives) / (undesirable_weight x "
                           f"negatives) between 1:1 and 4:3")
            else:
                out.append("only one class: KTO needs both desirable and undesirable "
                           "examples")
        return out + self.notes


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


class _Conversation:
    """One conversation's messages, and the prompt each answer was given."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.answers = [r for r in rows if r["role"] == "assistant"]
        self._by_id = {r["id"]: r for r in rows}
        self._chains = context.chains(rows)

    def context(self, answer: dict[str, Any]) -> list[str]:
        """The ids of the messages stored as the answer's context when it was started."""
        return context.resolve(answer["id"], self._chains)

    def prompt(self, answer: dict[str, Any]) -> list[dict[str, str]]:
        """What the model was sent for ``answer``: its system prompt and stored context."""
        rows = (self._by_id[i] for i in self.context(answer))
        return history.request(answer["system_prompt"],
                               ((r["role"], r["content"]) for r in rows))


def _usable(answer: dict[str, Any], summary: Summary) -> bool:
    """A wanted rating on a complete answer with text (counted otherwise)."""
    if not answer["wanted"]:
        return False
    if answer["status"] != "complete" or not answer["content"]:
        summary.incomplete += 1
        return False
    return True


def _labelled(conversations: Iterable[list[dict[str, Any]]],
              summary: Summary) -> Iterator[tuple[_Conversation, dict[str, Any], bool]]:
    """Each usable answer with its polarity; neutral ones are counted and left out."""
    for rows in conversations:
        conv = _Conversation(rows)
        for answer, label in _labels(conv, summary):
            yield conv, answer, label


def _labels(conv: _Conversation, summary: Summary) -> Iterator[tuple[dict[str, Any], bool]]:
    """:func:`_labelled` for one conversation."""
    for answer in conv.answers:
        if not _usable(answer, summary):
            continue
        label = scales.polarity(answer["scale"], answer["value"])
        if label is None:
            summary.neutral += 1
            continue
        yield answer, label


def _corrected(conv: _Conversation) -> Iterator[dict[str, Any]]:
    """The answers with a reviewer's correction written inside the window."""
    return (a for a in conv.answers if a["corrected"] and a["correction"])


class _Unique:
    """Rows not written before, by an 8-byte BLAKE2 digest of their JSON (8 bytes a row
    written, not the row: a million rows hold well under 100 MB; a false duplicate
    needs a 64-bit collision)."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def first(self, row: dict[str, Any]) -> bool:
        text = json.dumps(row, ensure_ascii=False, sort_keys=True).encode()
        digest = hashlib.blake2b(text, digest_size=8).digest()
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True

    def kept(self, row: dict[str, Any], label: bool | None, summary: Summary) -> bool:
        """Count ``row`` as written (with its label), or as a duplicate left out."""
        if not self.first(row):
            summary.duplicates += 1
            return False
        _count(summary, label)
        summary.rows += 1
        return True


def _count(summary: Summary, label: bool | None) -> None:
    if label is True:
        summary.positives += 1
    elif label is False:
        summary.negatives += 1


def kto_rows(conversations: Iterable[list[dict[str, Any]]],
             summary: Summary) -> Iterator[dict[str, Any]]:
    """One row per rated answer; an exact duplicate (prompt, completion and label) is
    counted and left out, so that no example weighs twice."""
    unique = _Unique()
    for conv, answer, label in _labelled(conversations, summary):
        row = {"prompt": conv.prompt(answer),
               "completion": [_message("assistant", answer["content"])], "label": label}
        if unique.kept(row, label, summary):
            yield row


def dpo_rows(conversations: Iterable[list[dict[str, Any]]],
             summary: Summary) -> Iterator[dict[str, Any]]:
    for rows in conversations:
        conv = _Conversation(rows)
        # Versions pair up only when they were sent the same prompt: the same system
        # prompt and the same stored context (an earlier version picked in between, or a
        # new system prompt, makes another prompt).
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for answer in conv.answers:
            if _usable(answer, summary):
                key = (answer["parent_id"], answer["system_prompt"], *conv.context(answer))
                groups.setdefault(key, []).append(answer)
        for versions in groups.values():
            for chosen in versions:
                for rejected in versions:
                    if chosen["score"] <= rejected["score"]:
                        continue
                    row = _pair(conv.prompt(chosen), chosen["content"], rejected["content"],
                                "rating", summary)
                    if row:
                        yield row
            for answer in versions:
                _count(summary, scales.polarity(answer["scale"], answer["value"]))
        # (correction chosen, original rejected) where the original was rated below the top
        for answer in _corrected(conv):
            if answer["score"] is None or answer["score"] >= 1 or not answer["content"]:
                continue
            row = _pair(conv.prompt(answer), answer["correction"], answer["content"],
                        "correction", summary)
            if row:
                summary.corrections += 1
                yield row


def _pair(prompt: list[dict[str, str]], chosen: str, rejected: str, source: str,
          summary: Summary) -> dict[str, Any] | None:
    """The DPO row preferring ``chosen`` to ``rejected`` after ``prompt``, counted; None
    (counted too) when the two say the same: such a pair teaches nothing and contradicts
    itself."""
    if _same_text(chosen, rejected):
        summary.same_text += 1
        return None
    summary.rows += 1
    summary.pairs += 1
    return {"prompt": prompt, "chosen": [_message("assistant", chosen)],
            "rejected": [_message("assistant", rejected)], "source": source}


def _same_text(one: str, other: str) -> bool:
    """Equal once whitespace is normalised (runs of it are one space, none at the ends)."""
    return one.split() == other.split()


def sft_rows(conversations: Iterable[list[dict[str, Any]]],
             summary: Summary) -> Iterator[dict[str, Any]]:
    """One row per positively rated answer and per corrected answer; exact duplicates are
    counted and left out."""
    unique = _Unique()
    for rows in conversations:
        conv = _Conversation(rows)
        for answer, label in _labels(conv, summary):
            if not label:
                _count(summary, label)
                continue
            row = {"messages": conv.prompt(answer) + [_message("assistant", answer["content"])],
                   "source": "rating"}
            if unique.kept(row, label, summary):
                yield row
        for answer in _corrected(conv):
            row = {"messages": conv.prompt(answer)
                   + [_message("assistant", answer["correction"])], "source": "correction"}
            if unique.kept(row, None, summary):
                summary.corrections += 1
                yield row


def arena_dpo_rows(store: Store, filters: Filters, summary: Summary) -> Iterator[dict[str, Any]]:
    """One preference pair per arena vote with a winner (see the module docstring)."""
    for pair in store.iter_arena_pairs(filters):
        if pair["winner"] not in ("model_a", "model_b"):
            summary.arena_ties += 1
            continue
        if not (pair["consent_a"] and pair["consent_b"]):
            summary.arena_no_consent += 1
            continue
        rows = store.conversation_rows([pair["conversation_a"], pair["conversation_b"]])
        sides, prompts = [], []
        for side in "ab":
            conv = _Conversation([r for r in rows
                                  if r["conversation_id"] == pair[f"conversation_{side}"]])
            answer = next(r for r in conv.answers if r["id"] == pair[f"message_{side}"])
            sides.append(answer)
            prompts.append(conv.prompt(answer))   # the context stored when it was sent
        if any(a["status"] != "complete" or not a["content"] for a in sides):
            summary.incomplete += 1
            continue
        if prompts[0] != prompts[1]:
            summary.arena_context_differs += 1
            continue
        chosen, rejected = sides if pair["winner"] == "model_a" else sides[::-1]
        row = _pair(prompts[0], chosen["content"], rejected["content"], "arena", summary)
        if row:
            summary.arena_pairs += 1
            yield row


BUILDERS = {"kto": kto_rows, "dpo": dpo_rows, "sft": sft_rows}


def _reporting(conversations: Iterable[list[dict[str, Any]]], progress: Progress,
               total: int | None) -> Iterator[list[dict[str, Any]]]:
    """The conversations, telling ``progress`` how many wanted ratings they held."""
    done = 0
    for rows in conversations:
        yield rows
        done += sum(1 for row in rows if row["wanted"])
        progress(done, total)


def write_training(store: Store, fmt: str, out: TextIO, filters: Filters = Filters(), *,
                   progress: Progress | None = None) -> Summary:
    """Write ``fmt`` (kto, dpo or sft) as JSON Lines to ``out``; return the summary.
    ``progress`` hears how many of the rated answers with consent have been read, of
    about as many as the running totals count."""
    if fmt not in BUILDERS:
        raise ValueError(f"unknown training format {fmt!r} (use {', '.join(FORMATS)})")
    summary = Summary(fmt)
    summary.no_consent = count_without_consent(store, filters)
    conversations = iter_conversations(store, filters)
    if progress:
        rated = store.count_rated(filters)
        total = None if rated is None else max(rated - summary.no_consent, 0)
        conversations = _reporting(conversations, progress, total)
    out.writelines(json.dumps(row, ensure_ascii=False) + "\n"
                   for row in BUILDERS[fmt](conversations, summary))
    if fmt == "dpo":
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n"
                       for row in arena_dpo_rows(store, filters, summary))
    if fmt == "dpo" and not summary.pairs:
        summary.notes.append("no pairs: regenerate answers and rate the versions differently "
                             "to get DPO pairs")
    return summary
