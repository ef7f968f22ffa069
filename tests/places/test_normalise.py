"""The canonical form of street and address text: what the import stores and the search reads."""

import pytest

from portal.places.normalise import (
    ParsedQuery,
    address_key,
    complete_word,
    parse_query,
    street_key,
    unit_key,
)

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Main Street", "main st"),
        ("Main Street", "MAIN ST."),
        ("Main Street", "Main Str"),
        ("Third Avenue", "3rd Ave"),
        ("Third Avenue", "3rd Av."),
        ("North Oak Boulevard", "N Oak Blvd"),
        ("Sunset Road", "sunset rd"),
        ("Elm Drive", "elm dr"),
        ("Maple Lane", "maple ln"),
        ("Court Terrace", "court ter"),
        ("Lincoln Parkway", "lincoln pkwy"),
        ("State Highway 9", "state hwy 9"),
        ("Peña Circle", "pena cir"),
        ("Union Square", "union sq"),
        ("Rose Place", "rose pl"),
        ("Saint Mary's Road", "St Marys Rd"),
        ("Southwest Twelfth Street", "SW 12th St"),
    ],
)
def test_two_spellings_of_a_street_have_one_key(one, other):
    assert street_key(one) == street_key(other)


def test_street_keys_are_lower_case_abbreviations():
    assert street_key("North Main Street") == "n main st"
    # A suffix or directional word that is part of the name itself stays a word, so a resident
    # typing its first letters ("118 Mi", "12 Nor") still finds it.
    assert street_key("Mill Street") == "mill st"
    assert street_key("Court Street") == "court st"
    assert street_key("North Avenue") == "north ave"
    assert street_key("Main Street North") == "main st n"
    assert street_key("Mill") == "mill"
    assert street_key("  Avenida   José Martí ") == "avenida jose marti"


def test_distinct_streets_keep_distinct_keys():
    assert street_key("Main Street") != street_key("Main Avenue")
    assert street_key("North Main Street") != street_key("South Main Street")


def test_address_key_joins_number_street_and_unit():
    assert address_key("118", "Main Street", "Apt 4") == "118 main st 4"
    assert address_key("118A", "Main Street", "") == "118a main st"
    assert address_key("118", "Main St.", "") == address_key("118", "main street", "")


@pytest.mark.parametrize("unit", ["Apt 4", "Unit 4", "#4", "Suite 4", "apartment 4", "4"])
def test_unit_designators_keep_only_the_unit(unit):
    assert unit_key(unit) == "4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123 Main St", ParsedQuery("address", "main st", "123", "", "", "st")),
        ("123 Main Street", ParsedQuery("address", "main st", "123", "", "", "street")),
        ("123 main street apt 4", ParsedQuery("address", "main st", "123", "4", "", "street")),
        ("123 Main St #4", ParsedQuery("address", "main st", "123", "4", "", "st")),
        ("123 Main Street, Unit 4", ParsedQuery("address", "main st", "123", "4", "", "street")),
        (
            "123 Main St, Springfield, IL 62701",
            ParsedQuery("address", "main st", "123", "", "", "st"),
        ),
        ("123 A Main St", ParsedQuery("address", "main st", "123a", "", "", "st")),
        ("Main St", ParsedQuery("street", "main st", "", "", "", "st")),
        ("3rd Ave", ParsedQuery("street", "3rd ave", "", "", "", "ave")),
        ("third avenue", ParsedQuery("street", "3rd ave", "", "", "", "avenue")),
    ],
)
def test_addresses_are_parsed(text, expected):
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Main St & 3rd Ave",
        "Main Street and Third Avenue",
        "Main St at 3rd Ave",
        "main st / 3rd ave",
        "Main St @ 3rd Ave",
    ],
)
def test_intersections_are_parsed(text):
    parsed = parse_query(text)
    assert (parsed.kind, parsed.street, parsed.cross) == ("intersection", "main st", "3rd ave")


def test_short_intersection():
    parsed = parse_query("Main and 3rd")
    assert (parsed.kind, parsed.street, parsed.cross) == ("intersection", "main", "3rd")


def test_a_numbered_address_with_at_is_not_an_intersection():
    assert parse_query("118 Main St at the corner").kind == "address"


@pytest.mark.parametrize("text", ["", "   ", ",,,", "!!!", "#"])
def test_nothing_to_search(text):
    assert parse_query(text).kind == "empty"


def test_a_huge_query_is_cut_not_an_error():
    assert parse_query("1 " + "a" * 100_000).kind == "address"


def test_the_query_key_matches_the_stored_key():
    assert parse_query("118 Main Street, Apt 4").key == address_key("118", "Main St", "Apt 4")


def test_half_typed_suffix_words_complete():
    assert complete_word("stre") == "st"
    assert complete_word("aven") == "ave"
    assert complete_word("boul") == "blvd"
    assert complete_word("ma") is None
