"""Themes heard (issue 22): grouping resident texts into named themes, and examples without
names, contacts or house numbers (pure functions)."""

from __future__ import annotations

import pytest

from portal.assist.themes import MAX_THEMES, Text, find_themes, scrub, vocabulary

pytestmark = pytest.mark.pure


def test_scrub_takes_out_names_contacts_and_house_numbers_but_keeps_durations():
    text = (
        "My name is Ana Lopez, call me on 555-123-4567 or ana.lopez@example.org. The light "
        "outside 12 Elm St has been out 3 weeks, see https://example.org/x"
    )
    shown = scrub(text, ["Ana Lopez"])
    for private in ("Ana", "Lopez", "555", "example.org", "12", "Elm"):
        assert private not in shown
    assert "has been out 3 weeks" in shown
    assert scrub("soy Maria y vivo en el 45 de calle Hidalgo desde hace 2 años") == (
        "soy … y vivo en el … de calle … desde hace 2 años"
    )
    assert scrub("I AM Bob, the bin was not collected") == "I AM …, the bin was not collected"
    assert len(scrub("pothole " * 100)) <= 240


TOPICS = {
    1: (
        ["loud music from the bar", "the bar plays loud music", "music at the bar"],
        ["every night", "until 3am", "so we cannot sleep", "again tonight", "all weekend"],
    ),
    2: (
        ["deep pothole", "a pothole", "huge pothole in the asphalt"],
        ["damaged my tyre", "keeps growing", "full of water", "near the crossing"],
    ),
    3: (
        ["graffiti sprayed on the wall", "new graffiti", "graffiti tags"],
        ["by the bridge", "on the school wall", "again", "offensive words"],
    ),
}


def corpus(n_music: int, n_holes: int, n_graffiti: int, *, offset: int = 0) -> list[Text]:
    """Texts about three problems, each said in several ways."""
    out = []
    for category, n in ((1, n_music), (2, n_holes), (3, n_graffiti)):
        heads, tails = TOPICS[category]
        out += [
            Text(f"{heads[(i + offset) % len(heads)]} {tails[(i + offset) % len(tails)]}", category)
            for i in range(n)
        ]
    return out


def test_texts_are_grouped_into_named_themes_with_their_trend():
    texts = corpus(20, 12, 8)
    themes = find_themes(texts, corpus(3, 12, 0, offset=1))
    assert 2 <= len(themes) <= MAX_THEMES
    by_word = {t.terms[0] if " " not in t.terms[0] else t.terms[1]: t for t in themes}
    music = next(t for t in themes if "music" in " ".join(t.terms))
    holes = next(t for t in themes if "pothole" in " ".join(t.terms))
    graffiti = next(t for t in themes if "graffiti" in " ".join(t.terms))
    assert (music.size, holes.size, graffiti.size) == (20, 12, 8)
    assert (music.previous, holes.previous, graffiti.previous) == (3, 12, 0)
    assert themes[0] is music  # largest first
    assert len(music.examples) == 3 and len(set(music.examples)) == 3
    assert by_word  # every theme is named by its terms
    assert all(t.label for t in themes)


def test_the_vocabulary_leaves_out_words_every_kind_of_problem_shares():
    filler = ["on maple avenue", "on oak avenue", "on elm avenue", "on pine avenue"]
    texts = [
        Text(f"{t.body} {filler[i % 4]} thanks neighbours", t.category)
        for i, t in enumerate(corpus(12, 12, 12))
    ]
    words = vocabulary(texts)
    assert words is not None
    terms = set(words.terms)
    assert {"music", "pothole", "graffiti"} <= terms
    assert not {"maple", "oak", "elm", "neighbours"} & terms
    themes = find_themes(texts, words=words)
    assert not any("maple" in t.label or "avenue" in t.label for t in themes)


def test_too_few_texts_or_words_make_no_theme():
    assert find_themes(corpus(3, 3, 2)) == []
    assert find_themes([Text("ok", 1)] * 30) == []
    assert find_themes([]) == []
