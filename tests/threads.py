"""Running jobs at the same moment, as several workers or web processes would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run every job in its own thread, all released at once; results in job order, and
    whatever the jobs raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results, errors
