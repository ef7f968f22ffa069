"""Server-side drafts of the multi-step filing form.

The browser holds only a random token (in the signed session cookie); what the resident typed
lives in ``request_drafts`` so going back keeps it, long descriptions fit, and no web process
holds state. Drafts expire after ``settings.draft_ttl_hours``; the worker sweeps them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import Settings
from portal.requests import access
from portal.requests.models import RequestDraft, RequestPhoto
from portal.requests.photos import delete_photo_file


def load_draft(session: Session, token: str | None) -> RequestDraft | None:
    if not token:
        return None
    draft = session.scalar(
        select(RequestDraft).where(RequestDraft.token_hash == access.hash_token(token))
    )
    if draft is None or draft.expires_at <= clock.now():
        return None
    return draft


def new_draft(
    session: Session, *, settings: Settings, user_id: int | None
) -> tuple[str, RequestDraft]:
    token, token_hash = access.new_token()
    now = clock.now()
    draft = RequestDraft(
        token_hash=token_hash,
        user_id=user_id,
        data={},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=settings.draft_ttl_hours),
    )
    session.add(draft)
    session.flush()
    return token, draft


def update_draft(draft: RequestDraft, *, settings: Settings, **values: Any) -> None:
    """Merge ``values`` into the draft (a new dict, so the JSON column is seen as changed)."""
    now = clock.now()
    draft.data = {**(draft.data or {}), **values}
    draft.updated_at = now
    draft.expires_at = now + timedelta(hours=settings.draft_ttl_hours)


def draft_photos(session: Session, draft: RequestDraft) -> list[RequestPhoto]:
    return list(
        session.scalars(
            select(RequestPhoto).where(RequestPhoto.draft_id == draft.id).order_by(RequestPhoto.id)
        )
    )


def discard_draft(session: Session, draft: RequestDraft) -> None:
    session.delete(draft)
    session.flush()


def sweep_drafts(session: Session, *, settings: Settings, now: datetime, batch: int = 500) -> int:
    """Delete expired drafts and the photos that were never filed; returns drafts removed."""
    expired = list(
        session.scalars(select(RequestDraft.id).where(RequestDraft.expires_at <= now).limit(batch))
    )
    if not expired:
        return 0
    orphans = session.execute(
        select(RequestPhoto.id, RequestPhoto.storage_key).where(
            RequestPhoto.draft_id.in_(expired), RequestPhoto.request_id.is_(None)
        )
    ).all()
    if orphans:
        session.execute(delete(RequestPhoto).where(RequestPhoto.id.in_([o.id for o in orphans])))
    session.execute(delete(RequestDraft).where(RequestDraft.id.in_(expired)))
    session.flush()
    for orphan in orphans:
        delete_photo_file(settings, orphan.storage_key)
    return len(expired)
