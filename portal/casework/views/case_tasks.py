"""Actions on a case's tasks: add, assign, complete, cancel, transfer (task actions need
membership of the task's department). Pages of the ``casework_case`` blueprint of
``portal.casework.views.case``."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from portal.access import staff_required
from portal.auth.models import User
from portal.casework import service, tasks
from portal.casework.models import Task
from portal.casework.views import case_forms as forms
from portal.casework.views.case import bp
from portal.casework.views.case_actions import _act, _common
from portal.catalogue.models import Department
from portal.i18n import current_locale
from portal.requests.models import ServiceRequest
from portal.web import db_session, settings


@bp.post("/<reference>/tasks")
@staff_required()
def add_task(reference: str):
    def do(sr: ServiceRequest, f: forms.AddTaskForm, me: User) -> None:
        service.check_version(db_session(), request=sr, **_common(f))
        department = db_session().get(Department, f.department.data)
        if department is None:  # pragma: no cover - the choices guard this
            abort(400)
        tasks.add_task(
            db_session(), request=sr, department=department, title=f.title.data, actor=me
        )

    return _act(
        reference,
        "task",
        forms.AddTaskForm,
        do,
        anchor="tasks",
        done=lambda f: _("Task added for %(department)s.", department=_name(f.department.data)),
    )


@bp.post("/<reference>/tasks/<int:task_id>/assign")
@staff_required()
def assign_task(reference: str, task_id: int):
    def do(task: Task, f: forms.AssignForm, me: User) -> None:
        assignee = db_session().get(User, int(f.assignee.data)) if f.assignee.data else None
        tasks.assign_task(db_session(), task=task, assignee=assignee, actor=me, settings=settings())

    def done(f: forms.AssignForm) -> str:
        chosen = db_session().get(User, int(f.assignee.data)) if f.assignee.data else None
        if chosen is None:
            return _("The task is back in its department's queue.")
        return _("Task assigned to %(name)s.", name=chosen.name or chosen.email)

    return _act(
        reference, "assign", forms.AssignForm, do, task_id=task_id, anchor="tasks", done=done
    )


@bp.post("/<reference>/tasks/<int:task_id>/complete")
@staff_required()
def complete_task(reference: str, task_id: int):
    return _act(
        reference,
        "complete",
        forms.CompleteForm,
        lambda task, f, me: (
            tasks.complete_task(
                db_session(), settings=settings(), task=task, actor=me, note=f.done_note.data or ""
            )
            and None
        ),
        task_id=task_id,
        anchor="tasks",
        done=_("Task marked done."),
    )


@bp.post("/<reference>/tasks/<int:task_id>/cancel")
@staff_required()
def cancel_task(reference: str, task_id: int):
    return _act(
        reference,
        "cancel",
        forms.CancelForm,
        lambda task, f, me: (
            tasks.cancel_task(
                db_session(),
                settings=settings(),
                task=task,
                actor=me,
                note=f.cancel_note.data or "",
            )
            and None
        ),
        task_id=task_id,
        anchor="tasks",
        done=_("Task cancelled."),
    )


@bp.post("/<reference>/tasks/<int:task_id>/transfer")
@staff_required()
def transfer_task(reference: str, task_id: int):
    def do(task: Task, f: forms.TransferForm, me: User) -> None:
        department = db_session().get(Department, f.to_department.data)
        if department is None:  # pragma: no cover - the choices guard this
            abort(400)
        tasks.transfer_task(
            db_session(), task=task, department=department, reason=f.reason.data, actor=me
        )

    return _act(
        reference,
        "transfer",
        forms.TransferForm,
        do,
        task_id=task_id,
        anchor="tasks",
        done=lambda f: _(
            "Task transferred to %(department)s.", department=_name(f.to_department.data)
        ),
    )


def _name(department_id: int | None) -> str:
    department = db_session().get(Department, department_id) if department_id else None
    return department.t("name", current_locale()) if department is not None else ""
