"""The delivery worker: the outbox's events to every sink, at least once.

One worker delivers among all replicas (store/leader.py). While it leads, its main thread
queues new events for each configured sink (store/outbox.py ``fan_out``), and one *lane*
per sink sends that sink's due deliveries, ``threads`` at a time, and records the outcome
of each batch in one transaction: delivered, or tried again after a backoff, or dead after
``max_tries``. A slow or failing sink holds up only its own lane.

Backoff after the n-th failed try: ``backoff * 2**(n-1)`` seconds, at most an hour, times
a random factor between 0.5 and 1 (jitter, so that a recovered receiver is not hit by
every retry at once). A sink's ``redact = true`` passes comments through
chatfeedback.redact before they leave.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..redact import redact
from ..store import outbox as queue
from ..store.engine import now
from ..store.leader import Leadership, leadership
from .base import Event, Sink, SinkSettings
from .registry import build_all

if TYPE_CHECKING:
    from ..config import OutboxConfig, Settings
    from ..store import Store

log = logging.getLogger("chatfeedback.outbox")
MAX_DELAY = 3600.0


def backoff(tries: int, base: float, rand: random.Random | None = None) -> float:
    """Seconds to wait after the ``tries``-th failed try (see the module docstring)."""
    delay = min(MAX_DELAY, base * 2 ** (max(tries, 1) - 1))
    return delay * (rand or random).uniform(0.5, 1.0)


def prepare(event: Event, settings: SinkSettings) -> Event:
    """The event as ``settings``' sink gets it (its comment redacted when asked)."""
    if settings.redact and event.comment:
        return replace(event, comment=redact(event.comment)[0])
    return event


@dataclass
class Tally:
    """What a lane did: deliveries that succeeded, failed (to be retried) and died."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, other: Tally) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead


@dataclass
class Lane:
    """One sink's deliveries. A batch's outcome is written by a thread of its own while
    the next batch is sent (:meth:`flush` waits for it)."""

    settings: SinkSettings
    sink: Sink
    store: Store
    config: OutboxConfig
    pool: ThreadPoolExecutor = field(init=False)
    _writer: ThreadPoolExecutor = field(init=False)
    _settling: Future[None] | None = field(default=None, init=False)
    _settling_ids: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        name = self.settings.name
        self.pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix=f"sink-{name}")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"settle-{name}")

    def step(self) -> tuple[int, Tally]:
        """Send one batch of due deliveries; return how many were due and what happened
        (its outcome is being written when this returns)."""
        settling = self._settling_ids  # still pending in the database: not again
        due = [item for item in queue.due(self.store, self.settings.name,
                                          self.config.batch + len(settling))
               if item.event_id not in settling][:self.config.batch]
        tally = Tally()
        if not due:
            self.flush()
            return 0, tally
        outcomes: list[str | None] = [None] * len(due)
        turns = iter(range(len(due)))  # shared: each thread takes the next (atomic in C)

        def work() -> None:
            for i in turns:
                outcomes[i] = self._send(due[i])

        for done in [self.pool.submit(work) for _ in range(min(self.config.threads, len(due)))]:
            done.result()
        delivered = [item.event_id for item, error in zip(due, outcomes, strict=True)
                     if error is None]
        failed: list[queue.Failure] = []
        when = now()
        for item, error in zip(due, outcomes, strict=True):
            if error is None:
                continue
            tries = item.tries + 1
            dead = tries >= self.settings.max_tries
            failed.append(queue.Failure(
                item.event_id, tries, when + timedelta(seconds=backoff(tries, self.config.backoff)),
                error, dead))
            if dead:
                log.warning("sink %s: event %s is dead after %d tries: %s",
                            self.settings.name, item.event_id, tries, error)
        self.flush()
        self._settling_ids = frozenset(item.event_id for item in due)
        self._settling = self._writer.submit(queue.settle, self.store, self.settings.name,
                                             delivered, failed)
        tally.delivered = len(delivered)
        tally.dead = sum(f.dead for f in failed)
        tally.failed = len(failed) - tally.dead
        return len(due), tally

    def flush(self) -> None:
        """Wait until the last batch's outcome is written (its error, if any, raised)."""
        settling, self._settling = self._settling, None
        try:
            if settling is not None:
                settling.result()
        finally:
            self._settling_ids = frozenset()

    def _send(self, item: queue.Due) -> str | None:
        """None when delivered, else what went wrong (one line)."""
        try:
            self.sink.send(prepare(Event.from_json(item.payload), self.settings))
        except Exception as exc:  # noqa: BLE001 - any failure is the delivery's, retried
            text = str(exc).strip().splitlines()
            return text[0] if text else type(exc).__name__
        return None

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.pool.shutdown(wait=True)
            self._writer.shutdown(wait=True)
            self.sink.close()


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Delivers the outbox to ``sinks`` while this process leads (see the module docstring).

    :meth:`start` runs it in background threads until :meth:`stop`; :meth:`drain` is one
    pass (``chatfeedback sinks deliver``)."""

    def __init__(self, store: Store, sinks: Sequence[tuple[SinkSettings, Sink]],
                 config: OutboxConfig, *, holder: str | None = None) -> None:
        self.store, self.config = store, config
        self.lanes = [Lane(s, sink, store, config) for s, sink in sinks]
        self.leader: Leadership = leadership(store, holder or holder_name(), config.lease)
        self.leading = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._since: dict[str, datetime] | None = None

    # -- one pass ----------------------------------------------------------------------
    def drain(self) -> dict[str, Tally] | None:
        """Queue every new event and send every due delivery once; None when another
        process leads (then nothing is done)."""
        if not self.leader.hold():
            return None
        try:
            self.fan_out()
            tallies = {}
            for lane in self.lanes:
                tallies[lane.settings.name] = total = Tally()
                while True:
                    count, tally = lane.step()
                    total.add(tally)
                    if count < self.config.batch or tally.delivered == 0:
                        break
                lane.flush()
            return tallies
        finally:
            self.leader.release()

    def register(self) -> dict[str, datetime]:
        """Make the configured sinks known (a new one gets the events written from now on);
        their ``since``."""
        if self._since is None:
            self._since = queue.register(self.store, {lane.settings.name: lane.settings.kind
                                                      for lane in self.lanes})
        return self._since

    def fan_out(self) -> int:
        """Queue the events not yet queued, for every configured sink; return how many."""
        since = self.register()
        total = 0
        while True:
            count = queue.fan_out(self.store, since, self.config.batch)
            total += count
            if count < self.config.batch:
                return total

    # -- in the background -------------------------------------------------------------
    def start(self) -> Worker:
        """Deliver in background threads; the sinks are known from this call on."""
        self.register()
        main = threading.Thread(target=self._lead, name="outbox-leader", daemon=True)
        self._threads = [main] + [
            threading.Thread(target=self._deliver, args=(lane,), daemon=True,
                             name=f"outbox-{lane.settings.name}") for lane in self.lanes]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self.leading.is_set():
            self.leader.release()
        self.leading.clear()
        for lane in self.lanes:
            lane.close()

    def _lead(self) -> None:
        """Take or keep the lead, and queue new events while leading."""
        while not self._stop.is_set():
            try:
                if self.leader.hold():
                    if not self.leading.is_set():
                        log.info("outbox: %s delivers", self.leader.holder)
                    self.leading.set()
                    self.fan_out()
                else:
                    self.leading.clear()
            except Exception:
                log.exception("outbox: cannot take the lead or queue events")
                self.leading.clear()
            self._stop.wait(min(self.config.poll, self.config.lease / 3))

    def _deliver(self, lane: Lane) -> None:
        while not self._stop.is_set():
            count = 0
            if self.leading.is_set():
                try:
                    count, _ = lane.step()
                except Exception:
                    log.exception("outbox: sink %s: cannot read or settle deliveries",
                                  lane.settings.name)
            if count < self.config.batch:
                try:
                    lane.flush()  # written before a pause
                except Exception:
                    log.exception("outbox: sink %s: cannot record deliveries",
                                  lane.settings.name)
                self._stop.wait(self.config.poll)


def from_settings(settings: Settings, store: Store, *, holder: str | None = None) -> Worker:
    """The worker for the settings' ``[[sinks]]`` and ``[outbox]`` (ConfigError for a bad
    sink, e.g. its secret's variable unset)."""
    built = build_all(settings.sinks)
    return Worker(store, list(zip(settings.sinks, built, strict=True)), settings.outbox,
                  holder=holder)
