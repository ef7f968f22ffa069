"""Push notifications about a request's public news (a status change, a staff question or
message): one per subscribed device of the reporter's and followers' accounts, and of the
devices following the request without an account, in each one's language."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.push.messages import queue_push
from portal.requests import access
from portal.requests.labels import status_name
from portal.requests.models import Event, Follower, ServiceRequest


def push_update(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    event: Event,
    reporter: bool,
    followers: bool,
    with_message: bool,
) -> int:
    """Queue the push messages for a public ``event``; returns how many were queued."""
    if not event.public or not settings.vapid_private_key:
        return 0
    users: dict[int, str] = {}
    public = followers and request.is_public
    if public:
        for user_id, locale in session.execute(
            select(Follower.user_id, Follower.locale).where(
                Follower.request_id == request.id,
                Follower.confirmed_at.is_not(None),
                Follower.user_id.is_not(None),
            )
        ):
            if user_id is not None:
                users[user_id] = locale
    if reporter and request.reporter is not None:
        users[request.reporter.id] = request.reporter.locale or request.locale or "en"
    reference = request.reference or ""
    message = event.body if with_message else ""

    def text(locale: str) -> tuple[str, str]:
        category = request.category.t("name", locale)
        if event.kind == "question":
            title = translate(locale, _l("Question about %(reference)s"), reference=reference)
            return title, message or category
        if "to" in (event.data or {}):
            status = translate(locale, status_name(request.status))
            title = translate(
                locale, _l("%(reference)s is now: %(status)s"), reference=reference, status=status
            )
            return title, message or category
        title = translate(locale, _l("News about %(reference)s"), reference=reference)
        return title, message or category

    return queue_push(
        session,
        settings=settings,
        kind="request_update",
        dedupe=f"update:{event.id}",
        url=access.public_link(settings, reference),
        text=text,
        user_locales=users,
        request_id=request.id if public else None,
    )
