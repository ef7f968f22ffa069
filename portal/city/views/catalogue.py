"""Back office: the catalogue (admins only). Departments, service groups, categories and their
questions: add, edit, reorder, deactivate, and preview a category's filing step in each of the
city's languages. The rules are in ``portal.city.catalogue_admin``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.access import ADMIN, staff_required
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.catalogue.names import MAX_CHOICES
from portal.city import catalogue_admin as admin
from portal.city.views.catalogue_forms import (
    KIND_NAMES,
    CategoryForm,
    DepartmentForm,
    GroupForm,
    MoveForm,
    QuestionForm,
)
from portal.i18n import LANGUAGE_NAMES, current_locale
from portal.requests.models import ServiceRequest
from portal.requests.views.filing_forms import DetailsForm
from portal.web import db_session, settings

bp = Blueprint("city_catalogue", __name__, url_prefix="/staff/admin/catalogue")

CODES = {
    "taken": lambda: _("Another one already has this code"),
    "unknown": lambda: _("Choose from the list"),
}


def _other_languages() -> tuple[str, ...]:
    return tuple(code for code in settings().languages if code != "en")


def _or_404(model: Any, row_id: int) -> Any:
    row = db_session().get(model, row_id)
    if row is None:
        abort(404)
    return row


def _entry(form: Any, fields: tuple[str, ...], extra: dict[str, Any]) -> admin.Entry:
    values = {name: getattr(form, name).data for name in fields}
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    translations = {
        locale: {
            name: getattr(form, f"{name}_{locale}").data or ""
            for name in fields
            if hasattr(form, f"{name}_{locale}")
        }
        for locale in _other_languages()
    }
    return admin.Entry({**values, **extra}, translations)


def _fill(form: Any, row: Any, fields: tuple[str, ...]) -> None:
    """A new form's fields from ``row`` (GET of an edit page)."""
    for name in fields:
        getattr(form, name).data = getattr(row, name)
        for locale in _other_languages():
            if hasattr(form, f"{name}_{locale}"):
                getattr(form, f"{name}_{locale}").data = (
                    (row.translations or {}).get(locale, {}).get(name, "")
                )
    form.state.data = admin.fingerprint(admin.snapshot(row))


def _errors(form: Any, errors: dict[str, str]) -> None:
    for key, message in errors.items():
        field = getattr(form, key, None) or getattr(form, "code", None) or form.name
        field.errors = [*field.errors, CODES[message]() if message in CODES else message]


def _submit(
    form: Any, save: Callable[[], Any], done: Callable[[Any], Any], row: Any
) -> tuple[Any, int]:
    """Validate and save; returns ``(redirect or None, status)``. Someone else's change made
    meanwhile is a 409: the form keeps what this admin typed, says so, and now carries the
    current state, so saving again replaces it knowingly."""
    if not form.validate():
        return None, 400
    try:
        saved = save()
    except admin.Conflict:
        db_session().rollback()
        db_session().refresh(row)
        form.state.data = admin.fingerprint(admin.snapshot(row))
        form.form_errors.append(
            _(
                "Someone else saved this after you opened it, so your "
                "changes were not saved. Check the form and save again to "
                "replace their changes with yours."
            )
        )
        return None, 409
    except admin.CatalogueAdminError as error:
        _errors(form, error.errors)
        return None, 400
    return done(saved), 302


def _render(template: str, status: int = 200, **context: Any) -> Any:
    return render_template(
        f"city/catalogue/{template}",
        other_languages=_other_languages(),
        language_names=LANGUAGE_NAMES,
        **context,
    ), status


# --- the overview -----------------------------------------------------------------------------


@bp.get("/")
@staff_required(ADMIN)
def index():
    session = db_session()
    locale = current_locale()
    groups = list(
        session.scalars(
            select(ServiceGroup)
            .order_by(ServiceGroup.position, ServiceGroup.id)
            .options(selectinload(ServiceGroup.categories))
            .limit(MAX_CHOICES)
        )
    )
    departments = list(
        session.scalars(select(Department).order_by(Department.name).limit(MAX_CHOICES))
    )
    counts = dict(
        session.execute(
            select(CategoryQuestion.category_id, func.count())
            .where(CategoryQuestion.active.is_(True))
            .group_by(CategoryQuestion.category_id)
        ).all()
    )
    names = {d.id: d.t("name", locale) for d in departments}
    return _render(
        "index.html",
        groups=groups,
        departments=departments,
        names=names,
        question_counts=counts,
        locale=locale,
        move_form=MoveForm(),
    )


# --- departments ------------------------------------------------------------------------------

DEPARTMENT_FIELDS = ("code", "name", "email", "active")


@bp.route("/departments/new", methods=["GET", "POST"])
@bp.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def department(department_id: int | None = None):
    row = _or_404(Department, department_id) if department_id is not None else None
    form = DepartmentForm()
    if row is not None:
        form.code.data = row.code
        if request.method == "GET":
            _fill(form, row, DEPARTMENT_FIELDS)
    if request.method == "GET":
        return _render("department_form.html", form=form, row=row)

    def saved(saved_row: Department) -> Any:
        flash(_("Department “%(name)s” saved.", name=saved_row.name), "success")
        return redirect(url_for(".index", _anchor="departments"))

    response, status = _submit(
        form,
        lambda: admin.save_department(
            db_session(),
            row,
            _entry(form, DEPARTMENT_FIELDS, {}),
            actor=current_user,
            expected=form.state.data or None,
        ),
        saved,
        row,
    )
    return response or _render("department_form.html", status, form=form, row=row)


# --- groups -----------------------------------------------------------------------------------


@bp.route("/groups/new", methods=["GET", "POST"])
@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def group(group_id: int | None = None):
    row = _or_404(ServiceGroup, group_id) if group_id is not None else None
    form = GroupForm()
    if row is not None:
        form.code.data = row.code
        if request.method == "GET":
            _fill(form, row, ("code", "name"))
    if request.method == "GET":
        return _render("group_form.html", form=form, row=row)

    def saved(saved_row: ServiceGroup) -> Any:
        flash(_("Group “%(name)s” saved.", name=saved_row.name), "success")
        return redirect(url_for(".index", _anchor=f"group-{saved_row.id}"))

    response, status = _submit(
        form,
        lambda: admin.save_group(
            db_session(),
            row,
            _entry(form, ("code", "name"), {}),
            actor=current_user,
            expected=form.state.data or None,
        ),
        saved,
        row,
    )
    return response or _render("group_form.html", status, form=form, row=row)


def _move(row: Any, anchor: str) -> Any:
    form = MoveForm()
    if not form.validate():
        abort(400)
    admin.move(db_session(), row, direction=form.direction.data, actor=current_user)
    return redirect(url_for(".index", _anchor=anchor))


@bp.post("/groups/<int:group_id>/move")
@staff_required(ADMIN)
def move_group(group_id: int):
    row = _or_404(ServiceGroup, group_id)
    return _move(row, f"group-{row.id}")


# --- categories -------------------------------------------------------------------------------

CATEGORY_FIELDS = (
    "code",
    "name",
    "description",
    "keywords",
    "notice",
    "notice_level",
    "private",
    "active",
)


def _category_choices(form: CategoryForm, row: ServiceCategory | None) -> None:
    session = db_session()
    locale = current_locale()
    form.group.choices = [("", _("Choose a group"))] + [
        (g.id, g.t("name", locale))
        for g in session.scalars(
            select(ServiceGroup).order_by(ServiceGroup.position).limit(MAX_CHOICES)
        )
    ]
    form.department.choices = [("", _("Choose a department"))] + [
        (d.id, d.t("name", locale))
        for d in session.scalars(select(Department).order_by(Department.name).limit(MAX_CHOICES))
        if d.active or (row is not None and d.id == row.department_id)
    ]


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def category(category_id: int | None = None):
    row = _or_404(ServiceCategory, category_id) if category_id is not None else None
    form = CategoryForm()
    _category_choices(form, row)
    if row is not None:
        form.code.data = row.code
        if request.method == "GET":
            _fill(form, row, CATEGORY_FIELDS)
            form.group.data, form.department.data = row.group_id, row.department_id
    elif request.method == "GET" and request.args.get("group", "").isdigit():
        form.group.data = int(request.args["group"])
    context = {"row": row, "kinds": KIND_NAMES, "move_form": MoveForm()}
    if request.method == "GET":
        return _render("category_form.html", form=form, **context)

    def saved(saved_row: ServiceCategory) -> Any:
        flash(_("Category “%(name)s” saved.", name=saved_row.name), "success")
        return redirect(url_for(".category", category_id=saved_row.id))

    response, status = _submit(
        form,
        lambda: admin.save_category(
            db_session(),
            row,
            _entry(
                form,
                CATEGORY_FIELDS,
                {"group_id": form.group.data, "department_id": form.department.data},
            ),
            actor=current_user,
            expected=form.state.data or None,
        ),
        saved,
        row,
    )
    return response or _render("category_form.html", status, form=form, **context)


@bp.post("/categories/<int:category_id>/move")
@staff_required(ADMIN)
def move_category(category_id: int):
    row = _or_404(ServiceCategory, category_id)
    return _move(row, f"category-{row.id}")


@bp.get("/categories/<int:category_id>/preview")
@staff_required(ADMIN)
def preview(category_id: int):
    """The resident's details step for the category, in one of the city's languages at a
    time (``?show=es``), whatever the admin's own language."""
    row = _or_404(ServiceCategory, category_id)
    languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in settings().languages]
    shown = request.args.get("show")
    if shown not in dict(languages):
        shown = current_locale() if current_locale() in dict(languages) else languages[0][0]
    with force_locale(shown):
        html = render_template(
            "city/catalogue/_preview_step.html",
            category=row,
            locale=shown,
            form=DetailsForm(meta={"csrf": False}),
            answers={},
            answer_errors={},
        )
    return _render(
        "preview.html",
        row=row,
        languages_shown=languages,
        shown=shown,
        shown_name=dict(languages)[shown],
        html=Markup(html),
    )


# --- questions --------------------------------------------------------------------------------

QUESTION_FIELDS = (
    "code",
    "kind",
    "prompt",
    "help",
    "required",
    "stop_message",
    "max_length",
    "active",
)


def _answered(question: CategoryQuestion) -> bool:
    """Residents have filed in its category (so its answers exist or may)."""
    return (
        db_session().scalar(
            select(ServiceRequest.id)
            .where(ServiceRequest.category_id == question.category_id)
            .limit(1)
        )
        is not None
    )


@bp.route("/categories/<int:category_id>/questions/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new_question(category_id: int):
    return _question(_or_404(ServiceCategory, category_id), None)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit_question(question_id: int):
    row = _or_404(CategoryQuestion, question_id)
    return _question(row.category, row)


def _question(owner: ServiceCategory, row: CategoryQuestion | None) -> Any:
    languages = _other_languages()
    form = QuestionForm()
    if row is not None:
        form.code.data, form.kind.data = row.code, row.kind
        if request.method == "GET":
            _fill(form, row, QUESTION_FIELDS)
            form.options.data = admin.options_text(row.options, languages)
            form.stop_values.data = ", ".join(row.stop_values or [])
    form.parsed_options, form.options_problem = admin.parse_options(
        form.options.data or "", languages
    )
    context = {"row": row, "category": owner, "answered": row is not None and _answered(row)}
    if request.method == "GET":
        return _render("question_form.html", form=form, **context)

    def saved(saved_row: CategoryQuestion) -> Any:
        flash(_("Question “%(prompt)s” saved.", prompt=saved_row.prompt), "success")
        return redirect(url_for(".category", category_id=owner.id, _anchor="questions"))

    def save() -> CategoryQuestion:
        return admin.save_question(
            db_session(),
            owner,
            row,
            _entry(
                form, QUESTION_FIELDS, {"options": form.parsed_options, "stop_values": form.stops()}
            ),
            actor=current_user,
            expected=form.state.data or None,
        )

    response, status = _submit(form, save, saved, row)
    return response or _render("question_form.html", status, form=form, **context)


@bp.post("/questions/<int:question_id>/move")
@staff_required(ADMIN)
def move_question(question_id: int):
    row = _or_404(CategoryQuestion, question_id)
    form = MoveForm()
    if not form.validate():
        abort(400)
    admin.move(db_session(), row, direction=form.direction.data, actor=current_user)
    return redirect(url_for(".category", category_id=row.category_id, _anchor="questions"))
