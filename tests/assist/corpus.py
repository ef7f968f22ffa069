"""Small arrangements of confirmed requests for the assistance tests, from the committed corpus
(benchmarks/assist_corpus.py): kept small, training runs on two shared cores."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from portal.assist.categories import Example

CORPUS = Path(__file__).parents[2] / "benchmarks" / "data" / "assist-corpus.jsonl"

#: Three of the demo city's categories with their Spanish names.
CATEGORIES = {
    "pothole": ("Pothole", "Bache"),
    "streetlight": ("Streetlight out", "Alumbrado público apagado"),
    "noise": ("Noise complaint", "Queja por ruido"),
}


def corpus(codes: set[str] | None = None, per_category: int | None = None) -> list[Example]:
    """The corpus's examples (of ``codes`` only, at most ``per_category`` of each)."""
    seen: dict[str, int] = {}
    out = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if codes is not None and row["category"] not in codes:
            continue
        key = f"{row['category']}/{row['language']}"
        if per_category is not None and seen.get(key, 0) >= per_category:
            continue
        seen[key] = seen.get(key, 0) + 1
        out.append(
            Example(
                row["text"],
                row["language"],
                row["category"],
                datetime.fromisoformat(row["created_at"]),
            )
        )
    return out


def arrange(make, *, per_category: int = 8):
    """The three categories, and confirmed requests of each (a staff status change) from the
    corpus, in both languages. Returns {code: category}."""
    staff = make.staff()
    categories = {
        code: make.category(code=code, name=en, translations={"es": {"name": es}})
        for code, (en, es) in CATEGORIES.items()
    }
    for example in corpus(set(CATEGORIES), per_category):
        request = make.request(
            category=categories[example.category],
            description=example.text,
            locale=example.language,
            status="acknowledged",
        )
        make.event(
            request, "status_changed", actor=staff, data={"from": "new", "to": "acknowledged"}
        )
    return categories
