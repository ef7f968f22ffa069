"""Back office: response templates (admins only): list, add, edit, retire or reactivate, and
order them within their group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.access import ADMIN, staff_required
from portal.casework import templates_admin as domain
from portal.casework.models import ResponseTemplate
from portal.casework.placeholders import PLACEHOLDERS
from portal.casework.views.templates_admin_forms import (
    PLACEHOLDER_MEANINGS,
    ActionForm,
    MoveForm,
    TemplateForm,
    language_label,
    template_form,
)
from portal.catalogue.models import Department
from portal.catalogue.names import MAX_CHOICES
from portal.core.editing import locked
from portal.i18n import current_locale
from portal.web import db_session, settings

bp = Blueprint("casework_templates_admin", __name__, url_prefix="/staff/admin/templates")

#: Ids are 32-bit integer columns: a larger one in a URL is simply not found.
MAX_ID = 2**31 - 1


def _actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _languages() -> tuple[str, ...]:
    return tuple(settings().languages)


@dataclass
class Departments:
    """The departments' names in the page's language, and which are active."""

    names: dict[int, str]
    active: set[int]

    @classmethod
    def read(cls) -> Departments:
        locale = current_locale()
        rows = list(
            db_session().scalars(
                select(Department).order_by(Department.name, Department.id).limit(MAX_CHOICES)
            )
        )
        return cls({d.id: d.t("name", locale) for d in rows}, {d.id for d in rows if d.active})

    def fill(self, form: TemplateForm, template: ResponseTemplate | None = None) -> None:
        """Active departments, and the template's own even when it is no longer active."""
        current = template.department_id if template is not None else None
        form.department.choices = [("", _("Every department (city-wide)"))] + [
            (i, n)
            for i, n in sorted(self.names.items(), key=lambda item: item[1].lower())
            if i in self.active or i == current
        ]


def _or_404(template_id: int, *, lock: bool = False) -> ResponseTemplate:
    if template_id > MAX_ID:
        abort(404)
    session = db_session()
    row = (
        locked(session, ResponseTemplate, template_id)
        if lock
        else session.get(ResponseTemplate, template_id)
    )
    if row is None:
        abort(404)
    return row


def _placeholder_names() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def _message(key: str, code: str, detail: str) -> str:
    if code == "placeholder":
        return _(
            "{%(name)s} is not a placeholder the case page can fill: use %(known)s",
            name=detail,
            known=_placeholder_names(),
        )
    specific = {
        ("code", "invalid"): _(
            "Use lower-case letters and digits, with single hyphens or "
            "underscores between them, like pothole-filled"
        ),
        ("code", "taken"): _("Another template already uses this code"),
        ("code", "too_long"): _(
            "Keep the code to %(max)d characters or fewer.", max=domain.CODE_MAX
        ),
        ("department", "unknown"): _("Choose a department from the list"),
        ("department", "inactive"): _("This department is no longer active: choose another"),
    }.get((key, code))
    if specific:
        return specific
    return {"required": _("This is required"), "too_long": _("This is too long")}.get(
        code, _("Check this")
    )


def _show_errors(form: TemplateForm, error: domain.TemplateError) -> None:
    for key, code in error.errors.items():
        field = form._fields.get(key)
        message = _message(key, code, error.details.get(key, ""))
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def _input(form: TemplateForm) -> domain.TemplateInput:
    code = form.code.data if "code" in form._fields else ""
    return domain.TemplateInput(
        code=code or "",
        department_id=form.department.data,
        title=form.title.data or "",
        body=form.body.data or "",
        translations=form.translations(),
    )


def _data(template: ResponseTemplate) -> dict[str, Any]:
    data: dict[str, Any] = {
        "department": template.department_id,
        "title": template.title,
        "body": template.body,
        "state": domain.fingerprint(domain.snapshot(template)),
    }
    for locale, texts in (template.translations or {}).items():
        data[f"title_{locale}"] = texts.get("title", "")
        data[f"body_{locale}"] = texts.get("body", "")
    return data


def _form_page(
    form: TemplateForm,
    template: ResponseTemplate | None,
    departments: Departments,
    status: int = 200,
    *,
    conflict: bool = False,
) -> tuple[str, int]:
    return render_template(
        "casework/templates_admin/form.html",
        form=form,
        template=template,
        departments=departments.names,
        conflict=conflict,
        placeholders=[(name, PLACEHOLDER_MEANINGS.get(name, "")) for name in PLACEHOLDERS],
        placeholder_names=_placeholder_names(),
        language_label=language_label,
        action_form=ActionForm(),
    ), status


@dataclass
class Group:
    department_id: int | None
    name: str
    templates: list[ResponseTemplate]


@bp.get("/")
@staff_required(ADMIN)
def index() -> str:
    rows = domain.list_templates(db_session())
    capped = len(rows) > domain.MAX_ROWS
    rows = rows[: domain.MAX_ROWS]
    departments = Departments.read()
    groups: dict[int | None, Group] = {}
    for row in rows:
        group = groups.get(row.department_id)
        if group is None:
            name = (
                _("City-wide")
                if row.department_id is None
                else departments.names.get(row.department_id, "?")
            )
            group = groups[row.department_id] = Group(row.department_id, name, [])
        group.templates.append(row)
    ordered = sorted(groups.values(), key=lambda g: (g.department_id is not None, g.name.lower()))
    return render_template(
        "casework/templates_admin/index.html",
        groups=ordered,
        capped=capped,
        max_rows=domain.MAX_ROWS,
        departments=departments,
        language_label=language_label,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new() -> Any:
    departments = Departments.read()
    form = template_form(_languages(), new=True)
    departments.fill(form)
    if request.method == "GET":
        return _form_page(form, None, departments)
    if form.validate():
        try:
            template = domain.create_template(db_session(), _input(form), actor=_actor())
        except domain.TemplateError as error:
            _show_errors(form, error)
        else:
            flash(
                _("Template “%(title)s” added at the end of its group.", title=template.title),
                "success",
            )
            return redirect(url_for(".index", _anchor=f"template-{template.id}"))
    return _form_page(form, None, departments, 400)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit(template_id: int) -> Any:
    departments = Departments.read()
    if request.method == "GET":
        template = _or_404(template_id)
        form = template_form(_languages(), new=False, data=_data(template))
        departments.fill(form, template)
        return _form_page(form, template, departments)
    template = _or_404(template_id, lock=True)
    form = template_form(_languages(), new=False)
    departments.fill(form, template)
    if form.validate():
        try:
            domain.update_template(
                db_session(), template, _input(form), actor=_actor(), expected=form.state.data or ""
            )
        except domain.TemplateConflict:
            # Show the template as it is now; saving again (knowingly) replaces it.
            form.state.data = domain.fingerprint(domain.snapshot(template))
            return _form_page(form, template, departments, 409, conflict=True)
        except domain.TemplateError as error:
            _show_errors(form, error)
        else:
            flash(_("Template “%(title)s” saved.", title=template.title), "success")
            return redirect(url_for(".index", _anchor=f"template-{template.id}"))
    return _form_page(form, template, departments, 400)


def _set_active(template_id: int, active: bool) -> Response:
    template = _or_404(template_id, lock=True)
    if not ActionForm().validate():
        abort(400)
    if domain.set_active(db_session(), template, active, actor=_actor()):
        message = (
            _(
                "Template “%(title)s” reactivated: the case page offers it again.",
                title=template.title,
            )
            if active
            else _(
                "Template “%(title)s” retired: the case page no longer offers it.",
                title=template.title,
            )
        )
        flash(message, "success")
    return redirect(url_for(".index", _anchor=f"template-{template.id}"))


@bp.post("/<int:template_id>/retire")
@staff_required(ADMIN)
def retire(template_id: int) -> Response:
    return _set_active(template_id, False)


@bp.post("/<int:template_id>/reactivate")
@staff_required(ADMIN)
def reactivate(template_id: int) -> Response:
    return _set_active(template_id, True)


@bp.post("/<int:template_id>/move")
@staff_required(ADMIN)
def move(template_id: int) -> Response:
    template = _or_404(template_id, lock=True)
    form = MoveForm()
    if not form.validate() or form.direction.data not in ("up", "down"):
        abort(400)
    domain.move_template(db_session(), template, direction=form.direction.data, actor=_actor())
    return redirect(url_for(".index", _anchor=f"template-{template.id}"))
