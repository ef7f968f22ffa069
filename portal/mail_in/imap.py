"""The IMAP poller: for a city whose 311 mailbox lives in Exchange, Gmail or any IMAP server.

Each message in the folder is fetched without marking it read (``BODY.PEEK[]``), handed to
``store`` (which accepts it and commits), and only then moved to the processed folder
(``UID MOVE``, or ``UID COPY`` + ``\\Deleted`` + expunge where the server has no MOVE). A crash
between the commit and the move is harmless: the message is fetched again next time and
``accept`` finds its digest already stored. When storing fails (the database is down) the
message stays in the folder and the round stops; it is taken on the next round.

Without ``once`` the poller waits for new mail with IDLE (RFC 2177) when the server offers it,
else polls every few seconds; a lost connection is reopened with backoff. Settings come from
the environment (``MAIL_IN_IMAP_*``), the password only from there. No Flask here.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import ipaddress
import re
import select
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from portal.core import clock
from portal.core.db import Database
from portal.mail_in.receive import SettingsSource, accept, settings_now
from portal.mail_in.retry import process_stored

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
#: RFC 2177: a client should end IDLE and issue it again at least every 29 minutes.
MAX_IDLE_SECONDS = 25 * 60
MAX_BACKOFF_SECONDS = 300.0


class ImapError(Exception):
    """Something the operator must read: the message says what and where, no traceback."""


class ImapConfigError(ImapError):
    """The MAIL_IN_IMAP_* settings are missing or wrong."""


class ImapLoginError(ImapError):
    """The server refused the user name or password (not retried)."""


class ImapConnectionError(ImapError):
    """The server could not be reached or the connection was lost (retried with backoff)."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    security: str = "ssl"  # ssl (IMAPS) | starttls | none (plain, loopback only)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ImapSettings:
        """``MAIL_IN_IMAP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_SSL`` (ssl, starttls
        or none; true/false mean ssl/none), ``_FOLDER`` (INBOX), ``_PROCESSED_FOLDER``
        (Processed). Raises ImapConfigError naming what is wrong."""
        missing = [
            f"MAIL_IN_IMAP_{name}"
            for name in ("HOST", "USER", "PASSWORD")
            if not env.get(f"MAIL_IN_IMAP_{name}", "").strip()
        ]
        if missing:
            raise ImapConfigError(f"set {', '.join(missing)} to poll an IMAP mailbox")
        raw_security = env.get("MAIL_IN_IMAP_SSL", "ssl").strip().lower() or "ssl"
        security = {"true": "ssl", "1": "ssl", "yes": "ssl", "false": "none", "0": "none"}.get(
            raw_security, raw_security
        )
        if security not in SECURITY:
            raise ImapConfigError(
                f"MAIL_IN_IMAP_SSL must be ssl, starttls or none, not {raw_security!r}"
            )
        host = env["MAIL_IN_IMAP_HOST"].strip()
        if security == "none" and not is_loopback(host):
            raise ImapConfigError(
                f"MAIL_IN_IMAP_SSL=none sends the password in clear: only allowed on loopback, "
                f"not to {host!r} (use ssl or starttls)"
            )
        port_text = env.get("MAIL_IN_IMAP_PORT", "").strip()
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[security]
        except ValueError:
            raise ImapConfigError(
                f"MAIL_IN_IMAP_PORT must be a number, not {port_text!r}"
            ) from None
        folder = env.get("MAIL_IN_IMAP_FOLDER", "").strip() or "INBOX"
        processed = env.get("MAIL_IN_IMAP_PROCESSED_FOLDER", "").strip() or "Processed"
        if folder == processed:
            raise ImapConfigError("MAIL_IN_IMAP_PROCESSED_FOLDER must differ from the folder")
        return cls(
            host=host,
            port=port,
            user=env["MAIL_IN_IMAP_USER"].strip(),
            password=env["MAIL_IN_IMAP_PASSWORD"],
            security=security,
            folder=folder,
            processed_folder=processed,
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def encode_folder(name: str) -> str:
    """A folder name as an IMAP quoted string in modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    quoted = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


def _text(data: object) -> str:
    """The server's words from an imaplib response or error, for a message."""
    if isinstance(data, list | tuple) and data:
        data = data[-1]
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace").strip()
    return str(data).strip()


class ImapMailbox:
    """One logged-in connection with the folder selected."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client: imaplib.IMAP4 | None = None
        self.capabilities: frozenset[str] = frozenset()
        #: None: MOVE when the server offers it; False: always copy, flag and expunge.
        self.use_move: bool | None = None

    # -- connection ------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, log in, make the processed folder if it is missing, select the folder.
        Raises ImapConnectionError, ImapLoginError or ImapError."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "ssl":
                context = ssl.create_default_context()
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=context, timeout=s.timeout
                )
            else:
                client = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    client.starttls(ssl_context=ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as error:
            raise ImapConnectionError(
                f"cannot connect to the IMAP server {where}: {error}"
            ) from None
        self.client = client
        try:
            client.login(s.user, s.password)
        except imaplib.IMAP4.abort as error:
            self.close()
            raise ImapConnectionError(f"connection to {where} lost: {_text(error.args)}") from None
        except imaplib.IMAP4.error as error:
            self.close()
            raise ImapLoginError(
                f"the IMAP server {where} refused the login of {s.user!r}: {_text(error.args)}"
            ) from None
        try:
            _, data = client.capability()
            self.capabilities = frozenset(_text(data).upper().split())
            self._ensure_folder(s.processed_folder)
            status, data = client.select(encode_folder(s.folder))
            if status != "OK":
                raise ImapError(f"cannot open the folder {s.folder!r} on {where}: {_text(data)}")
        except imaplib.IMAP4.abort as error:
            self.close()
            raise ImapConnectionError(f"connection to {where} lost: {_text(error.args)}") from None
        except imaplib.IMAP4.error as error:
            self.close()
            raise ImapError(f"the IMAP server {where} answered: {_text(error.args)}") from None
        except ImapError:
            self.close()
            raise

    def _ensure_folder(self, name: str) -> None:
        client = self._client()
        status, data = client.list('""', encode_folder(name))
        if status == "OK" and any(item for item in data if item):
            return
        status, data = client.create(encode_folder(name))
        if status != "OK":
            raise ImapError(f"cannot create the folder {name!r}: {_text(data)}")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                client.shutdown()

    def _client(self) -> imaplib.IMAP4:
        if self.client is None:
            raise ImapConnectionError("not connected")
        return self.client

    # -- messages --------------------------------------------------------------------------

    def uids(self) -> list[str]:
        """The UIDs of every message in the folder not flagged deleted (read or not: a person
        may have opened one in the mailbox), oldest first."""
        status, data = self._client().uid("SEARCH", "UNDELETED")
        if status != "OK":
            raise ImapError(f"search failed: {_text(data)}")
        found = data[0].split() if data and data[0] else []
        return sorted((uid.decode() for uid in found), key=int)

    def fetch(self, uid: str) -> bytes | None:
        """The raw message, without marking it read; None when it is gone."""
        status, data = self._client().uid("FETCH", uid, "(BODY.PEEK[])")
        if status != "OK":
            raise ImapError(f"fetching message {uid} failed: {_text(data)}")
        for part in data:
            if isinstance(part, tuple) and b"BODY[]" in part[0].upper():
                return bytes(part[1])
        return None

    def move(self, uid: str) -> None:
        """Move the message to the processed folder."""
        client = self._client()
        target = encode_folder(self.settings.processed_folder)
        moves = "MOVE" in self.capabilities if self.use_move is None else self.use_move
        if moves:
            status, data = client.uid("MOVE", uid, target)
            if status != "OK":
                raise ImapError(f"moving message {uid} failed: {_text(data)}")
            return
        status, data = client.uid("COPY", uid, target)
        if status != "OK":
            raise ImapError(f"copying message {uid} failed: {_text(data)}")
        client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.capabilities:
            client.uid("EXPUNGE", uid)
        else:
            client.expunge()

    # -- waiting ---------------------------------------------------------------------------

    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def idle(self, seconds: float, stop: Callable[[], bool]) -> bool:
        """IDLE (RFC 2177) until the server announces a new message (True), ``seconds``
        pass or ``stop()`` says so (False). imaplib has no IDLE before Python 3.14: the
        exchange is small (``tag IDLE``, ``+``, untagged updates, ``DONE``, tagged reply)."""
        client = self._client()
        tag = client._new_tag()
        client.send(tag + b" IDLE\r\n")
        line = client._get_line()
        if not line.startswith(b"+"):
            raise ImapError(f"the server refused IDLE: {_text(line)}")
        sock = client.sock
        deadline = time.monotonic() + min(seconds, MAX_IDLE_SECONDS)
        arrived = False
        while not arrived and not stop():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if not pending:
                ready, _, _ = select.select([sock], [], [], min(remaining, 1.0))
                if not ready:
                    continue
            line = client._get_line()
            if line.startswith(b"* BYE"):
                raise imaplib.IMAP4.abort(_text(line))
            arrived = bool(re.match(rb"\* \d+ (EXISTS|RECENT)", line))
        client.send(b"DONE\r\n")
        while True:
            line = client._get_line()
            if line.startswith(tag):
                if not line[len(tag) :].strip().upper().startswith(b"OK"):
                    raise ImapError(f"IDLE ended badly: {_text(line)}")
                return arrived
            arrived = arrived or bool(re.match(rb"\* \d+ EXISTS", line))


@dataclass
class RoundResult:
    taken: int = 0  # stored and moved to the processed folder
    failed: bool = False  # storing failed: the message stays in the folder for the next round
    errors: list[str] = field(default_factory=list)


def poll_round(
    mailbox: ImapMailbox,
    *,
    store: Callable[[bytes], int],
    process: Callable[[int], str] | None = None,
    stop: Callable[[], bool] = lambda: False,
    echo: Callable[[str], object] = print,
) -> RoundResult:
    """Take every message in the folder: ``store(raw)`` accepts and commits it (returning the
    stored mail's id), then the message moves to the processed folder, then ``process(id)``
    (its failure is the processor's to retry: the message is stored). When ``store`` raises,
    the message is left where it is and the round stops. Connection errors propagate."""
    result = RoundResult()
    for uid in mailbox.uids():
        if stop():
            break
        raw = mailbox.fetch(uid)
        if raw is None:
            continue
        try:
            mail_id = store(raw)
        except Exception as error:  # the database is down, locked, full...: keep the message
            reason = f"message UID {uid} not stored, left in the folder: " + (
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )
            echo(reason)
            result.failed = True
            result.errors.append(reason)
            break
        mailbox.move(uid)
        result.taken += 1
        if process is not None:
            try:
                outcome = process(mail_id)
            except Exception as error:  # stored: the processor's retries take it from here
                echo(f"mail {mail_id}: processing failed ({type(error).__name__}), will retry")
            else:
                echo(f"mail {mail_id}: {outcome}")
    return result


def run_poller(
    settings: ImapSettings,
    *,
    store: Callable[[bytes], int],
    process: Callable[[int], str] | None = None,
    once: bool = False,
    idle_seconds: float = 300.0,
    poll_seconds: float = 60.0,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    echo: Callable[[str], object] = print,
    mailbox: ImapMailbox | None = None,
) -> bool:
    """Poll once (``once``) or until ``stop()``: after each round wait for new mail with IDLE
    when offered, else ``poll_seconds``; a lost connection is reopened after 1, 2, 4 ...
    seconds (at most 5 minutes). Returns False when the last round left a message unstored
    or could not reach the server. Raises ImapLoginError and ImapConfigError (not retried:
    a person must fix them) and, with ``once``, ImapConnectionError."""
    mailbox = mailbox or ImapMailbox(settings)
    backoff = 1.0
    ok = True
    try:
        while not stop():
            try:
                if mailbox.client is None:
                    mailbox.open()
                    echo(
                        f"imap: {settings.user}@{settings.host}:{settings.port} "
                        f"{settings.folder} -> {settings.processed_folder}"
                    )
                result = poll_round(mailbox, store=store, process=process, stop=stop, echo=echo)
                ok = not result.failed
                if result.taken:
                    echo(f"imap: {result.taken} message(s) taken")
                if once or stop():
                    break
                if result.failed:
                    sleep_until(backoff, stop, sleep)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                backoff = 1.0
                if mailbox.can_idle:
                    mailbox.idle(idle_seconds, stop)
                else:
                    sleep_until(poll_seconds, stop, sleep)
            except (ImapLoginError, ImapConfigError):
                raise
            except (ImapError, OSError, imaplib.IMAP4.error) as error:
                mailbox.close()
                ok = False
                if once:
                    if isinstance(error, ImapError):
                        raise
                    raise ImapConnectionError(f"IMAP connection lost: {error}") from None
                echo(f"imap: {error}; trying again in {backoff:g}s")
                sleep_until(backoff, stop, sleep)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    finally:
        mailbox.close()
    return ok


def sleep_until(seconds: float, stop: Callable[[], bool], sleep: Callable[[float], None]) -> None:
    """Sleep ``seconds`` in short steps, returning early once ``stop()`` is true."""
    deadline = time.monotonic() + seconds
    while not stop():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        sleep(min(remaining, 0.2))


def poll_mailbox(
    db: Database,
    settings: SettingsSource,
    imap: ImapSettings,
    *,
    once: bool = False,
    idle_seconds: float = 300.0,
    poll_seconds: float = 60.0,
    stop: Callable[[], bool] = lambda: False,
    echo: Callable[[str], object] = print,
) -> bool:
    """``flask mail-in poll``: each message of the mailbox is accepted (via "imap") and
    committed, moved to the processed folder, then processed like every way in
    (``retry.process_stored``: a failure is retried by the worker's job, then parked). The
    polled mailbox is the city's own: a message that threads to no case is taken as sent to
    the intake address (``settings.mail_intake``), as the SMTP envelope would say."""

    def store(raw: bytes) -> int:
        intake = settings_now(settings).mail_intake
        recipients = [intake] if intake else []
        with db.transaction() as session:
            mail = accept(session, raw, via="imap", envelope_to=recipients, now=clock.now())
            return mail.id

    def process(mail_id: int) -> str:
        outcome = process_stored(db, settings_now(settings), clock.now(), mail_id)
        return outcome or "not processed now (the worker retries it)"

    return run_poller(
        imap,
        store=store,
        process=process,
        once=once,
        idle_seconds=idle_seconds,
        poll_seconds=poll_seconds,
        stop=stop,
        echo=echo,
    )
