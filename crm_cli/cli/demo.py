"""`crm demo`: a separate database filled with realistic sample data, to look around in."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common


def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Throw the demo data away and refill it.")
    ] = False,
) -> None:
    """Fill the demo database (never your real one) and show what is in it.

    Every command takes --demo to work on it: `crm --demo deal list`.

    Example: crm demo
    """
    from crm_cli import paths
    from crm_cli.services.demo import seed

    path = paths.demo_db_path()
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    common.set_demo(True)
    ctx = common.context()  # makes a new demo database, complete or not at all
    with ctx.session() as session:
        # Fills a demo database that an older crm left empty; one that is full is kept.
        summary = seed(ctx, session)
    common.note(f"demo database at {path}")
    print(summary)
