"""Development-only: the demo mailbox of messages the ``FileSender`` wrote to disk.

Outside ``env == "development"`` every route is a 404, and in development it is shown only to
this machine (a loopback client: the emails hold password-reset and sign-in links); anyone else
gets a 404 too. Behind a trusted proxy (``trusted_proxies``) the client is the forwarded one.
File names must match the sender's strict pattern, so nothing outside the mail folder can be
named.
"""

from __future__ import annotations

import ipaddress
import os
from email import message_from_binary_file
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request

from portal.core.senders import EML_NAME_RE
from portal.web import settings

bp = Blueprint("notifications_mail", __name__, url_prefix="/dev/mail")

PER_PAGE = 20
#: The HTML part is shown as an untrusted document: no scripts, no network, no forms.
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)


@bp.before_request
def _development_only() -> None:
    if settings().env != "development" or not _from_this_machine(request.remote_addr):
        abort(404)


def _from_this_machine(address: str | None) -> bool:
    """Whether the client is this machine (127.0.0.0/8, ::1, or IPv4 loopback as IPv6)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _mail_dir() -> Path:
    return Path(settings().mail_dir)


def _names(before: str | None) -> tuple[list[str], bool]:
    """The newest message file names (older than ``before``) and whether more follow."""
    try:
        with os.scandir(_mail_dir()) as entries:
            names = [e.name for e in entries if EML_NAME_RE.match(e.name) and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return [], False
    if before:
        names = [n for n in names if n < before]
    names.sort(reverse=True)
    return names[:PER_PAGE], len(names) > PER_PAGE


def _path(name: str) -> Path:
    if not EML_NAME_RE.match(name):
        abort(404)
    path = _mail_dir() / name
    if not path.is_file():
        abort(404)
    return path


def _summary(name: str) -> dict[str, Any] | None:
    try:
        with open(_mail_dir() / name, "rb") as handle:
            headers = BytesHeaderParser(policy=default_policy).parse(handle)
    except OSError:
        return None  # removed meanwhile
    date = headers["Date"]
    return {
        "name": name,
        "to": str(headers["To"] or ""),
        "subject": str(headers["Subject"] or ""),
        "date": getattr(date, "datetime", None),
    }


def _load(name: str) -> EmailMessage:
    with open(_path(name), "rb") as handle:
        message = message_from_binary_file(handle, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return str(part.get_content())


@bp.get("/")
def outbox():
    before = request.args.get("before") or None
    if before is not None and not EML_NAME_RE.match(before):
        abort(404)
    names, more = _names(before)
    messages = [s for s in map(_summary, names) if s is not None]
    older = names[-1] if more and names else None
    return render_template(
        "notifications/mail/mailbox.html",
        messages=messages,
        older=older,
        first_page=before is None,
        mail_dir=str(_mail_dir()),
    )


@bp.get("/<name>")
def message(name: str):
    mail = _load(name)
    return render_template(
        "notifications/mail/message.html",
        name=name,
        headers={
            key: str(mail[key] or "")
            for key in ("From", "To", "Subject", "Date", "Content-Language", "Message-ID")
        },
        date=getattr(mail["Date"], "datetime", None),
        text=_part(mail, "plain"),
        has_html=_part(mail, "html") is not None,
    )


@bp.get("/<name>/html")
def message_html(name: str):
    html = _part(_load(name), "html")
    if html is None:
        abort(404)
    response = make_response(html)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = HTML_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
