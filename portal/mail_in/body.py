"""The text a sender wrote in an email, and its attachments (issue 19).

`reply_body(msg)` picks the message's body (text/plain, else its HTML converted to text), decodes
it whatever the charset or transfer encoding claims, and strips what the sender did not write for
this case: the quoted history ("On ... wrote:" / "El ... escribió:" and the lines under it,
Outlook's "From: / Sent:" and "De: / Enviado:" blocks, "-----Original Message-----"), signatures
after "-- " and mobile footers ("Sent from my iPhone", "Get Outlook for Android", "Enviado desde
mi iPhone").
A sender who answers inline, between quoted lines, keeps their own lines. The reply splitting and
signature detection is mail-parser-reply's (multi-language); the patterns here cover what it misses
(Spanish attribution lines, Yahoo and Samsung footers, inline answers). Nothing here raises: a
message that cannot be decoded gives what could be read, at worst an empty body.
"""

from __future__ import annotations

import codecs
import email.message
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser

from mailparser_reply.parser import (  # type: ignore[import-untyped]
    EmailMessage as _ParsedReply,
)

__all__ = ["Attachment", "ReplyBody", "attachments", "html_to_text", "reply_body", "strip_reply"]

#: Languages whose reply headers, signatures and footers mail-parser-reply looks for.
LANGUAGES = ["en", "es"]
#: Text longer than this is not searched for quotes (the regular expressions are not linear);
#: such a body is kept whole.
MAX_STRIPPED_CHARS = 200_000


@dataclass(frozen=True)
class ReplyBody:
    text: str  # what the sender wrote: no quoted history, signature or mobile footer
    full_text: str  # the whole decoded body
    html_only: bool  # the message had no text/plain body; `full_text` is its HTML as text


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool  # shown in the body (Content-Disposition inline or a Content-ID), not attached


# --- decoding ------------------------------------------------------------------------------------

# What mail clients label ISO-8859-1 or ASCII is often windows-1252 (smart quotes), as WHATWG says.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset, else UTF-8, else windows-1252 with replacements."""
    names: list[str] = []
    if charset:
        name = charset.strip().strip('"').lower()
        names.append(_CHARSET_ALIASES.get(name, name))
    names.append("utf-8")
    for name in names:
        try:
            codecs.lookup(name)
            return data.decode(name)
        except (LookupError, UnicodeError, ValueError):
            continue
    return data.decode("cp1252", errors="replace")


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: the undecoded text is better than nothing
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="replace")
    return b""


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
        flowed = str(part.get_param("format", "")).lower() == "flowed"
        delsp = str(part.get_param("delsp", "")).lower() == "yes"
    except Exception:
        charset, flowed, delsp = None, False, False
    text = _decode(_payload_bytes(part), charset)
    return _unflow(text, delsp=delsp) if flowed else text


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space goes on in the next one. Quoted lines
    are left as they are (they are not the reply)."""
    out: list[str] = []
    paragraph: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            if paragraph is not None:
                out.append(paragraph)
                paragraph = None
            out.append(line)
            continue
        if line.startswith(" "):
            line = line[1:]  # space-stuffed
        soft = line.endswith(" ") and line != "-- "
        if soft and delsp:
            line = line[:-1]
        paragraph = line if paragraph is None else paragraph + line
        if not soft:
            out.append(paragraph)
            paragraph = None
    if paragraph is not None:
        out.append(paragraph)
    return "\n".join(out)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:
        return ""


_BOUNDARY_LINE = re.compile(
    r"^--([^\s-][^\s]{0,69}|-[^\s]{1,69})[ \t]*\r?\n[A-Za-z-]+:", re.MULTILINE
)


def _subparts(part: Message) -> list[Message]:
    """The parts of a multipart; when its boundary is missing or not the one its parts use, the
    boundary its body does use is found and the parts parsed again (else it is one text part)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    found = _BOUNDARY_LINE.search(text)
    if found is not None:
        boundary = found.group(1)
        head = f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
        try:
            again = email.message_from_string(head + text, policy=email.policy.default)
            parts = again.get_payload()
            if isinstance(parts, list) and parts:
                return [p for p in parts if isinstance(p, Message)]
        except Exception:
            pass
    lone = email.message.EmailMessage()
    lone.set_payload(text)
    return [lone]


#: Multiparts nested deeper than this are not searched (a nesting bomb).
MAX_DEPTH = 30


def _body_parts(msg: Message) -> tuple[list[Message], list[Message]]:
    """The text/plain parts and the text/html parts that are the body, not attachments.

    Of a multipart/alternative, the first alternative with text/plain and the first with HTML
    count; the text parts of a multipart/mixed all count, in order (Apple Mail splits the text
    around an inline photo). Attached messages (message/rfc822, a forward as attachment) and
    delivery reports' machine parts are not searched."""
    plain: list[Message] = []
    html: list[Message] = []
    _collect(msg, plain, html, 0)
    return plain, html


def _collect(part: Message, plain: list[Message], html: list[Message], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    ctype = _content_type(part)
    if ctype.startswith("multipart/"):
        children = _subparts(part)
        if ctype != "multipart/alternative":
            for child in children:
                _collect(child, plain, html, depth + 1)
            return
        for child in children:
            child_plain: list[Message] = []
            child_html: list[Message] = []
            _collect(child, child_plain, child_html, depth + 1)
            if child_plain and not plain:
                plain.extend(child_plain)
            if child_html and not html:
                html.extend(child_html)
        return
    if ctype.startswith("message/") or _disposition(part) == "attachment" or _filename(part):
        return
    if ctype == "text/plain":
        plain.append(part)
    elif ctype == "text/html":
        html.append(part)


def reply_body(msg: Message) -> ReplyBody:
    """The body of `msg`: the sender's new text and the whole decoded body. Never raises."""
    try:
        plain, html = _body_parts(msg)
        if plain:
            full = _normalize("\n".join(_part_text(part) for part in plain))
            if full.strip() or not html:
                return ReplyBody(text=strip_reply(full), full_text=full.strip(), html_only=False)
        if html:
            source = "\n".join(_part_text(part) for part in html)
            full = _normalize(html_to_text(source))
            text = strip_reply(_normalize(html_to_text(source, drop_quotes=True)))
            return ReplyBody(text=text, full_text=full.strip(), html_only=True)
    except Exception:  # never: but a message we cannot read must still be stored and shown
        pass
    return ReplyBody(text="", full_text="", html_only=False)


def attachments(msg: Message) -> list[Attachment]:
    """Every attached or inline file of `msg` (images, documents, messages). Never raises."""
    found: list[Attachment] = []
    try:
        plain, html = _body_parts(msg)
        body = {id(part) for part in [*plain, *html]}
        for part in _leaves(msg):
            if id(part) in body:
                continue
            attachment = _attachment(part, len(found) + 1)
            if attachment is not None:
                found.append(attachment)
    except Exception:
        pass
    return found


def _leaves(msg: Message) -> list[Message]:
    leaves: list[Message] = []
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop(0)
        if _content_type(part).startswith("multipart/"):
            stack[0:0] = _subparts(part)
        else:
            leaves.append(part)
    return leaves


_SKIPPED_TYPES = {
    "message/delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
    "text/rfc822-headers",
}
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def _attachment(part: Message, number: int) -> Attachment | None:
    ctype = _content_type(part)
    filename = _filename(part)
    disposition = _disposition(part)
    maintype = ctype.split("/", 1)[0]
    if not filename and disposition != "attachment":
        if ctype in _SKIPPED_TYPES or (maintype == "text" and ctype != "text/calendar"):
            return None  # another body part (a second text part, a report's machine part)
        if maintype == "multipart":
            return None
    if ctype == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        data = inner.as_bytes() if isinstance(inner, Message) else _payload_bytes(part)
        filename = filename or "message.eml"
    else:
        data = _payload_bytes(part)
    if not filename:
        filename = f"attachment-{number}{_EXTENSIONS.get(ctype, '')}"
    inline = disposition == "inline" or (disposition != "attachment" and bool(part["Content-ID"]))
    return Attachment(filename=filename, content_type=ctype, data=data, inline=inline)


# --- HTML to text --------------------------------------------------------------------------------

_BLOCK = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dl", "dt", "dd",
}  # fmt: skip
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
_INVISIBLE = {"head", "script", "style", "title", "template", "xml"}
# Elements that are quoted history: Gmail's quote and attribution, Yahoo's, Thunderbird's
# attribution line, Apple Mail's and every client's blockquote.
_QUOTE_CLASSES = {"gmail_quote", "gmail_attr", "yahoo_quoted", "moz-cite-prefix", "gmail_signature"}
# Elements after which everything is history: Outlook (desktop, web, mobile) and Windows Mail.
_HISTORY_IDS = {
    "divrplyfwdmsg",
    "appendonsend",
    "stopspelling",
    "mail-editor-reference-message-container",
}
_HISTORY_CLASSES = {"outlookmessageheader", "ms-outlook-mobile-reference-message"}


class _TextParser(HTMLParser):
    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.out: list[str] = []
        self.skip: list[str] = []  # the open elements whose content is dropped
        self.stopped = False
        self.in_pre = 0

    def _is_quote(self, tag: str, attrs: dict[str, str]) -> bool:
        if not self.drop_quotes:
            return False
        if tag == "blockquote":
            return True
        classes = set(attrs.get("class", "").lower().split())
        return bool(classes & _QUOTE_CLASSES)

    def _is_history(self, tag: str, attrs: dict[str, str]) -> bool:
        if not self.drop_quotes:
            return False
        classes = set(attrs.get("class", "").lower().split())
        return attrs.get("id", "").lower() in _HISTORY_IDS or bool(classes & _HISTORY_CLASSES)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        if self.skip:
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if self._is_history(tag, values):
            self.stopped = True
            return
        if tag in _INVISIBLE or self._is_quote(tag, values):
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if tag == "pre":
            self.in_pre += 1
        if tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "img" and values.get("alt") and not values.get("src", "").startswith("cid:"):
            self.out.append(values["alt"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stopped:
            return
        if self.skip:
            # Close up to the matching open element (HTML in mail is often unbalanced).
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag == "pre" and self.in_pre:
            self.in_pre -= 1
        if tag in _BLOCK and tag != "br":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.stopped or self.skip:
            return
        self.out.append(data if self.in_pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text of an HTML mail body; with `drop_quotes`, without the quoted history."""
    parser = _TextParser(drop_quotes=drop_quotes)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # what was read so far is kept
        pass
    lines = [line.strip() for line in "".join(parser.out).replace("\xa0", " ").split("\n")]
    return "\n".join(lines)


# --- stripping -----------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    text = (
        text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").replace("\u200b", "")
    )
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text)


_M = re.MULTILINE | re.IGNORECASE
# An attribution line, which a client may wrap over up to three lines.
_WROTE = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:On|El|Em|Le|Am)\s(?:[^\n]*\n){0,2}?[^\n]*"
    r"\s(?:wrote|escribió|escribio|escribi=C3=B3|schrieb|a écrit|escreveu)\s?:[ \t]*$",
    _M,
)
# Everything under these lines is history, whoever wrote it.
_HISTORY = [
    re.compile(
        r"^[ \t]*-{2,}[ \t]*(?:Original Message|Mensaje original|Mensaje Original)[ \t]*-{2,}", _M
    ),
    re.compile(r"^[ \t]*_{10,}[ \t]*$", _M),
    # Outlook's header block: From/De then, within three lines, Sent/Date/Enviado/Fecha.
    re.compile(
        r"^[ \t]*\*?(?:From|De)\s?:\*?[ \t]+\S[^\n]*\n(?:[^\n]*\n){0,2}?"
        r"[ \t]*\*?(?:Sent|Date|Enviado|Fecha|To|Para)\s?:\*?",
        _M,
    ),
]
_FORWARD = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Forwarded message|Forwarded Message|Mensaje reenviado)[ \t]*-{2,}"
    r"|Begin forwarded message:|Inicio del mensaje reenviado:)[ \t]*$",
    _M,
)
# Mobile and webmail footers and the signature delimiter: from here to the end is not the reply.
_FOOTERS = re.compile(
    r"^[ \t]*(?:"
    r"--[ \t]*$"
    r"|Sent from (?:my |Yahoo Mail|Mail for Windows|Outlook|Samsung|AOL|Proton|the all new)"
    r"|Sent via |Sent with |Get Outlook for |Obtener Outlook para |Obtener Outlook for "
    r"|Enviado desde (?:mi |Yahoo|Outlook|Correo|el correo)|Enviado con "
    r"|Von meinem |Envoyé de mon "
    r")[^\n]*(?:\n[^\n]*){0,6}\Z",
    _M,
)


def _first(patterns: list[re.Pattern[str]], text: str) -> int:
    starts = [m.start() for p in patterns if (m := p.search(text))]
    return min(starts) if starts else len(text)


def _is_quote_line(line: str) -> bool:
    return line.lstrip().startswith(">")


def _inline_answer(text: str) -> str | None:
    """The sender's lines when they answered between quoted lines, else None (top-posted)."""
    lines = text.split("\n")
    first_quote = next((i for i, line in enumerate(lines) if _is_quote_line(line)), None)
    if first_quote is None:
        return None
    after = "\n".join(line for line in lines[first_quote:] if not _is_quote_line(line))
    if not _strip_footers(after).strip():
        return None
    kept = "\n".join(line for line in lines if not _is_quote_line(line))
    return _WROTE.sub("", kept)


def _strip_footers(text: str) -> str:
    match = _FOOTERS.search(text)
    return text[: match.start()] if match else text


def _library(text: str) -> str:
    """mail-parser-reply's latest reply, without its headers and signature; sign-offs it takes
    for a signature are removed only when they end the message (a few short lines)."""
    try:
        parsed = _ParsedReply(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    except Exception:
        return text
    if not parsed.replies:
        return text
    reply = parsed.replies[0]
    signature = reply.signatures
    first_line = signature.split("\n", 1)[0]
    if signature and (
        len(signature) > 300 or signature.count("\n") > 6 or len(first_line.split()) > 4
    ):
        return reply.full_body  # "Thanks, the crew came but..." is a sentence, not a sign-off
    return reply.body or reply.full_body


def strip_reply(text: str) -> str:
    """The new text of a plain-text reply: quoted history, attribution, signature and mobile
    footers removed; an inline answer keeps the sender's lines; a forwarded message is kept."""
    text = _normalize(text)
    if len(text) > MAX_STRIPPED_CHARS:
        return text.strip()
    forwarded = ""
    fwd = _FORWARD.search(text)
    if fwd and fwd.start() <= _first(_HISTORY, text) and not _WROTE.search(text[: fwd.start()]):
        forwarded = text[fwd.start() :].strip()
        text = text[: fwd.start()]
    text = text[: _first(_HISTORY, text)]
    inline = _inline_answer(text)
    if inline is not None:
        text = inline
    else:
        wrote = _WROTE.search(text)
        text = text[: wrote.start()] if wrote else text
        text = "\n".join(line for line in text.split("\n") if not _is_quote_line(line))
    stripped = _strip_footers(_library(text)).strip()
    if not stripped:
        stripped = _strip_footers(text).strip()
    if forwarded:
        stripped = f"{stripped}\n\n{forwarded}".strip()
    return re.sub(r"\n{3,}", "\n\n", stripped)
