"""Which department a new request goes to: pure Python, no Flask, no database.

Rules are tried in order (position, then id); the first active rule whose conditions all hold
wins. An empty condition matches anything. Keywords are comma-separated words or phrases; one of
them found in the description as a whole word or phrase (case-insensitive) is enough. When no
rule matches, the request goes to its category's own department.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

CATEGORY_DEFAULT = "category default"


def parse_keywords(text: str | None) -> tuple[str, ...]:
    """``"pothole, sink hole,,"`` -> ``("pothole", "sink hole")``: trimmed, spaces collapsed,
    empties and repeats (ignoring case) dropped, order kept."""
    seen: set[str] = set()
    found: list[str] = []
    for part in (text or "").split(","):
        phrase = " ".join(part.split())
        if phrase and phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            found.append(phrase)
    return tuple(found)


def keyword_pattern(phrase: str) -> re.Pattern[str]:
    """A whole-word (or whole-phrase) match for ``phrase``; any run of spaces between words."""
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def mentions(description: str, phrase: str) -> bool:
    return bool(phrase.strip()) and keyword_pattern(phrase).search(description or "") is not None


@dataclass(frozen=True)
class Rule:
    """One routing rule as plain data (``None`` / empty conditions match anything)."""

    department_id: int
    name: str = ""
    id: int | None = None
    position: int = 0
    active: bool = True
    category_id: int | None = None
    area_id: int | None = None
    channel: str | None = None
    keywords: tuple[str, ...] = ()

    @classmethod
    def build(cls, *, keywords: str | Iterable[str] = (), **kw: object) -> Rule:
        """Like the constructor, but ``keywords`` may be the stored comma-separated text."""
        parsed = (
            parse_keywords(keywords)
            if isinstance(keywords, str)
            else parse_keywords(",".join(keywords))
        )
        return cls(keywords=parsed, **kw)  # type: ignore[arg-type]

    def matches(self, case: NewCase) -> bool:
        if not self.active:
            return False
        if self.category_id is not None and self.category_id != case.category_id:
            return False
        if self.area_id is not None and self.area_id != case.area_id:
            return False
        if self.channel and self.channel != case.channel:
            return False
        return not self.keywords or any(mentions(case.description, k) for k in self.keywords)


@dataclass(frozen=True)
class NewCase:
    """What routing looks at in a new request."""

    category_id: int
    #: The category's own department: the fallback.
    category_department_id: int
    area_id: int | None = None
    channel: str = "web"
    description: str = ""


@dataclass(frozen=True)
class Decision:
    department_id: int
    #: The rule that decided, or ``None`` for the category's own department.
    rule: Rule | None = field(default=None)

    @property
    def rule_name(self) -> str:
        """The deciding rule's name, or ``"category default"`` (stored on the timeline)."""
        if self.rule is None:
            return CATEGORY_DEFAULT
        return self.rule.name or f"#{self.rule.id}"

    @property
    def by_default(self) -> bool:
        return self.rule is None


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.position, r.id if r.id is not None else 0))


def decide(rules: Iterable[Rule], case: NewCase) -> Decision:
    """The first active matching rule (by position, then id), else the category default."""
    for rule in ordered(rules):
        if rule.matches(case):
            return Decision(rule.department_id, rule)
    return Decision(case.category_department_id, None)
