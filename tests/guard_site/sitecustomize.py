"""Python child processes of the tests (``flask worker``, ``flask mail-in serve``...) find this
folder on their ``PYTHONPATH`` (tests/network_guard.py puts it there) and so start with the
network guard installed, writing refused attempts to the session's log."""

from __future__ import annotations

import importlib.util
import os
import sys

import portal_network_guard

if os.environ.get(portal_network_guard.LOG_VARIABLE):
    portal_network_guard.install()

# Any other sitecustomize (a distribution's) still runs: this one only shadowed it.
_here = os.path.dirname(os.path.abspath(__file__))
for _folder in sys.path:
    _candidate = os.path.join(_folder or ".", "sitecustomize.py")
    if os.path.abspath(_folder or ".") != _here and os.path.isfile(_candidate):
        _spec = importlib.util.spec_from_file_location("_sitecustomize_shadowed", _candidate)
        if _spec is not None and _spec.loader is not None:
            _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
        break
