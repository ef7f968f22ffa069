"""portal.mail_in.body: the sender's new text and the attachments of an email (issue 19)."""

from __future__ import annotations

import base64
import email
import email.policy
import random

import pytest

from portal.mail_in.body import attachments, html_to_text, reply_body, strip_reply

pytestmark = pytest.mark.pure


def parse(raw: bytes | str) -> email.message.EmailMessage:
    data = raw.encode() if isinstance(raw, str) else raw
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


# --- plain-text replies --------------------------------------------------------------------------

STRIPPED = {
    "gmail top-posted, attribution wrapped": (
        "Yes, it is still there.\n\nOn Mon, Dec 7, 2026 at 10:00 AM City of Springfield <\n"
        "reply+abc@city.example> wrote:\n\n> Is the pothole still there?\n>\n> Thanks\n",
        "Yes, it is still there.",
    ),
    "gmail spanish": (
        "Sí, sigue ahí.\n\nEl lun, 7 dic 2026 a las 10:00, Ciudad (<reply+abc@city.example>)\n"
        "escribió:\n> ¿Sigue el bache?\n",
        "Sí, sigue ahí.",
    ),
    "apple mail": (
        "It's on the corner.\n\n> On Dec 7, 2026, at 10:00, City <x@city.example> wrote:\n"
        ">\n> Where?\n",
        "It's on the corner.",
    ),
    "apple mail spanish": (
        "En la esquina.\n\nEnviado desde mi iPhone\n\n> El 7 dic 2026, a las 10:00, Ciudad "
        "<x@city.example> escribió:\n>\n> ¿Dónde?\n",
        "En la esquina.",
    ),
    "inline answers keep the sender's lines": (
        "On 12/7/26 10:00 AM, City wrote:\n> Is it on Main St?\nYes, near 5th.\n> Since when?\n"
        "Two weeks.\n\n-- \nAna Ruiz\n555-1234\n",
        "Yes, near 5th.\nTwo weeks.",
    ),
    "outlook mobile with underscores": (
        "It's fixed thanks\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
        "________________________________\nFrom: City <x@y>\nSent: Monday\nTo: Ana\n"
        "Subject: RE: SR\n\nquoted here\n",
        "It's fixed thanks",
    ),
    "outlook spanish header block": (
        "Ya está.\n\nObtener Outlook para Android\n\nDe: Ciudad <x@y>\nEnviado: lunes\nPara: Ana\n"
        "Asunto: SR\n\ntexto citado\n",
        "Ya está.",
    ),
    "outlook desktop original message": (
        "ok will do\r\n\r\n-----Original Message-----\r\nFrom: a\r\nSent: b\r\n\r\nold text",
        "ok will do",
    ),
    "outlook bold header block": (
        "Photo attached.\n\n*From:* City <x@y>\n*Sent:* Monday, December 7, 2026 10:00 AM\n"
        "*To:* Ana\n*Subject:* SR-2026-000001\n\nold text\n",
        "Photo attached.",
    ),
    "yahoo": (
        "The light is still out.\n\nSent from Yahoo Mail for iPhone\n\nOn Monday, December 7, "
        "2026, 10:00 AM, City <x@y> wrote:\n\nold text\n",
        "The light is still out.",
    ),
    "samsung": (
        "Thank you!\n\nSent from my Galaxy\n\n\n-------- Original message --------\n"
        "From: City <x@y>\nDate: 12/7/26 10:00 (GMT-05:00)\nTo: ana@example.org\n"
        "Subject: SR\n\nold\n",
        "Thank you!",
    ),
    "sign-off and name end the message": (
        "Details:\n- the hole is 30 cm\n- near the school\n\nThanks,\nAna\n",
        "Details:\n- the hole is 30 cm\n- near the school",
    ),
    "a sentence starting with Thanks is kept": (
        "Hi,\nThanks, the crew came but the hole is still there.\nPlease send them again.\n"
        "1\n2\n3\n4\n5\n6\n",
        "Hi,\nThanks, the crew came but the hole is still there.\nPlease send them again.\n"
        "1\n2\n3\n4\n5\n6",
    ),
    "forwarded message is kept": (
        "See below from my neighbour.\n\n---------- Forwarded message ---------\nFrom: Bob <b@x>\n"
        "Date: Mon\nSubject: tree\nTo: Ana\n\nThe tree fell on the road.\n",
        "See below from my neighbour.\n\n---------- Forwarded message ---------\nFrom: Bob <b@x>\n"
        "Date: Mon\nSubject: tree\nTo: Ana\n\nThe tree fell on the road.",
    ),
    "no quote at all": ("Just one line", "Just one line"),
    "only a quote": ("On Mon, Dec 7, 2026, City wrote:\n> question\n", ""),
}


@pytest.mark.parametrize("name", list(STRIPPED))
def test_strip_reply(name):
    text, expected = STRIPPED[name]
    assert strip_reply(text) == expected


def test_plain_reply_keeps_full_text():
    msg = parse(
        "From: ana@example.org\nSubject: Re: x\nContent-Type: text/plain; charset=utf-8\n\n"
        "Yes.\n\nOn Mon, Dec 7, 2026 at 10:00 AM City <x@y> wrote:\n> Still there?\n"
    )
    body = reply_body(msg)
    assert body.text == "Yes."
    assert "> Still there?" in body.full_text and not body.html_only


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "cte"),
    [
        ("iso-8859-1", "quoted-printable"),
        ("windows-1252", "8bit"),
        ("utf-8", "base64"),
        ("iso-2022-jp", "7bit"),
        ("shift_jis", "base64"),
    ],
)
def test_charsets_and_transfer_encodings(charset, cte):
    words = "日本語のテキスト" if charset in ("iso-2022-jp", "shift_jis") else "Señora, ¿está?"
    msg = email.message.EmailMessage()
    msg["From"] = "ana@example.org"
    msg.set_content(words + "\n", charset=charset, cte=cte)
    assert reply_body(parse(msg.as_bytes())).text == words


def test_smart_quotes_labelled_latin1_are_windows_1252():
    raw = b"Content-Type: text/plain; charset=iso-8859-1\n\nIt\x92s \x93fixed\x94\n"
    assert reply_body(parse(raw)).text == "It\u2019s \u201cfixed\u201d"


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: text/plain; charset=x-unknown\n\ncaf\xc3\xa9 ok\n",
        b'Content-Type: text/plain; charset="utf-8"\n\ncaf\xe9 latin1 in utf-8\n',
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b"SGVsbG8gd29ybGQ=!!!not*base64\n",
        b"Content-Transfer-Encoding: quoted-printable\n\nbroken =ZZ qp =\n",
        b"Subject: no content type\n\nplain body\n",
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"Content-Type: multipart/alternative\n\nno boundary at all\n",
        b"Content-Type: text/html; charset=utf-8\n\n<p>unclosed <b>tags <div><blockquote>q",
    ],
)
def test_bad_input_never_raises(raw):
    body = reply_body(parse(raw))
    assert isinstance(body.text, str) and isinstance(body.full_text, str)
    assert isinstance(attachments(parse(raw)), list)


def test_unknown_charset_falls_back_to_utf8():
    raw = b"Content-Type: text/plain; charset=x-unknown\n\ncaf\xc3\xa9 ok\n"
    assert reply_body(parse(raw)).text == "café ok"


def test_random_bytes_never_raise():
    rng = random.Random(19)
    base = (
        b"From: a@b\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode("Hola señor".encode())
        + b"\n--XX\nContent-Type: image/png\n\n\x89PNG\n--XX--\n"
    )
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        msg = parse(bytes(data))
        reply_body(msg)
        attachments(msg)


def test_wrong_boundary_is_recovered():
    raw = (
        b'Content-Type: multipart/mixed; boundary="declared"\n\n'
        b"--actual\nContent-Type: text/plain; charset=utf-8\n\nThe body.\n"
        b"--actual\nContent-Type: image/png; name=a.png\nContent-Disposition: attachment; "
        b"filename=a.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--actual--\n"
    )
    msg = parse(raw)
    assert reply_body(msg).text == "The body."
    [found] = attachments(msg)
    assert (found.filename, found.data) == ("a.png", b"\x89PNG\r\n\x1a\n")


# --- HTML ----------------------------------------------------------------------------------------

HTML = {
    "gmail": (
        '<div dir="ltr">Yes, <b>still</b> there.<div><br></div></div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, Dec 7, 2026 at 10:00 AM City &lt;x@y&gt; wrote:'
        '<br></div><blockquote class="gmail_quote" style="margin:0px">Is it there?</blockquote>'
        "</div>",
        "Yes, still there.",
    ),
    "outlook web": (
        '<div dir="ltr"><div style="font-family:Calibri">Fixed now.</div><div id="appendonsend">'
        '</div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
        'dir="ltr"><b>From:</b> City<br><b>Sent:</b> Monday</div><div>Is it fixed?</div></div>',
        "Fixed now.",
    ),
    "outlook desktop": (
        "<html><head><style>p.MsoNormal{margin:0}</style></head><body><div class=WordSection1>"
        "<p class=MsoNormal>Thank you, it&#8217;s fine.<o:p></o:p></p><p class=MsoNormal>"
        "<o:p>&nbsp;</o:p></p><div style='border:none;border-top:solid #E1E1E1 1.0pt'>"
        "<p class=MsoNormal><b>From:</b> City &lt;x@y&gt; <br><b>Sent:</b> Monday, December 7, "
        "2026 10:00 AM<br><b>To:</b> Ana<br><b>Subject:</b> SR</p></div><p>Is it fine?</p>"
        "</div></body></html>",
        "Thank you, it\u2019s fine.",
    ),
    "apple inline": (
        '<html><body>Answers below.<br><blockquote type="cite">Where is it?</blockquote>'
        '<div>Main Street.</div><blockquote type="cite">How big?</blockquote>Big.</body></html>',
        "Answers below.\n\nMain Street.\nBig.",
    ),
    "thunderbird": (
        '<p>Done.</p><div class="moz-cite-prefix">On 12/7/26 10:00, City wrote:<br></div>'
        '<blockquote type="cite" cite="mid:x">question</blockquote>',
        "Done.",
    ),
    "yahoo": (
        '<div class="yahoo-style-wrap"><div>Still broken.</div></div><div id="yahoo_quoted_1" '
        'class="yahoo_quoted"><div>On Monday, City wrote:</div><div>old</div></div>',
        "Still broken.",
    ),
}


@pytest.mark.parametrize("name", list(HTML))
def test_html_only_replies(name):
    html, expected = HTML[name]
    msg = email.message.EmailMessage()
    msg.set_content(html, subtype="html")
    body = reply_body(parse(msg.as_bytes()))
    assert body.html_only
    assert body.text == expected


def test_html_full_text_keeps_the_quote_and_drops_style():
    text = html_to_text("<style>p{x:y}</style><p>A &amp; B</p><blockquote>quoted</blockquote>")
    assert text.split() == ["A", "&", "B", "quoted"]


def test_text_plain_is_preferred_over_html():
    msg = email.message.EmailMessage()
    msg.set_content("plain version\n")
    msg.add_alternative("<p>html version</p>", subtype="html")
    body = reply_body(parse(msg.as_bytes()))
    assert (body.text, body.html_only) == ("plain version", False)


# --- attachments ---------------------------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def test_attachments_and_inline_images():
    msg = email.message.EmailMessage()
    msg.set_content("See photo\n")
    msg.add_alternative('<p>See photo <img src="cid:img1"></p>', subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(PNG, "image", "png", cid="<img1>")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="plan.pdf")
    found = attachments(parse(msg.as_bytes()))
    assert [(a.content_type, a.inline, a.data[:4]) for a in found] == [
        ("image/png", True, PNG[:4]),
        ("application/pdf", False, b"%PDF"),
    ]
    assert found[0].filename == "attachment-1.png" and found[1].filename == "plan.pdf"


def test_attached_message_is_one_attachment_and_not_the_body():
    inner = email.message.EmailMessage()
    inner["Subject"] = "old"
    inner.set_content("inner body\n")
    msg = email.message.EmailMessage()
    msg.set_content("outer body\n")
    msg.add_attachment(inner)
    parsed = parse(msg.as_bytes())
    assert reply_body(parsed).text == "outer body"
    [found] = attachments(parsed)
    assert found.content_type == "message/rfc822" and b"inner body" in found.data


def test_delivery_report_parts_are_not_attachments():
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nDelivery failed.\n--B\n"
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nFinal-Recipient: "
        b"rfc822; a@b\nAction: failed\nStatus: 5.1.1\n--B\nContent-Type: text/rfc822-headers\n\n"
        b"Subject: x\n--B--\n"
    )
    msg = parse(raw)
    assert reply_body(msg).text == "Delivery failed."
    assert attachments(msg) == []


def test_format_flowed_lines_are_joined():
    raw = (
        b"Content-Type: text/plain; charset=utf-8; format=flowed\n\n"
        b"A cyclist nearly fell in it \nyesterday.\n\n-- \nHannah\n"
    )
    assert reply_body(parse(raw)).text == "A cyclist nearly fell in it yesterday."


def test_text_around_an_inline_photo_is_one_body():
    msg = email.message.EmailMessage()
    msg.set_content("Before the photo.\n")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="a.png", disposition="inline")
    msg.add_attachment("After the photo.\n\nSent from my iPhone\n", disposition="inline")
    parsed = parse(msg.as_bytes())
    assert reply_body(parsed).text == "Before the photo.\n\nAfter the photo."
    assert [a.filename for a in attachments(parsed)] == ["a.png"]
