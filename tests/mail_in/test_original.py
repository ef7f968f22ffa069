"""Staff open the original of an email from the case's timeline: headers and full text,
escaped; others get a 404."""

from __future__ import annotations

from tests.conftest import sign_in
from tests.mail_in.conftest import message


def test_the_timeline_links_to_the_original_which_is_escaped(
    app, receiver, make, db, client, token_address
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    agent = make.staff(sr.category.department)
    other = make.staff(make.department(code="parks", name="Parks"))
    db.commit()
    raw = message(
        to=token_address(sr.id),
        subject="<script>alert(1)</script>",
        body="Still there <b>bold</b>.\n\n> quoted history\n",
        headers={"X-Mailer": "Phone <Mail>"},
    )
    mail = receiver.send(raw, to=[token_address(sr.id)])
    sign_in(client, agent)
    case = client.get(f"/staff/cases/{sr.reference}").get_data(as_text=True)
    assert f'href="/staff/emails/{mail.id}"' in case
    page = client.get(f"/staff/emails/{mail.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "X-Mailer: Phone &lt;Mail&gt;" in html
    assert "&gt; quoted history" in html  # the full text, quotes and all
    stranger = app.test_client()
    sign_in(stranger, other)
    assert stranger.get(f"/staff/emails/{mail.id}").status_code == 404
    assert client.get("/staff/emails/999999").status_code == 404


def test_the_original_lists_its_attachments_and_downloads_as_it_arrived(
    receiver, make, db, client, token_address
):
    from email.message import EmailMessage

    sr = make.request(contact_email="ana@example.org", status="in_progress")
    agent = make.staff(sr.category.department)
    db.commit()
    msg = EmailMessage()
    msg["From"] = "Ana <ana@example.org>"
    msg["To"] = token_address(sr.id)
    msg["Subject"] = "The form you asked for"
    msg["Message-ID"] = "<att1@example.org>"
    msg.set_content("Here it is.")
    msg.add_attachment(b"%PDF-1.4 a form" * 100, maintype="application", subtype="pdf",
                       filename="form <1>.pdf")  # fmt: skip
    raw = msg.as_bytes()
    mail = receiver.send(raw.decode(), to=[token_address(sr.id)])
    sign_in(client, agent)
    html = client.get(f"/staff/emails/{mail.id}").get_data(as_text=True)
    assert "form &lt;1&gt;.pdf" in html and "application/pdf" in html
    assert f'href="/staff/emails/{mail.id}/original.eml"' in html
    download = client.get(f"/staff/emails/{mail.id}/original.eml")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert b"The form you asked for" in download.get_data()
    assert download.get_data() == db.get(type(mail), mail.id).raw_bytes()
