"""`whiteboard ward`: create and list wards."""

from __future__ import annotations

import click

from whiteboard.cli.common import DB_OPTION, cli_actor, fail, with_store


@click.group()
def ward() -> None:
    """Create and list wards."""


def bed_layout(beds: int, bay_size: int) -> list[tuple[str, str]]:
    width = max(2, len(str(beds)))
    return [(f"B{i + 1:0{width}d}", f"Bay {i // bay_size + 1}") for i in range(beds)]


@ward.command("add")
@click.argument("ward_ids", nargs=-1, required=True)
@click.option("--beds", required=True, type=click.IntRange(1, 200), help="Empty beds to create in each ward.")
@click.option("--name", default=None, help="Display name (default: the ward id).")
@click.option("--bay-size", default=6, show_default=True, type=click.IntRange(1, 50), help="Beds per bay.")
@DB_OPTION
def ward_add(ward_ids: tuple[str, ...], beds: int, name: str | None, bay_size: int, database_url: str) -> None:
    """Create wards with N empty beds each; a running server picks them up."""
    for wid in ward_ids:
        if not wid.replace("-", "").replace("_", "").isalnum() or len(wid) > 64:
            fail(f"ward id {wid!r}: use letters, digits, '-' and '_' (at most 64)")
    layout = bed_layout(beds, bay_size)
    specs = [(wid, name or wid, layout) for wid in ward_ids]
    created = with_store(database_url, lambda s: s.add_wards(specs, actor=cli_actor()))
    for wid in ward_ids:
        click.echo(f"{'created' if wid in created else 'exists '} {wid}", err=True)


@ward.command("list")
@DB_OPTION
def ward_list(database_url: str) -> None:
    """List wards with their bed counts."""
    for w in with_store(database_url, lambda s: s.list_wards()):
        click.echo(f"{w.id:20} {w.beds:4} beds  {w.name}")
