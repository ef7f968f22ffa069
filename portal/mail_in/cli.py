"""`flask mail-in`: the SMTP/LMTP receiver and processing what is stored."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database

mail_in_cli = AppGroup("mail-in", help="Email in: receive, process.")


def _db() -> Database:
    return current_app.extensions["portal.db"]


def _settings() -> Settings:
    """The city's settings (city.toml's [mail] on top of the environment's), as now."""
    return current_app.extensions["portal.city"].settings()


def _city_settings() -> Callable[[], Settings]:
    """The city's settings as they will be for each message (a long-running receiver sees
    a new city import without a restart)."""
    return current_app.extensions["portal.city"].settings


@mail_in_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=int, help="Port to listen on.")
@click.option("--lmtp", is_flag=True, help="Speak LMTP (a local mail server's delivery).")
@click.option(
    "--max-size",
    type=int,
    default=None,
    help="Refuse messages larger than this many bytes (552); default twice "
    "PORTAL_MAIL_IN_MAX_BYTES.",
)
def serve(host: str, port: int, lmtp: bool, max_size: int | None) -> None:
    """Receive email by SMTP (or LMTP) until stopped: each message is stored and committed
    before the 250, then processed."""
    from portal.mail_in.server import start_receiver

    try:
        controller = start_receiver(
            _db(), _city_settings(), host=host, port=port, lmtp=lmtp, max_size=max_size
        )
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(f"mail-in: {'LMTP' if lmtp else 'SMTP'} on {host}:{port}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()
        click.echo("mail-in: stopped")


@mail_in_cli.command("process")
@click.option("--limit", default=500, show_default=True, help="At most this many messages.")
def process_command(limit: int) -> None:
    """Process the stored messages that are due now (new, or failed and due again)."""
    from portal.mail_in.retry import process_due

    done = process_due(_db(), _settings(), clock.now(), limit=limit)
    click.echo(f"{done} message(s) processed.")


@mail_in_cli.command("poll")
@click.option("--once", is_flag=True, help="Take what is in the folder now, then exit.")
@click.option(
    "--idle-seconds",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1, 1500),
    help="Renew IDLE this often (servers with IDLE).",
)
@click.option(
    "--poll-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Look this often on servers without IDLE.",
)
def poll(once: bool, idle_seconds: float, poll_seconds: float) -> None:
    """Take the mail of an IMAP mailbox (MAIL_IN_IMAP_HOST, _PORT, _USER, _PASSWORD, _SSL
    ssl|starttls|none, _FOLDER, _PROCESSED_FOLDER): each message is stored and committed, then
    moved to the processed folder, then processed. Without --once it waits for new mail until
    SIGTERM or Ctrl-C."""
    import os

    from portal.mail_in.imap import ImapError, ImapSettings, poll_mailbox

    stop = threading.Event()
    previous = {}
    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        imap = ImapSettings.from_env(os.environ)
        ok = poll_mailbox(
            _db(),
            _city_settings(),
            imap,
            once=once,
            idle_seconds=idle_seconds,
            poll_seconds=poll_seconds,
            stop=stop.is_set,
            echo=click.echo,
        )
    except ImapError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not once:
        click.echo("mail-in poll: stopped")
    if not ok:
        raise click.exceptions.Exit(1)
