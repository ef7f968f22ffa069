"""Survey sentiment per area: how residents felt about the answers they got, and their own
words.

Survey responses answered in the period, joined to their request's area (responses are read
through ``ix_survey_responses_survey_created``, every survey key an ``IN`` list, joined on the
request's primary key). Dissatisfied = CSAT 1 or 2. With fewer than ``MIN_RESPONSES`` (5)
CSAT answers the share (and the dissatisfied count) is withheld, as survey results do. The
per-area counts are a roll-up (``SENTIMENT``). Comments: the non-empty ones, newest first, a
keyset page at a time, with no name, reference or contact. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from portal.core.keyset import decode_cursor, encode_cursor
from portal.reports.lookups import area_names, as_zone, category_names, within
from portal.reports.periods import Period
from portal.reports.rollups import Report, RollupReader
from portal.requests.models import ServiceRequest
from portal.surveys.models import SurveyResponse, SurveyVersion
from portal.surveys.results import MIN_RESPONSES  # the survey results' rule

DISSATISFIED_MAX = 2
COMMENTS_PER_PAGE = 20
_CURSOR = "hc"


@dataclass(frozen=True)
class AreaSentiment:
    area_id: int | None
    area_name: str | None
    responses: int  # responses answered in the period about requests in the area
    csat_answers: int
    #: Both None with fewer than ``MIN_RESPONSES`` CSAT answers.
    dissatisfied: int | None
    dissatisfied_share: float | None  # 0..1
    comments: int  # non-empty comments


def _survey_keys(session: Session) -> list[str]:
    return sorted(session.scalars(select(SurveyVersion.survey_key).distinct()))


def _has_comment() -> Any:
    return func.trim(SurveyResponse.comment) != ""


def _sentiment_rows(
    session: Session, period: Period, zone: ZoneInfo, _now: datetime | None = None
) -> dict[str, Any]:
    """The roll-up of survey answers by area: one part, "all", of [area, responses, CSAT
    answers, dissatisfied, comments]."""
    keys = _survey_keys(session)
    if not keys:
        return {"all": []}
    start, end = period.bounds(zone)
    csat = SurveyResponse.csat
    rows = session.execute(
        select(
            ServiceRequest.area_id,
            func.count(),
            func.count(csat),
            func.sum(case((csat <= DISSATISFIED_MAX, 1), else_=0)),
            func.sum(case((_has_comment(), 1), else_=0)),
        )
        .select_from(SurveyResponse)
        .join(ServiceRequest, ServiceRequest.id == SurveyResponse.request_id)
        .where(SurveyResponse.survey_key.in_(keys), *within(SurveyResponse.created_at, start, end))
        .group_by(ServiceRequest.area_id)
    ).all()
    return {
        "all": [
            [a, int(n), int(answers), int(unhappy or 0), int(comments or 0)]
            for a, n, answers, unhappy, comments in rows
        ]
    }


#: Survey answers per area and period, read by the sentiment table.
SENTIMENT = Report("survey-sentiment-area", _sentiment_rows)


def sentiment(
    session: Session, period: Period, *, tz: str | ZoneInfo, rollups: RollupReader | None = None
) -> list[AreaSentiment]:
    """Per area (areas without responses left out; requests without an area last): the
    period's survey responses, CSAT answers, the dissatisfied (CSAT ≤ 2) count and share;
    from the roll-up when ``rollups`` is given."""
    parts = (
        rollups.get(SENTIMENT, period).parts
        if rollups is not None
        else _sentiment_rows(session, period, as_zone(tz))
    )
    rows = parts.get("all", [])
    areas = area_names(session)
    result = []
    for area_id, responses, answers, unhappy, comments in rows:
        shown = answers >= MIN_RESPONSES
        result.append(
            AreaSentiment(
                area_id=area_id,
                area_name=areas.get(area_id) if area_id is not None else None,
                responses=int(responses),
                csat_answers=int(answers),
                dissatisfied=int(unhappy or 0) if shown else None,
                dissatisfied_share=int(unhappy or 0) / answers if shown else None,
                comments=int(comments or 0),
            )
        )
    result.sort(key=lambda r: (r.area_id is None, r.area_name or "", r.area_id or 0))
    return result


@dataclass(frozen=True)
class AreaComment:
    id: int
    created_at: datetime
    area_id: int | None
    area_name: str | None
    category_name: str
    csat: int | None
    comment: str


@dataclass(frozen=True)
class CommentPage:
    comments: list[AreaComment]
    next_cursor: str | None  # the page of older comments


def comments_page(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    area_id: int | None = None,
    after: str | None = None,
    per_page: int = COMMENTS_PER_PAGE,
    locale: str = "en",
) -> CommentPage:
    """The period's non-empty survey comments (of one area, or every area), newest first,
    keyed on (created_at, id): ``after`` is the cursor of the previous page (a bad cursor
    gives the first page). Only the comment, its score, area and category: no names,
    references or contacts."""
    keys = _survey_keys(session)
    if not keys:
        return CommentPage([], None)
    start, end = period.bounds(as_zone(tz))
    where = [
        SurveyResponse.survey_key.in_(keys),
        *within(SurveyResponse.created_at, start, end),
        _has_comment(),
    ]
    if area_id is not None:
        where.append(ServiceRequest.area_id == area_id)
    key = decode_cursor(after, _CURSOR, ("dt", "int"))
    if key is not None:
        where.append(
            or_(
                SurveyResponse.created_at < key[0],
                (SurveyResponse.created_at == key[0]) & (SurveyResponse.id < key[1]),
            )
        )
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.created_at,
            SurveyResponse.csat,
            SurveyResponse.comment,
            ServiceRequest.area_id,
            ServiceRequest.category_id,
        )
        .join(ServiceRequest, ServiceRequest.id == SurveyResponse.request_id)
        .where(*where)
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
        .limit(per_page + 1)
    ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    areas = area_names(session)
    names = category_names(session, sorted({r.category_id for r in rows}), locale)
    comments = [
        AreaComment(
            id=r.id,
            created_at=r.created_at,
            area_id=r.area_id,
            area_name=areas.get(r.area_id),
            category_name=names.get(r.category_id, ""),
            csat=r.csat,
            comment=r.comment.strip(),
        )
        for r in rows
    ]
    cursor = encode_cursor(_CURSOR, [rows[-1].created_at, rows[-1].id]) if more else None
    return CommentPage(comments, cursor)


__all__ = [
    "MIN_RESPONSES",
    "SENTIMENT",
    "AreaComment",
    "AreaSentiment",
    "CommentPage",
    "comments_page",
    "sentiment",
]
