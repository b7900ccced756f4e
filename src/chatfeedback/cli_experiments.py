"""``chatfeedback experiments start|stop|list`` and ``chatfeedback report --experiment``."""

from __future__ import annotations

import getpass
import json

import click

from .cli import CONTEXT, config_option, db_option, open_database
from .config import load_settings
from .store import experiments as log
from .store.experiments import METRICS


@click.group(context_settings=CONTEXT)
def experiments() -> None:
    """Start, stop and list the randomized experiments of the settings file.

    \b
    Example:
        chatfeedback experiments start prompt-v2
        chatfeedback experiments list
        chatfeedback experiments stop prompt-v2
    """


@experiments.command(context_settings=CONTEXT)
@click.argument("name")
@config_option
@db_option
def start(name: str, config: str | None, db: str | None) -> None:
    """Start assigning new conversations to the arms of experiment NAME.

    \b
    Example:
        chatfeedback experiments start prompt-v2
    """
    settings = load_settings(config, db)
    exp = settings.experiment(name)
    store = open_database(settings.database_url)
    others = [n for n, r in log.runs(store).items() if r.running and n != name]
    run = log.record(store, name, "start", definition=exp.definition(), actor=_who())
    click.echo(f"started {name} at {run.started_at:%Y-%m-%d %H:%M:%S} UTC: "
               + ", ".join(f"{a.name} ({a.model}, weight {a.weight:g})" for a in exp.arms))
    if others:
        click.echo(f"note: {', '.join(others)} also running; a new conversation joins the "
                   "first running one in the settings file")


@experiments.command(context_settings=CONTEXT)
@click.argument("name")
@config_option
@db_option
def stop(name: str, config: str | None, db: str | None) -> None:
    """Stop experiment NAME: new conversations are no longer assigned (the ones it
    assigned keep their arm).

    \b
    Example:
        chatfeedback experiments stop prompt-v2
    """
    settings = load_settings(config, db)
    run = log.record(open_database(settings.database_url), name, "stop", actor=_who())
    click.echo(f"stopped {name} at {run.stopped_at:%Y-%m-%d %H:%M:%S} UTC")


@experiments.command("list", context_settings=CONTEXT)
@click.argument("name", required=False)
@config_option
@db_option
def list_(name: str | None, config: str | None, db: str | None) -> None:
    """The experiments of the settings file (or NAME) with their state and times.

    \b
    Example:
        chatfeedback experiments list
    """
    settings = load_settings(config, db)
    runs = log.runs(open_database(settings.database_url))
    names = [e.name for e in settings.experiments] + [n for n in runs
                                                      if n not in {e.name for e in
                                                                   settings.experiments}]
    if name is not None:
        if name not in names:
            settings.experiment(name)  # the one-line error naming the known ones
        names = [name]
    if not names:
        click.echo("no experiments in the settings file")
    for n in names:
        r = runs.get(n)
        if r is None:
            state = "never started"
        elif r.running:
            state = f"running since {r.started_at:%Y-%m-%d %H:%M:%S} UTC"
        else:
            state = (f"stopped {r.stopped_at:%Y-%m-%d %H:%M:%S} UTC (started "
                     f"{r.started_at:%Y-%m-%d %H:%M:%S} UTC)")
        click.echo(f"{n}: {state}")


@click.command(context_settings=CONTEXT)
@click.option("--experiment", "name", required=True, help="The experiment to report on.")
@click.option("--metric", type=click.Choice(METRICS), default="positive_share",
              show_default=True, help="Positive share, or the mean 0-1 score.")
@click.option("--detect", type=click.FloatRange(0.1, 100), default=3.0, show_default=True,
              help="The difference (in points) the verdict says how many more units need.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@config_option
@db_option
def report(name: str, metric: str, detect: float, as_json: bool, config: str | None,
           db: str | None) -> None:
    """An experiment's arms, their difference with fixed-horizon and anytime-valid 95 %
    intervals, the sample-ratio check and a verdict.

    \b
    Example:
        chatfeedback report --experiment prompt-v2
        chatfeedback report --experiment prompt-v2 --metric mean_score --json
    """
    settings = load_settings(config, db)
    store = open_database(settings.database_url)
    from . import report as reports  # scipy, for the sample-ratio check: only here

    result = reports.build(settings, store, name, metric, detect=detect / 100)
    if as_json:
        click.echo(json.dumps(result.as_json()))
    else:
        click.echo(reports.table(result))


def _who() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
