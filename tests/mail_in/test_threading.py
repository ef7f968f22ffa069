"""Replies delivered over SMTP to the running receiver land on their case: by token, by
threading headers, by the subject's reference (reporter or follower only); from the reporter,
a staff member or anyone else; on a closed or merged case."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.casework import service as casework
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.requests import updates
from portal.requests.models import Event, Follower, ServiceRequest
from portal.requests.service import Filing, submit_request
from portal.sla.models import SlaClock, SlaPolicy
from tests.factories import INSIDE
from tests.mail_in.conftest import message


def _events(db, sr, kind=None):
    db.expire_all()
    query = select(Event).where(Event.request_id == sr.id).order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.scalars(query))


def _count_requests(db) -> int:
    return db.scalar(select(func.count()).select_from(ServiceRequest))


def test_a_reporters_reply_by_token_is_a_public_comment_without_the_quote(
    receiver, make, db, token_address
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.commit()
    before = _count_requests(db)
    raw = message(
        to=token_address(sr.id),
        subject=f"Re: Update on your request {sr.reference}",
        body="It is still there, and bigger.\n\nOn Mon, City wrote:\n> Any news?\n",
    )
    mail = receiver.send(raw, to=[token_address(sr.id)])
    assert mail.outcome == "comment" and mail.state == "processed"
    assert mail.request_id == sr.id
    comment = _events(db, sr, "comment")[-1]
    assert comment.public and comment.actor_kind == "resident"
    assert comment.body == "It is still there, and bigger."
    assert comment.data["mail_id"] == mail.id
    assert _count_requests(db) == before


def test_an_answer_to_a_staff_question_resumes_the_paused_clocks(
    receiver, make, db, token_address, mail_settings
):
    make.area()
    category = make.category(code="pothole")
    agent = make.staff(category.department)
    db.add(SlaPolicy(name="Default", resolution_amount=40))
    db.flush()
    filing = Filing(
        category_code="pothole",
        description="Pothole",
        lat=INSIDE[0],
        lon=INSIDE[1],
        contact_email="ana@example.org",
    )
    sr = submit_request(db, settings=mail_settings, filing=filing).request
    updates.ask_resident(db, settings=mail_settings, request=sr, question="How deep?", actor=agent)
    clocks = list(db.scalars(select(SlaClock).where(SlaClock.request_id == sr.id)))
    assert clocks and all(c.stage == "paused" for c in clocks if c.kind == "resolution")
    db.commit()
    mail = receiver.send(
        message(to=token_address(sr.id), body="About a foot deep.\n\nSent from my iPhone"),
        to=[token_address(sr.id)],
    )
    assert mail.outcome == "answer"
    db.expire_all()
    assert db.get(ServiceRequest, sr.id).status == "in_progress"
    assert _events(db, sr, "answer")[-1].body == "About a foot deep."
    resolution = [c for c in db.scalars(select(SlaClock).where(SlaClock.request_id == sr.id))]
    assert all(c.stage != "paused" for c in resolution if c.kind == "resolution")


def test_headers_thread_when_the_token_is_mangled(receiver, make, db, mail_settings):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.add(
        OutboxMessage(
            kind="request_update",
            to_address="ana@example.org",
            subject="s",
            body_text="t",
            body_html="h",
            message_id=f"<{sr.reference.lower()}.abc123@riverton.example>",
            thread_ref=sr.reference,
        )
    )
    db.commit()
    mangled = "reply+abcdefghijk@riverton.example"  # cut short by a mail client
    raw = message(
        to=mangled,
        body="Thanks!",
        headers={
            "In-Reply-To": f"<{sr.reference.lower()}.abc123@riverton.example>",
            "References": f"<{sr.reference.lower()}@riverton.example>",
        },
    )
    mail = receiver.send(raw, to=[mangled])
    assert (mail.outcome, mail.request_id) == ("comment", sr.id)


def test_the_case_root_in_references_threads(receiver, make, db):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.commit()
    raw = message(
        to="someone@riverton.example",
        body="More details.",
        headers={"References": f"<x@example.org> <{sr.reference.lower()}@riverton.example>"},
    )
    mail = receiver.send(raw, to=["someone@riverton.example"])
    assert (mail.outcome, mail.request_id) == ("comment", sr.id)


def test_a_subject_reference_threads_only_for_the_reporter_or_a_follower(receiver, make, db):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.add(
        Follower(request_id=sr.id, email="bo@example.org", token="t" * 40, confirmed_at=clock.now())
    )
    db.commit()
    city = "city@riverton.example"
    raw = message(
        to=city, subject=f"About {sr.reference}", body="Still broken.", message_id="<s1@x>"
    )
    assert receiver.send(raw, to=["city@riverton.example"]).outcome == "comment"
    raw = message(
        sender="bo@example.org",
        to=city,
        subject=f"About {sr.reference}",
        body="Me too.",
        message_id="<s2@x>",
    )
    follower = receiver.send(raw, to=["city@riverton.example"])
    assert (follower.outcome, follower.request_id) == ("review_note", sr.id)
    raw = message(
        sender="eve@example.org",
        to=city,
        subject=f"About {sr.reference}",
        body="Hi",
        message_id="<s3@x>",
    )
    stranger = receiver.send(raw, to=["city@riverton.example"])
    assert (stranger.outcome, stranger.request_id) == ("unmatched", None)


def test_staff_answer_by_their_token_as_a_public_reply_or_an_internal_note(
    receiver, make, db, token_address
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    agent = make.staff(sr.category.department, email="agent@riverton-city.example")
    db.commit()
    public = token_address(sr.id, user_id=agent.id, role="p")
    raw = message(sender=agent.email, to=public, body="We will fix it Monday.", message_id="<p@x>")
    assert receiver.send(raw, to=[public]).outcome == "staff_reply"
    reply = _events(db, sr, "comment")[-1]
    assert reply.actor_id == agent.id and reply.actor_kind == "staff" and reply.public
    internal = token_address(sr.id, user_id=agent.id, role="i")
    raw = message(sender=agent.email, to=internal, body="Crew booked.", message_id="<i@x>")
    assert receiver.send(raw, to=[internal]).outcome == "internal_note"
    note = _events(db, sr, "internal_note")[-1]
    assert note.body == "Crew booked." and not note.public and note.actor_id == agent.id
    # Someone else answering with the staff member's token: a note for review, never public.
    raw = message(sender="eve@example.org", to=public, body="Ha", message_id="<e@x>")
    assert receiver.send(raw, to=[public]).outcome == "review_note"
    review = _events(db, sr, "internal_note")[-1]
    assert review.data["action"] == "email_review" and not review.public


def test_a_forged_token_lands_nowhere(receiver, make, db, token_address):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.commit()
    real = token_address(sr.id)
    forged = real.replace("reply+", "reply+").split("@")[0][:-3] + "aaa@riverton.example"
    mail = receiver.send(message(to=forged, body="Hi"), to=[forged])
    assert (mail.outcome, mail.request_id) == ("forged_token", None)
    assert _events(db, sr, "comment") == []


def test_a_reply_to_an_unknown_case(receiver, db, token_address):
    ghost = token_address(999_999)
    mail = receiver.send(message(to=ghost, body="Hello?"), to=[ghost])
    assert (mail.outcome, mail.request_id) == ("unknown_case", None)


def test_a_closed_case_reopens_within_the_period_else_it_is_noted(
    receiver, make, db, token_address, freeze_clock
):
    now = clock.now()
    recent = make.request(
        contact_email="ana@example.org", status="resolved", resolved_at=now - timedelta(days=2)
    )
    old = make.request(
        contact_email="ana@example.org",
        status="closed",
        resolved_at=now - timedelta(days=90),
        status_changed_at=now - timedelta(days=90),
    )
    db.commit()
    raw = message(to=token_address(recent.id), body="Not fixed at all.", message_id="<r1@x>")
    assert receiver.send(raw, to=[token_address(recent.id)]).outcome == "reopened"
    db.expire_all()
    assert db.get(ServiceRequest, recent.id).status == "in_progress"
    raw = message(to=token_address(old.id), body="It is back.", message_id="<r2@x>")
    assert receiver.send(raw, to=[token_address(old.id)]).outcome == "closed_note"
    db.expire_all()
    assert db.get(ServiceRequest, old.id).status == "closed"
    note = _events(db, old, "internal_note")[-1]
    assert note.body == "It is back." and note.data["action"] == "email_closed"


def test_a_reply_to_a_merged_case_lands_on_the_surviving_case(
    receiver, make, db, token_address, mail_settings
):
    kept = make.request(contact_email="bo@example.org", status="in_progress")
    duplicate = make.request(contact_email="ana@example.org", status="new")
    agent = make.staff(kept.category.department)
    from portal.casework.merging import merge_duplicate

    merge_duplicate(db, settings=mail_settings, request=duplicate, into=kept, actor=agent)
    db.commit()
    raw = message(to=token_address(duplicate.id), body="Any news?")
    mail = receiver.send(raw, to=[token_address(duplicate.id)])
    assert mail.request_id == kept.id
    # Ana is not the kept case's reporter: staff see it as a note to review (she follows it).
    assert mail.outcome == "review_note"
    assert _events(db, kept, "internal_note")[-1].body == "Any news?"


def test_a_staff_question_can_be_answered_twice_but_a_message_is_taken_once(
    receiver, make, db, token_address, mail_settings
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    agent = make.staff(sr.category.department)
    casework.ask_question(
        db, settings=mail_settings, request=sr, question="Where?", actor=agent, version=sr.version
    )
    db.commit()
    raw = message(to=token_address(sr.id), body="At the corner.", message_id="<twice@x>")
    first = receiver.send(raw, to=[token_address(sr.id)])
    again = receiver.send(raw, to=[token_address(sr.id)])  # the same bytes: stored once
    assert first.id == again.id and first.outcome == "answer"
    # The same message by another route (other trace headers): stored, but a duplicate.
    other = receiver.send("Received: from relay2\r\n" + raw, to=[token_address(sr.id)])
    assert other.id != first.id and (other.outcome, other.request_id) == ("duplicate", sr.id)
    assert len(_events(db, sr, "answer")) == 1
