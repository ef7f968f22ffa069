"""Residents answer surveys: the single-use link, opting out, and site feedback (public).

- ``/surveys/<token>``: the survey an invitation was sent with, in the invitation's language
  (unless the visitor picked one). Bad input re-shows the page with the error summary and the
  answers kept. An expired, answered or cancelled link gets its own page (410), an unknown or
  forged one the same 404 page, so nothing tells whether a token exists beyond that.
- ``/surveys/opt-out/<token>``: confirm, then never survey that address again; works for any
  link that was sent (answered and expired ones too).
- ``/feedback``: the site-feedback survey, for anyone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from portal.core import clock
from portal.extensions import limiter
from portal.i18n import COOKIE, current_locale
from portal.surveys import answering, invitations
from portal.surveys.definitions import definition_for
from portal.surveys.models import SurveyInvitation
from portal.surveys.schema import SCALES, Definition, DefinitionError, localized
from portal.web import db_session, settings

bp = Blueprint("surveys_answering", __name__)

CLOSED_STATUS = {"expired": 410, "answered": 410, "cancelled": 410, "unknown": 404}


def _visitor_chose_language() -> bool:
    languages = settings().languages
    return request.args.get("lang") in languages or request.cookies.get(COOKIE) in languages


@contextmanager
def _language(locale: str | None) -> Iterator[None]:
    """Render in ``locale`` (the invitation's) unless the visitor chose a language."""
    if locale and locale in settings().languages and not _visitor_chose_language():
        with force_locale(locale):
            yield
    else:
        yield


def _private(body: str, status: int = 200) -> Response:
    """A page reached through a secret link: no referrer leaks it, no cache keeps it."""
    response = make_response(body, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the questions ---------------------------------------------------------------------------


def _end_labels(kind: str) -> tuple[str, str]:
    """Words for the two ends of a scale whose file gives no label per value."""
    if kind == "nps":
        return _("Not at all likely"), _("Extremely likely")
    if kind == "effort7":
        return _("Very difficult"), _("Very easy")
    return _("Very dissatisfied"), _("Very satisfied")


def _choices(question: Any, locale: str) -> list[dict[str, str]]:
    """Each answer of a choice or scale question: value, label, and whether the label is an
    end of a scale (shown next to the number)."""
    if question.kind == "yesno":
        return [{"key": "yes", "label": _("Yes")}, {"key": "no", "label": _("No")}]
    if question.kind in SCALES and not question.options:
        low, high = _end_labels(question.kind)
        values = SCALES[question.kind]
        return [
            {
                "key": str(v),
                "label": str(v)
                + (f" – {low}" if v == values[0] else f" – {high}" if v == values[-1] else ""),
            }
            for v in values
        ]
    return [{"key": o.key, "label": localized(o.label, locale)} for o in question.options]


def _condition_hint(definition: Definition, question: Any, locale: str) -> str:
    condition = question.show_if
    earlier = definition.question(condition.question)
    if earlier is None:
        return ""
    labels = {c["key"]: c["label"] for c in _choices(earlier, locale)}
    said = _(" or ").join(f"“{labels.get(v, v)}”" for v in condition.values)
    return _(
        "Answer this if you said %(answers)s to “%(question)s”.",
        answers=said,
        question=localized(earlier.label, locale),
    )


def _messages(
    definition: Definition, errors: Mapping[str, str], locale: str
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(message next to each question, error summary items linking to the fields)."""
    beside: dict[str, str] = {}
    summary: list[tuple[str, str]] = []
    for question in definition.questions:
        code = errors.get(question.id)
        if code is None:
            continue
        label = localized(question.label, locale)
        if code == "too_long":
            beside[question.id] = _(
                "Keep your answer to %(max)s characters or fewer.", max=question.max_length
            )
            long = _(
                "Keep your answer to “%(question)s” to %(max)s characters or fewer.",
                question=label,
                max=question.max_length,
            )
        elif code == "required" and question.kind == "text":
            beside[question.id] = _("Enter an answer.")
            long = _("Enter an answer to “%(question)s”.", question=label)
        elif code == "required":
            beside[question.id] = _("Choose an answer.")
            long = _("Choose an answer to “%(question)s”.", question=label)
        else:
            beside[question.id] = _("Choose one of the answers shown.")
            long = _("Choose one of the answers shown for “%(question)s”.", question=label)
        summary.append((f"q-{question.id}", long))
    return beside, summary


def _survey_page(
    template: str,
    definition: Definition,
    *,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    **context: Any,
) -> tuple[str, int]:
    locale = current_locale()
    beside, summary = _messages(definition, errors or {}, locale)
    questions = [
        {
            "q": q,
            "label": localized(q.label, locale),
            "hint": localized(q.hint, locale) if q.hint else "",
            "choices": _choices(q, locale) if q.kind != "text" else [],
            "condition": _condition_hint(definition, q, locale) if q.show_if else "",
            "error": beside.get(q.id),
            "given": (
                form.getlist(q.id)
                if isinstance(form, MultiDict)
                else list((form or {}).get(q.id) or [])
            ),
        }
        for q in definition.questions
    ]
    return render_template(
        template,
        definition=definition,
        questions=questions,
        summary=summary,
        title=localized(definition.title, locale),
        introduction=localized(definition.introduction, locale),
        **context,
    ), status


def _closed_texts(code: str) -> tuple[str, str]:
    if code == "expired":
        return (
            _("This survey link has expired"),
            _(
                "Survey links work for a limited time, and this one has ended. Thank you for "
                "wanting to help."
            ),
        )
    if code == "answered":
        return (
            _("You have already answered this survey"),
            _("Each survey link can be used once, and your answers have been received. Thank you."),
        )
    if code == "cancelled":
        return (
            _("This survey is closed"),
            _("We no longer need answers to this survey. Thank you for wanting to help."),
        )
    return (
        _("We could not find this survey"),
        _(
            "Check that you copied the whole link from the email. Survey links work once and "
            "for a limited time."
        ),
    )


def _closed(code: str):
    heading, text = _closed_texts(code)
    return _private(
        render_template("surveys/answering/closed.html", code=code, heading=heading, text=text),
        CLOSED_STATUS[code],
    )


# -- answering -------------------------------------------------------------------------------


def _programme_title(invitation: SurveyInvitation) -> str:
    """The title (in the page's language) of the programme a programme survey is about."""
    return invitations.subject_title(db_session(), invitation, current_locale())


def _invitation(token: str) -> tuple[SurveyInvitation | None, str]:
    invitation = answering.invitation_by_token(db_session(), token)
    return invitation, answering.link_state(invitation, clock.now())


@bp.route("/surveys/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def answer(token: str):
    invitation, state = _invitation(token)
    with _language(invitation.locale if invitation is not None else None):
        if state != "open" or invitation is None:
            return _closed(state)
        definition = answering.definition_for_invitation(invitation)
        about = _programme_title(invitation)
        if request.method == "GET":
            return _private(
                *_survey_page(
                    "surveys/answering/answer.html", definition, token=token, programme_title=about
                )
            )
        session = db_session()
        try:
            done = answering.answer_invitation(
                session,
                settings=settings(),
                invitation=invitation,
                form=request.form,
                now=clock.now(),
            )
            session.flush()
        except answering.AnswerErrors as exc:
            return _private(
                *_survey_page(
                    "surveys/answering/answer.html",
                    definition,
                    status=400,
                    form=request.form,
                    errors=exc.errors,
                    token=token,
                    programme_title=about,
                )
            )
        except answering.InvitationClosed as exc:
            session.rollback()
            return _closed(exc.code)
        except StaleDataError:
            # Staff changed the case at the same moment: nothing was saved; try again.
            session.rollback()
            return _private(
                *_survey_page(
                    "surveys/answering/answer.html",
                    definition,
                    status=409,
                    form=request.form,
                    token=token,
                    conflict=True,
                    programme_title=about,
                )
            )
        return _private(
            render_template(
                "surveys/answering/thanks.html",
                reopened=done.reopened,
                sr=done.request,
                programme_title=about,
            )
        )


@bp.route("/surveys/opt-out/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def opt_out(token: str):
    invitation, _state = _invitation(token)
    if invitation is None:
        error = NotFound(
            _("This link is not valid. Check that you copied the whole link from the email.")
        )
        error.portal_message = True  # type: ignore[attr-defined]
        raise error
    with _language(invitation.locale):
        if request.method == "POST":
            answering.opt_out(db_session(), email=invitation.email, now=clock.now())
            return _private(
                render_template("surveys/answering/opted_out.html", email=invitation.email)
            )
        return _private(
            render_template("surveys/answering/opt_out.html", email=invitation.email, token=token)
        )


# -- site feedback ---------------------------------------------------------------------------


def _feedback_definition() -> Definition:
    try:
        definition = definition_for("site_feedback")
    except DefinitionError as error:
        current_app.logger.error("site feedback unavailable: %s", error)
        abort(503)
    if definition is None:
        abort(404)
    return definition


@bp.route("/feedback", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def feedback():
    definition = _feedback_definition()
    if request.method == "GET":
        return _survey_page("surveys/answering/feedback.html", definition)
    try:
        answering.submit_feedback(
            db_session(),
            definition=definition,
            form=request.form,
            locale=current_locale(),
            now=clock.now(),
        )
    except answering.AnswerErrors as exc:
        return _survey_page(
            "surveys/answering/feedback.html",
            definition,
            status=400,
            form=request.form,
            errors=exc.errors,
        )
    except DefinitionError as error:  # the file changed under a version with responses
        current_app.logger.error("site feedback not stored: %s", error)
        abort(503)
    return render_template("surveys/answering/feedback_thanks.html"), 200
