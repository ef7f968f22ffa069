"""Operations: the worker's heartbeat and the figures operators watch (outbox backlog, SLA
sweep lag), read at scrape time by ``/metrics`` and ``/healthz``.

Domain modules (``models``, ``status``) take ``session`` and ``now`` and import no Flask;
``views`` is the ``/metrics`` endpoint.
"""
