"""What the developer page (``/developers``) shows besides its prose (no Flask here).

- The curl examples, one per thing an app does, built from this city's own base URL,
  jurisdiction and data (a service that can be posted to, a public request, its token), so each
  one works as written against the server that shows it. ``tests/open311/test_developers.py``
  runs every example it reads from the rendered page.
- The changelog of the API, kept as data in ``portal/open311/changelog.toml`` (dated entries,
  in English and Spanish), newest first.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased, selectinload

from portal.catalogue.models import ServiceCategory, ServiceGroup
from portal.requests.models import ServiceRequest
from portal.surveys.answering import definition_for_invitation
from portal.surveys.definitions import definition_for
from portal.surveys.models import SurveyInvitation
from portal.surveys.schema import SCALES, YESNO, Definition

CHANGELOG = Path(__file__).with_name("changelog.toml")
#: Stand-ins when the city has no such thing yet (a fresh install): the examples still read.
NO_SERVICE = "SERVICE_CODE"
NO_REQUEST = "SR-2026-000001"
NO_TOKEN = "TOKEN"
API_KEY = "YOUR_API_KEY"
#: An Idempotency-Key as an app would make one (a UUID).
IDEMPOTENCY_KEY = "0b6f3f4e-5a0c-4d1e-9a51-3c2f1f0e7d42"
PHOTO = "pothole.jpg"
#: The survey a resolved request's reporter is sent (its questions name the answer fields).
SURVEY_TRIGGER = "request_resolved"
#: A text answer in the survey example.
SURVEY_TEXT = "Fixed within the week, thank you."


@dataclass(frozen=True)
class Sample:
    """This city's data the examples name."""

    service_code: str = NO_SERVICE
    request_id: str = NO_REQUEST
    token: str = NO_TOKEN
    #: The request the token is for (an app-filed one, open when there is one: a reply to it
    #: is taken).
    token_request_id: str = NO_REQUEST
    #: An app-filed request the city sent a satisfaction survey about, and its token.
    survey_request_id: str = NO_REQUEST
    survey_token: str = NO_TOKEN
    #: One answer to each of that survey's questions (question id, value), as a form sends
    #: them; questions shown only after another answer are left out.
    survey_answers: tuple[tuple[str, str], ...] = (("QUESTION_ID", "ANSWER"),)
    lat: float = 0.0
    lon: float = 0.0


@dataclass(frozen=True)
class Example:
    """One curl command: ``command`` is what the page shows (and what the tests run)."""

    key: str
    method: str
    url: str
    command: str
    form: tuple[tuple[str, str], ...] = field(default=())
    headers: tuple[tuple[str, str], ...] = field(default=())
    files: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class ChangelogEntry:
    day: date
    title: str
    body: str


def sample(session: Session, *, now: datetime) -> Sample:
    """The first active public service an app can post to with no more than a location and a
    description (no required question, no required asset), the newest public request, an
    app-filed one (open if there is one) and an app-filed one with a survey (open at ``now``
    if there is one) with answers to its questions."""
    services = session.scalars(
        select(ServiceCategory)
        .join(ServiceGroup, ServiceCategory.group_id == ServiceGroup.id)
        .where(
            ServiceCategory.active.is_(True),
            ServiceCategory.private.is_(False),
            ServiceCategory.asset_required.is_(False),
        )
        .order_by(
            ServiceGroup.position, ServiceGroup.id, ServiceCategory.position, ServiceCategory.id
        )
        .options(selectinload(ServiceCategory.questions))
    )
    code = next(
        (c.code for c in services if not any(q.required for q in c.questions)),
        NO_SERVICE,
    )
    public = (
        select(ServiceRequest)
        .where(ServiceRequest.is_public.is_(True), ServiceRequest.reference.is_not(None))
        .order_by(ServiceRequest.id.desc())
        .limit(1)
    )
    found = session.scalar(public)
    if found is None:
        return Sample(
            service_code=code, survey_answers=survey_answers(definition_for(SURVEY_TRIGGER))
        )
    by_app = public.where(ServiceRequest.api_token.is_not(None))
    filed_by_app = session.scalar(by_app.where(ServiceRequest.is_open.is_(True))) or session.scalar(
        by_app
    )
    # The survey example answers it, so an open survey when there is one (the demo's
    # reporters answered most of theirs); else the newest sent, for the GET to show. Only
    # the latest sent about its request: the one the API reads and answers.
    later = aliased(SurveyInvitation)
    sent = (
        select(SurveyInvitation)
        .join(ServiceRequest, SurveyInvitation.request_id == ServiceRequest.id)
        .where(
            ServiceRequest.is_public.is_(True),
            ServiceRequest.reference.is_not(None),
            ServiceRequest.api_token.is_not(None),
            SurveyInvitation.sent_at.is_not(None),
            ~exists().where(
                later.request_id == SurveyInvitation.request_id,
                later.sent_at.is_not(None),
                later.id > SurveyInvitation.id,
            ),
        )
        .order_by(SurveyInvitation.id.desc())
        .limit(1)
    )
    invitation = session.scalar(
        sent.where(SurveyInvitation.state == "sent", SurveyInvitation.expires_at > now)
    ) or session.scalar(sent)
    surveyed = session.get(ServiceRequest, invitation.request_id) if invitation else None
    survey = (
        definition_for_invitation(invitation)
        if invitation is not None
        else definition_for(SURVEY_TRIGGER)
    )
    return Sample(
        service_code=code,
        request_id=found.reference or NO_REQUEST,
        survey_request_id=(surveyed.reference or NO_REQUEST) if surveyed else NO_REQUEST,
        survey_token=(surveyed.api_token or NO_TOKEN) if surveyed else NO_TOKEN,
        survey_answers=survey_answers(survey),
        token=filed_by_app.api_token or NO_TOKEN if filed_by_app is not None else NO_TOKEN,
        token_request_id=(filed_by_app.reference or NO_REQUEST)
        if filed_by_app is not None
        else NO_REQUEST,
        lat=round(found.lat, 5) if found.lat is not None else 0.0,
        lon=round(found.lon, 5) if found.lon is not None else 0.0,
    )


def survey_answers(survey: Definition | None) -> tuple[tuple[str, str], ...]:
    """A plausible answer to each question of ``survey`` that is always shown: the first
    option, the top of a scale, yes, a short sentence."""
    if survey is None:
        return Sample.survey_answers
    answers: list[tuple[str, str]] = []
    for question in survey.questions:
        if question.show_if is not None:
            continue
        if question.kind in SCALES:
            answer = str(max(SCALES[question.kind]))
        elif question.kind == "yesno":
            answer = YESNO[0]
        elif question.kind == "text":
            answer = SURVEY_TEXT[: question.max_length or len(SURVEY_TEXT)]
        elif question.options:
            answer = question.options[0].key
        else:
            continue
        answers.append((question.id, answer))
    return tuple(answers) or Sample.survey_answers


def _query(params: list[tuple[str, str]]) -> str:
    # Readable in a shell: only what a URL must escape is escaped (":" and "," stay).
    return "&".join(f"{k}={quote(v, safe=':,')}" for k, v in params)


def _get(
    key: str,
    url: str,
    params: list[tuple[str, str]] | None = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    flags: str = "",
) -> Example:
    full = f"{url}?{_query(params)}" if params else url
    parts = ["curl", *([flags] if flags else [])]
    parts += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers or ()]
    return Example(
        key=key,
        method="GET",
        url=full,
        command=" ".join([*parts, shlex.quote(full)]),
        headers=tuple(headers or ()),
    )


def _post(
    key: str,
    url: str,
    form: list[tuple[str, str]],
    *,
    headers: list[tuple[str, str]] | None = None,
    files: list[tuple[str, str]] | None = None,
) -> Example:
    lines = [f"curl -X POST {shlex.quote(url)}"]
    for name, value in headers or ():
        lines.append(f"  -H {shlex.quote(f'{name}: {value}')}")
    flag = "-F" if files else "--data-urlencode"
    for name, value in form:
        lines.append(f"  {flag} {shlex.quote(f'{name}={value}')}")
    for name, path in files or ():
        lines.append(f"  -F {shlex.quote(f'{name}=@{path}')}")
    return Example(
        key=key,
        method="POST",
        url=url,
        command=" \\\n".join(lines),
        form=tuple(form),
        headers=tuple(headers or ()),
        files=tuple(files or ()),
    )


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def examples(
    *, api_url: str, jurisdiction: str, sample: Sample, now: datetime
) -> dict[str, Example]:
    """Every example of the page, by key, in the order the page shows them."""
    j = [("jurisdiction_id", jurisdiction)] if jurisdiction else []
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    where = [("lat", f"{sample.lat}"), ("long", f"{sample.lon}")]
    post_form = [
        ("api_key", API_KEY),
        *j,
        ("service_code", sample.service_code),
        *where,
        ("description", "A deep pothole in the right lane"),
    ]
    found = [
        _get("discovery", f"{api_url}/discovery.json"),
        _get("services", f"{api_url}/services.json", j),
        _get("services_xml", f"{api_url}/services.xml", j),
        _get("services_es", f"{api_url}/services.json", [*j, ("lang", "es")]),
        _get("definition", f"{api_url}/services/{sample.service_code}.json", j),
        _get("requests", f"{api_url}/requests.json", [*j, ("status", "open")]),
        _get(
            "requests_filtered",
            f"{api_url}/requests.json",
            [
                *j,
                ("service_code", sample.service_code),
                ("start_date", _w3c(today - timedelta(days=30))),
                ("end_date", _w3c(today + timedelta(days=1))),
            ],
        ),
        _get(
            "requests_ids",
            f"{api_url}/requests.json",
            [*j, ("service_request_id", sample.request_id)],
        ),
        _get(
            "requests_paged",
            f"{api_url}/requests.json",
            [*j, ("page", "2"), ("page_size", "50")],
        ),
        _get(
            "requests_updated",
            f"{api_url}/requests.json",
            [*j, ("updated_after", _w3c(today - timedelta(days=7)))],
        ),
        _get(
            "requests_near",
            f"{api_url}/requests.json",
            [*j, *where, ("radius", "500")],
        ),
        _get(
            "requests_extensions",
            f"{api_url}/requests.json",
            [*j, ("extensions", "true"), ("page_size", "10")],
        ),
        _get("request", f"{api_url}/requests/{sample.request_id}.json", j),
        _get(
            "request_extensions",
            f"{api_url}/requests/{sample.request_id}.json",
            [*j, ("extensions", "true")],
        ),
        _get("token", f"{api_url}/tokens/{sample.token}.json", j),
        _get(
            "requests_with_key",
            f"{api_url}/requests.json",
            [*j, ("status", "open")],
            headers=[("X-Api-Key", API_KEY)],
        ),
        _get("requests_compressed", f"{api_url}/requests.json", j, flags="--compressed -i"),
        _get(
            "updates",
            f"{api_url}/servicerequestupdates.json",
            [
                *j,
                ("start_date", _w3c(today - timedelta(days=7))),
                ("end_date", _w3c(today + timedelta(days=1))),
            ],
        ),
        _get("request_updates", f"{api_url}/requests/{sample.request_id}/updates.json", j),
        _get(
            "survey",
            f"{api_url}/requests/{sample.survey_request_id}/survey.json",
            [*j, ("api_key", API_KEY), ("token", sample.survey_token)],
        ),
        _post(
            "post_survey",
            f"{api_url}/requests/{sample.survey_request_id}/survey.json",
            [
                ("api_key", API_KEY),
                *j,
                ("token", sample.survey_token),
                *sample.survey_answers,
            ],
        ),
        _post("post", f"{api_url}/requests.json", post_form),
        _post(
            "post_photo",
            f"{api_url}/requests.json",
            post_form,
            files=[("media", PHOTO)],
        ),
        _post(
            "post_idempotent",
            f"{api_url}/requests.json",
            post_form,
            headers=[("Idempotency-Key", IDEMPOTENCY_KEY)],
        ),
        _post(
            "post_update",
            f"{api_url}/servicerequestupdates.json",
            [
                ("api_key", API_KEY),
                *j,
                ("service_request_id", sample.token_request_id),
                ("token", sample.token),
                ("description", "It is still there, and deeper after the rain."),
                ("update_id", "app-reply-0001"),
            ],
        ),
    ]
    return {example.key: example for example in found}


def changelog(locale: str, path: Path = CHANGELOG) -> list[ChangelogEntry]:
    """The API's changes, newest first, in ``locale`` (English when an entry lacks it)."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    entries = [
        ChangelogEntry(
            day=item["date"],
            title=item.get(f"title_{locale}") or item["title_en"],
            body=item.get(f"body_{locale}") or item["body_en"],
        )
        for item in data.get("change", [])
    ]
    return sorted(entries, key=lambda e: e.day, reverse=True)
