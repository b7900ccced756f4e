"""``chatfeedback sinks``: the delivery outbox from the command line: what each sink has
pending, delivered and dead, re-queue dead deliveries, deliver once (cron) or keep
delivering (a worker process of its own), and send history to a sink added later."""

from __future__ import annotations

import json
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from .cli import CONTEXT, Fail, config_option, db_option, moment, open_database

if TYPE_CHECKING:
    from .config import Settings
    from .store import Store


def _open(config: str | None, db: str | None) -> tuple[Settings, Store]:
    from .config import load_settings

    settings = load_settings(config, db)
    return settings, open_database(settings.database_url)


def _configured(settings: Settings) -> Settings:
    if not settings.sinks:
        raise Fail("no [[sinks]] in the settings: nothing to deliver to (docs: Sinks)")
    return settings


@click.group(context_settings=CONTEXT)
def sinks() -> None:
    """Rating events delivered to webhooks, Langfuse and OpenTelemetry ([[sinks]]).

    `chatfeedback run` delivers by itself while sinks are configured; these commands show
    and steer it.

    \b
    Example:
        chatfeedback sinks status
        chatfeedback sinks retry --sink hooks
        chatfeedback sinks deliver          # one pass, e.g. from cron
    """


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@sinks.command("status", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
@db_option
def status_command(as_json: bool, config: str | None, db: str | None) -> None:
    """Per sink: deliveries pending, delivered and dead, the oldest pending one and the
    last error; and which process delivers.

    \b
    Example:
        chatfeedback sinks status
        chatfeedback sinks status --json | jq '.sinks[] | {name, dead}'
    """
    from .outbox import status

    settings, store = _open(config, db)
    report = status.report(settings, store)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    if not report["sinks"]:
        click.echo("No sinks configured ([[sinks]] in the settings) and none seen before.")
        return
    width = max(len("sink"), *(len(r["name"]) for r in report["sinks"]))
    click.echo(f"{'sink':<{width}}  {'kind':<8}  {'pending':>8}  {'delivered':>10}  "
               f"{'dead':>6}  {'oldest pending':<19}  last error")
    for r in report["sinks"]:
        name = r["name"] + ("" if r["configured"] else " (not configured)")
        oldest = _when(None if r["oldest_pending"] is None
                       else datetime.fromisoformat(r["oldest_pending"]))
        click.echo(f"{name:<{width}}  {r['kind'] or '-':<8}  {r['pending']:>8,}  "
                   f"{r['delivered']:>10,}  {r['dead']:>6,}  {oldest:<19}  "
                   f"{r['last_error'] or '-'}")
    click.echo(status.delivering(report))


@sinks.command(context_settings=CONTEXT)
@click.option("--sink", "name", metavar="NAME", help="Only this sink's (default: every sink's).")
@config_option
@db_option
def retry(name: str | None, config: str | None, db: str | None) -> None:
    """Queue the dead deliveries again, each with a fresh count of tries.

    \b
    Example:
        chatfeedback sinks retry --sink hooks
    """
    from .store import outbox as queue

    _, store = _open(config, db)
    count = queue.retry(store, name)
    click.echo(f"{count:,} dead deliver{'y' if count == 1 else 'ies'} queued again"
               + (f" for sink '{name}'" if name else ""))


@sinks.command(context_settings=CONTEXT)
@config_option
@db_option
def deliver(config: str | None, db: str | None) -> None:
    """Deliver once: queue new events and send every delivery that is due, then exit (for
    cron, when no `chatfeedback run` delivers). Retries wait for their time.

    \b
    Example:
        */5 * * * *  chatfeedback sinks deliver --config /etc/chatfeedback.toml
    """
    from .outbox import worker as delivery

    settings, store = _open(config, db)
    work = delivery.from_settings(_configured(settings), store)
    try:
        tallies = work.drain()
    finally:
        for lane in work.lanes:
            lane.close()
    if tallies is None:
        click.echo("Another process delivers right now (see `chatfeedback sinks status`); "
                   "nothing done.")
        return
    for name, tally in tallies.items():
        click.echo(f"{name}: {tally.delivered:,} delivered, {tally.failed:,} failed (to be "
                   f"retried), {tally.dead:,} dead")


@sinks.command(context_settings=CONTEXT)
@config_option
@db_option
def work(config: str | None, db: str | None) -> None:
    """Keep delivering until stopped (Ctrl-C or SIGTERM): a delivery worker of its own,
    e.g. beside replicas. With several, one delivers and the others stand by.

    \b
    Example:
        chatfeedback sinks work --config /etc/chatfeedback.toml
    """
    from .outbox import worker as delivery

    settings, store = _open(config, db)
    worker = delivery.from_settings(_configured(settings), store)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("chatfeedback.outbox")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    click.echo(f"Delivering to {', '.join(s.name for s in settings.sinks)} as "
               f"{worker.leader.holder} (standing by while another process delivers)")
    stop.wait()
    worker.stop()


@sinks.command(context_settings=CONTEXT)
@click.option("--sink", "name", metavar="NAME", required=True, help="A configured sink.")
@click.option("--since", required=True, metavar="DATE",
              help="Events written from this UTC day or time on (YYYY-MM-DD[THH:MM]).")
@config_option
@db_option
def replay(name: str, since: str, config: str | None, db: str | None) -> None:
    """Send a sink the events written since DATE that it never got (a sink gets the events
    written from when a worker first saw it; this sends it the history before).

    \b
    Example:
        chatfeedback sinks replay --sink hooks --since 2026-11-01
    """
    from .store import outbox as queue

    settings, store = _open(config, db)
    sink = next((s for s in settings.sinks if s.name == name), None)
    if sink is None:
        known = ", ".join(s.name for s in settings.sinks) or "none"
        raise Fail(f"unknown sink '{name}'; the settings define {known}")
    count = queue.replay(store, name, sink.kind, moment(since, UTC))
    click.echo(f"{count:,} event{'' if count == 1 else 's'} queued for sink '{name}'")


@sinks.command(context_settings=CONTEXT)
@click.option("--older-than", "days", type=click.IntRange(1), required=True, metavar="DAYS",
              help="Delete what was delivered more than DAYS days ago.")
@config_option
@db_option
def prune(days: int, config: str | None, db: str | None) -> None:
    """Delete deliveries delivered more than DAYS days ago, and the outbox's events older
    than that which no sink still has pending or dead (the outbox would grow with every
    rating otherwise). The audit trail keeps every event (`export --format events`).

    \b
    Example:
        chatfeedback sinks prune --older-than 30
    """
    from datetime import timedelta

    from .store import outbox as queue

    _, store = _open(config, db)
    deliveries, events = queue.prune(store, datetime.now(UTC) - timedelta(days=days))
    click.echo(f"deleted {deliveries:,} deliveries and {events:,} outbox events older than "
               f"{days} day{'' if days == 1 else 's'}")
