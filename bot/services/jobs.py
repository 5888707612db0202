"""Heavy work in a child process at lower CPU priority: training and the PreferenceLearner.

Why a process and not a thread: on a two-core machine a training run keeps both cores busy
(BLAS and torch threads) and holds the GIL through long stretches of Python; in a thread it
stalled the bot's event loop for 300 ms at a time. A child process started with `nice` leaves
the bot's loop the CPU whenever it needs it, and a crash in the job cannot take the bot down.
The child runs the same CLI command an operator would (`cinesync train`, `cinesync learn`)
against the bot's own database.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from dataclasses import dataclass

from bot.settings import Settings

NICENESS = 10
RETRAIN_JOB = "retrain"  # the advisory lock name every retrain holds (bot/services/training.py)


@dataclass
class JobResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_line(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


def _niced(command: list[str]) -> list[str]:
    """``command`` started through `nice`, so the child and every thread it starts run at lower priority.
    Not a ``preexec_fn``: that makes Python fork and run code in the child while the event loop waits for
    the exec (278 ms of a stalled loop seen on a busy machine); without one the start is a vfork and exec."""
    nice = shutil.which("nice")
    return [nice, "-n", str(NICENESS), *command] if nice else command


async def run_cli(settings: Settings, dsn: str, *args: str) -> JobResult:
    """Run ``cinesync <args>`` on the bot's database in a niced child process; wait for it off the loop."""
    env = dict(os.environ, DATABASE_URL=dsn, CINESYNC_HOME=str(settings.home))
    process = await asyncio.create_subprocess_exec(
        *_niced([sys.executable, "-m", "bot.cli", *args]), env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return JobResult(process.returncode or 0, output.decode(errors="replace"))


def users_analysed(result: JobResult) -> int:
    """The user count `cinesync learn` printed (0 when it printed none)."""
    found = re.search(r"analysed ([\d,]+) users", result.output)
    return int(found.group(1).replace(",", "")) if found else 0
