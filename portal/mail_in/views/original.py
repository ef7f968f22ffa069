"""Staff open the original of an email that reached a case: its headers and full text, as
stored, escaped. Who: whoever may open the case (a member of its department or of one of its
tasks; admins); a message that reached no case, admins only. Anyone else gets a 404."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from portal.access import current_staff, staff_required
from portal.casework.queues import member_may_open
from portal.mail_in.body import attachments, reply_body
from portal.mail_in.models import InboundMail
from portal.mail_in.process import parse
from portal.requests.models import ServiceRequest
from portal.web import db_session

bp = Blueprint("mail_in_original", __name__, url_prefix="/staff/emails")

#: The most of a message's text the page shows (the whole raw message can be far larger).
MAX_SHOWN = 200_000


def _may_open(request: ServiceRequest | None) -> bool:
    access = current_staff()
    if access.is_admin:
        return True
    return request is not None and member_may_open(
        db_session(), request=request, can_work=access.can_work
    )


def _load(mail_id: int) -> tuple[InboundMail, ServiceRequest | None]:
    mail = db_session().get(InboundMail, mail_id) if 0 < mail_id < 2**62 else None
    if mail is None:
        abort(404)
    request = db_session().get(ServiceRequest, mail.request_id) if mail.request_id else None
    if not _may_open(request):
        abort(404)
    return mail, request


@bp.get("/<int:mail_id>/original.eml")
@staff_required()
def raw(mail_id: int) -> Response:
    """The message exactly as it arrived, to open in a mail program (a download: it is
    never shown by the browser, so nothing in it runs on the portal's pages)."""
    mail, _request = _load(mail_id)
    return Response(
        mail.raw_bytes(),
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="email-{mail.id}.eml"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/<int:mail_id>")
@staff_required()
def show(mail_id: int):
    mail, request = _load(mail_id)
    raw = mail.raw_bytes()
    msg = parse(raw[: MAX_SHOWN * 4])
    headers_end = raw.find(b"\r\n\r\n")
    if headers_end < 0:
        headers_end = raw.find(b"\n\n")
    head = raw[: headers_end if headers_end >= 0 else MAX_SHOWN]
    return render_template(
        "mail_in/original/show.html",
        mail=mail,
        sr=request,
        headers=head[:MAX_SHOWN].decode("utf-8", "replace"),
        text=reply_body(msg).full_text[:MAX_SHOWN],
        truncated=len(raw) > MAX_SHOWN * 4,
        # Listed from the whole message (the text above is read from its beginning).
        files=[
            (a.filename or "—", a.content_type, len(a.data), a.inline)
            for a in attachments(parse(raw) if len(raw) > MAX_SHOWN * 4 else msg)
        ],
    )
