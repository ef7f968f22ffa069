"""Survey versions on record: one ``SurveyVersion`` row per (survey, version) of a definition.

``record_version`` keeps one row per (survey, version) with the definition's fingerprint and a
JSON copy; a row without responses follows the file, while once a version has responses it is
frozen and ``frozen_problems`` reports a file whose questions changed without a version bump;
``definition_of`` gives back the definition residents answered, from its frozen copy. No Flask
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.surveys.checker import _shown_path
from portal.surveys.models import SurveyResponse, SurveyVersion
from portal.surveys.schema import Definition, DefinitionError, as_document, from_document


def _version_row(session: Session, key: str, version: int) -> SurveyVersion | None:
    return session.scalar(
        select(SurveyVersion).where(
            SurveyVersion.survey_key == key, SurveyVersion.version == version
        )
    )


def _has_responses(session: Session, version_id: int) -> bool:
    return (
        session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_version_id == version_id).limit(1)
        )
        is not None
    )


def _frozen_message(definition: Definition) -> str:
    return (
        f"{_shown_path(definition.path)}: version {definition.version} has responses and "
        "its questions changed; bump the version"
    )


def record_version(session: Session, definition: Definition) -> SurveyVersion:
    """The ``SurveyVersion`` row of this definition's (key, version), created if missing.

    A row without responses follows the file (it is updated when the file changed); a row
    with responses is frozen: a different file with the same version raises DefinitionError
    (``flask surveys check`` reports it before a deploy)."""
    row = _version_row(session, definition.key, definition.version)
    if row is None:
        try:
            with session.begin_nested():
                row = SurveyVersion(
                    survey_key=definition.key,
                    version=definition.version,
                    fingerprint=definition.fingerprint,
                    definition=as_document(definition),
                )
                session.add(row)
        except IntegrityError:  # another process recorded it first
            row = _version_row(session, definition.key, definition.version)
            if row is None:
                raise
    if row.fingerprint != definition.fingerprint:
        if _has_responses(session, row.id):
            raise DefinitionError([_frozen_message(definition)])
        row.fingerprint = definition.fingerprint
        row.definition = as_document(definition)
    return row


def frozen_problems(
    session: Session, definitions: Mapping[str, Definition] | Iterable[Definition]
) -> list[str]:
    """A problem for each definition whose version has responses under other questions."""
    items = definitions.values() if isinstance(definitions, Mapping) else definitions
    problems = []
    for definition in items:
        row = _version_row(session, definition.key, definition.version)
        if (
            row is not None
            and row.fingerprint != definition.fingerprint
            and _has_responses(session, row.id)
        ):
            problems.append(_frozen_message(definition))
    return problems


def definition_of(row: SurveyVersion) -> Definition:
    """The definition residents answered, from its frozen copy."""
    return from_document(row.definition)
