"""Saved views: a staff member's named queue filters, shown as chips above their queues.

A saved view is one of the queue tabs (``view``) with its filter and sort, kept as a query
string of the filter names the queue understands (``SAVED_KEYS``). Values are not checked
against the member's choices here: opening a saved view goes through the queue's filter form
like any link, so a value that no longer fits (a department left, a category removed) gets a
message next to its field and is ignored. No Flask here.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.casework.queues import VIEWS
from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId

#: The query parameters a saved view keeps (the queue's filters and its sort).
SAVED_KEYS = (
    "department",
    "status",
    "category",
    "area",
    "priority",
    "channel",
    "assignee",
    "sla",
    "queue",
    "mark",
    "age",
    "sort",
)
MAX_NAME = 60
MAX_VALUE = 40
MAX_QUERY = 1000
#: Saved views per member: they are chips above every queue, so a handful.
MAX_PER_USER = 20


class SavedView(Base):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    #: The tab (one of ``VIEWS``).
    view: Mapped[str] = mapped_column(String(16))
    #: The filter and sort as a query string of ``SAVED_KEYS`` (``status=new&sort=newest``).
    query: Mapped[str] = mapped_column(String(MAX_QUERY), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query)


class SavedViewError(Exception):
    """A view could not be saved; ``code`` is "name" (empty or too long), "taken" (the
    member has a view of that name), "full" (``MAX_PER_USER`` reached) or "view"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_query(pairs: list[tuple[str, str]]) -> str:
    """The filter part of a queue's query: the ``SAVED_KEYS`` with a value, in that order,
    the first of each; values longer than ``MAX_VALUE`` are left out."""
    kept: dict[str, str] = {}
    for key, value in pairs:
        value = value.strip()
        if key in SAVED_KEYS and key not in kept and value and len(value) <= MAX_VALUE:
            kept[key] = value
    return urlencode([(key, kept[key]) for key in SAVED_KEYS if key in kept])


def views_of(session: Session, *, user_id: int) -> list[SavedView]:
    """The member's saved views in the order they were saved."""
    return list(
        session.scalars(
            select(SavedView)
            .where(SavedView.user_id == user_id)
            .order_by(SavedView.position, SavedView.id)
            .limit(MAX_PER_USER)
        )
    )


def save_view(
    session: Session,
    *,
    user_id: int,
    name: str,
    view: str,
    pairs: list[tuple[str, str]],
    now: datetime,
) -> SavedView:
    """Save the queue ``view`` with the filters in ``pairs`` under ``name`` (last among the
    member's views). Raises ``SavedViewError``."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise SavedViewError("name")
    if view not in VIEWS:
        raise SavedViewError("view")
    existing = views_of(session, user_id=user_id)
    if any(v.name.casefold() == name.casefold() for v in existing):
        raise SavedViewError("taken")
    if len(existing) >= MAX_PER_USER:
        raise SavedViewError("full")
    position = (
        session.scalar(select(func.max(SavedView.position)).where(SavedView.user_id == user_id))
        or 0
    )
    saved = SavedView(
        user_id=user_id,
        name=name,
        view=view,
        query=clean_query(pairs)[:MAX_QUERY],
        position=position + 1,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(saved)
            session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment
        raise SavedViewError("taken") from exc
    return saved


def delete_view(session: Session, *, user_id: int, view_id: int) -> str | None:
    """Delete the member's saved view ``view_id``; its name, or None when the member has no
    such view (another member's is not theirs to delete)."""
    saved = session.scalar(
        select(SavedView).where(SavedView.id == view_id, SavedView.user_id == user_id)
    )
    if saved is None:
        return None
    session.delete(saved)
    session.flush()
    return saved.name
