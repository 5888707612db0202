"""Where a PreferenceLearner run analyses its batches: a process of its own for a bulk run, so the
analysis (pandas and per-member tests, mostly Python) and the weights' refit use both cores. In a
thread beside the refit the two shared the GIL (a warm run over 60,400 members: 515.93 s one after
the other, 482.11 s side by side in threads, the refit slowed from ~260 s to 463.54 s).

The catalog and the population are handed to the process once, when it starts; each batch then
sends only its ratings and gets the profiles back.
"""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import pandas as pd

from engine.preferences import Population, analyse

Profiles = dict[int, dict[str, Any]]
Analyst = Callable[[pd.DataFrame], Awaitable[Profiles]]

_kept: tuple[pd.DataFrame, Population] | None = None  # in the worker process: what every batch is judged with


def _keep(movies: pd.DataFrame, population: Population) -> None:
    global _kept
    _kept = (movies, population)


def _analyse_kept(frame: pd.DataFrame) -> Profiles:
    assert _kept is not None, "the worker was started without its catalog"
    return analyse(frame, *_kept)


@asynccontextmanager
async def analyst(movies: pd.DataFrame, population: Population, separate: bool) -> AsyncIterator[Analyst]:
    """An async ``analyse(frame)`` for this run: in a worker thread, or (``separate``) in one spawned
    process (spawned, not forked: the parent holds threads and torch's thread pools) stopped at the end."""
    if not separate:
        async def in_thread(frame: pd.DataFrame) -> Profiles:
            return await asyncio.to_thread(analyse, frame, movies, population)

        yield in_thread
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_keep, initargs=(movies, population))
    loop = asyncio.get_running_loop()

    async def in_process(frame: pd.DataFrame) -> Profiles:
        return await loop.run_in_executor(pool, _analyse_kept, frame)

    try:
        yield in_process
    finally:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
