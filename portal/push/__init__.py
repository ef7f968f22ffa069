"""Web Push (issue 21): residents' devices subscribed to notifications, the messages queued for
them in the outbox (channel "push") and the sender the worker delivers them with.

A subscription belongs to a signed-in resident (``user_id``: news of their requests, follows
and programme places) or, for someone not signed in, follows one public request
(``request_id``). The browser's endpoint is the subscription's identity: subscribing the same
device again updates its row.
"""
