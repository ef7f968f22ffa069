"""Response templates admin: add, edit, retire, reactivate and order templates through HTTP, and
the case page offering (and filling) what was saved."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from portal.casework import templates_admin as domain
from portal.casework.models import ResponseTemplate
from portal.core.audit import AuditEntry
from tests.conftest import csrf_from, sign_in

BASE = "/staff/admin/templates"


@pytest.fixture
def admin_user(make, client):
    user = make.user(role="admin", name="Ada Admin")
    sign_in(client, user)
    return user


@pytest.fixture
def token(client, admin_user) -> str:
    page = client.get(f"{BASE}/new")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def _form(token: str, **kw) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "code": "pothole-filled",
        "department": "",
        "title": "Pothole filled",
        "body": "Hello {resident_name}, {reference} is fixed.",
        "title_es": "",
        "body_es": "",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def _template(db, **kw) -> ResponseTemplate:
    kw.setdefault("title", "Template")
    kw.setdefault("body", "Hello {resident_name}")
    template = ResponseTemplate(**kw)
    db.add(template)
    db.flush()
    return template


def _by_code(db, code: str) -> ResponseTemplate | None:
    return db.scalar(select(ResponseTemplate).where(ResponseTemplate.code == code))


def _audit(db) -> list[AuditEntry]:
    return list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "response_template")
            .order_by(AuditEntry.id)
        )
    )


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def _agent(app, make, department):
    """A client signed in as an agent of ``department`` (the admin keeps the other one)."""
    agent = app.test_client()
    sign_in(agent, make.staff(department))
    return agent


def _offered(client, case) -> str:
    """The options of the reply form's template list on the case page."""
    page = client.get(f"/staff/cases/{case.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    match = re.search(r'<select[^>]*name="template".*?</select>', html, re.S)
    return match.group(0) if match else ""


def _use_template(client, case, template: ResponseTemplate) -> str:
    """Press "Use template" on the case page; the reply box comes back filled in."""
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    response = client.post(
        f"/staff/cases/{case.reference}/reply",
        data={
            "csrf_token": csrf_from(html),
            "version": _hidden(html, "version"),
            "seen": _hidden(html, "seen"),
            "template": str(template.id),
            "use_template": "1",
        },
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- adding, and the case page offering it ---------------------------------------------------


def test_an_added_template_is_offered_on_its_department_cases_and_city_wide_on_all(
    app, client, db, make, token, admin_user
):
    streets = make.department(name="Streets")
    water = make.department(name="Water")
    pothole = make.category(department=streets, name="Pothole")
    leak = make.category(department=water, name="Leak")
    response = client.post(
        f"{BASE}/new",
        data=_form(
            token,
            department=str(streets.id),
            title_es="Bache rellenado",
            body_es="Hola {resident_name}: {reference} ({category}) está listo.",
        ),
    )
    assert response.status_code == 302
    filled = _by_code(db, "pothole-filled")
    assert filled.department_id == streets.id and filled.active
    assert filled.translations == {
        "es": {
            "title": "Bache rellenado",
            "body": "Hola {resident_name}: {reference} ({category}) está listo.",
        }
    }
    response = client.post(
        f"{BASE}/new",
        data=_form(
            token,
            code="Thanks_All",
            title="Thanks for reporting",
            body="Thank you, {resident_name}.",
        ),
    )
    assert response.status_code == 302
    thanks = _by_code(db, "thanks_all")  # codes are kept in lower case
    assert thanks.department_id is None

    listing = client.get(f"{BASE}/").get_data(as_text=True)
    listing = listing[listing.index("<h1") :]  # after the "added" message
    assert listing.index("City-wide: offered on every case") < listing.index("Thanks for reporting")
    assert (
        listing.index("Thanks for reporting")
        < listing.index("Streets")
        < listing.index("Pothole filled")
    )
    assert "Translated into: Spanish" in listing

    street_case = make.request(category=pothole, contact_name="Rita Resident")
    water_case = make.request(category=leak)
    agent = _agent(app, make, streets)
    offered = _offered(agent, street_case)
    assert "Pothole filled" in offered and "Thanks for reporting" in offered
    offered = _offered(_agent(app, make, water), water_case)
    assert "Thanks for reporting" in offered and "Pothole filled" not in offered

    text = _use_template(agent, street_case, filled)
    assert f"Hello Rita Resident, {street_case.reference} is fixed." in text

    actions = [(e.action, e.actor_id) for e in _audit(db)]
    assert actions == [("created", admin_user.id), ("created", admin_user.id)]
    first = _audit(db)[0]
    assert first.entity_id == str(filled.id) and first.before == {}
    assert first.after["code"] == "pothole-filled" and first.after["department_id"] == streets.id


def test_spanish_text_is_used_for_a_resident_who_reads_spanish(app, client, db, make, token):
    streets = make.department(name="Streets")
    pothole = make.category(
        department=streets, name="Pothole", translations={"es": {"name": "Bache"}}
    )
    response = client.post(
        f"{BASE}/new",
        data=_form(
            token,
            department=str(streets.id),
            title_es="Bache rellenado",
            body_es="Hola {resident_name}: el {category} de {reference} está rellenado.",
        ),
    )
    assert response.status_code == 302
    template = _by_code(db, "pothole-filled")
    spanish = make.request(category=pothole, contact_name="Rosa", locale="es")
    english = make.request(category=pothole, contact_name="Rita", locale="en")
    agent = _agent(app, make, streets)
    assert f"Hola Rosa: el Bache de {spanish.reference} está rellenado." in _use_template(
        agent, spanish, template
    )
    assert f"Hello Rita, {english.reference} is fixed." in _use_template(agent, english, template)


def test_the_form_lists_the_placeholders_and_a_box_per_language(client, app, settings, token):
    page = client.get(f"{BASE}/new").get_data(as_text=True)
    for name in ("{resident_name}", "{reference}", "{category}"):
        assert name in page
    assert 'for="title_es"' in page and "Text in Spanish" in page
    # A city that speaks only English is not asked for Spanish.
    app.extensions["portal.city"].clear(replace(settings, languages=("en",)))
    page = client.get(f"{BASE}/new").get_data(as_text=True)
    assert 'name="title_es"' not in page and 'name="title"' in page


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": ""}, "code", "Enter a code for the template"),
        ({"code": "Pothole Filled"}, "code", "Use lower-case letters and digits"),
        ({"code": "pothole--filled"}, "code", "Use lower-case letters and digits"),
        ({"code": "-pothole"}, "code", "Use lower-case letters and digits"),
        ({"code": "x" * 41}, "code", "Keep the code to 40 characters or fewer."),
        ({"title": ""}, "title", "Enter a title for the template"),
        ({"title": "x" * 121}, "title", "Keep the title to 120 characters or fewer."),
        ({"body": "  "}, "body", "Enter the text of the template"),
        ({"body": "x" * 5001}, "body", "Keep the text to 5000 characters or fewer."),
        (
            {"body": "Hello {name}"},
            "body",
            "{name} is not a placeholder the case page can fill: use {resident_name}, {reference}, "
            "{category}",
        ),
        ({"body_es": "Hola {nombre}"}, "body_es", "{nombre} is not a placeholder"),
        ({"department": "999999"}, "department", "Choose a department from the list"),
        ({"department": "streets"}, "department", "Choose a department from the list"),
    ],
)
def test_bad_input_is_shown_beside_the_field(client, db, token, changes, field, message):
    response = client.post(f"{BASE}/new", data=_form(token, **changes))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = re.findall(
        rf'<span class="usa-error-message" id="{field}-error-1">([^<]*)</span>', page
    )
    assert errors and message in errors[0].replace("&#39;", "'")
    assert f'<a href="#{field}">' in page  # the error summary links to the field
    assert db.scalar(select(ResponseTemplate)) is None
    assert _audit(db) == []


def test_a_taken_code_or_an_inactive_department_is_an_error_not_a_500(client, db, make, token):
    _template(db, code="pothole-filled")
    response = client.post(f"{BASE}/new", data=_form(token))
    assert response.status_code == 400
    assert "Another template already uses this code" in response.get_data(as_text=True)
    closed = make.department(name="Closed", active=False)
    response = client.post(
        f"{BASE}/new", data=_form(token, code="other", department=str(closed.id))
    )
    assert response.status_code == 400
    assert "Choose a department from the list" in response.get_data(as_text=True)
    with pytest.raises(domain.TemplateError) as error:
        domain.create_template(
            db,
            domain.TemplateInput(
                code="other",
                department_id=closed.id,
                title="T",
                body="{oops}",
                translations={"es": {"title": "", "body": "{resident_name} {x}"}},
            ),
            actor=None,
        )
    assert error.value.errors == {
        "department": "inactive",
        "body": "placeholder",
        "body_es": "placeholder",
    }
    assert error.value.details == {"body": "oops", "body_es": "x"}


# --- editing, conflicts ----------------------------------------------------------------------


def test_admin_edits_a_template_but_not_its_code(client, db, make, token, admin_user):
    streets = make.department(name="Streets")
    template = _template(
        db,
        code="thanks",
        title="Thanks",
        body="Thanks {resident_name}",
        translations={"es": {"title": "Gracias", "body": "Gracias"}},
    )
    page = client.get(f"{BASE}/{template.id}/edit").get_data(as_text=True)
    assert 'name="code"' not in page and "thanks" in page
    assert 'value="Gracias"' in page
    state = _hidden(page, "state")
    response = client.post(
        f"{BASE}/{template.id}/edit",
        data=_form(
            token,
            code="renamed",
            department=str(streets.id),
            title="Thank you",
            body="Thank you, {resident_name}.",
            title_es="",
            body_es="",
            state=state,
        ),
    )
    assert response.status_code == 302
    db.refresh(template)
    assert template.code == "thanks" and template.title == "Thank you"
    assert template.department_id == streets.id
    assert template.translations == {}  # emptied: the English text is used
    [entry] = _audit(db)
    assert entry.action == "updated" and entry.actor_id == admin_user.id
    assert entry.before["title"] == "Thanks" and entry.after["title"] == "Thank you"
    assert entry.before["translations"] == {"es": {"title": "Gracias", "body": "Gracias"}}
    assert entry.after["translations"] == {} and entry.after["department_id"] == streets.id
    # Saving the same values again changes nothing and writes nothing.
    page = client.get(f"{BASE}/{template.id}/edit").get_data(as_text=True)
    response = client.post(
        f"{BASE}/{template.id}/edit",
        data=_form(
            token,
            department=str(streets.id),
            title="Thank you",
            body="Thank you, {resident_name}.",
            state=_hidden(page, "state"),
        ),
    )
    assert response.status_code == 302
    assert len(_audit(db)) == 1


def test_a_stale_edit_is_refused_with_the_current_values(client, db, token):
    template = _template(db, code="thanks", title="Original", body="Original text")
    state = domain.fingerprint(domain.snapshot(template))
    template.title = "Changed meanwhile"
    db.flush()
    response = client.post(
        f"{BASE}/{template.id}/edit", data=_form(token, title="Mine", body="My text", state=state)
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This template changed while you were editing" in page
    assert "Changed meanwhile" in page and 'value="Mine"' in page
    db.refresh(template)
    assert template.title == "Changed meanwhile" and _audit(db) == []
    # Saving again, knowingly, replaces it.
    response = client.post(
        f"{BASE}/{template.id}/edit",
        data=_form(token, title="Mine", body="My text", state=_hidden(page, "state")),
    )
    assert response.status_code == 302
    db.refresh(template)
    assert template.title == "Mine"


def test_translations_of_languages_the_city_no_longer_uses_are_kept(db):
    template = _template(db, code="kept", translations={"fr": {"title": "Merci"}})
    domain.update_template(
        db,
        template,
        domain.TemplateInput(
            title="Thanks", body="Thanks", translations={"es": {"title": "Gracias", "body": ""}}
        ),
        actor=None,
    )
    assert template.translations == {"fr": {"title": "Merci"}, "es": {"title": "Gracias"}}


# --- retiring and ordering -------------------------------------------------------------------


def test_a_retired_template_is_not_offered_until_reactivated(app, client, db, make, token):
    streets = make.department(name="Streets")
    case = make.request(category=make.category(department=streets))
    template = _template(db, code="thanks", title="Thanks a lot")
    response = client.post(f"{BASE}/{template.id}/retire", data={"csrf_token": token})
    assert response.status_code == 302
    db.refresh(template)
    assert template.active is False
    assert "Retired" in client.get(f"{BASE}/").get_data(as_text=True)
    response = client.post(f"{BASE}/{template.id}/retire", data={"csrf_token": token})
    assert response.status_code == 302  # already retired: nothing more happens
    agent = _agent(app, make, streets)
    assert "Thanks a lot" not in _offered(agent, case)
    response = client.post(f"{BASE}/{template.id}/reactivate", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Thanks a lot" in _offered(agent, case)
    assert [e.action for e in _audit(db)] == ["retired", "reactivated"]


def test_templates_move_within_their_group(client, db, make, token):
    streets = make.department(name="Streets")
    first = _template(db, code="first", title="First", position=0)
    second = _template(db, code="second", title="Second", position=0)
    third = _template(db, code="third", title="Third", position=5)
    other = _template(db, code="other", title="Streets only", department_id=streets.id)
    response = client.post(f"{BASE}/{third.id}/move", data={"csrf_token": token, "direction": "up"})
    assert response.status_code == 302
    listing = client.get(f"{BASE}/").get_data(as_text=True)
    listing = listing[listing.index("<h1") :]
    assert (
        listing.index("First")
        < listing.index("Third")
        < listing.index("Second")
        < listing.index("Streets only")
    )
    for row in (first, second, third):
        db.refresh(row)
    assert (first.position, third.position, second.position) == (10, 20, 30)
    # At the end of its group (alone in it): nothing moves, nothing is audited.
    client.post(f"{BASE}/{other.id}/move", data={"csrf_token": token, "direction": "up"})
    client.post(f"{BASE}/{first.id}/move", data={"csrf_token": token, "direction": "up"})
    entries = _audit(db)
    assert [e.action for e in entries] == ["moved_up"]
    assert entries[0].before["position"] == 5 and entries[0].after["position"] == 20


# --- garbage ---------------------------------------------------------------------------------


def test_garbage_is_never_a_500(client, db, token):
    template = _template(db, code="one")
    for url in (f"{BASE}/999999/edit", f"{BASE}/{10**12}/edit", f"{BASE}/abc/edit"):
        assert client.get(url).status_code == 404
    for action in ("move", "retire", "reactivate", "edit"):
        assert client.post(f"{BASE}/999999/{action}", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"{BASE}/{template.id}/move", data={"csrf_token": token, "direction": "sideways"}
        ).status_code
        == 400
    )
    # Without the CSRF token nothing changes.
    assert client.post(f"{BASE}/{template.id}/retire").status_code == 400
    assert client.post(f"{BASE}/new", data=_form("")).status_code == 400
    response = client.post(
        f"{BASE}/{template.id}/edit",
        data=_form(token, title=["a", "b"], department="1" * 30, state="stale"),
    )
    assert response.status_code in (400, 409)
    db.refresh(template)
    assert template.active and template.title == "Template"
