"""Knowledge articles, "Answers before requests" (issue 22): files in the city's folder,
versioned, suggested on the describe step, read and judged by residents, edited by admins,
counted for the algorithm register, linked from staff replies."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.assist import articles
from portal.assist.models import KnowledgeArticle, KnowledgeArticleEvent, KnowledgeArticleVersion
from portal.city.folder import CityConfigError, read_folder
from portal.core import clock
from tests.conftest import csrf_from, sign_in
from tests.requests.test_filing import Journey
from tests.requests.test_filing import city as city  # a fixture

DEMO_ARTICLES = Path(__file__).parents[2] / "portal" / "demo" / "city" / "articles"
LANGUAGES = ["en", "es"]


@pytest.fixture
def loaded(db):
    specs, problems = articles.read_articles(DEMO_ARTICLES, LANGUAGES)
    assert problems == [] and len(specs) == 3
    articles.sync_articles(db, specs, now=clock.now())
    return {a.slug: a for a in db.scalars(select(KnowledgeArticle))}


def test_files_are_checked_and_a_changed_file_is_a_new_version(db, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "Bad Name.toml").write_text('[en]\ntitle = "x"\nbody = "y"\n')
    (folder / "no-spanish.toml").write_text('[en]\ntitle = "Bulk"\nbody = "Mondays"\n')
    (folder / "french.toml").write_text(
        '[en]\ntitle = "a"\nbody = "b"\n[es]\ntitle = "c"\nbody = "d"\n[fr]\ntitle = "e"\n'
    )
    (folder / "broken.toml").write_text("[en\n")
    specs, problems = articles.read_articles(folder, LANGUAGES)
    assert specs == []
    assert any(p.startswith("articles/Bad Name.toml: the file name") for p in problems)
    assert "articles/no-spanish.toml: [es]: is missing" in " ".join(problems)
    assert any(
        "articles/french.toml: [fr] is not one of the city's languages" in p for p in problems
    )
    assert any(p.startswith("articles/broken.toml: is not valid TOML") for p in problems)

    shutil.copy(DEMO_ARTICLES / "bulk-pickup.toml", folder / "bulk-pickup.toml")
    for bad in ("Bad Name", "no-spanish", "french", "broken"):
        (folder / f"{bad}.toml").unlink()
    specs, problems = articles.read_articles(folder, LANGUAGES)
    assert problems == []
    assert articles.sync_articles(db, specs, now=clock.now()) == ["added bulk-pickup"]
    assert articles.sync_articles(db, specs, now=clock.now()) == []  # unchanged: nothing new
    text = (folder / "bulk-pickup.toml").read_text().replace("first Monday", "first Tuesday")
    (folder / "bulk-pickup.toml").write_text(text)
    specs, _ = articles.read_articles(folder, LANGUAGES)
    assert articles.sync_articles(db, specs, now=clock.now()) == ["bulk-pickup: v2"]
    versions = db.scalars(select(KnowledgeArticleVersion).order_by(KnowledgeArticleVersion.version))
    bodies = [v.bodies["en"] for v in versions]
    assert len(bodies) == 2 and "first Monday" in bodies[0] and "first Tuesday" in bodies[1]


def test_a_city_folder_with_a_broken_article_names_the_problem(tmp_path):
    demo = Path(__file__).parents[2] / "portal" / "demo" / "city"
    folder = tmp_path / "city"
    shutil.copytree(demo, folder, ignore=shutil.ignore_patterns("addresses.csv", "streets.geojson"))
    assert {a.slug for a in read_folder(folder).articles} == {
        "bulk-pickup",
        "recycling-day",
        "tree-on-private-land",
    }
    (folder / "articles" / "tree-on-private-land.toml").write_text('[en]\ntitle = "Tree"\n')
    with pytest.raises(CityConfigError) as raised:
        read_folder(folder)
    assert 'articles/tree-on-private-land.toml: [en]: "body" is required' in raised.value.problems


def test_suggestions_while_typing_in_both_languages(client, loaded):
    url = "/report/article-suggestions"
    body = client.get(url, query_string={"description": "when do you pick up my old couch"})
    assert body.status_code == 200
    found = body.get_json()
    assert found[0]["slug"] == "bulk-pickup" and found[0]["title"] == "When is bulk pickup?"
    assert found[0]["url"] == "/help/bulk-pickup?from=describe"
    spanish = client.get(
        url, query_string={"description": "el arbol del vecino esta inclinado", "lang": "es"}
    ).get_json()
    assert spanish[0]["slug"] == "tree-on-private-land"
    assert spanish[0]["title"].startswith("¿Un árbol inclinado")
    # A pothole is not answered by any of them.
    done_when = "theres a big hole in the road outside 12 elm st my tyre burst"
    assert client.get(url, query_string={"description": done_when}).get_json() == []
    for query in ({}, {"description": " "}, {"description": "x" * 4001}):
        response = client.get(url, query_string=query)
        assert response.status_code == 400 and response.get_json()["error"]


def test_without_javascript_the_answers_come_with_the_choices_and_a_deflection_is_counted(
    client, db, loaded, make
):
    make.category(code="missed-collection", name="Missed collection")
    journey = Journey(client)
    page = journey.get("/report/describe")  # articles alone are enough to offer the step
    assert page.status_code == 200 and "Answers that may help" in page.get_data(as_text=True)
    journey.post("/report/describe", {"description": "when is bulk pickup for my old sofa"})
    html = journey.get("/report/describe/choose").get_data(as_text=True)
    assert 'href="/help/bulk-pickup?from=describe"' in html
    start = clock.now()
    opened = client.get("/help/bulk-pickup?from=describe")
    assert opened.status_code == 302 and opened.headers["Location"] == "/help/bulk-pickup"
    page = client.get("/help/bulk-pickup").get_data(as_text=True)
    assert "first Monday of every month" in page and "Did this answer your question?" in page
    # Yes, it answered: a thank-you.
    response = client.post(
        "/help/bulk-pickup/feedback", data={"csrf_token": csrf_from(page), "answer": "yes"}
    )
    assert response.status_code == 302
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for telling us." in thanks
    # Not a deflection until the window has passed without a request filed.
    assert articles.metrics(db, start + timedelta(minutes=5)) == {
        "suggested": 1,
        "opened": 1,
        "deflections": 0,
        "helpful": 1,
        "not_helpful": 0,
    }
    assert articles.metrics(db, start + timedelta(minutes=31))["deflections"] == 1


def test_a_request_filed_in_the_visit_is_not_a_deflection(client, db, loaded, city):  # noqa: F811
    journey = Journey(client)
    journey.get("/report/describe")
    start = clock.now()
    client.get("/help/bulk-pickup?from=describe")
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    assert journey.post("/report/check").headers["Location"].endswith("/report/done")
    assert journey.get("/report/done").status_code == 200
    kinds = db.scalars(select(KnowledgeArticleEvent.kind).order_by(KnowledgeArticleEvent.id)).all()
    assert kinds == ["opened", "filed"]
    assert articles.metrics(db, start + timedelta(hours=2))["deflections"] == 0


def test_feedback_needs_its_token_and_an_answer(client, loaded):
    assert client.post("/help/bulk-pickup/feedback", data={"answer": "yes"}).status_code == 400
    page = client.get("/help/bulk-pickup").get_data(as_text=True)
    response = client.post(
        "/help/bulk-pickup/feedback", data={"csrf_token": csrf_from(page), "answer": "maybe"}
    )
    assert response.status_code == 400
    assert client.get("/help/no-such-article").status_code == 404
    assert client.get("/help/" + "x" * 300).status_code == 404


def test_the_article_in_spanish(client, loaded):
    page = client.get("/help/bulk-pickup", query_string={"lang": "es"}).get_data(as_text=True)
    assert "¿Cuándo es la recogida de objetos grandes?" in page
    assert "¿Respondió esto a su pregunta?" in page


def test_an_admin_edits_an_article_and_a_new_version_is_kept(client, db, loaded, make):
    admin = make.user(role="admin", email="boss@city.example")
    sign_in(client, admin)
    listing = client.get("/staff/admin/articles/").get_data(as_text=True)
    assert "When is bulk pickup?" in listing and "/help/tree-on-private-land" in listing
    article = loaded["bulk-pickup"]
    url = f"/staff/admin/articles/{article.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert "first Monday of every month" in unescape(form)
    data = {
        "csrf_token": csrf_from(form),
        "title_en": "When is bulk pickup?",
        "body_en": "Bulky items go out on the second Monday.",
        "title_es": "¿Cuándo es la recogida?",
        "body_es": "",
        "active": "y",
    }
    refused = client.post(url, data=data)
    assert refused.status_code == 400 and "This is required" in refused.get_data(as_text=True)
    data["body_es"] = "El segundo lunes."
    assert client.post(url, data=data).status_code == 302
    db.refresh(article)
    assert article.version == 2
    versions = db.scalars(
        select(KnowledgeArticleVersion)
        .where(KnowledgeArticleVersion.article_id == article.id)
        .order_by(KnowledgeArticleVersion.version)
    ).all()
    assert [v.source for v in versions] == ["city-file", "admin"]
    assert versions[1].created_by_id == admin.id
    assert "second Monday" in client.get("/help/bulk-pickup").get_data(as_text=True)
    # The unchanged city file imported again does not undo the edit.
    specs, _ = articles.read_articles(DEMO_ARTICLES, LANGUAGES)
    assert articles.sync_articles(db, specs, now=clock.now()) == []
    # Switched off: no longer offered or shown.
    data["active"] = ""
    client.post(url, data=data)
    assert client.get("/help/bulk-pickup").status_code == 404
    assert (
        db.scalar(
            select(func.count())
            .select_from(KnowledgeArticleVersion)
            .where(KnowledgeArticleVersion.article_id == article.id)
        )
        == 2
    )


def test_staff_can_link_an_article_in_a_reply(client, db, loaded, make):
    dept = make.department(code="streets", name="Streets")
    category = make.category(code="pothole", name="Pothole", department=dept)
    agent = make.staff(dept, email="agent@city.example")
    request = make.request(category=category, locale="es")
    sign_in(client, agent)
    page = client.get(f"/staff/cases/{request.reference}").get_data(as_text=True)
    assert "Link a help article" in page
    links = re.findall(r'href="(http://[^"]+/help/[^"]+)"', page)
    assert "http://localhost/help/bulk-pickup?lang=es" in links
    assert "¿Cuándo es la recogida de objetos grandes?" in page


def test_switched_off_no_article_is_offered_and_the_pages_still_work(app, client, loaded):
    from dataclasses import replace

    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], assist_articles=False
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    url = "/report/article-suggestions"
    query = {"description": "when do you pick up my old couch"}
    assert client.get(url, query_string=query).get_json() == []
    # Without a category model either, the describe step sends residents to the full list.
    assert client.get("/report/describe").headers["Location"] == "/report/"
    # An article a member of staff linked in a reply still opens.
    assert client.get("/help/bulk-pickup").status_code == 200


def test_the_city_export_carries_the_articles_as_edited_into_a_fresh_database(
    client, db, runner, make, settings, tmp_path
):
    """An admin's edit (both languages) and switch are written by `flask city export` and
    come back when the export is imported into an empty database."""
    from dataclasses import replace

    from portal import create_app
    from portal.migrate import upgrade
    from tests.scratch import scratch

    demo = Path(__file__).parents[2] / "portal" / "demo" / "city"
    folder = tmp_path / "city"
    shutil.copytree(demo, folder, ignore=shutil.ignore_patterns("addresses.csv", "streets.geojson"))
    imported = runner.invoke(args=["city", "import", str(folder)])
    assert imported.exit_code == 0, imported.output
    sign_in(client, make.user(role="admin", email="boss@city.example"))
    slugs = {a.slug: a.id for a in db.scalars(select(KnowledgeArticle))}
    edits = {
        "bulk-pickup": {
            "title_en": "When is bulk pickup?",
            "body_en": 'Bulky items go out on the second Monday.\n\nSay "bulk" \\ call 311.',
            "title_es": "¿Cuándo es la recogida de objetos grandes?",
            "body_es": "Los objetos grandes salen el segundo lunes.\n\nLlame al 311.",
            "active": "y",
        },
        "recycling-day": {
            "title_en": "Which day is recycling?",
            "body_en": "Recycling is no longer collected by the city.",
            "title_es": "¿Qué día es el reciclaje?",
            "body_es": "La ciudad ya no recoge el reciclaje.",
            "active": "",
        },
    }
    for slug, data in edits.items():
        url = f"/staff/admin/articles/{slugs[slug]}/edit"
        form = client.get(url).get_data(as_text=True)
        saved = client.post(url, data={"csrf_token": csrf_from(form), **data})
        assert saved.status_code == 302, saved.get_data(as_text=True)

    export = tmp_path / "export"
    exported = runner.invoke(args=["city", "export", str(export)])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (export / "articles").iterdir()) == [
        "bulk-pickup.toml",
        "recycling-day.toml",
        "tree-on-private-land.toml",
    ]
    assert (export / "articles" / "recycling-day.toml").read_text().count("active = false") == 1
    # Imported again where it came from, the export changes nothing.
    again = runner.invoke(args=["city", "import", str(export)])
    assert again.exit_code == 0 and "nothing changed" in again.output, again.output

    engine = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    with scratch(engine, tmp_path) as url:
        upgrade(url)
        other = create_app(replace(settings, database_url=url))
        try:
            fresh = other.test_cli_runner().invoke(args=["city", "import", str(export)])
            assert fresh.exit_code == 0, fresh.output
            visitor = other.test_client()
            english = unescape(visitor.get("/help/bulk-pickup").get_data(as_text=True))
            assert "Bulky items go out on the second Monday." in english
            assert 'Say "bulk" \\ call 311.' in english
            assert "first Monday" not in english
            spanish = visitor.get("/help/bulk-pickup?lang=es").get_data(as_text=True)
            assert "Los objetos grandes salen el segundo lunes." in unescape(spanish)
            assert "¿Cuándo es la recogida de objetos grandes?" in unescape(spanish)
            assert visitor.get("/help/recycling-day").status_code == 404  # switched off
            assert visitor.get("/help/tree-on-private-land").status_code == 200
        finally:
            other.extensions["portal.db"].dispose()
