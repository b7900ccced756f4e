"""``chatfeedback arena``: the arena's leaderboard, as a table or as JSON."""

from __future__ import annotations

import json

import click

from .cli import CONTEXT, config_option, db_option, open_store


def _interval(ci: list) -> str:
    return "-" if ci[0] is None else f"{ci[0]:.1f} - {ci[1]:.1f}"


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as one JSON object.")
@click.option("--bootstrap", type=click.IntRange(0), default=1000, show_default=True,
              help="Resamples of voters for the 95 % intervals (0: no intervals).")
@click.option("--seed", type=int, default=0, show_default=True, help="The bootstrap's seed.")
@click.option("--style/--no-style", default=True, show_default=True,
              help="Also the style-controlled ratings (these read every vote: seconds at a "
                   "million votes; the plain ratings read running totals).")
@config_option
@db_option
def arena(as_json: bool, bootstrap: int, seed: int, style: bool, config: str | None,
          db: str | None) -> None:
    """The arena leaderboard: Bradley-Terry ratings on LMArena's scale (mean 1000, +400 =
    ten times the odds of winning) with 95 % intervals from a bootstrap over voters, the rank
    (1 + the models clearly above), votes per model, and the same controlled for answer
    length and Markdown (style control).

    \b
    Example:
        chatfeedback arena
        chatfeedback arena --json | jq '.models[0]'
        chatfeedback arena --no-style
    """
    from .arena import leaderboard

    board = leaderboard(open_store(config, db), bootstrap=bootstrap, seed=seed, style=style)
    if as_json:
        click.echo(json.dumps(board, ensure_ascii=False))
        return
    rounds = board["rounds"]
    click.echo(f"{board['votes']:,} votes from {board['voters']:,} voters; rounds: "
               f"{rounds['voted']:,} voted, {rounds['failed']:,} failed, "
               f"{rounds['open']:,} not voted")
    styled = {m["model"]: m for m in (board["style_control"] or {"models": []})["models"]}
    width = max([len("model"), *(len(m["model"]) for m in board["models"])])
    click.echo(f"{'rank':>4}  {'model':<{width}}  {'rating':>7}  {'95 % interval':<17}  "
               f"{'votes':>7}  style-controlled (rank)")
    for m in board["models"]:
        s = styled.get(m["model"])
        controlled = f"{s['rating']:.1f} ({_interval(s['ci'])}) ({s['rank']})" if s else "-"
        click.echo(f"{m['rank']:>4}  {m['model']:<{width}}  {m['rating']:>7.1f}  "
                   f"{_interval(m['ci']):<17}  {m['votes']:>7,}  {controlled}")
