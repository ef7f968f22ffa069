"""`flask api-keys`: create, list, update and revoke Open311 API keys from the command line.

The same functions and rules as the admin form (``portal.open311.keys``): the key is stored
as a sha256 and printed once, on creation; its web origins (CORS) are checked and normalised
as the form does; creating, changing and revoking each write an audit entry (with no staff
member as the actor: the command line's operator). Bad input is a clear message and exit
status 2 (usage) or 1 (an unknown or already revoked key).
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core import clock
from portal.open311 import keys, origins
from portal.open311.models import ApiKey

api_keys_cli = AppGroup("api-keys", help="Open311 API keys.")

_FIELDS = {
    "label": "--label",
    "rate_limit": "--rate-limit",
    "read_rate_limit": "--read-rate-limit",
    "contact_email": "--email",
    "allowed_origins": "--origin",
}
_PROBLEMS = {
    "required": "is required",
    "too_long": "is too long",
    "invalid": "must be a rate like 60/minute or 1000/hour;60/minute",
    "zero": "must allow at least one request",
}
_ORIGIN_HELP = (
    "A web origin of the app, like https://app.example.org (no path): a page there may read "
    "with the key and file requests with it (CORS). Repeat for several, at most "
    f"{origins.ORIGINS_MAX}."
)
_RATE_HELP = "Posts allowed (filing requests, replies, survey answers)."
_READ_HELP = "Reads allowed (every GET resource together)."


def _db():
    return current_app.extensions["portal.db"]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _problem(field: str, code: str, detail: str) -> str:
    if field == "contact_email":
        return "is not an email address" if code == "invalid" else _PROBLEMS[code]
    if field == "allowed_origins":
        return {
            "too_long": f"“{detail}” is too long for a web origin",
            "any": "* (any origin) is only for the city's list (PORTAL_OPEN311_CORS_ORIGINS): "
            "a key lists its app's own origins",
            "too_many": f"a key lists at most {origins.ORIGINS_MAX} origins",
        }.get(
            code,
            f"“{detail}” is not a web origin: write it like https://app.example.org, "
            "with no path after it",
        )
    return _PROBLEMS.get(code, code)


def _bad(exc: keys.ApiKeyError) -> click.BadParameter:
    """The first problem of ``exc`` as click's usage error on its option."""
    field, code = next(iter(exc.errors.items()))
    return click.BadParameter(
        _problem(field, code, exc.details.get(field, "")), param_hint=_FIELDS[field]
    )


@api_keys_cli.command("create")
@click.option("--label", required=True, help='Who uses it ("FixIt mobile app").')
@click.option("--email", "contact_email", default="", help="The integrator's contact email.")
@click.option("--rate-limit", default=keys.DEFAULT_RATE, show_default=True, help=_RATE_HELP)
@click.option(
    "--read-rate-limit", default=keys.DEFAULT_READ_RATE, show_default=True, help=_READ_HELP
)
@click.option("--origin", "allowed_origins", multiple=True, help=_ORIGIN_HELP)
def create(
    label: str,
    contact_email: str,
    rate_limit: str,
    read_rate_limit: str,
    allowed_origins: tuple[str, ...],
) -> None:
    """Make a key and print it once (only its sha256 is kept)."""
    try:
        with _db().transaction(write=True) as session:
            key, raw = keys.new_key(
                session,
                label=label,
                rate_limit=rate_limit,
                read_rate_limit=read_rate_limit,
                contact_email=contact_email,
                allowed_origins="\n".join(allowed_origins),
                by=None,
            )
            key_id, prefix = key.id, key.prefix
    except keys.ApiKeyError as exc:
        raise _bad(exc) from exc
    click.echo(f"Created API key {key_id} ({prefix}…) for {label.strip()}.")
    click.echo("The key, shown this once (it is stored hashed, so it cannot be shown again):")
    click.echo(raw)


def _row(key: ApiKey) -> tuple[str, ...]:
    return (
        str(key.id),
        key.label,
        key.prefix,
        _when(key.created_at),
        _when(key.last_used_at),
        _when(key.revoked_at),
        key.rate_limit,
        key.read_rate_limit,
        ",".join(origins.stored(key.allowed_origins)) or "-",
    )


@api_keys_cli.command("list")
@click.option("--revoked/--active-only", default=True, help="Include revoked keys (default).")
def list_keys(revoked: bool) -> None:
    """Every key, newest first: id, label, prefix, created, last used, revoked, its post
    and read limits and its web origins."""
    with _db().transaction(write=False) as session:
        rows = []
        before = None
        while True:
            page = keys.list_keys(session, before=before, limit=500)
            rows.extend(page.keys)
            if page.next_before is None:
                break
            before = page.next_before
        lines = [_row(k) for k in rows if revoked or k.revoked_at is None]
    if not lines:
        click.echo("No API keys.")
        return
    header = (
        "ID",
        "LABEL",
        "PREFIX",
        "CREATED",
        "LAST USED",
        "REVOKED",
        "POST LIMIT",
        "READ LIMIT",
        "ORIGINS",
    )
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


@api_keys_cli.command("update")
@click.argument("key_id", type=click.IntRange(min=1))
@click.option(
    "--origin",
    "allowed_origins",
    multiple=True,
    help=_ORIGIN_HELP + " The key's origins become exactly those given.",
)
@click.option("--clear-origins", is_flag=True, help="Remove every web origin from the key.")
@click.option("--rate-limit", default=None, help=_RATE_HELP)
@click.option("--read-rate-limit", default=None, help=_READ_HELP)
def update_key(
    key_id: int,
    allowed_origins: tuple[str, ...],
    clear_origins: bool,
    rate_limit: str | None,
    read_rate_limit: str | None,
) -> None:
    """Change the key KEY_ID's web origins or rate limits; it keeps working, under the new
    settings from its next call."""
    if allowed_origins and clear_origins:
        raise click.UsageError("use --origin or --clear-origins, not both")
    rates = (rate_limit, read_rate_limit)
    if not (allowed_origins or clear_origins or any(r is not None for r in rates)):
        raise click.UsageError(
            "nothing to change: give --origin, --clear-origins, --rate-limit or --read-rate-limit"
        )
    now = clock.now()
    try:
        with _db().transaction(write=True) as session:
            key = keys.get_key(session, key_id)
            if key is None:
                raise click.ClickException(f"no API key has the id {key_id}")
            label = key.label
            if key.revoked_at is not None:
                raise click.ClickException(f"API key {key_id} ({label}) is revoked")
            changed = keys.set_rates(
                session,
                key,
                rate_limit=rate_limit,
                read_rate_limit=read_rate_limit,
                by=None,
                now=now,
            )
            if allowed_origins or clear_origins:
                text = "\n".join(allowed_origins)
                changed = keys.set_origins(session, key, text, by=None, now=now) or changed
            summary = _row(key)
    except keys.ApiKeyError as exc:
        raise _bad(exc) from exc
    if not changed:
        click.echo(f"API key {key_id} ({label}) already has these settings: nothing changed.")
        return
    web = summary[8].replace(",", " ") if summary[8] != "-" else "none"
    click.echo(
        f"Updated API key {key_id} ({label}): post limit {summary[6]}, read limit "
        f"{summary[7]}, web origins: {web}."
    )


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
