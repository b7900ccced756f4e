"""The conversation service: send, stream, regenerate and rate, persisting as it goes."""

from __future__ import annotations

import inspect
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from . import history
from .backends import Backend, Generation, build_backend, validate_models
from .config import ModelConfig, Settings
from .errors import BackendError, ChatfeedbackError, FeedbackError
from .experiments import Arm, Experiment
from .ids import new_id
from .store import Conversation, Message, Rating, Store
from .store import experiments as experiment_log

SAVE_EVERY = 1.0      # seconds between saves of a streaming answer's partial text
STALE_AFTER = 5.0     # a "streaming" answer not saved for this long lost its server
COALESCE = 0.03       # seconds of tokens gathered into one UI update
_TEXT, _END, _ERROR, _STOP = "text", "end", "error", "stop"  # what the pump thread queues
LOGGED = ("complete", "stopped", "error")  # what an answer logged by an app may have ended as


@dataclass(frozen=True)
class Turn:
    conversation: Conversation
    prompt: Message
    answer: Message   # saved with status "streaming" until the Reply is consumed


class Reply:
    """Iterate to stream an answer's text; the answer is saved as it streams and, at the
    end, with its status (complete, stopped or error), timing and usage.
    After iteration, :attr:`message` is the saved answer.

    The backend's stream is read in a thread of its own and handed over through a queue, so
    that the reader is never stuck in the model's silence: :meth:`stop` ends the answer at
    once, also before the first token, and :meth:`pieces` lets a reader look around while
    it waits (a web page checks for its Stop button)."""

    def __init__(self, service: ChatService, answer: Message, history: list[dict[str, str]],
                 backend: Backend) -> None:
        self._service, self._backend, self._history = service, backend, history
        self.message = answer
        self.text = ""
        self.save_error: str | None = None  # the last failed periodic save, if any
        self._stop = threading.Event()
        self._done = threading.Event()
        self._saving = threading.Lock()
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._idle: float | None = None
        self._live = Generation()  # the pump's, as it fills: a stopped answer's trace id
        self._stream = self._run()

    def stop(self) -> None:
        """End the answer now, even while the model is silent; it is saved as stopped with
        the text so far. The model's connection is closed when its next piece arrives (a
        blocking read cannot be cut from another thread)."""
        self._stop.set()
        self._queue.put((_STOP, None))

    def close(self) -> None:
        """End an abandoned stream now (e.g. the page stopped it); saved as stopped."""
        if inspect.getgeneratorstate(self._stream) == inspect.GEN_CREATED:
            self._stream.close()  # never started: its finally block will not run
            if self.message.status == "streaming":
                self._finish("stopped", None, Generation(), time.perf_counter(), None)
            return
        self._stream.close()

    def __iter__(self) -> Iterator[str]:
        return self._stream

    def pieces(self, idle: float) -> Iterator[str]:
        """Like iterating, but also yields ``""`` after each ``idle`` seconds without new
        text (text held back for coalescing is yielded then too), so that the reader gets
        control back while the model is silent."""
        self._idle = idle
        return self._stream

    def _save_every_second(self) -> None:
        """Save the text so far every SAVE_EVERY seconds, also while the model is silent
        (thinking, queued): a row saved recently is an answer still streaming somewhere,
        one not saved for STALE_AFTER seconds was cut off by a crash (see recover_stale)."""
        while not self._done.wait(SAVE_EVERY):
            with self._saving:
                if self._done.is_set():
                    return
                try:
                    self._service.store.update_answer(self.message.id, content=self.text)
                    self.save_error = None
                except ChatfeedbackError as exc:  # kept; the final save reports for real
                    self.save_error = str(exc)

    def _pump(self) -> None:
        """Read the backend's stream into the queue (in its own thread), ending with what
        ended it and the Generation's final numbers. After a stop it closes the stream at
        the next piece, which closes the model's connection."""
        generation = self._live
        stream = self._backend.stream(self._history, generation)
        try:
            for piece in stream:
                if self._stop.is_set():
                    return
                self._queue.put((_TEXT, piece))
            self._queue.put((_END, replace(generation)))
        except BackendError as exc:
            self._queue.put((_ERROR, (str(exc), replace(generation))))
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not lose the answer
            failed = f"the model backend failed: {type(exc).__name__}: {exc}"
            self._queue.put((_ERROR, (failed, replace(generation))))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _run(self) -> Iterator[str]:
        generation = Generation()  # a stopped answer has no finish reason nor usage
        started = time.perf_counter()
        ttft: float | None = None
        last_yield = started
        pending = ""
        status, error = "stopped", None  # what it is if the reader walks away mid-stream
        threading.Thread(target=self._save_every_second, name=f"save-{self.message.id}",
                         daemon=True).start()
        if not self._stop.is_set():  # stopped before it began: the model is not asked
            threading.Thread(target=self._pump, name=f"stream-{self.message.id}",
                             daemon=True).start()
        try:
            while not self._stop.is_set():
                try:
                    kind, value = self._queue.get(timeout=self._idle)
                except queue.Empty:
                    yield pending  # "" when nothing is held back: the reader's turn
                    pending, last_yield = "", time.perf_counter()
                    continue
                if kind == _STOP:
                    break
                if kind == _END:
                    status, generation = "complete", value
                    break
                if kind == _ERROR:
                    status, (error, generation) = "error", value
                    break
                if not value:
                    continue
                clock = time.perf_counter()
                if ttft is None:
                    ttft = (clock - started) * 1000
                self.text += value
                pending += value
                if clock - last_yield >= COALESCE or len(self.text) == len(value):
                    yield pending
                    pending, last_yield = "", clock
            if pending:  # the last coalesced piece, also when the stream failed after it
                yield pending
        finally:
            self._stop.set()  # the pump closes the model's stream at its next piece
            self._finish(status, error, generation, started, ttft)

    def _finish(self, status: str, error: str | None, generation: Generation, started: float,
                ttft: float | None) -> None:
        latency = (time.perf_counter() - started) * 1000
        with self._saving:  # no periodic save may land after the final one
            self._done.set()
        self._service.store.update_answer(
            self.message.id, content=self.text, status=status, error=error, ttft_ms=ttft,
            latency_ms=latency, prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens, total_tokens=generation.total_tokens,
            finish_reason=generation.finish_reason,
            trace_id=generation.trace_id or self._live.trace_id)
        self.message = self._service.store.message(self.message.id)


def check_prompt(prompt: str) -> None:
    """ValueError for a prompt that is not sent: empty or blank."""
    if not prompt or not prompt.strip():
        raise ValueError("an empty prompt is not sent")


class ChatService:
    """What a chat client needs: conversations, replies and ratings, with the rules applied."""

    def __init__(self, settings: Settings, store: Store,
                 backends: Mapping[str, Backend] | None = None) -> None:
        self.settings = settings
        self.store = store
        self._backends: dict[str, Backend] = dict(backends or {})

    @classmethod
    def open(cls, settings: Settings,
             backends: Mapping[str, Backend] | None = None) -> ChatService:
        """Check every model entry, open and migrate the database, recover answers that a
        crash left streaming. ``backends``: ready backends of some model entries (a Python
        function's, see backends/python.py). Raises ConfigError or StoreError with a
        one-line message."""
        checked = validate_models(settings, backends)
        store = Store.open(settings.database_url)
        store.recover_interrupted(stale_after=STALE_AFTER)
        return cls(settings, store, checked)

    def backend(self, model_name: str | None, arm: Arm | None = None) -> Backend:
        """The backend of a model entry, or of an experiment's arm (its settings over the
        entry's options)."""
        model = self.model_config(model_name, arm)
        key = model.name if arm is None else f"{model.name}\x1f{arm.name}\x1f{arm.settings}"
        if key not in self._backends:
            self._backends[key] = build_backend(model)
        return self._backends[key]

    def model_config(self, model_name: str | None, arm: Arm | None = None) -> ModelConfig:
        """The model entry, with an arm's system prompt and settings when it has them."""
        model = self.settings.model(model_name)
        if arm is None:
            return model
        prompt = model.system_prompt if arm.system_prompt is None else arm.system_prompt
        return replace(model, system_prompt=prompt, options={**model.options, **arm.settings})

    # ------------------------------------------------------------- experiments
    def running_experiment(self) -> Experiment | None:
        """The experiment that assigns new conversations: the first ``[[experiments]]``
        entry that runs, with the arms it was started with."""
        if not self.settings.experiments:
            return None
        runs = experiment_log.runs(self.store)
        for experiment in self.settings.experiments:
            run = runs.get(experiment.name)
            if run is not None and run.running:
                return _as_started(experiment, run)
        return None

    def experiment_of(self, conversation: Conversation) -> Experiment | None:
        """The experiment a conversation belongs to (as started), if any."""
        if conversation.experiment is None:
            return None
        run = experiment_log.runs(self.store).get(conversation.experiment)
        known = {e.name: e for e in self.settings.experiments}.get(conversation.experiment)
        if run is None:
            return known
        return _as_started(known, run)

    def arm_of(self, conversation: Conversation) -> Arm | None:
        experiment = self.experiment_of(conversation)
        return None if experiment is None else experiment.arm(conversation.arm)

    # ------------------------------------------------------------ conversations
    def new_conversation(self, *, owner: str | None = None, model: str | None = None,
                         person: str | None = None) -> Conversation:
        """A new conversation with the chosen ``model``; while an experiment runs, with the
        arm of its unit instead: ``owner`` (else ``person``, e.g. a browser session) for
        ``unit = "user"``, the conversation itself for ``unit = "conversation"``."""
        consent = self.settings.feedback.training_consent_default
        experiment = self.running_experiment()
        if experiment is None:
            return self.store.create_conversation(
                owner=owner, model=self.settings.model(model).name, training_consent=consent)
        conversation_id = new_id()
        unit = (owner or person or conversation_id) if experiment.unit == "user" \
            else conversation_id
        arm = experiment.assign(unit)
        return self.store.create_conversation(
            id=conversation_id, owner=owner, model=self.settings.model(arm.model).name,
            training_consent=consent, experiment=experiment.name, arm=arm.name, unit=unit,
            assignment_p=experiment.probability(arm))

    def send(self, conversation_id: str | None, prompt: str, *, owner: str | None = None,
             model: str | None = None, person: str | None = None,
             arm: Arm | None = None) -> Turn:
        """Save the prompt (creating the conversation on its first message) and an empty
        answer row marked streaming. Stream it with :meth:`reply`. ``arm``: answer as this
        experiment arm (its system prompt and settings; the arena's arms), else as the
        conversation's own arm if it has one."""
        check_prompt(prompt)
        if conversation_id is None:
            conversation = self.new_conversation(owner=owner, model=model, person=person)
        else:
            conversation = self.store.conversation(conversation_id, owner=owner)
        fields = self.answer_fields(conversation.model, arm or self.arm_of(conversation))
        [(conversation, user, answer)] = self.store.open_turns(
            [(conversation.id, prompt, fields)])  # one transaction: the request waits for it
        return Turn(conversation, user, answer)

    def log(self, conversation_id: str | None, prompt: str, answer: str, *,
            model: str | None, owner: str | None = None, meta: dict[str, Any] | None = None,
            status: str = "complete", shown: bool = True, **generation: Any) -> Turn:
        """Record a turn answered elsewhere (an app's own model, see api.py): the prompt and
        its finished answer, in a new conversation (``conversation_id`` None, with ``meta``)
        or after the last turn of the conversation (``owner``'s, when given). The answer's
        context is kept by the Store's rule, as for an answer streamed here; ``generation``
        takes the answer's metadata (system_prompt, trace_id, latency_ms, tokens...).
        ``shown``: a person saw the answer (exposure, as the chat counts what it draws)."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise FeedbackError("an empty prompt is not logged")
        if not isinstance(answer, str):
            raise FeedbackError(f"the answer must be text, got {type(answer).__name__}")
        if status not in LOGGED:
            raise FeedbackError(f"a logged answer's status is one of {', '.join(LOGGED)}, "
                                f"got {status!r}")
        if conversation_id is None:
            conversation = self.store.create_conversation(
                owner=owner, model=model, source="api", meta=meta,
                training_consent=self.settings.feedback.training_consent_default)
        else:
            conversation = self.store.conversation(
                conversation_id, **({} if owner is None else {"owner": owner}))
        user = self.store.add_message(conversation.id, "user", prompt)
        reply = self.store.add_message(conversation.id, "assistant", answer, parent_id=user.id,
                                       status=status, model=model, **generation)
        if shown:
            self.store.mark_shown([reply.id])
            reply = self.store.message(reply.id)
        return Turn(self.store.conversation(conversation.id), user, reply)

    def regenerate(self, answer_id: str) -> Message:
        """A new version of an answer (same prompt); it becomes the selected version."""
        old = self.store.message(answer_id)
        if old.role != "assistant" or old.parent_id is None:
            raise FeedbackError("only answers can be regenerated")
        conversation = self.store.conversation(old.conversation_id)
        return self._start_answer(conversation, self.store.message(old.parent_id))

    def _start_answer(self, conversation: Conversation, prompt: Message,
                      arm: Arm | None = None) -> Message:
        fields = self.answer_fields(conversation.model, arm or self.arm_of(conversation))
        return self.store.add_message(conversation.id, "assistant", "", parent_id=prompt.id,
                                      status="streaming", **fields)

    def answer_fields(self, model_name: str | None, arm: Arm | None = None) -> dict[str, Any]:
        """What an answer row started now records of how it is asked: the model (``arm``'s
        own when given), its backend and settings, and the system prompt."""
        model = self.model_config(model_name, arm)
        backend = self.backend(model.name, arm)
        return {"model": model.name, "backend": model.backend, "settings": backend.settings(),
                "system_prompt": model.system_prompt}

    def reply(self, answer: Message, arm: Arm | None = None) -> Reply:
        """The stream for an answer row made by :meth:`send` (with the same ``arm``) or
        :meth:`regenerate`."""
        if arm is None and self.settings.experiments:  # an arm may have its own settings
            arm = self.arm_of(self.store.conversation(answer.conversation_id))
        model = self.settings.model(answer.model)
        return Reply(self, answer, self.history(answer), self.backend(model.name, arm))

    def history(self, answer: Message) -> list[dict[str, str]]:
        """What the model is sent for ``answer``: its system prompt and the context the
        Store kept when the answer was started (the rule is history.contexts)."""
        return history.request(answer.system_prompt, self.store.sent(answer.id))

    def recover_stale(self, messages: list[Message]) -> list[Message]:
        """``messages`` with each answer still marked streaming but not saved for
        STALE_AFTER seconds marked as interrupted (its server died; a live stream, on any
        replica, saves every second). For a server that just restarted: its start-up
        recovery could not yet tell its own crashed answers from live ones."""
        cutoff = time.time() - STALE_AFTER
        stale = [m.id for m in messages if m.status == "streaming" and m.updated_at is not None
                 and m.updated_at.timestamp() < cutoff]
        if not stale or not self.store.recover_interrupted(stale_after=STALE_AFTER,
                                                            message_ids=stale):
            return messages
        return [replace(self.store.message(m.id), siblings=m.siblings) if m.id in stale else m
                for m in messages]

    # ------------------------------------------------------------------ ratings
    def rate(self, answer_id: str, value: int | None, *, actor: str | None = None) -> Rating:
        """Apply the configured mode: locked ratings never change; in ``latest`` mode only
        the newest answer can be rated. ``value`` is on the stored scale (see scales)."""
        feedback = self.settings.feedback
        policy = feedback.policy
        if policy.newest_only:
            answer = self.store.message(answer_id)
            newest = answer.turn == self.store.turn_count(answer.conversation_id) - 1
            if not policy.open_for(newest=newest):
                raise FeedbackError("only the newest answer can be rated")
        return self.store.rate(answer_id, value, scale=feedback.scale, actor=actor,
                               allow_change=policy.changeable)

    def annotate(self, answer_id: str, *, comment: str | None = None,
                 tags: list[str] | None = None, actor: str | None = None) -> Rating:
        return self.store.annotate(answer_id, comment=comment, tags=tags, actor=actor,
                                   max_comment_length=self.settings.feedback.max_comment_length)


def _as_started(configured: Experiment | None, run: experiment_log.Run) -> Experiment | None:
    """The experiment with the arms it was started with (the settings may have changed
    since); the configured one when the log has no definition."""
    if run.definition:
        return Experiment.from_definition(run.name, run.definition)
    return configured
