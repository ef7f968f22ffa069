"""Named hooks: how one feature reacts to another's event without importing it.

A lower feature declares a hook and fires it where the event happens (``case_status_changed``
in ``portal.requests.hooks``, fired by the one function that changes a case's status); a
higher feature connects a handler to it in its own ``reactions`` module. Handlers run in the
order they were connected, synchronously, inside the caller's transaction: what they write is
committed or rolled back with the event itself, and an exception in a handler fails the whole
change. Side effects outside the database go through the outbox, as everywhere.

``portal.reactions.connect_all()`` (called by ``create_app``) imports every feature's
reactions module once, so the order of the handlers is written down in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
Handler = Callable[[Session, T], object]


class Hook(Generic[T]):
    """An event features can react to: ``hook.connect(handler)`` then ``hook.fire(session,
    payload)`` calls ``handler(session, payload)`` for each handler."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.__doc__ = doc
        self._handlers: list[Handler[T]] = []

    def connect(self, handler: Handler[T]) -> Handler[T]:
        """Add ``handler`` (once; usable as a decorator)."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def fire(self, session: Session, payload: T) -> None:
        for handler in list(self._handlers):
            handler(session, payload)

    @property
    def handlers(self) -> tuple[Handler[T], ...]:
        return tuple(self._handlers)

    def __repr__(self) -> str:
        names = ", ".join(f"{h.__module__}.{h.__qualname__}" for h in self._handlers)
        return f"<Hook {self.name}: {names or 'no handlers'}>"
