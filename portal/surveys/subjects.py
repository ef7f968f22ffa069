"""What a survey invitation without a case is about (a programme participant's enrolment, ...):
kinds of subject registered by the features that invite (``register``), so surveys import none.

An invitation's ``subject_key`` is ``"<prefix><id>"``. When its email is due, the kind finds
what the key names; nothing (gone, cancelled) cancels the invitation, else its email
(``template``) is sent with the subject's title under ``title_key`` in the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session


class Titled(Protocol):
    def t(self, field: str, locale: str | None) -> object: ...


@dataclass(frozen=True)
class SubjectKind:
    #: The key's prefix, e.g. "enrolment:".
    prefix: str
    #: The invitation email's template (``templates/notifications/<template>/``).
    template: str
    #: The name the subject's title has in the email's context.
    title_key: str
    #: What ``id`` names (``.t("title", locale)`` is its title), or None when it is gone.
    find: Callable[[Session, int], Titled | None]
    #: Whether the survey is still wanted about it (a cancelled programme is not surveyed).
    wanted: Callable[[Titled], bool] = lambda _subject: True

    def key(self, ident: int) -> str:
        return f"{self.prefix}{ident}"

    def ident(self, subject_key: str | None) -> int | None:
        """The id in ``subject_key`` when it is one of this kind's, else None."""
        if not subject_key or not subject_key.startswith(self.prefix):
            return None
        number = subject_key[len(self.prefix) :]
        return int(number) if number.isdigit() and len(number) < 19 else None


_KINDS: list[SubjectKind] = []


def register(kind: SubjectKind) -> SubjectKind:
    if kind not in _KINDS:
        _KINDS.append(kind)
    return kind


def subject_of(session: Session, subject_key: str | None) -> tuple[SubjectKind, Titled] | None:
    """The kind and the subject ``subject_key`` names, or None (no kind knows it, or gone)."""
    for kind in _KINDS:
        ident = kind.ident(subject_key)
        if ident is not None:
            subject = kind.find(session, ident)
            return (kind, subject) if subject is not None else None
    return None
