"""Back office: routing rules (admins only) and the "where would it go" preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import ADMIN, staff_required
from portal.catalogue.models import Department, ServiceCategory
from portal.catalogue.names import MAX_CHOICES, CatalogueNames
from portal.confirm import ConfirmDeleteForm, unconfirmed
from portal.i18n import current_locale
from portal.requests.models import CHANNELS
from portal.routing import service
from portal.routing.forms import CHANNEL_LABELS, MoveForm, PreviewForm, RuleForm
from portal.routing.models import RoutingRule
from portal.routing.rules import CATEGORY_DEFAULT
from portal.web import db_session

bp = Blueprint("routing", __name__, url_prefix="/staff/admin/routing")


class Names(CatalogueNames):
    """The catalogue's names for this page, which departments are active, and channels."""

    def __init__(self) -> None:
        session = db_session()
        super().__init__(session, current_locale())
        self.active_departments = set(
            session.scalars(
                select(Department.id).where(Department.active.is_(True)).limit(MAX_CHOICES)
            )
        )
        self.channels = {c: str(CHANNEL_LABELS.get(c, c)) for c in CHANNELS}

    def fill(self, form: Any, *, any_label: str) -> None:
        form.category.choices = [("", any_label), *self.categories.items()]
        form.area.choices = [("", _("Any area")), *self.areas.items()]
        form.channel.choices = [("", _("Any channel")), *self.channels.items()]
        if hasattr(form, "department"):
            form.department.choices = [("", _("Choose a department"))] + [
                (i, n)
                for i, n in self.departments.items()
                if i in self.active_departments or i == form.department.data
            ]


def _rule_or_404(rule_id: int) -> RoutingRule:
    rule = db_session().get(RoutingRule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _input(form: RuleForm) -> service.RuleInput:
    return service.RuleInput(
        name=form.name.data or "",
        department_id=form.department.data,
        category_id=form.category.data,
        area_id=form.area.data,
        channel=form.channel.data,
        keywords=form.keywords.data or "",
        active=bool(form.active.data),
    )


_ERROR_FIELDS = {
    "name": "name",
    "department": "department",
    "category": "category",
    "area": "area",
    "channel": "channel",
    "keywords": "keywords",
}


def _show_errors(form: RuleForm, errors: dict[str, str]) -> None:
    messages = {
        "required": _("This is required"),
        "too_long": _("This is too long"),
        "unknown": _("Choose from the list"),
        "inactive": _("This department is no longer active: choose another"),
        "taken": _("Another rule has this name: give each rule its own"),
    }
    for key, code in errors.items():
        field = getattr(form, _ERROR_FIELDS.get(key, "name"))
        field.errors = [*field.errors, messages.get(code, _("Check this"))]


def _preview(names: Names) -> tuple[PreviewForm, dict[str, str] | None, int]:
    form = PreviewForm(request.args, meta={"csrf": False})
    names.fill(form, any_label=_("Choose a category"))
    if not request.args:
        return form, None, 200
    if not form.validate():
        return form, None, 400
    category = db_session().get(ServiceCategory, form.category.data)
    assert category is not None
    decision = service.route(
        db_session(),
        category=category,
        area_id=form.area.data,
        channel=form.channel.data or "web",
        description=form.description.data or "",
    )
    rule = _("category default") if decision.rule_name == CATEGORY_DEFAULT else decision.rule_name
    return (
        form,
        {"department": names.departments.get(decision.department_id, "?"), "rule": rule},
        200,
    )


@bp.get("/")
@staff_required(ADMIN)
def rules():
    names = Names()
    preview_form = PreviewForm(meta={"csrf": False})
    names.fill(preview_form, any_label=_("Choose a category"))
    return render_template(
        "routing/rules.html",
        rules=service.list_rules(db_session()),
        names=names,
        preview_form=preview_form,
        move_form=MoveForm(),
    )


@bp.get("/preview")
@staff_required(ADMIN)
def preview():
    names = Names()
    form, result, status = _preview(names)
    return render_template("routing/preview.html", preview_form=form, result=result), status


def _edit_page(
    form: RuleForm,
    rule: RoutingRule | None,
    status: int = 200,
    *,
    conflict: bool = False,
    names: Names | None = None,
    confirm_errors: dict[str, str] | None = None,
):
    return render_template(
        "routing/form.html",
        form=form,
        rule=rule,
        conflict=conflict,
        names=names,
        confirm_errors=confirm_errors or {},
    ), status


def _rule_form(rule: RoutingRule) -> RuleForm:
    """The edit form filled in with the rule as it is."""
    form = RuleForm(
        formdata=None,
        data={
            "name": rule.name,
            "keywords": rule.keywords,
            "active": rule.active,
            "department": rule.department_id,
            "category": rule.category_id,
            "area": rule.area_id,
            "channel": rule.channel,
            "version": str(rule.version),
        },
    )
    Names().fill(form, any_label=_("Any category"))
    return form


@bp.route("/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new():
    form = RuleForm()
    Names().fill(form, any_label=_("Any category"))
    if request.method == "GET":
        return _edit_page(form, None)
    if form.validate():
        try:
            rule = service.create_rule(db_session(), _input(form), actor=current_user)
        except service.RuleError as error:
            _show_errors(form, error.errors)
        else:
            flash(_("Rule “%(name)s” added at the end of the list.", name=rule.name), "success")
            return redirect(url_for(".rules"))
    return _edit_page(form, None, 400)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit(rule_id: int):
    rule = _rule_or_404(rule_id)
    if request.method == "GET":
        form = _rule_form(rule)
        return _edit_page(form, rule)
    form = RuleForm()
    names = Names()
    names.fill(form, any_label=_("Any category"))
    if form.validate():
        version = form.version.data or ""
        try:
            service.update_rule(
                db_session(),
                rule,
                _input(form),
                actor=current_user,
                expected_version=int(version) if version.isdigit() else -1,
            )
        except service.RuleConflict:
            # Show the rule as it is now; saving again (knowingly) replaces it.
            db_session().rollback()
            rule = _rule_or_404(rule_id)
            form.version.data = str(rule.version)
            return _edit_page(form, rule, 409, conflict=True, names=names)
        except service.RuleError as error:
            _show_errors(form, error.errors)
        else:
            flash(_("Rule “%(name)s” saved.", name=rule.name), "success")
            return redirect(url_for(".rules"))
    return _edit_page(form, rule, 400)


@bp.post("/<int:rule_id>/delete")
@staff_required(ADMIN)
def delete(rule_id: int):
    rule = _rule_or_404(rule_id)
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    if not form.confirmed:
        return _edit_page(_rule_form(rule), rule, 400, confirm_errors=unconfirmed("confirm-rule"))
    name = rule.name
    try:
        service.delete_rule(db_session(), rule, actor=current_user)
    except service.RuleConflict:
        return _changed_meanwhile()
    flash(_("Rule “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".rules"))


def _changed_meanwhile():
    db_session().rollback()
    flash(
        _(
            "The rules changed while you were working: nothing was changed. Check the list "
            "and try again."
        ),
        "error",
    )
    return redirect(url_for(".rules"))


@bp.post("/<int:rule_id>/move")
@staff_required(ADMIN)
def move(rule_id: int):
    rule = _rule_or_404(rule_id)
    form = MoveForm()
    if not form.validate() or form.direction.data not in ("up", "down"):
        abort(400)
    try:
        service.move_rule(db_session(), rule, direction=form.direction.data, actor=current_user)
    except service.RuleConflict:
        return _changed_meanwhile()
    return redirect(url_for(".rules", _anchor=f"rule-{rule.id}"))
