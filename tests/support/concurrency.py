"""Work started in several threads at the same moment, to meet races head on."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_together(workers: int, work: Any) -> list[Any]:
    """Call work(i) in `workers` threads released at the same moment; results or exceptions."""
    barrier = threading.Barrier(workers)

    def attempt(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(attempt, range(workers)))
