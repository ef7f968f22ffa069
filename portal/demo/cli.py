"""`flask demo load`: the fictional city of Riverton, idempotently."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup

from portal.city.cli import draw_icons
from portal.city.folder import CityConfigError
from portal.demo.loader import DEFAULT_SIZE, DEMO_PASSWORD, DemoSummary, load_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--seed", default=2026, show_default=True, help="Random seed of the demo city.")
@click.option(
    "--requests",
    "size",
    default=DEFAULT_SIZE,
    show_default=True,
    type=click.IntRange(0, 20_000),
    help="How many requests to generate.",
)
@click.option(
    "--allow-production", is_flag=True, help="Load demo data even though PORTAL_ENV is production."
)
def load(seed: int, size: int, allow_production: bool) -> None:
    """Load demo data (a second run adds nothing).

    Every demo account shares one password: PORTAL_DEMO_PASSWORD, or riverton-demo-2026.
    """
    settings = current_app.extensions["portal.city"].settings()
    if settings.is_production and not allow_production:
        raise click.ClickException(
            "Refusing to load demo accounts and requests into a "
            "production database (use --allow-production to insist)."
        )
    password = os.environ.get("PORTAL_DEMO_PASSWORD") or DEMO_PASSWORD
    try:
        with current_app.extensions["portal.db"].transaction() as session:
            summary = load_demo(session, settings, seed=seed, size=size, password=password)
    except CityConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    current_app.extensions["portal.city"].clear()
    click.echo(
        format_summary(summary, city=current_app.extensions["portal.city"].settings().city_name)
    )
    click.echo(draw_icons())


def format_summary(summary: DemoSummary, *, city: str) -> str:
    """What was loaded, then the demo log-ins table."""
    lines = [f"{city} demo data"]
    if summary.city is None:
        lines.append(
            "  Configuration: already in place (`flask city import portal/demo/city` "
            "applies the folder again)"
        )
    else:
        lines += [
            "  Configuration (portal/demo/city):",
            *(f"    {line}" for line in summary.city.lines()),
        ]
    lines += [
        f"  Users added: {summary.users_added}",
    ]
    if summary.already_loaded:
        lines.append("  Requests: the demo requests were already loaded; none added.")
    else:
        lines.append(
            f"  Requests added: {summary.requests_added} "
            f"({summary.events_added} timeline entries, "
            f"{summary.supports_added} supporters)"
        )
    if summary.surveys_added:
        lines.append(f"  Survey responses added: {summary.surveys_added}")
    if summary.programmes_added:
        lines.append(f"  Programmes added: {summary.programmes_added} (with enrolments)")
    if summary.category_model:
        lines.append(f"  Category suggestion trained: {summary.category_model}")
    if not summary.added_anything:
        lines.append("Nothing was added: the demo data is already in place.")
    lines += ["", "Demo log-ins (every account has the same password):", ""]
    rows = [("Email", "Role", "Department", "Password")]
    rows += [
        (login.email, login.role, login.department or "-", summary.password)
        for login in summary.logins
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
