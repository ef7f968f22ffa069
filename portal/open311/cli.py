"""`flask api-keys`: create, list and revoke Open311 API keys from the command line.

The same functions as the admin form (``portal.open311.keys``): the key is stored as a sha256
and printed once, on creation; creating and revoking each write an audit entry (with no
staff member as the actor: the command line's operator). Bad input is a clear message and
exit status 2 (usage) or 1 (an unknown or already revoked key).
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core import clock
from portal.open311 import keys

api_keys_cli = AppGroup("api-keys", help="Open311 API keys.")

_FIELDS = {"label": "--label", "rate_limit": "--rate-limit", "read_rate_limit": "--read-rate-limit"}
_PROBLEMS = {
    "required": "is required",
    "too_long": "is too long",
    "invalid": "must be a rate like 60/minute or 1000/hour;60/minute",
    "zero": "must allow at least one request",
}


def _db():
    return current_app.extensions["portal.db"]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@api_keys_cli.command("create")
@click.option("--label", required=True, help='Who uses it ("FixIt mobile app").')
@click.option("--email", "contact_email", default="", help="The integrator's contact email.")
@click.option("--rate-limit", default=keys.DEFAULT_RATE, show_default=True, help="Posts allowed.")
@click.option(
    "--read-rate-limit",
    default=keys.DEFAULT_READ_RATE,
    show_default=True,
    help="Reads allowed (every GET resource together).",
)
def create(label: str, contact_email: str, rate_limit: str, read_rate_limit: str) -> None:
    """Make a key and print it once (only its sha256 is kept)."""
    try:
        with _db().transaction(write=True) as session:
            key, raw = keys.new_key(
                session,
                label=label,
                rate_limit=rate_limit,
                read_rate_limit=read_rate_limit,
                contact_email=contact_email,
                by=None,
            )
            key_id, prefix = key.id, key.prefix
    except keys.ApiKeyError as exc:
        field, code = next(iter(exc.errors.items()))
        if field == "contact_email":
            raise click.BadParameter(
                "is not an email address" if code == "invalid" else _PROBLEMS[code],
                param_hint="--email",
            ) from exc
        raise click.BadParameter(_PROBLEMS.get(code, code), param_hint=_FIELDS[field]) from exc
    click.echo(f"Created API key {key_id} ({prefix}…) for {label.strip()}.")
    click.echo("The key, shown this once (it is stored hashed, so it cannot be shown again):")
    click.echo(raw)


@api_keys_cli.command("list")
@click.option("--revoked/--active-only", default=True, help="Include revoked keys (default).")
def list_keys(revoked: bool) -> None:
    """Every key, newest first: id, label, prefix, created, last used, revoked."""
    with _db().transaction(write=False) as session:
        rows = []
        before = None
        while True:
            page = keys.list_keys(session, before=before, limit=500)
            rows.extend(page.keys)
            if page.next_before is None:
                break
            before = page.next_before
        lines = [
            (
                str(k.id),
                k.label,
                k.prefix,
                _when(k.created_at),
                _when(k.last_used_at),
                _when(k.revoked_at),
            )
            for k in rows
            if revoked or k.revoked_at is None
        ]
    if not lines:
        click.echo("No API keys.")
        return
    header = ("ID", "LABEL", "PREFIX", "CREATED", "LAST USED", "REVOKED")
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@api_keys_cli.command("revoke")
@click.argument("key_id", type=click.IntRange(min=1))
def revoke(key_id: int) -> None:
    """Revoke the key KEY_ID (from `flask api-keys list`): it stops working at once."""
    with _db().transaction(write=True) as session:
        key = keys.get_key(session, key_id)
        if key is None:
            raise click.ClickException(f"no API key has the id {key_id}")
        label = key.label
        if not keys.revoke(session, key, by=None, now=clock.now()):
            raise click.ClickException(f"API key {key_id} ({label}) was already revoked")
    click.echo(f"Revoked API key {key_id} ({label}).")
