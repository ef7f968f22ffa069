"""Email in (issue 19): every way a message reaches the portal (the SMTP/LMTP receiver, the
IMAP poller) stores the raw message first (``receive.accept``), then one processor
(``process.process``) threads it to its case, or files a new request from the intake address,
and refuses loops, floods and what is too big or dangerous.

Domain package (no Flask): ``models``, ``receive``, ``process`` and its helpers take
``session``, ``settings`` and ``now``; ``cli`` is the command-line layer (``flask mail-in``)
and ``views`` the staff page showing an original message. A channel: it parses and threads,
and ends in ``submit_request()`` or the case's conversation functions, never its own case logic.
"""
