"""`flask demo load`: the fictional city of Riverton, idempotently."""

from __future__ import annotations

from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load() -> None:
    """Load demo data (a second run adds nothing)."""
