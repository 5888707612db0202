"""Open-loop arrivals for `cinesync simulate`, delivered as a Discord event reaches the bot: bytes on a
pipe that wake the event loop, written at each arrival's time by a small process of its own.

Why not `asyncio.sleep` until each arrival: the loop's selector waits in whole milliseconds, rounded
up (`selectors.EpollSelector.select`), so a loop with nothing else to do woke up to a millisecond after
the arrival, and that lateness was counted in the operation's latency (README, "Fourteenth session":
0.76 ms at the median from the scheduled arrival to the operation's start). An event arriving on a
socket wakes the loop at once. A thread of this process writing the pipe would first need the
interpreter lock, which a ranking thread may hold; a process of its own does not. Both processes read
the same clock (CLOCK_MONOTONIC, what `time.perf_counter` reads on Linux).
"""
from __future__ import annotations

import asyncio
import struct
import sys
import time
from typing import Callable

import numpy as np

# The writer: reads the start time and the arrival offsets (seconds) from stdin, then at each arrival
# writes the arrival's number (4 bytes, little-endian) to stdout. Imports nothing of ours.
_WRITER = """
import os, sys, time
values = sys.stdin.buffer.read().split()
start, out = float(values[0]), sys.stdout.fileno()
for k, offset in enumerate(values[1:]):
    delay = start + float(offset) - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    os.write(out, k.to_bytes(4, "little"))
"""
_INDEX = struct.Struct("<I")
STARTUP = 0.25  # seconds from starting the writer to the first arrival: time for the interpreter to start


def poisson_offsets(rate: float, seconds: float, seed: int) -> np.ndarray:
    """Arrival times (seconds from the start) of a Poisson process of ``rate`` a second, seeded."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate, size=int(rate * seconds * 1.2) + 50)
    while gaps.sum() < seconds:  # rare: the draw fell short of the run
        gaps = np.concatenate([gaps, rng.exponential(1.0 / rate, size=len(gaps))])
    offsets = np.cumsum(gaps)
    return offsets[offsets < seconds]


class _Reader(asyncio.SubprocessProtocol):
    def __init__(self, deliver: Callable[[int], None], done: asyncio.Future[None]) -> None:
        self.deliver, self.done, self.pending = deliver, done, b""

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        data, cut = self.pending + data, len(self.pending + data) // 4 * 4
        self.pending = data[cut:]
        for (index,) in _INDEX.iter_unpack(data[:cut]):
            self.deliver(index)

    def connection_lost(self, exc: Exception | None) -> None:  # the process ended and its pipes are read to the end
        if not self.done.done():
            self.done.set_result(None)


async def deliver_arrivals(offsets: np.ndarray, on_arrival: Callable[[int, float], None]) -> None:
    """Call ``on_arrival(k, t)`` in the event loop as arrival k comes, woken by the writer process; ``t``
    is when it was due on `time.perf_counter`'s clock: STARTUP from now, plus ``offsets[k]``. Returns
    after the last."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    started = time.perf_counter() + STARTUP
    transport, _protocol = await loop.subprocess_exec(lambda: _Reader(lambda k: on_arrival(k, started + float(offsets[k])), done),
                                                      sys.executable, "-c", _WRITER, stdin=asyncio.subprocess.PIPE,
                                                      stdout=asyncio.subprocess.PIPE, stderr=None)
    try:
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(" ".join([repr(started)] + [repr(float(x)) for x in offsets]).encode())
        stdin.close()
        await done
    finally:
        transport.close()
    if transport.get_returncode() not in (0, None):
        raise RuntimeError(f"the arrival writer process failed (exit code {transport.get_returncode()})")
