"""The satisfaction survey of a request over the Open311 API (``portal.open311.survey``): the
reporter's app reads it and sends the answers, with the api_key and the reporter's token.

- ``GET requests/{service_request_id}/survey.{xml,json}?api_key&token``: the survey sent about
  the request (root ``survey``): its state (``open`` may be answered), title, introduction
  and questions (id, kind, label, hint, required, options, scale, max_length, show_if), in
  the ``lang`` asked for. 404 when no survey was sent.
- ``POST requests/{service_request_id}/survey.{xml,json}``: ``api_key``, ``token`` and one
  form field per answered question (its id; a multi question repeats it). 201 with
  ``survey_responses/survey_response`` (``service_request_id``, ``reopened``); 400 one error
  per question; 409 expired, already answered or withdrawn.
"""

from __future__ import annotations

from flask import Response, request

from portal.core import clock
from portal.extensions import csrf, limiter
from portal.i18n import current_locale
from portal.open311 import keys
from portal.open311 import survey as app_survey
from portal.open311 import updates as app_updates
from portal.open311.posting import value
from portal.open311.views.api import bp, check_jurisdiction, read_limit
from portal.open311.views.api_formats import ApiError, render
from portal.open311.views.api_limits import caller_key, raw_key
from portal.open311.views.api_updates import _format, _rate, _rate_key, _refused
from portal.requests.models import ServiceRequest
from portal.web import db_session, settings

TOKEN_REFUSED = (
    "token is missing or is not the reporter's token for this request (the token POST "
    "requests answered with, or the one in the private tracking link)."
)


def _reporter_request(service_request_id: str, fields) -> ServiceRequest:
    """The request, once the key and the reporter's token are checked (403, 404)."""
    if raw_key() is None:
        raise ApiError(403, "api_key was not provided: the survey needs an API key.")
    key = caller_key()
    if key is None:
        raise ApiError(403, "api_key is not valid (unknown or revoked).")
    sr = app_updates.find_request(
        db_session(), service_request_id, settings=settings(), api_key=key, any_=True
    )
    if sr is None:
        raise ApiError(404, f"No service request '{service_request_id[:40]}'.")
    if not app_updates.token_matches(sr, value(fields, "token")):
        raise ApiError(403, TOKEN_REFUSED)
    return sr


@bp.get("/requests/<service_request_id>/survey.<fmt>")
@read_limit
def request_survey(service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    sr = _reporter_request(service_request_id, request.args)
    try:
        invitation = app_survey.invitation_for(db_session(), sr)
    except app_survey.SurveyError as exc:
        raise ApiError(exc.status, *exc.descriptions) from exc
    document = app_survey.survey_document(
        invitation, sr, settings=settings(), locale=current_locale(), now=clock.now()
    )
    return render(fmt, "survey", None, document)


@bp.post("/requests/<service_request_id>/survey.<fmt>")
@csrf.exempt
@limiter.limit(_rate, key_func=_rate_key)
def post_request_survey(service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.values)
    sr = _reporter_request(service_request_id, request.form)
    key = caller_key()
    assert key is not None  # checked by _reporter_request
    key_id = key.id
    session = db_session()
    try:
        invitation = app_survey.invitation_for(session, sr)
        answered = app_survey.answer(
            session, settings=settings(), invitation=invitation, form=request.form, now=clock.now()
        )
    except app_survey.SurveyError as exc:
        raise _refused(key_id, ApiError(exc.status, *exc.descriptions)) from exc
    keys.record_use(session, key_id, filed=False, now=clock.now())
    session.flush()
    return render(
        fmt,
        "survey_responses",
        "survey_response",
        [{"service_request_id": sr.reference, "reopened": answered.reopened}],
        status=201,
    )
