"""The shared core: settings, database, clock, outbox, worker, audit entry, keyset paging.

It imports no feature package and no web framework (``make lint`` checks this).
"""
