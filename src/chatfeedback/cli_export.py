"""``chatfeedback export``: every export format of export/registry.py, to a file or standard
output, filtered by dates, model, experiment and arm, optionally redacted."""

from __future__ import annotations

import sys

import click

from .cli import (
    CONTEXT,
    Fail,
    config_option,
    db_option,
    moment,
    open_output,
    open_store,
    quiet_option,
    replacing,
)
from .export.registry import FORMATS as EXPORTS


@click.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(list(EXPORTS)), default="jsonl",
              show_default=True,
              help="jsonl, csv, parquet: one row per rated answer. kto, dpo, sft: training "
                   "data (conversations with training consent only). events: the audit "
                   "trail. votes: arena votes in LMArena's JSON Lines shape. reviews: one row per "
                   "review judgement. gold: adjudicated or unanimous review values.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: standard output).")
@click.option("--since", help="Only ratings given on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only ratings given on or before this date (YYYY-MM-DD; a "
              "date and time, e.g. 2026-11-02T12:00, is a bound that is not included).")
@click.option("--model", help="Only answers from this model.")
@click.option("--experiment", help="Only conversations of this experiment.")
@click.option("--arm", help="Only conversations assigned to this arm.")
@click.option("--redact", is_flag=True, help="Replace e-mail addresses, phone numbers, card "
              "numbers, IBANs, IP addresses and API keys in every text field by [EMAIL], "
              "[PHONE], [CARD], [IBAN], [IP], [KEY]; counts go to standard error.")
@click.option("--hash-raters", is_flag=True, help="Replace rater identities (e-mails, session "
              "ids) by an HMAC-SHA256 pseudonym.")
@click.option("--hash-salt", metavar="SECRET", help="The key of --hash-raters: the same key "
              "gives the same pseudonyms in every export (default: a random one per export).")
@config_option
@db_option
@quiet_option
def export(fmt: str, output: str, since: str | None, until: str | None, model: str | None,
           experiment: str | None, arm: str | None, redact: bool, hash_raters: bool,
           hash_salt: str | None, config: str | None, db: str | None, quiet: bool) -> None:
    """Export ratings, one row per rated answer, as training data, or every rating event.

    Streamed in constant memory; a summary goes to standard error.

    \b
    Example:
        chatfeedback export --format csv -o ratings.csv
        chatfeedback export --format parquet -o ratings.parquet --since 2026-11-01
        chatfeedback export --format kto -o kto.jsonl --model gpt-4o-mini
        chatfeedback export --format csv --experiment prompt-v2 -o prompt-v2.csv
        chatfeedback export --format events | head
        chatfeedback export --format dpo --redact --hash-raters -o dpo.jsonl
    """
    from .export.private import Privacy
    from .export.registry import write as write_export
    from .progress import Report
    from .store.filters import Filters

    if hash_salt is not None and not hash_raters:
        raise Fail("--hash-salt is the key of --hash-raters: add --hash-raters")
    privacy = Privacy(redact=redact, hash_raters=hash_raters, salt=hash_salt)
    store = open_store(config, db)
    window = Filters(since=moment(since) if since else None,
                     until=moment(until, through=True) if until else None, model=model,
                     experiment=experiment, arm=arm)
    report = Report(quiet)
    spec = EXPORTS[fmt]
    if spec.binary and output == "-" and sys.stdout.isatty():
        raise Fail(f"{spec.name.capitalize()} is binary: write it to a file with -o FILE")
    with report.bar("exporting", unit=f" {spec.unit}") as progress:
        if not spec.binary:
            with open_output(output) as out:
                lines = write_export(spec, store, out, window, progress, privacy)
        elif output == "-":
            lines = write_export(spec, store, sys.stdout.buffer, window, progress, privacy)
        else:
            with replacing(output) as path:
                try:
                    lines = write_export(spec, store, path, window, progress, privacy)
                except OSError as exc:
                    raise Fail(f"cannot write {output}: {exc.strerror or exc}") from None
    for line in lines:
        report.summary(line)

