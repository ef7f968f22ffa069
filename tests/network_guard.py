"""The whole test suite runs with no way off the machine (issue 22: "never phones home").

From the start of the session every Python-level attempt to reach a host other than this one
(a connection, a UDP datagram, a DNS lookup) is refused with ``NetworkBlocked`` naming the test
and the destination (tests/guard_site/portal_network_guard.py has the rules: loopback, Unix
sockets and the machine's own names are allowed). Python child processes the tests start
inherit ``PYTHONPATH=tests/guard_site:...`` and the session's log file, so they are guarded
and counted too. At the end of the session the refused attempts of every process are listed
and any at all fail the run, even ones a library caught and shrugged off.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

GUARD_SITE = Path(__file__).resolve().parent / "guard_site"


def _load_guard():
    """The guard module under its one name (an xdist worker, a child of this session, has it
    from sitecustomize already: the plugin and sitecustomize share one hook and one tally)."""
    module = sys.modules.get("portal_network_guard")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "portal_network_guard", GUARD_SITE / "portal_network_guard.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["portal_network_guard"] = module
        spec.loader.exec_module(module)
    return module


guard = _load_guard()
_SESSION: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller's log
        guard.install(os.environ.get(guard.LOG_VARIABLE))
        return
    descriptor, log_path = tempfile.mkstemp(prefix="portal-network-guard-", suffix=".log")
    os.close(descriptor)
    _SESSION.update(
        log=log_path,
        saved={name: os.environ.get(name) for name in (guard.LOG_VARIABLE, "PYTHONPATH")},
    )
    os.environ[guard.LOG_VARIABLE] = log_path
    paths = [str(GUARD_SITE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    guard.install(log_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log_path = _SESSION.get("log")
    if not isinstance(log_path, str):
        return
    blocked = guard.logged(log_path)
    _SESSION["blocked"] = blocked
    if blocked and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    blocked = _SESSION.get("blocked")
    if not isinstance(blocked, list):
        return
    if not blocked:
        terminalreporter.write_line(
            "network guard: 0 attempts to reach another machine (loopback excepted)"
        )
        return
    terminalreporter.section("network guard", sep="=", red=True, bold=True)
    terminalreporter.write_line(
        f"{len(blocked)} attempt(s) to reach another machine were refused; the run fails:",
        red=True,
    )
    for line in blocked[:50]:
        pid, test, event, destination = (line.split("\t") + ["", "", "", ""])[:4]
        terminalreporter.write_line(f"  {test}: {destination} ({event}, process {pid})")
    if len(blocked) > 50:
        terminalreporter.write_line(f"  ... and {len(blocked) - 50} more")


def pytest_unconfigure(config: pytest.Config) -> None:
    log_path = _SESSION.pop("log", None)
    if not isinstance(log_path, str):
        return
    Path(log_path).unlink(missing_ok=True)
    saved = _SESSION.pop("saved", {})
    assert isinstance(saved, dict)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def network_guard():
    """The guard module (its ``attempts``, ``expect_blocked``, ``NetworkBlocked``)."""
    return guard
