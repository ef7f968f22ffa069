"""Back office: a programme's eligibility questions, added, edited and deleted on its overview
page; pages of the ``programmes_admin`` blueprint of ``portal.programmes.views.admin``
(``create_app`` imports this module so that they are added)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.access import COORDINATOR, staff_required
from portal.confirm import ConfirmDeleteForm, unconfirmed
from portal.programmes.admin import common, programmes, questions
from portal.programmes.models import EligibilityQuestion
from portal.programmes.views.admin import (
    _part_or_404,
    actor,
    bp,
    overview,
    programme_or_404,
    show_errors,
)
from portal.programmes.views.admin_forms import ActionForm, QuestionForm, decimal, whole
from portal.web import db_session


def _question_input(form: QuestionForm) -> questions.QuestionInput:
    return questions.QuestionInput(
        prompt=form.prompt.data or "",
        prompt_es=form.prompt_es.data or "",
        help=form.help.data or "",
        help_es=form.help_es.data or "",
        kind=form.kind.data or "",
        required=bool(form.required.data),
        options=form.options.data or "",
        eligible_values=form.eligible(),
        min_value=decimal(form.min_value),
        max_value=decimal(form.max_value),
        max_length=whole(form.max_length),
        ineligible_message=form.ineligible_message.data or "",
        ineligible_message_es=form.ineligible_message_es.data or "",
    )


def _question_data(question: EligibilityQuestion) -> dict[str, Any]:
    spanish = (question.translations or {}).get("es", {})

    def number(value: float | None) -> str:
        if value is None:
            return ""
        return str(int(value)) if float(value).is_integer() else str(value)

    return {
        "prompt": question.prompt,
        "prompt_es": spanish.get("prompt", ""),
        "help": question.help,
        "help_es": spanish.get("help", ""),
        "kind": question.kind,
        "required": question.required,
        "options": questions.options_text(question.options),
        "eligible_values": ", ".join(question.eligible_values or []),
        "min_value": number(question.min_value),
        "max_value": number(question.max_value),
        "max_length": str(question.max_length or ""),
        "ineligible_message": question.ineligible_message,
        "ineligible_message_es": spanish.get("ineligible_message", ""),
    }


@bp.post("/<int:programme_id>/questions")
@staff_required(COORDINATOR)
def add_question(programme_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    form = QuestionForm(prefix="question")
    if form.validate():
        try:
            questions.add_question(db_session(), programme, _question_input(form), actor=actor())
        except common.ProgrammeAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Question added."), "success")
            return redirect(url_for(".show", programme_id=programme.id, _anchor="questions"))
    db_session().rollback()
    return overview(programme_or_404(programme_id), 400, question_form=form)


@bp.route("/<int:programme_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def edit_question(programme_id: int, question_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=request.method == "POST")
    question = _part_or_404(programme, programme.questions, question_id)
    if request.method == "GET":
        form = QuestionForm(prefix="question", data=_question_data(question))
    else:
        form = QuestionForm(prefix="question")
        if form.validate():
            try:
                questions.update_question(
                    db_session(), question, _question_input(form), actor=actor()
                )
            except common.ProgrammeAdminError as error:
                show_errors(form, error)
            else:
                flash(_("Question saved."), "success")
                return redirect(url_for(".show", programme_id=programme.id, _anchor="questions"))
    return render_template(
        "programmes/admin/question_form.html",
        form=form,
        programme=programme,
        question=question,
        action_form=ActionForm(),
        has_enrolments=programmes.has_enrolments(db_session(), programme),
    ), (200 if request.method == "GET" else 400)


@bp.post("/<int:programme_id>/questions/<int:question_id>/delete")
@staff_required(COORDINATOR)
def delete_question(programme_id: int, question_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    question = _part_or_404(programme, programme.questions, question_id)
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    if not form.confirmed:
        return overview(
            programme, 400, confirm_errors=unconfirmed(f"confirm-question-{question.id}")
        )
    questions.delete_question(db_session(), question, actor=actor())
    flash(_("Question deleted. Answers already given to it stay on record."), "success")
    return redirect(url_for(".show", programme_id=programme.id, _anchor="questions"))
