"""Demo survey answers: the reporters of Riverton's resolved cases were asked how it went.

``load_surveys`` gives each resolved or closed demo case its invitation to the survey its
resolution triggers (``request_resolved``), following the real rules: the reporter only (a
resident with an email address), a day after the resolution, at most once per resident in the
fatigue window. Most invitations that went out were answered a few hours to a few days later
(not the newest still open about a public request filed through the API: an app may answer it);
the answers are drawn per department (some are better liked than others), so the results page
shows figures, differences and a trend after ``make run``. Nobody answered "No, it was not
resolved": that answer reopens a case, and these cases are still resolved.

Deterministic for a seed, and idempotent: nothing is added when the survey already has an
invitation (a second run, or a database where residents were really invited). The invitation
links are hashes of tokens nobody has, so no demo invitation can be answered by its link (the
one left open for apps is answered through the API with its request's token).
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core.config import Settings
from portal.requests.models import ServiceRequest
from portal.surveys.definitions import definition_for
from portal.surveys.models import SurveyInvitation, SurveyResponse
from portal.surveys.schema import Definition, measures
from portal.surveys.versions import record_version

TRIGGER = "request_resolved"
#: Share of the invitations that went out which were answered.
ANSWER_RATE = 0.62
#: How each department's residents tend to feel, by department code (default 0): added to a
#: 1-5 satisfaction drawn around 4.
MOOD = {
    "streets": -1,
    "transportation": -1,
    "sanitation": 1,
    "parks": 1,
    "water": 0,
    "code-enforcement": -1,
    "police-nonemergency": 0,
}
COMMENT_SHARE = 0.4
COMMENTS = {
    "en": {
        "good": [
            "Fixed within two days. Thank you!",
            "The crew was friendly and tidy.",
            "Quicker than I expected, and the updates were clear.",
            "Great job, the street is safe again.",
            "I liked being able to follow the request online.",
        ],
        "middle": [
            "It was fixed eventually, but nobody told me when the crew would come.",
            "Took longer than the date you gave me.",
            "Only half of the problem was dealt with.",
            "Fine, but I had to call twice to find out what was happening.",
        ],
        "bad": [
            "Three weeks for a simple repair is too long.",
            "The repair already looks like it will not last the winter.",
            "I was told it was resolved but I am not sure anyone came.",
        ],
    },
    "es": {
        "good": [
            "Lo arreglaron en dos días. ¡Gracias!",
            "El equipo fue amable y ordenado.",
            "Más rápido de lo que esperaba y con avisos claros.",
        ],
        "middle": [
            "Se arregló, pero nadie me avisó cuándo vendría el equipo.",
            "Tardó más de la fecha que me dieron.",
        ],
        "bad": [
            "Tres semanas para una reparación sencilla es demasiado.",
            "Me dijeron que estaba resuelto, pero no sé si vino alguien.",
        ],
    },
}


def load_surveys(session: Session, settings: Settings, *, seed: int, now: datetime) -> int:
    """Invite the reporters of the resolved demo cases and record their answers (flush, no
    commit). Returns how many responses were added (0 when already loaded)."""
    definition = definition_for(TRIGGER)
    if (
        definition is None
        or session.scalar(
            select(SurveyInvitation.id)
            .where(SurveyInvitation.survey_key == definition.key)
            .limit(1)
        )
        is not None
    ):
        return 0
    cases = session.execute(
        select(ServiceRequest, User.role, User.email, User.locale)
        .outerjoin(User, User.id == ServiceRequest.reporter_id)
        .where(
            ServiceRequest.status.in_(("resolved", "closed")),
            ServiceRequest.resolved_at.is_not(None),
        )
        .order_by(ServiceRequest.resolved_at, ServiceRequest.id)
    ).all()
    if not cases:
        return 0
    rng = random.Random(f"surveys-{seed}")
    version = record_version(session, definition)
    moods = _moods(session)
    delay = timedelta(hours=settings.survey_delay_hours)
    expiry = timedelta(days=settings.survey_expiry_days)
    fatigue = timedelta(days=settings.survey_fatigue_days)
    last_invited: dict[str, datetime] = {}
    added = 0
    #: Drawn in order, written after: the newest survey still open about a public request an
    #: app filed is left unanswered, so the app can answer it (the developer page's example).
    answers: list[tuple[SurveyInvitation, ServiceRequest, dict[str, Any], datetime]] = []
    for_apps: SurveyInvitation | None = None
    for case, role, account_email, account_locale in cases:
        if case.reporter_id is not None and role != "resident":
            continue
        email = (account_email if case.reporter_id else case.contact_email or "").strip().lower()
        resolved_at = case.resolved_at
        if not email or resolved_at is None or resolved_at > now:
            continue
        if email in last_invited and resolved_at - last_invited[email] < fatigue:
            continue
        last_invited[email] = resolved_at
        locale = (account_locale if case.reporter_id else case.locale) or "en"
        send_after = resolved_at + delay
        sent = send_after + timedelta(minutes=rng.randint(1, 20))
        invitation = SurveyInvitation(
            survey_key=definition.key,
            survey_version_id=version.id,
            request_id=case.id,
            email=email,
            user_id=case.reporter_id,
            locale=locale if locale in settings.languages else "en",
            token_hash=hashlib.sha256(rng.randbytes(32)).hexdigest(),
            state="pending" if sent > now else "sent",
            send_after=send_after,
            sent_at=sent if sent <= now else None,
            expires_at=send_after + expiry,
            department_id=case.department_id,
            category_id=case.category_id,
            created_at=resolved_at,
        )
        session.add(invitation)
        if invitation.state == "sent" and invitation.expires_at > now and case.api_token:
            for_apps = invitation if case.is_public else for_apps
        answered = sent + timedelta(minutes=rng.randint(20, 4 * 24 * 60))
        if invitation.state == "sent" and answered <= now and rng.random() < ANSWER_RATE:
            values = _answers(definition, rng, moods.get(case.department_id, 0), invitation.locale)
            answers.append((invitation, case, values, answered))
    session.flush()
    for invitation, case, values, answered in answers:
        if invitation is for_apps:
            continue
        invitation.state, invitation.answered_at = "answered", answered
        session.add(
            SurveyResponse(
                invitation_id=invitation.id,
                survey_key=definition.key,
                survey_version_id=version.id,
                version=definition.version,
                request_id=case.id,
                department_id=case.department_id,
                category_id=case.category_id,
                locale=invitation.locale,
                answers=values,
                created_at=answered,
                **measures(definition, values),
            )
        )
        added += 1
    session.flush()
    return added


def _moods(session: Session) -> dict[int, int]:
    from portal.catalogue.models import Department

    return {d.id: MOOD.get(d.code, 0) for d in session.scalars(select(Department))}


def _answers(definition: Definition, rng: random.Random, mood: int, locale: str) -> dict[str, Any]:
    """One resident's answers, by question id, as ``read_answers`` would give them."""
    satisfaction = max(1, min(5, round(rng.gauss(3.8 + 0.5 * mood, 0.9))))
    if satisfaction >= 4:
        resolved = rng.choices(("yes", "partly", "dont_know"), (92, 6, 2))[0]
    elif satisfaction == 3:
        resolved = rng.choices(("yes", "partly", "dont_know"), (55, 35, 10))[0]
    else:
        resolved = rng.choices(("yes", "partly", "dont_know"), (25, 50, 25))[0]
    ease = max(1, min(7, satisfaction + 2 + rng.choice((-1, 0, 0, 1))))
    tone = "good" if satisfaction >= 4 else ("middle" if satisfaction == 3 else "bad")
    comments = COMMENTS.get(locale, COMMENTS["en"])[tone]
    by_measure: dict[str, Any] = {
        "resolved": resolved,
        "csat": satisfaction,
        "ces": ease,
        "nps": max(0, min(10, 2 * satisfaction + rng.choice((-1, 0, 0)))),
        "comment": rng.choice(comments) if rng.random() < COMMENT_SHARE else None,
        "contact": rng.choice(("yes", "no")) if rng.random() < 0.6 else None,
    }
    values: dict[str, Any] = {}
    for question in definition.questions:
        value = by_measure.get(question.measure) if question.measure else None
        if value is not None:
            values[question.id] = value
    return values
