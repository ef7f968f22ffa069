"""The catalogue in the back office: admins add, edit, reorder and deactivate departments,
groups, categories and questions; residents see the change at once."""

from __future__ import annotations

from sqlalchemy import select

from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.core.audit import AuditEntry
from tests.conftest import csrf_from, sign_in

BASE = "/staff/admin/catalogue"


def post(client, url, data):
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def page_of(response) -> str:
    return response.get_data(as_text=True)


def setup_admin(client, make):
    sign_in(client, make.user(role="admin"))


def test_an_admin_builds_a_category_with_questions_that_residents_can_use(client, db, make):
    setup_admin(client, make)
    make.area()
    response = post(
        client,
        f"{BASE}/departments/new",
        {
            "code": "trees",
            "name": "Urban Forestry",
            "name_es": "Silvicultura Urbana",
            "email": "trees@city.example",
            "active": "y",
        },
    )
    assert response.status_code == 302, page_of(response)
    response = post(
        client, f"{BASE}/groups/new", {"code": "green", "name": "Trees", "name_es": "Árboles"}
    )
    assert response.status_code == 302, page_of(response)
    department = db.scalar(select(Department).where(Department.code == "trees"))
    group = db.scalar(select(ServiceGroup).where(ServiceGroup.code == "green"))
    response = post(
        client,
        f"{BASE}/categories/new",
        {
            "code": "fallen-tree",
            "group": str(group.id),
            "department": str(department.id),
            "name": "Fallen tree",
            "name_es": "Árbol caído",
            "description": "A tree or a large branch down on a street or path.",
            "description_es": "Un árbol o una rama grande caída en una calle o un camino.",
            "keywords": "tree, branch, árbol",
            "notice": "",
            "notice_level": "info",
            "active": "y",
        },
    )
    assert response.status_code == 302, page_of(response)
    category = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "fallen-tree"))
    assert category.translations == {
        "es": {
            "name": "Árbol caído",
            "description": "Un árbol o una rama grande caída en una calle o un camino.",
        }
    }
    new_question = f"{BASE}/categories/{category.id}/questions/new"
    response = post(
        client,
        new_question,
        {
            "code": "blocking",
            "kind": "single",
            "prompt": "What does it block?",
            "prompt_es": "¿Qué bloquea?",
            "required": "y",
            "options": "road | The road | La calle\npath | A footpath | Una acera\n"
            "wires | Power lines | Cables eléctricos",
            "stop_values": "wires",
            "stop_message": "Stay away and call 911.",
            "stop_message_es": "Aléjese y llame al 911.",
            "active": "y",
        },
    )
    assert response.status_code == 302, page_of(response)
    response = post(
        client,
        new_question,
        {"code": "size_m", "kind": "number", "prompt": "About how tall, in metres?", "active": "y"},
    )
    assert response.status_code == 302, page_of(response)

    questions = db.scalars(
        select(CategoryQuestion)
        .where(CategoryQuestion.category_id == category.id)
        .order_by(CategoryQuestion.position)
    ).all()
    assert [(q.code, q.kind, q.position) for q in questions] == [
        ("blocking", "single", 0),
        ("size_m", "number", 1),
    ]
    assert questions[0].options[2] == {
        "key": "wires",
        "label": "Power lines",
        "translations": {"es": {"label": "Cables eléctricos"}},
    }
    assert questions[0].stop_values == ["wires"]

    preview = page_of(client.get(f"{BASE}/categories/{category.id}/preview?show=es"))
    assert "¿Qué bloquea?" in preview and "Cables eléctricos" in preview
    assert "Árbol caído" in preview

    resident = client.application.test_client()
    start = page_of(resident.get("/report/"))
    assert "Fallen tree" in start and "fallen-tree" in start
    token = csrf_from(start)
    assert (
        resident.post("/report/", data={"csrf_token": token, "category": "fallen-tree"}).status_code
        == 302
    )
    details = page_of(resident.get("/report/details"))
    assert "What does it block?" in details and "About how tall, in metres?" in details
    entities = set(db.scalars(select(AuditEntry.entity).where(AuditEntry.action == "created")))
    assert entities >= {"department", "group", "category", "question"}


def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(client, db, make):
    setup_admin(client, make)
    existing = make.category(code="pothole")
    response = post(
        client,
        f"{BASE}/categories/new",
        {
            "code": "Pot Hole!",
            "group": str(existing.group_id),
            "department": "999999",
            "name": "",
            "description": "x",
        },
    )
    assert response.status_code == 400
    page = page_of(response)
    assert "Use 1-40 lowercase letters" in page and "s name</span>" in page
    assert "Choose from the list" in page and 'href="#code"' in page
    assert "Not a valid choice" not in page
    response = post(
        client,
        f"{BASE}/categories/new",
        {
            "code": "pothole",
            "group": str(existing.group_id),
            "department": str(existing.department_id),
            "name": "Another",
            "description": "Again",
        },
    )
    assert response.status_code == 400
    assert "Another one already has this code" in page_of(response)

    new_question = f"{BASE}/categories/{existing.id}/questions/new"
    for data, message in (
        ({"kind": "single", "options": "only | One"}, "List at least two choices"),
        ({"kind": "single", "options": "a | A\nb"}, "Line 2: write a choice as"),
        (
            {"kind": "yesno", "stop_values": "maybe", "stop_message": "x"},
            "Use answers of this question: yes, no",
        ),
        ({"kind": "yesno", "stop_values": "yes"}, "Also write what to tell the resident"),
        (
            {"kind": "yesno", "stop_values": "yes, no", "stop_message": "x"},
            "Every answer would stop the form",
        ),
        ({"kind": "number", "max_length": "20"}, "Only short-text answers"),
        ({"kind": "text", "options": "a | A\nb | B"}, "Only questions with a list of choices"),
    ):
        response = post(client, new_question, {"code": "q1", "prompt": "Question?", **data})
        assert response.status_code == 400, data
        assert message in page_of(response), (data, message)
    assert (
        db.scalar(select(CategoryQuestion).where(CategoryQuestion.category_id == existing.id))
        is None
    )


def test_a_question_keeps_its_kind_and_is_deactivated_not_deleted(client, db, make):
    setup_admin(client, make)
    category = make.category(
        code="noise",
        questions=[{"code": "when", "kind": "date"}, {"code": "loud", "kind": "yesno"}],
    )
    make.request(category=category, answers={"when": "2026-12-01"})
    question = category.all_questions[0]
    url = f"{BASE}/questions/{question.id}/edit"
    assert "Residents have already filed in this category." in page_of(client.get(url))
    response = post(client, url, {"kind": "text", "prompt": "When did it start?", "code": "other"})
    assert response.status_code == 302, page_of(response)
    db.refresh(question)
    assert (question.code, question.kind, question.prompt) == ("when", "date", "When did it start?")
    assert post(client, url, {"prompt": "When did it start?"}).status_code == 302
    db.expire_all()
    question = db.get(CategoryQuestion, question.id)
    assert not question.active
    assert [q.code for q in db.get(ServiceCategory, category.id).questions] == ["loud"]


def test_a_change_made_meanwhile_is_not_overwritten(client, db, make):
    setup_admin(client, make)
    department = make.department(code="roads", name="Roads")
    url = f"{BASE}/departments/{department.id}/edit"
    form_page = page_of(client.get(url))
    department.name = "Roads and Bridges"  # someone else saved meanwhile
    db.flush()
    state = form_page.split('name="state" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        url,
        data={
            "csrf_token": csrf_from(form_page),
            "state": state,
            "name": "Highways",
            "active": "y",
        },
    )
    assert response.status_code == 409
    db.expire_all()
    assert db.get(Department, department.id).name == "Roads and Bridges"


def test_categories_and_groups_are_reordered(client, db, make):
    setup_admin(client, make)
    group = make.group()
    first = make.category(group=group, position=0, code="first")
    second = make.category(group=group, position=1, code="second")
    page = page_of(client.get(f"{BASE}/"))
    response = client.post(
        f"{BASE}/categories/{second.id}/move",
        data={"csrf_token": csrf_from(page), "direction": "up"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert [c.code for c in db.get(ServiceGroup, group.id).categories] == ["second", "first"]
    assert db.get(ServiceCategory, first.id).position == 1
    bad = client.post(
        f"{BASE}/categories/{second.id}/move",
        data={"csrf_token": csrf_from(page), "direction": "sideways"},
    )
    assert bad.status_code == 400


def test_only_admins_see_the_catalogue(client, make):
    sign_in(client, make.user(role="supervisor"))
    assert client.get(f"{BASE}/").status_code == 403
