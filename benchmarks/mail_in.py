"""Email in figures: messages processed per second through SMTP to the running receiver, and
the time from delivery to the comment being on the case.

Files C cases (default 300, each with its resident's email) on a scratch database, starts the
receiver (``portal.mail_in.server.start_receiver``, as ``flask mail-in serve``) on a free
loopback port, and delivers N messages (default 2,000) from T client threads (default 4), each
over one SMTP connection: two in three are replies to a case's token address from its
resident (each becomes a public comment, the quote stripped), one in three new mails to the
intake address from a new sender (each becomes a request, with a confirmation in the outbox).

The receiver stores and commits each message, processes it (its own transaction) and only then
answers 250: so the time of one SMTP transaction (MAIL FROM to the 250 after DATA) is the time
from delivery to the comment being committed on its case. Afterwards every reply's comment and
every new request is counted, and nothing must be missing (a message whose processing failed,
e.g. two replies to one case at the same moment, is retried as the worker's job would).

    .venv/bin/python benchmarks/mail_in.py [--messages 2000] [--cases 300] [--threads 4]
        [--database-url URL]

Without --database-url a throw-away SQLite file is used. Prints figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import random
import smtplib
import socket
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta

from common import add_city, percentile, scratch_url  # benchmarks/common.py
from sqlalchemy import func, select

from portal import create_app
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.replies import reply_address
from portal.mail_in.models import InboundMail
from portal.mail_in.retry import process_due
from portal.mail_in.server import start_receiver
from portal.requests.models import Event, ServiceRequest
from portal.requests.service import Filing, submit_request

LAT0, LON0, SPAN = 41.0, -87.0, 0.09
DOMAIN = "bench.example"
INTAKE = f"311@{DOMAIN}"

REPLY = """From: Resident {n} <resident{case}@example.org>
To: {to}
Subject: Re: Update on your request {reference}
Message-ID: <bench-reply-{n}@example.org>
Date: Mon, 07 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

It is still there, number {n}.

On Mon, Dec 7, 2026 at 9:00 AM Bench City <no-reply@{domain}> wrote:
> We are looking at it.
> Thank you.
"""

NEW = """From: Vecino {n} <vecino{n}@example.org>
To: {to}
Subject: Bache en la calle {n}
Message-ID: <bench-new-{n}@example.org>
Date: Mon, 07 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hay un bache grande frente al número {n} de Main Street.
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(db: Database, settings: Settings, cases: int) -> list[tuple[int, str]]:
    """The city, an intake category ("general") and ``cases`` requests, each with its
    resident's email; (id, reference) of each."""
    session = db.session(write=True)
    dept = Department(code="streets", name="Streets")
    group = ServiceGroup(code="streets", name="Streets")
    session.add_all([dept, group])
    session.flush()
    session.add(
        ServiceCategory(code="general", name="General", group_id=group.id, department_id=dept.id)
    )
    add_city(session, LAT0, LON0, SPAN)
    session.commit()
    filed = []
    for n in range(cases):
        filing = Filing(
            category_code="general",
            description=f"Pothole {n}",
            lat=LAT0 + (n % 50) * 0.001,
            lon=LON0 + (n // 50) * 0.001,
            contact_email=f"resident{n}@example.org",
        )
        request = submit_request(session, settings=settings, filing=filing).request
        filed.append((request.id, request.reference))
    session.commit()
    session.close()
    return filed


def messages(
    settings: Settings, cases: list[tuple[int, str]], count: int, rng: random.Random
) -> list[tuple[str, str, str, bytes]]:
    """(kind, sender, recipient, raw) for each message: two in three replies."""
    out = []
    for n in range(count):
        if n % 3 == 2:
            raw = NEW.format(n=n, to=INTAKE)
            out.append(("new", f"vecino{n}@example.org", INTAKE, raw))
            continue
        case = rng.randrange(len(cases))
        request_id, reference = cases[case]
        to = reply_address(settings.secret_key, DOMAIN, request_id=request_id, user_id=0, role="r")
        raw = REPLY.format(n=n, case=case, to=to, reference=reference, domain=DOMAIN)
        out.append(("reply", f"resident{case}@example.org", to, raw))
    return [(k, s, t, r.replace("\n", "\r\n").encode()) for k, s, t, r in out]


def deliver(
    port: int, batch: list[tuple[str, str, str, bytes]], times: list[tuple[str, float]]
) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for kind, sender, to, raw in batch:
            started = time.perf_counter()
            client.sendmail(sender, [to], raw)
            times.append((kind, time.perf_counter() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    settings = Settings(
        env="test",
        secret_key="b" * 40,
        database_url=scratch_url(scratch, args.database_url),
        upload_dir=scratch.name,
        mail_dir=scratch.name,
        ratelimit_enabled=False,
        mail_domain=DOMAIN,
        mail_intake=INTAKE,
    )
    app = create_app(settings)
    db: Database = app.extensions["portal.db"]
    print(f"engine: {db.dialect}")
    rng = random.Random(19)
    started = time.perf_counter()
    cases = setup(db, settings, args.cases)
    print(f"setup: {len(cases)} cases in {time.perf_counter() - started:.1f}s")
    batch = messages(settings, cases, args.messages, rng)
    kinds = Counter(kind for kind, *_ in batch)

    port = _free_port()
    controller = start_receiver(db, settings, host="127.0.0.1", port=port)
    per_thread: list[list[tuple[str, float]]] = [[] for _ in range(args.threads)]
    threads = [
        threading.Thread(target=deliver, args=(port, batch[i :: args.threads], per_thread[i]))
        for i in range(args.threads)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    controller.stop()

    times = [t for found in per_thread for t in found]
    print(
        f"delivered {len(times)} messages ({kinds['reply']} replies, {kinds['new']} new) "
        f"over SMTP from {args.threads} clients in {elapsed:.1f}s: "
        f"{len(times) / elapsed:.1f} messages processed/s"
    )
    for kind in ("reply", "new"):
        seconds = [t * 1000 for k, t in times if k == kind]
        if seconds:
            print(
                f"  {kind:5} delivery to committed on the case: p50 {percentile(seconds, 50):.0f} "
                f"ms, p95 {percentile(seconds, 95):.0f} ms, max {max(seconds):.0f} ms"
            )

    with db.transaction(write=False) as session:
        failed = session.scalar(
            select(func.count()).select_from(InboundMail).where(InboundMail.state == "failed")
        )
    if failed:
        # A message whose processing failed (e.g. two replies to one case at once: the case's
        # version check) is kept and retried by the worker's job; run it as the worker would.
        retried = process_due(db, settings, clock.now() + timedelta(minutes=2))
        print(f"failed at the first attempt: {failed}; the worker's retry processed {retried}")
    with db.transaction(write=False) as session:
        outcomes = Counter(
            dict(
                session.execute(
                    select(InboundMail.outcome, func.count()).group_by(InboundMail.outcome)
                ).all()
            )
        )
        comments = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "comment")
        )
        requests = session.scalar(select(func.count()).select_from(ServiceRequest))
    print(f"outcomes: {dict(outcomes)}")
    print(f"comments on cases: {comments}; requests: {requests} ({len(cases)} filed before)")
    missing = kinds["reply"] - (comments or 0), kinds["new"] - ((requests or 0) - len(cases))
    if any(missing):
        raise SystemExit(f"missing: {missing[0]} comments, {missing[1]} requests")
    db.dispose()
    scratch.cleanup()


if __name__ == "__main__":
    main()
