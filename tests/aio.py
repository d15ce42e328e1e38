"""Running a coroutine from a test, whatever the test thread already runs.

Playwright's sync API (the browser tests) leaves an event loop running in the thread of
the xdist worker that ran them, and ``asyncio.run`` refuses to start inside a running
loop; so the coroutine gets a fresh loop on a thread of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_in_own_loop[T](coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
