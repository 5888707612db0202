"""A worker process for CPU work that would hold the GIL and stall the event loop.

matplotlib's Agg renderer draws in C++ without releasing the GIL: a `/my_stats` chart took
230 ms, and rendered in a thread it stalled every other member's command for that long. One
long-lived worker process (``forkserver``: it inherits no event loop, pool or threads) does
such work instead. `warm()` starts it and imports its modules at bot start-up.
"""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None


def _prepare() -> None:
    import bot.render.chart  # noqa: F401  (the import is the warm-up)


def pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"),
                                    initializer=_prepare)
    return _pool


def warm() -> None:
    """Start the worker now (returns at once) so the first chart does not pay for it."""
    pool().submit(int)


async def run_in_worker(function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool(), function, *args)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
