"""Survey definitions: the shipped files, every validation rule with its message, fingerprints,
frozen versions and reading answers of every kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from portal.surveys import schema as defs
from portal.surveys.definitions import check, definition_for, load_definitions
from portal.surveys.models import RESOLVED_ANSWERS, SurveyResponse, SurveyVersion
from portal.surveys.schema import (
    SURVEYS_DIR,
    DefinitionError,
    localized,
    measures,
    read_answers,
    visible,
)
from portal.surveys.versions import definition_of, frozen_problems, record_version

HEADER = """\
id = "s"
version = 1
trigger = "site_feedback"
title = { en = "Title", es = "Título" }
introduction = { en = "Intro", es = "Introducción" }
"""

RATE = """
[[questions]]
id = "rate"
kind = "rating5"
measure = "csat"
label = { en = "Rate us", es = "Califíquenos" }
"""

PICK = """
[[questions]]
id = "pick"
kind = "single"
label = { en = "Pick", es = "Elija" }
options = [
  { key = "a", label = { en = "A", es = "A" } },
  { key = "b", label = { en = "B", es = "B" } },
]
"""

COMMENT = """
[[questions]]
id = "comment"
kind = "text"
max_length = 20
label = { en = "Comment", es = "Comentario" }
"""


def write(folder: Path, text: str, name: str = "s.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str, name: str = "s.toml") -> list[str]:
    folder = tmp_path / "surveys"
    write(folder, text, name)
    return check(folder)[1]


def question(body: str) -> str:
    return "\n[[questions]]\n" + body


# -- The shipped definitions -------------------------------------------------------------------


def test_the_shipped_definitions_pass_the_check(runner):
    result = runner.invoke(args=["surveys", "check"])

    assert result.exit_code == 0, result.output
    assert result.output == "3 survey definitions OK\n"


def test_the_shipped_definitions_say_what_the_issue_asks():
    definitions = load_definitions()
    assert set(definitions) == {"request-resolved", "programme-completed", "site-feedback"}
    assert definition_for("request_resolved").key == "request-resolved"
    assert definition_for("programme_completed").key == "programme-completed"
    assert definition_for("site_feedback").key == "site-feedback"

    request = definitions["request-resolved"]
    by_measure = {q.measure: q for q in request.questions}
    assert set(by_measure) == {"resolved", "csat", "ces", "comment", "contact"}
    resolved = request.questions[0]
    assert resolved.measure == "resolved" and resolved.required
    assert [o.key for o in resolved.options] == list(RESOLVED_ANSWERS)
    assert localized(resolved.label, "en") == "Was your request resolved?"
    assert (
        localized(by_measure["ces"].label, "en")
        == "How easy was it to get your request dealt with?"
    )
    assert by_measure["comment"].max_length == 1200 and not by_measure["comment"].required
    assert not any(q.kind == "nps" for q in request.questions)

    programme = definitions["programme-completed"]
    assert {q.measure for q in programme.questions} == {"csat", "nps", "comment"}

    site = definitions["site-feedback"]
    satisfaction, improve = site.questions
    assert satisfaction.kind == "rating5" and satisfaction.measure == "csat"
    assert [localized(o.label, "en") for o in satisfaction.options] == [
        "Very satisfied",
        "Satisfied",
        "Neither satisfied or dissatisfied",
        "Dissatisfied",
        "Very dissatisfied",
    ]
    assert [o.key for o in satisfaction.options] == ["5", "4", "3", "2", "1"]
    assert localized(improve.label, "en") == "How could we improve this service?"
    assert improve.measure == "comment"

    for definition in definitions.values():
        assert definition.path == SURVEYS_DIR / f"{definition.key}.toml"
        assert definition.title["es"] != definition.title["en"]
        assert all(q.label["es"] != q.label["en"] for q in definition.questions)


def test_localized_falls_back_to_english():
    texts = {"en": "Hello", "es": "Hola"}
    assert localized(texts, "es") == "Hola"
    assert localized(texts, "es-MX") == "Hola"
    assert localized(texts, "fr") == "Hello"
    assert localized(texts, "") == "Hello"


# -- The check command -------------------------------------------------------------------------


def test_the_check_command_prints_every_problem_and_exits_1(runner, tmp_path):
    folder = tmp_path / "surveys"
    write(
        folder,
        HEADER.replace("version = 1", 'version = "one"')
        + question(
            'id = "comment"\nkind = "text"\nmax_length = "lots"\n'
            'label = { en = "Comment", es = "Comentario" }\n'
        ),
    )
    write(folder, 'id = "broken"\nversion = \n', name="broken.toml")

    result = runner.invoke(args=["surveys", "check", "--folder", str(folder)])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "surveys/broken.toml: line 2: not valid TOML: Invalid value (column 11)",
        'surveys/s.toml: version must be a whole number from 1 (got "one")',
        'surveys/s.toml: question "comment": max_length must be a whole number from 1 to 5000 '
        '(got "lots")',
    ]


def test_the_check_command_accepts_another_folder(runner, tmp_path):
    write(tmp_path / "surveys", HEADER + RATE)

    result = runner.invoke(args=["surveys", "check", "--folder", str(tmp_path / "surveys")])

    assert result.exit_code == 0, result.output
    assert result.output == "1 survey definition OK\n"


def test_an_empty_or_missing_folder_fails_the_check(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(args=["surveys", "check", "--folder", str(tmp_path / "empty")])
    missing = runner.invoke(args=["surveys", "check", "--folder", str(tmp_path / "nowhere")])

    assert empty.exit_code == 1
    assert "no survey definitions" in empty.output
    assert missing.exit_code == 1
    assert "no such folder" in missing.output


def test_load_definitions_raises_with_all_problems(tmp_path):
    folder = tmp_path / "surveys"
    write(folder, HEADER.replace('trigger = "site_feedback"', 'trigger = "whenever"'))

    with pytest.raises(DefinitionError) as raised:
        load_definitions(folder)

    assert raised.value.problems == [
        "surveys/s.toml: trigger must be one of request_resolved, programme_completed, "
        'site_feedback (got "whenever")',
        "surveys/s.toml: at least one question is needed ([[questions]])",
    ]


def test_load_definitions_sees_a_changed_file(tmp_path):
    folder = tmp_path / "surveys"
    path = write(folder, HEADER + RATE)
    assert load_definitions(folder)["s"].questions[0].label["en"] == "Rate us"

    path.write_text((HEADER + RATE).replace("Rate us", "Rate me"), encoding="utf-8")

    assert load_definitions(folder)["s"].questions[0].label["en"] == "Rate me"


# -- Every rule, with its message ----------------------------------------------------------------


FILE = "surveys/s.toml: "
Q = 'surveys/s.toml: question "{}": '

RULES = [
    # The survey itself.
    pytest.param(
        HEADER.replace('id = "s"\n', "") + RATE, [FILE + "id is required"], id="id-missing"
    ),
    pytest.param(
        HEADER.replace('id = "s"', 'id = "S s"') + RATE,
        [
            FILE + "id must be lower-case letters, digits and hyphens, starting with a "
            'letter, at most 60 characters (got "S s")'
        ],
        id="id-not-a-slug",
    ),
    pytest.param(
        HEADER.replace("version = 1\n", "") + RATE,
        [FILE + "version is required (a whole number from 1)"],
        id="version-missing",
    ),
    pytest.param(
        HEADER.replace("version = 1", "version = 0") + RATE,
        [FILE + "version must be a whole number from 1 (got 0)"],
        id="version-0",
    ),
    pytest.param(
        HEADER.replace("version = 1", "version = 1.5") + RATE,
        [FILE + "version must be a whole number from 1 (got 1.5)"],
        id="version-float",
    ),
    pytest.param(
        HEADER.replace("version = 1", "version = true") + RATE,
        [FILE + "version must be a whole number from 1 (got true)"],
        id="version-bool",
    ),
    pytest.param(
        HEADER.replace('trigger = "site_feedback"\n', "") + RATE,
        [
            FILE + "trigger is required (one of request_resolved, programme_completed, "
            "site_feedback)"
        ],
        id="trigger-missing",
    ),
    pytest.param(
        HEADER.replace('es = "Título"', 'fr = "Titre"') + RATE,
        [
            FILE + 'title has no "es" text',
            FILE + 'title has an unknown language "fr" (use "en" and "es")',
        ],
        id="title-without-es",
    ),
    pytest.param(
        HEADER.replace('title = { en = "Title", es = "Título" }', 'title = "Title"') + RATE,
        [FILE + 'title must be a table with an "en" and an "es" text (got "Title")'],
        id="title-not-a-table",
    ),
    pytest.param(
        HEADER.replace('es = "Introducción"', 'es = "  "') + RATE,
        [FILE + 'introduction.es must be non-empty text (got "  ")'],
        id="introduction-empty",
    ),
    pytest.param(
        HEADER.replace('introduction = { en = "Intro", es = "Introducción" }\n', "") + RATE,
        [FILE + 'introduction is required, with an "en" and an "es" text'],
        id="introduction-missing",
    ),
    pytest.param(
        HEADER + "anonymous_to_staff = 1\n" + RATE,
        [FILE + "anonymous_to_staff must be true or false (got 1)"],
        id="anonymous-not-bool",
    ),
    pytest.param(
        HEADER, [FILE + "at least one question is needed ([[questions]])"], id="no-questions"
    ),
    pytest.param(
        HEADER + 'questions = ["rate"]\n',
        [FILE + "questions must be a list of [[questions]] tables"],
        id="questions-not-tables",
    ),
    pytest.param(
        HEADER + 'titel = "x"\n' + RATE,
        [FILE + 'unknown key "titel" (did you mean "title"?)'],
        id="unknown-top-key",
    ),
    # Questions.
    pytest.param(
        HEADER + RATE + RATE.replace('measure = "csat"\n', ""),
        [Q.format("rate") + "id is used by an earlier question"],
        id="question-id-twice",
    ),
    pytest.param(
        HEADER + RATE.replace('id = "rate"\n', ""),
        ["surveys/s.toml: question 1: id is required"],
        id="question-id-missing",
    ),
    pytest.param(
        HEADER + RATE.replace('id = "rate"', 'id = "Rate me"'),
        [
            Q.format("Rate me") + "id must be lower-case letters, digits, hyphens and "
            'underscores, starting with a letter, at most 40 characters (got "Rate me")'
        ],
        id="question-id-not-a-slug",
    ),
    pytest.param(
        HEADER + RATE.replace('id = "rate"', 'id = "csrf_token"'),
        [Q.format("csrf_token") + 'id "csrf_token" is reserved by the answer form; choose another'],
        id="question-id-reserved",
    ),
    pytest.param(
        HEADER + RATE.replace('kind = "rating5"\n', "").replace('measure = "csat"\n', ""),
        [
            Q.format("rate") + "kind is required (one of rating5, effort7, nps, yesno, "
            "single, multi, text)"
        ],
        id="kind-missing",
    ),
    pytest.param(
        HEADER
        + RATE.replace('kind = "rating5"', 'kind = "stars"').replace('measure = "csat"\n', ""),
        [
            Q.format("rate") + "kind must be one of rating5, effort7, nps, yesno, single, "
            'multi, text (got "stars")'
        ],
        id="kind-unknown",
    ),
    pytest.param(
        HEADER + RATE.replace(', es = "Califíquenos"', ""),
        [Q.format("rate") + 'label has no "es" text'],
        id="label-without-es",
    ),
    pytest.param(
        HEADER + RATE.replace('label = { en = "Rate us", es = "Califíquenos" }\n', ""),
        [Q.format("rate") + 'label is required, with an "en" and an "es" text'],
        id="label-missing",
    ),
    pytest.param(
        HEADER + RATE + 'hint = { en = "Be honest" }\n',
        [Q.format("rate") + 'hint has no "es" text'],
        id="hint-without-es",
    ),
    pytest.param(
        HEADER + RATE + 'required = "yes"\n',
        [Q.format("rate") + 'required must be true or false (got "yes")'],
        id="required-not-bool",
    ),
    pytest.param(
        HEADER + RATE + "requird = true\n",
        [Q.format("rate") + 'unknown key "requird" (did you mean "required"?)'],
        id="unknown-question-key",
    ),
    # Options.
    pytest.param(
        HEADER + PICK.split("options")[0],
        [Q.format("pick") + "a single question needs options (at least 2 [[questions.options]])"],
        id="single-without-options",
    ),
    pytest.param(
        HEADER + PICK.replace('  { key = "b", label = { en = "B", es = "B" } },\n', ""),
        [Q.format("pick") + "a single question needs at least 2 options (got 1)"],
        id="single-one-option",
    ),
    pytest.param(
        HEADER + PICK.replace('key = "b"', 'key = "a"'),
        [Q.format("pick") + 'option "a" is listed more than once'],
        id="option-twice",
    ),
    pytest.param(
        HEADER + PICK.replace('key = "b"', 'key = "B!"'),
        [
            Q.format("pick") + "option keys must be lower-case letters, digits, hyphens "
            'and underscores, at most 40 characters (got "B!")'
        ],
        id="option-key-not-a-slug",
    ),
    pytest.param(
        HEADER + PICK.replace('{ en = "B", es = "B" }', '{ en = "B" }'),
        [Q.format("pick") + 'option "b" label has no "es" text'],
        id="option-without-es",
    ),
    pytest.param(
        HEADER + PICK.replace('{ key = "b", label', '{ key = "b", lable'),
        [
            Q.format("pick") + 'unknown key "lable" in option "b" (did you mean "label"?)',
            Q.format("pick") + 'option "b" label is required, with an "en" and an "es" text',
        ],
        id="option-unknown-key",
    ),
    pytest.param(
        HEADER
        + question(
            'id = "ok"\nkind = "yesno"\nlabel = { en = "OK?", es = "¿Bien?" }\n'
            'options = [{ key = "y", label = { en = "Y", es = "S" } }]\n'
        ),
        [
            Q.format("ok") + "options are only for single, multi and scale questions "
            "(this one is yesno)"
        ],
        id="options-on-yesno",
    ),
    pytest.param(
        HEADER + RATE + 'options = [{ key = "1", label = { en = "Bad", es = "Mal" } }]\n',
        [
            Q.format("rate") + "the options of a rating5 question label the scale: one "
            "for every value from 1 to 5, each once (got 1)"
        ],
        id="scale-options-partial",
    ),
    # max_length.
    pytest.param(
        HEADER + COMMENT.replace("max_length = 20\n", ""),
        [Q.format("comment") + "a text question needs max_length (a whole number from 1 to 5000)"],
        id="text-without-max-length",
    ),
    pytest.param(
        HEADER + COMMENT.replace("max_length = 20", 'max_length = "lots"'),
        [Q.format("comment") + 'max_length must be a whole number from 1 to 5000 (got "lots")'],
        id="max-length-not-a-number",
    ),
    pytest.param(
        HEADER + COMMENT.replace("max_length = 20", "max_length = 0"),
        [Q.format("comment") + "max_length must be a whole number from 1 to 5000 (got 0)"],
        id="max-length-0",
    ),
    pytest.param(
        HEADER + COMMENT.replace("max_length = 20", "max_length = 5001"),
        [Q.format("comment") + "max_length must be a whole number from 1 to 5000 (got 5001)"],
        id="max-length-too-big",
    ),
    pytest.param(
        HEADER + RATE + "max_length = 20\n",
        [Q.format("rate") + "max_length is only for text questions (this one is rating5)"],
        id="max-length-on-rating",
    ),
    # show_if.
    pytest.param(
        HEADER + RATE + 'show_if = { question = "pick", values = ["a"] }\n' + PICK,
        [
            Q.format("rate") + 'show_if refers to "pick", which does not come before '
            "this question; a condition can only use an earlier answer"
        ],
        id="show-if-later-question",
    ),
    pytest.param(
        HEADER + RATE + 'show_if = { question = "rate", values = ["1"] }\n',
        [
            Q.format("rate") + 'show_if refers to "rate", which does not come before '
            "this question; a condition can only use an earlier answer"
        ],
        id="show-if-itself",
    ),
    pytest.param(
        HEADER + RATE + 'show_if = { question = "nope", values = ["a"] }\n',
        [Q.format("rate") + 'show_if refers to an unknown question "nope"'],
        id="show-if-unknown-question",
    ),
    pytest.param(
        HEADER + COMMENT + RATE + 'show_if = { question = "comment", values = ["x"] }\n',
        [
            Q.format("rate") + 'show_if refers to "comment", a text question; only single, '
            "multi, yesno, rating5, effort7, nps answers can be tested"
        ],
        id="show-if-on-text",
    ),
    pytest.param(
        HEADER + PICK + RATE + 'show_if = { question = "pick", values = ["a", "c"] }\n',
        [Q.format("rate") + 'show_if: "pick" cannot be "c" (its answers are a, b)'],
        id="show-if-impossible-value",
    ),
    pytest.param(
        HEADER + RATE + COMMENT + 'show_if = { question = "rate", values = ["6"] }\n',
        [Q.format("comment") + 'show_if: "rate" cannot be "6" (its answers are 1, 2, 3, 4, 5)'],
        id="show-if-out-of-scale",
    ),
    pytest.param(
        HEADER + PICK + RATE + 'show_if = { question = "pick", values = [] }\n',
        [
            Q.format("rate") + "show_if needs values: a list of the answers that show "
            "this question (got [])"
        ],
        id="show-if-without-values",
    ),
    pytest.param(
        HEADER + PICK + RATE + 'show_if = { question = "pick", value = ["a"] }\n',
        [
            Q.format("rate") + 'unknown key "value" in show_if (did you mean "values"?)',
            Q.format("rate") + "show_if needs values: a list of the answers that show "
            "this question (got null)",
        ],
        id="show-if-unknown-key",
    ),
    pytest.param(
        HEADER + PICK + RATE + 'show_if = "pick is a"\n',
        [
            Q.format("rate") + 'show_if must be a table: { question = "...", values = '
            '["..."] } (got "pick is a")'
        ],
        id="show-if-not-a-table",
    ),
    # Measures.
    pytest.param(
        HEADER + RATE.replace('measure = "csat"', 'measure = "happiness"'),
        [
            Q.format("rate") + "measure must be one of csat, ces, nps, resolved, comment, "
            'contact (got "happiness")'
        ],
        id="measure-unknown",
    ),
    pytest.param(
        HEADER + RATE.replace('measure = "csat"', 'measure = "nps"'),
        [Q.format("rate") + 'measure "nps" needs a nps question (this one is rating5)'],
        id="measure-wrong-kind",
    ),
    pytest.param(
        HEADER + RATE + RATE.replace('id = "rate"', 'id = "again"'),
        [Q.format("again") + 'measure "csat" is already used by question "rate"'],
        id="measure-twice",
    ),
    pytest.param(
        HEADER + PICK + 'measure = "resolved"\n',
        [
            Q.format("pick") + 'measure "resolved" needs exactly the options yes, partly, '
            "no, dont_know (got a, b)"
        ],
        id="resolved-options",
    ),
    # Files.
    pytest.param(HEADER + RATE, [], id="valid"),
]


@pytest.mark.parametrize(("text", "expected"), RULES)
def test_each_rule_names_the_file_the_question_and_the_problem(tmp_path, text, expected):
    assert problems_of(tmp_path, text) == expected


def test_the_file_is_named_after_the_id(tmp_path):
    assert problems_of(tmp_path, HEADER + RATE, name="other.toml") == [
        'surveys/other.toml: the file name must be "s.toml" (the id is "s")'
    ]


def test_a_toml_syntax_error_names_the_file_and_the_line(tmp_path):
    text = HEADER + RATE.replace('kind = "rating5"', "kind rating5")

    assert problems_of(tmp_path, text) == [
        "surveys/s.toml: line 9: not valid TOML: Expected '=' after a key in a key/value pair "
        "(column 6)"
    ]


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "s.toml").write_bytes((HEADER + RATE).encode("latin-1"))

    assert check(folder)[1] == ["surveys/s.toml: the file is not UTF-8 text"]


def test_an_id_and_a_trigger_are_used_by_one_file_only(tmp_path):
    folder = tmp_path / "surveys"
    write(folder, HEADER + RATE, name="s.toml")
    write(folder, HEADER + RATE, name="t.toml")
    write(folder, HEADER.replace('id = "s"', 'id = "u"') + RATE, name="u.toml")

    definitions, problems = check(folder)

    assert list(definitions) == ["s"]
    assert problems == [
        'surveys/t.toml: the file name must be "s.toml" (the id is "s")',
        'surveys/t.toml: id "s" is also the id of surveys/s.toml; each survey needs its own id',
        'surveys/u.toml: trigger "site_feedback" is already used by surveys/s.toml; one survey '
        "per trigger",
    ]
    (folder / "t.toml").unlink()
    write(folder, HEADER + RATE, name="a-copy.toml")

    definitions, problems = check(folder)

    assert list(definitions) == ["s"]
    assert problems == [
        'surveys/a-copy.toml: the file name must be "s.toml" (the id is "s")',
        'surveys/a-copy.toml: id "s" is also the id of surveys/s.toml; each survey needs its '
        "own id",
        'surveys/u.toml: trigger "site_feedback" is already used by surveys/s.toml; one survey '
        "per trigger",
    ]


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    text = (
        HEADER.replace("version = 1", "version = -2")
        + RATE.replace('kind = "rating5"', 'kind = "stars"')
        + COMMENT.replace("max_length = 20", "max_length = 9000")
    )

    assert problems_of(tmp_path, text) == [
        FILE + "version must be a whole number from 1 (got -2)",
        Q.format("rate") + "kind must be one of rating5, effort7, nps, yesno, single, multi, "
        'text (got "stars")',
        Q.format("comment") + "max_length must be a whole number from 1 to 5000 (got 9000)",
    ]


def test_a_valid_file_reads_into_a_definition(tmp_path):
    folder = tmp_path / "surveys"
    write(
        folder,
        HEADER
        + PICK
        + 'required = true\nhint = { en = "One", es = "Una" }\n'
        + COMMENT
        + 'show_if = { question = "pick", values = ["b"] }\nmeasure = "comment"\n',
    )

    definition = load_definitions(folder)["s"]

    assert (definition.key, definition.version, definition.trigger) == ("s", 1, "site_feedback")
    assert definition.title == {"en": "Title", "es": "Título"}
    assert not definition.anonymous_to_staff
    pick, comment = definition.questions
    assert pick.required and pick.hint == {"en": "One", "es": "Una"}
    assert [(o.key, o.label["es"]) for o in pick.options] == [("a", "A"), ("b", "B")]
    assert comment.show_if == defs.Condition("pick", ("b",))
    assert (comment.max_length, comment.measure, comment.required) == (20, "comment", False)
    assert comment.hint == {}
    assert definition.question("comment") is comment


# -- Fingerprints ----------------------------------------------------------------------------------


def _fingerprint(tmp_path: Path, text: str) -> str:
    folder = tmp_path / "fp"
    write(folder, text)
    return load_definitions(folder)["s"].fingerprint


def test_the_fingerprint_ignores_layout_and_follows_the_questions(tmp_path):
    original = _fingerprint(tmp_path, HEADER + RATE + PICK)
    relaid = (
        "# A comment\n\n"
        + HEADER.replace(" = ", "   =   ")
        + "\n\n"
        + RATE.replace(
            'label = { en = "Rate us", es = "Califíquenos" }',
            '[questions.label]\nes = "Califíquenos"\nen = "Rate us"',
        )
        + PICK.replace("\n  {", "\n\n    {")
    )
    changed_label = HEADER + RATE.replace("Rate us", "Rate us!") + PICK
    changed_option = HEADER + RATE + PICK.replace('key = "b"', 'key = "c"')
    changed_intro = HEADER.replace('"Intro"', '"Welcome"') + RATE + PICK
    bumped = HEADER.replace("version = 1", "version = 2") + RATE + PICK

    assert len(original) == 64
    assert _fingerprint(tmp_path, relaid) == original
    assert _fingerprint(tmp_path, bumped) == original
    assert _fingerprint(tmp_path, changed_label) != original
    assert _fingerprint(tmp_path, changed_option) != original
    assert _fingerprint(tmp_path, changed_intro) != original
    assert _fingerprint(tmp_path, HEADER + PICK + RATE) != original


# -- Versions on record and frozen versions -------------------------------------------------------


def _answer(db, row: SurveyVersion) -> SurveyResponse:
    response = SurveyResponse(
        survey_key=row.survey_key,
        survey_version_id=row.id,
        version=row.version,
        csat=4,
        answers={"rate": 4},
    )
    db.add(response)
    db.flush()
    return response


def test_record_version_gets_or_creates_one_row_with_a_copy(db):
    definition = load_definitions()["request-resolved"]

    row = record_version(db, definition)
    again = record_version(db, definition)

    assert again is row
    assert (row.survey_key, row.version, row.fingerprint) == (
        "request-resolved",
        1,
        definition.fingerprint,
    )
    assert row.definition["questions"][0]["id"] == "resolved"
    copy = definition_of(row)
    assert copy.questions == definition.questions
    assert copy.fingerprint == definition.fingerprint
    assert copy.title == definition.title


def test_an_unanswered_version_follows_its_file(db, tmp_path):
    folder = tmp_path / "surveys"
    path = write(folder, HEADER + RATE)
    row = record_version(db, load_definitions(folder)["s"])
    path.write_text(HEADER + RATE.replace("Rate us", "Rate me"), encoding="utf-8")
    changed = load_definitions(folder)["s"]

    assert frozen_problems(db, load_definitions(folder)) == []
    assert record_version(db, changed) is row
    assert row.fingerprint == changed.fingerprint
    assert row.definition["questions"][0]["label"]["en"] == "Rate me"


def test_an_answered_version_is_frozen_until_bumped(db, runner, tmp_path):
    folder = tmp_path / "surveys"
    path = write(folder, HEADER + RATE)
    row = record_version(db, load_definitions(folder)["s"])
    _answer(db, row)
    assert frozen_problems(db, load_definitions(folder)) == []

    path.write_text(HEADER + RATE.replace("Rate us", "Rate me"), encoding="utf-8")

    message = "surveys/s.toml: version 1 has responses and its questions changed; bump the version"
    assert frozen_problems(db, load_definitions(folder)) == [message]
    assert frozen_problems(db, list(load_definitions(folder).values())) == [message]
    result = runner.invoke(args=["surveys", "check", "--folder", str(folder)])
    assert result.exit_code == 1
    assert result.output == message + "\n"
    skipped = runner.invoke(args=["surveys", "check", "--folder", str(folder), "--no-database"])
    assert skipped.exit_code == 0
    with pytest.raises(DefinitionError) as raised:
        record_version(db, load_definitions(folder)["s"])
    assert raised.value.problems == [message]
    db.refresh(row)
    assert row.definition["questions"][0]["label"]["en"] == "Rate us"

    path.write_text(
        HEADER.replace("version = 1", "version = 2") + RATE.replace("Rate us", "Rate me"),
        encoding="utf-8",
    )

    assert frozen_problems(db, load_definitions(folder)) == []
    assert runner.invoke(args=["surveys", "check", "--folder", str(folder)]).exit_code == 0
    bumped = record_version(db, load_definitions(folder)["s"])
    assert bumped.id != row.id and bumped.version == 2


def test_an_answered_version_may_change_its_layout(db, tmp_path):
    folder = tmp_path / "surveys"
    path = write(folder, HEADER + RATE)
    _answer(db, record_version(db, load_definitions(folder)["s"]))

    path.write_text("# Reworded comment only\n" + HEADER + "\n\n" + RATE, encoding="utf-8")

    assert frozen_problems(db, load_definitions(folder)) == []


# -- Reading answers -------------------------------------------------------------------------------

EVERY_KIND = (
    HEADER.replace('trigger = "site_feedback"', 'trigger = "request_resolved"')
    + """
[[questions]]
id = "resolved"
kind = "single"
measure = "resolved"
required = true
label = { en = "Resolved?", es = "¿Resuelto?" }
options = [
  { key = "yes", label = { en = "Yes", es = "Sí" } },
  { key = "partly", label = { en = "Partly", es = "En parte" } },
  { key = "no", label = { en = "No", es = "No" } },
  { key = "dont_know", label = { en = "Don't know", es = "No sé" } },
]

[[questions]]
id = "why"
kind = "multi"
required = true
show_if = { question = "resolved", values = ["no", "partly"] }
label = { en = "What is wrong?", es = "¿Qué falla?" }
options = [
  { key = "late", label = { en = "Too slow", es = "Muy lento" } },
  { key = "still", label = { en = "Still broken", es = "Sigue roto" } },
  { key = "other", label = { en = "Other", es = "Otro" } },
]

[[questions]]
id = "detail"
kind = "text"
max_length = 10
show_if = { question = "why", values = ["other"] }
label = { en = "Tell us", es = "Cuéntenos" }

[[questions]]
id = "csat"
kind = "rating5"
measure = "csat"
label = { en = "Satisfied?", es = "¿Satisfecho?" }

[[questions]]
id = "ces"
kind = "effort7"
measure = "ces"
label = { en = "Easy?", es = "¿Fácil?" }

[[questions]]
id = "nps"
kind = "nps"
measure = "nps"
label = { en = "Recommend?", es = "¿Recomendaría?" }

[[questions]]
id = "comment"
kind = "text"
measure = "comment"
max_length = 12
label = { en = "Comment", es = "Comentario" }

[[questions]]
id = "contact"
kind = "yesno"
measure = "contact"
label = { en = "Contact you?", es = "¿Contactarle?" }
"""
)


@pytest.fixture
def every_kind(tmp_path):
    folder = tmp_path / "kinds"
    write(folder, EVERY_KIND)
    return load_definitions(folder)["s"]


def test_read_answers_reads_every_kind(every_kind):
    form = MultiDict(
        [
            ("resolved", "no"),
            ("why", "other"),
            ("why", "late"),
            ("why", "late"),
            ("detail", "  broken  "),
            ("csat", "1"),
            ("ces", "7"),
            ("nps", "0"),
            ("comment", " Still\r\nbroken "),
            ("contact", "yes"),
            ("csrf_token", "ignored"),
            ("stranger", "ignored"),
        ]
    )

    values, errors = read_answers(every_kind, form)

    assert errors == {}
    assert values == {
        "resolved": "no",
        "why": ["late", "other"],
        "detail": "broken",
        "csat": 1,
        "ces": 7,
        "nps": 0,
        "comment": "Still\nbroken",
        "contact": "yes",
    }
    assert measures(every_kind, values) == {
        "csat": 1,
        "ces": 7,
        "nps": 0,
        "resolved": "no",
        "comment": "Still\nbroken",
        "contact_ok": True,
    }


def test_read_answers_accepts_a_plain_mapping_of_lists(every_kind):
    values, errors = read_answers(every_kind, {"resolved": ["yes"], "contact": ["no"], "ces": "4"})

    assert errors == {}
    assert values == {"resolved": "yes", "contact": "no", "ces": 4}
    assert measures(every_kind, values) == {
        "csat": None,
        "ces": 4,
        "nps": None,
        "resolved": "yes",
        "comment": "",
        "contact_ok": False,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resolved", "maybe"),
        ("csat", "0"),
        ("csat", "6"),
        ("csat", "4.5"),
        ("csat", "five"),
        ("csat", "-1"),
        ("ces", "8"),
        ("ces", "0"),
        ("nps", "11"),
        ("nps", "-0"),
        ("contact", "true"),
        ("contact", "Yes"),
    ],
)
def test_read_answers_refuses_values_outside_the_choices(every_kind, field, value):
    form = {"resolved": ["yes"], field: [value]}

    values, errors = read_answers(every_kind, form)

    assert errors == {field: "choose"}
    assert field not in values


def test_read_answers_refuses_two_values_for_one_choice_and_unknown_options(every_kind):
    values, errors = read_answers(every_kind, {"resolved": ["yes", "no"]})
    assert errors == {"resolved": "choose"}

    values, errors = read_answers(every_kind, {"resolved": ["no"], "why": ["late", "bogus"]})
    assert errors == {"why": "choose"}
    assert values == {"resolved": "no"}


def test_read_answers_requires_visible_required_questions(every_kind):
    assert read_answers(every_kind, {}) == ({}, {"resolved": "required"})
    assert read_answers(every_kind, {"resolved": ["  "]}) == ({}, {"resolved": "required"})
    assert read_answers(every_kind, {"resolved": ["partly"]}) == (
        {"resolved": "partly"},
        {"why": "required"},
    )


def test_read_answers_drops_hidden_questions(every_kind):
    form = {"resolved": ["yes"], "why": ["other"], "detail": ["hidden"], "csat": ["5"]}

    values, errors = read_answers(every_kind, form)

    assert errors == {}
    assert values == {"resolved": "yes", "csat": 5}


def test_a_question_hidden_by_a_hidden_question_is_dropped_too(every_kind):
    values, _ = read_answers(
        every_kind, {"resolved": ["no"], "why": ["late"], "detail": ["hidden"]}
    )
    assert values == {"resolved": "no", "why": ["late"]}


def test_read_answers_limits_text_length_after_stripping(every_kind):
    exact = {"resolved": ["yes"], "comment": ["   " + "x" * 12 + "\n  "]}
    long = {"resolved": ["yes"], "comment": ["x" * 13]}
    crlf = {"resolved": ["yes"], "comment": ["a\r\n" * 6]}  # 11 characters once normalised

    assert read_answers(every_kind, exact) == ({"resolved": "yes", "comment": "x" * 12}, {})
    assert read_answers(every_kind, long) == ({"resolved": "yes"}, {"comment": "too_long"})
    assert read_answers(every_kind, crlf)[1] == {}
    assert read_answers(every_kind, {"resolved": ["yes"], "comment": [" "]}) == (
        {"resolved": "yes"},
        {},
    )


def test_visible_follows_the_condition(every_kind):
    why = every_kind.question("why")
    detail = every_kind.question("detail")

    assert visible(every_kind.question("resolved"), {})
    assert not visible(why, {})
    assert visible(why, {"resolved": "partly"})
    assert not visible(why, {"resolved": "yes"})
    assert visible(detail, {"why": ["late", "other"]})
    assert not visible(detail, {"why": ["late"]})


def test_a_condition_on_a_scale_compares_numbers(tmp_path):
    folder = tmp_path / "scale"
    write(folder, HEADER + RATE + COMMENT + 'show_if = { question = "rate", values = [1, "2"] }\n')
    definition = load_definitions(folder)["s"]

    assert definition.questions[1].show_if.values == ("1", "2")
    assert read_answers(definition, {"rate": ["2"], "comment": ["Bad"]})[0] == {
        "rate": 2,
        "comment": "Bad",
    }
    assert read_answers(definition, {"rate": ["3"], "comment": ["Bad"]})[0] == {"rate": 3}
