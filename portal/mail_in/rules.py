"""Pure rules over a parsed message: is it automatic (an auto-reply, a bounce, a report), is it
ours (a loop), which attachments are forbidden, which language the sender writes in.

No database and no Flask: plain functions over ``email.message.Message`` and strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: ``Precedence`` values that mark mail no person is waiting an answer to.
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
#: Headers whose mere presence marks an auto-responder (vacation, Exchange).
AUTORESPONDER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")
#: Local parts of the senders of delivery reports.
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
#: Content types of delivery and disposition reports (RFC 3464, RFC 8098).
REPORT_TYPES = frozenset(
    {
        "multipart/report",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
    }
)

#: Attachments never taken, by extension: programs, scripts, macro documents, disk images and
#: archives (never unpacked, so a zip bomb is refused whole, and nothing can hide inside one).
FORBIDDEN_EXTENSIONS = _words(
    """
    exe com bat cmd scr pif msi msp msc dll cpl sys drv ocx jar class js jse mjs vbs vbe
    wsf wsh wsc ps1 psm1 psd1 sh bash csh ksh zsh py pyc pl rb php hta lnk reg inf scf url
    vb app apk ipa dmg iso img vhd vhdx deb rpm appx msix docm dotm xlsm xltm xlam pptm potm
    ppam sldm zip zipx rar 7z tar gz tgz bz2 tbz xz txz lz lzma zst cab ace arj lzh lha z
    """
)
#: ... and by declared content type.
FORBIDDEN_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-executable",
        "application/x-elf",
        "application/x-mach-binary",
        "application/vnd.microsoft.portable-executable",
        "application/x-dosexec",
        "application/x-sh",
        "application/x-csh",
        "application/x-shellscript",
        "application/x-bat",
        "application/javascript",
        "application/x-javascript",
        "text/javascript",
        "text/vbscript",
        "application/x-vbscript",
        "application/hta",
        "application/java-archive",
        "application/x-java-archive",
        "application/vnd.android.package-archive",
        "application/zip",
        "application/x-zip",
        "application/x-zip-compressed",
        "application/x-rar",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/vnd.ms-cab-compressed",
        "application/x-iso9660-image",
        "application/x-apple-diskimage",
    }
)
#: ... and by what the bytes are, whatever the name says: Windows and Unix programs, scripts,
#: archives. Office documents are zip files too, so the zip signature counts only for a file
#: that does not say it is one (OOXML and OpenDocument names).
_MAGIC = (
    (b"MZ", "program"),
    (b"\x7fELF", "program"),
    (b"\xcf\xfa\xed\xfe", "program"),
    (b"#!", "script"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"\x1f\x8b", "archive"),
    (b"BZh", "archive"),
    (b"\xfd7zXZ\x00", "archive"),
    (b"MSCF", "archive"),
)
_ZIP = b"PK\x03\x04"
_ZIP_DOCUMENTS = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"})

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "heic", "heif"})


def header(msg: Message, name: str) -> str:
    """A header's value as text, "" when missing or unreadable (never raises)."""
    try:
        value = msg.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:  # noqa: BLE001 - a malformed header reads as empty
        return ""


def _local_part(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[0].lower() or address.strip().lower()


def automatic_kind(msg: Message, *, envelope_from: str | None) -> str | None:
    """``"bounce"`` for a delivery or disposition report, ``"auto_reply"`` for an
    auto-responder (RFC 3834 ``Auto-Submitted`` other than "no", an automatic ``Precedence``,
    an auto-responder header), else None. ``envelope_from`` is the SMTP sender when the
    message came by SMTP/LMTP (None by IMAP, which has no envelope): an empty one is a bounce.
    """
    try:
        content_type = msg.get_content_type()
    except Exception:  # noqa: BLE001
        content_type = ""
    if content_type in REPORT_TYPES:
        return "bounce"
    # An auto-responder that says so is one, even with the empty Return-Path RFC 3834 asks
    # of it (which would otherwise read as a bounce).
    auto_submitted = header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto_reply"
    if header(msg, "Precedence").strip().lower() in AUTOMATIC_PRECEDENCE:
        return "auto_reply"
    if any(msg.get(name) is not None for name in AUTORESPONDER_HEADERS):
        return "auto_reply"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "bounce"
    return_path = header(msg, "Return-Path")
    if return_path.replace(" ", "") == "<>":
        return "bounce"
    senders = [envelope_from or "", return_path, *(a for _n, a in _addresses(msg, ("From",)))]
    if any(_local_part(s) in BOUNCE_SENDERS for s in senders if s):
        return "bounce"
    return None


def _addresses(msg: Message, names: Iterable[str]) -> list[tuple[str, str]]:
    values: list[str] = []
    for name in names:
        try:
            values.extend(str(v) for v in msg.get_all(name, []))
        except Exception:  # noqa: BLE001
            continue
    try:
        return [(n, a.strip().lower()) for n, a in getaddresses(values) if "@" in a]
    except Exception:  # noqa: BLE001
        return []


def recipients(msg: Message) -> list[str]:
    """The addresses the message says it went to (To, Cc, Delivered-To, X-Original-To)."""
    return [a for _n, a in _addresses(msg, ("To", "Cc", "Delivered-To", "X-Original-To"))]


def sender(msg: Message) -> tuple[str, str]:
    """(display name, address lower-cased) of the From header; ("", "") when there is none."""
    found = _addresses(msg, ("From",))
    return found[0] if found else ("", "")


def is_our_own(address: str, *, reply_domain: str, mail_from: str, intake: str = "") -> bool:
    """True for an address the portal itself sends or answers from: its sender address, its
    intake address, or a ``reply+...`` address at its reply domain. Not every address of the
    domain: staff at the city's own domain answer notices from their phones."""
    address = (address or "").strip().strip("<>").lower()
    if not address:
        return False
    own = mail_from.rpartition("<")[2].rstrip(">").strip().lower()
    local, _, domain = address.rpartition("@")
    if address in (own, (intake or "").strip().lower()):
        return True
    return bool(reply_domain) and domain == reply_domain.lower() and local.startswith("reply+")


def message_ids(value: str) -> list[str]:
    """The ``<...>`` message ids in an In-Reply-To or References value, in order."""
    return re.findall(r"<[^<>\s]{1,250}>", value or "")


def forbidden_attachment(filename: str, content_type: str, data: bytes) -> str | None:
    """Why an attachment may not be taken ("program", "script", "archive"), or None."""
    name = (filename or "").strip().lower()
    extension = name.rpartition(".")[2] if "." in name else ""
    if extension in FORBIDDEN_EXTENSIONS:
        return "archive" if extension in _ARCHIVE_EXTENSIONS else "program"
    if (content_type or "").lower() in FORBIDDEN_TYPES:
        return "archive" if "zip" in content_type or "tar" in content_type else "program"
    head = data[:8]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(_ZIP) and extension not in _ZIP_DOCUMENTS:
        return "archive"
    return None


_ARCHIVE_EXTENSIONS = _words(
    "zip zipx rar 7z tar gz tgz bz2 tbz xz txz lz lzma zst cab ace arj lzh lha z iso img dmg"
)


def is_image(filename: str, content_type: str) -> bool:
    name = (filename or "").lower()
    return (content_type or "").lower().startswith("image/") or (
        name.rpartition(".")[2] in IMAGE_EXTENSIONS
    )


# -- the sender's language ---------------------------------------------------------------------

_WORD = re.compile(r"[a-záéíóúñü]+")
_SPANISH = _words(
    """
    el la los las de del que y en un una por para con no es está están hay muy pero su sus
    calle esquina frente casa gracias hola buenos buenas días tardes favor desde hace semana
    agua basura luz bache farola vecinos mi mis se lo le al como también
    """
)
_ENGLISH = _words(
    """
    the and of to in is it that there this on for with are was my at please thanks thank
    hello hi street road near from have has been since week water light trash
    """
)


def language(msg: Message, text: str, *, languages: Iterable[str], default: str) -> str:
    """The sender's language among ``languages``: ``Content-Language``, then
    ``Accept-Language``, then which of Spanish and English the words of ``text`` (the subject
    and body) look like; ``default`` when nothing says."""
    available = [code.lower() for code in languages]
    for name in ("Content-Language", "Accept-Language"):
        for part in header(msg, name).split(","):
            code = part.split(";")[0].strip().lower().split("-")[0]
            if code in available:
                return code
    words = _WORD.findall((text or "").lower()[:4000])
    spanish = sum(1 for w in words if w in _SPANISH)
    english = sum(1 for w in words if w in _ENGLISH)
    if "es" in available and spanish >= 2 and spanish > english:
        return "es"
    if "en" in available and english >= 2 and english > spanish:
        return "en"
    return default if default in available else (available[0] if available else "en")
