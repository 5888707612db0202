"""`cinesync simulate`: a load generator with a final audit.

Synthetic members with planted tastes (each member belongs to a taste group that loves one genre
and dislikes the rest) rate, ask for recommendations and look at their stats through the service
layer, and a share of them rate through the gateway stand-in (`bot.offline`, the real bot),
concurrently for a given time. The report gives p50/p99 per operation for each slice of the run,
the errors, and an audit at the end: every rating acknowledged to a member is the one stored,
and every member's stored taste vector equals a refit from their stored ratings.

A member's operations run one at a time and in the order they arrived, so "the last
acknowledged rating of a (member, film) pair" is well defined.

Two ways to load: closed (``rate=None``: every worker acts again as soon as it is answered, so the
run measures the machine saturated) and open (``rate`` operations a second in all, arriving as a
Poisson process dealt over the workers). In the open mode every arrival runs as a task of its own,
as discord.py dispatches every interaction, so an operation never waits for an unrelated member's
that happened to be dealt to the same worker; only a member's own earlier operation holds it back.
Its latency runs from its scheduled arrival, so any time it waited (for the loop, or for that
member) is counted (no coordinated omission). Arrivals wake the loop as events on a socket do, from a
writer process (`bot/services/arrivals.py`), not from the loop's own timers, whose millisecond
rounding was counted in every latency; the report says how long an arrival took to start.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Coroutine

import numpy as np
from tqdm import tqdm

from bot.app import App
from bot.services.arrivals import deliver_arrivals, poisson_offsets
from bot.repositories import feedback as feedback_repo
from bot.repositories import member_index as member_index_repo
from bot.services.benchmark import percentiles
from bot.services.errors import UserError
from bot.services.member_state import replay_feedback

log = logging.getLogger(__name__)
SIM_MEMBER_BASE = 9_150_000_000_000_000_000  # between the bench's two ranges, far above any snowflake
OPERATIONS = ("rate", "rate (gateway)", "recommend", "stats")
MIX = {"rate": 0.7, "recommend": 0.2, "stats": 0.1}  # share of each action a member takes
STATE_TOLERANCE = 1e-6
LOOP_STALL = 0.2  # seconds without a loop tick after which what every thread ran is kept (logged at the end)


@dataclass
class Audit:
    members: int = 0
    acknowledged: int = 0  # (member, film) pairs whose last rating the member was told was saved
    stored_as_acknowledged: int = 0
    lost: list[tuple[int, int, float]] = field(default_factory=list)  # acknowledged, not stored as said
    states_checked: int = 0
    state_mismatches: int = 0
    max_state_error: float = 0.0
    index_disagreements: int = -1  # members the similar-member index shows otherwise after its refresh (-1: not checked)
    copy_disagreements: int = -1  # members this process's in-process copy shows otherwise (-1: no copy)

    @property
    def passed(self) -> bool:
        return (not self.lost and self.state_mismatches == 0 and self.stored_as_acknowledged == self.acknowledged
                and self.index_disagreements == 0 and self.copy_disagreements <= 0)


@dataclass
class SimulationReport:
    members: int
    seconds: float
    concurrency: int
    operations: dict[str, dict[str, Any]]
    slices: list[dict[str, Any]]
    audit: Audit
    catalog: int
    rate: float | None = None  # offered operations a second (None: closed loop)
    loop_lag: dict[str, float] = field(default_factory=dict)  # how late the event loop was: p50_ms/p99_ms/worst_ms
    loop_stall: str = ""  # where the loop's thread was in its longest stall (LOOP_STALL or more), if any
    gc_pauses: dict[str, float] = field(default_factory=dict)  # the garbage collector's runs (GcPauses.summary)
    most_in_flight: int = 0  # most operations under way at once (open loop: arrivals do not wait for each other)
    start_lag: dict[str, float] = field(default_factory=dict)  # open loop: from an arrival to its task starting

    def render(self) -> str:
        done = sum(figure["n"] for figure in self.operations.values()) / max(self.seconds, 1e-9)
        load = (f"{self.rate:g} operations/s offered, {done:.1f}/s done, at most {self.most_in_flight} under way at once"
                if self.rate else f"{self.concurrency} at once; closed loop, {done:.1f} operations/s")
        lines = [f"simulated {self.members:,} members over {self.catalog:,} films for {self.seconds:.0f} s ({load})",
                 f"  {'operation':<16}{'n':>9}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'refused':>9}"]
        for name, figure in self.operations.items():
            lines.append(f"  {name:<16}{figure['n']:>9,}{figure.get('p50_ms', 0):>10.2f}{figure.get('p99_ms', 0):>10.2f}"
                         f"{figure['errors']:>8}{figure['refused']:>9}")
        if self.loop_lag:
            lag = self.loop_lag
            lines.append(f"  event loop late for a 10 ms sleep: p50 {lag['p50_ms']:.2f}, p99 {lag['p99_ms']:.2f}, "
                         f"worst {lag['worst_ms']:.1f} ms" + (f"; in the longest stall the loop was at {self.loop_stall}"
                                                            if self.loop_stall else ""))
        if self.start_lag:
            lines.append(f"  from arrival to the operation's start: p50 {self.start_lag['p50_ms']:.2f}, "
                         f"p99 {self.start_lag['p99_ms']:.2f} ms (in every latency above)")
        if self.gc_pauses:
            g = self.gc_pauses
            lines.append(f"  garbage collector: {g['collections']:,} collections, longest {g['longest_ms']:.1f} ms; "
                         f"{g['full']} full, longest {g['longest_full_ms']:.1f} ms")
        lines.append("  over time (p99 ms per slice): " + " | ".join(
            f"{s['until_s']:.0f}s: " + ", ".join(f"{k} {v:.1f}" for k, v in s["p99_ms"].items())
            + (f", loop late {s['loop_worst_ms']:.0f} at worst" if "loop_worst_ms" in s else "") for s in self.slices))
        a = self.audit
        lines.append(f"  audit: {a.acknowledged:,} acknowledged ratings, {a.stored_as_acknowledged:,} stored as acknowledged, "
                     f"{len(a.lost)} lost; {a.states_checked:,} taste vectors equal to a refit "
                     f"(largest difference {a.max_state_error:.2e}), {a.state_mismatches} not; "
                     f"{a.index_disagreements} members shown otherwise by the similar-member index, "
                     + (f"{a.copy_disagreements} by this process's in-process copy: " if a.copy_disagreements >= 0
                        else "no in-process copy to check: ")
                     + ("PASSED" if a.passed else "FAILED"))
        return "\n".join(lines)


class GcPauses:
    """How long the garbage collector held the GIL while open: a full collection walks every container
    the process keeps (the loved snapshot's sets among them), and no thread runs meanwhile."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> "GcPauses":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: Any) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, float]:
        full = [seconds for generation, seconds in self.pauses if generation == 2]
        return {"collections": len(self.pauses), "full": len(full),
                "longest_ms": max((seconds for _g, seconds in self.pauses), default=0.0) * 1000,
                "longest_full_ms": max(full, default=0.0) * 1000}


def planted_tastes(app: App, members: int, seed: int, films: int = 3000) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(candidate films, each member's group, films x groups "loves it" matrix): group g loves the films
    of the g-th most common genre among the ``films`` most rated films."""
    runtime = app.runtime
    popular = sorted(runtime.movies, key=lambda m: -runtime.movies[m]["rating_count"])[:films]
    counts: dict[str, int] = {}
    for movie in popular:
        for genre in runtime.movies[movie].get("genres") or []:
            counts[genre] = counts.get(genre, 0) + 1
    genres = [g for g, _ in sorted(counts.items(), key=lambda kv: -kv[1])][:12] or ["(none)"]
    loves = np.array([[g in (runtime.movies[m].get("genres") or []) for g in genres] for m in popular])
    groups = np.random.default_rng(seed).integers(0, len(genres), members)
    return popular, groups, loves


async def run_simulation(app: App, members: int = 1000, seconds: float = 60.0, concurrency: int = 16,
                         gateway_share: float = 0.1, seed: int = 0, slices: int = 10, keep: bool = False,
                         progress: bool = True, rate: float | None = None) -> SimulationReport:
    from bot.client import create_bot
    from bot.offline import LoopLag, OfflineDiscord

    users = [SIM_MEMBER_BASE + i for i in range(members)]
    await _forget(app, users, progress)
    films, groups, loves = planted_tastes(app, members, seed)
    gateway_members = set(users[: int(round(gateway_share * members))])
    samples: list[tuple[float, str, float]] = []  # (seconds since start, operation, latency)
    errors = {name: 0 for name in OPERATIONS}
    refused = {name: 0 for name in OPERATIONS}
    acknowledged: dict[tuple[int, int], float] = {}
    settings = replace(app.settings, rate_cooldown_seconds=0.0)
    bot = create_bot(settings, app=app, sync_commands=False)
    async with OfflineDiscord(bot) as discord, LoopLag(stacks_after=LOOP_STALL) as lag:
        started = time.perf_counter()
        deadline = started + seconds
        bar = tqdm(total=int(seconds), desc=f"simulating {members:,} members", unit="s", disable=not progress, leave=False)

        turns: dict[int, asyncio.Lock] = {}  # a member's operations in arrival order (asyncio's lock is FIFO)

        def act(rng: np.random.Generator, index: int, arrival: float | None) -> Coroutine[Any, Any, None]:
            """Draw the member's next operation now (the seeded sequence stays fixed) and return it to run."""
            user = users[index]
            choice = rng.random()
            if choice < MIX["rate"]:
                film_row = int(rng.integers(0, len(films)))
                liked = bool(loves[film_row, groups[index]])
                stars = float(np.clip((4.5 if liked else 1.5) + rng.choice([-0.5, 0.0, 0.5]), 0.5, 5.0))
                return in_turn(user, arrival, rating(user, films[film_row], stars))
            return in_turn(user, arrival, reading(user, "recommend" if choice < MIX["rate"] + MIX["recommend"] else "stats"))

        in_flight = [0, 0]  # operations started and not answered: now, most at once
        start_lags: list[float] = []

        async def in_turn(user: int, arrival: float | None, operation: Callable[[float], Awaitable[None]]) -> None:
            begin = time.perf_counter() if arrival is None else arrival
            if arrival is not None:
                start_lags.append(time.perf_counter() - arrival)
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            try:
                async with turns.setdefault(user, asyncio.Lock()):
                    await operation(begin)
            finally:
                in_flight[0] -= 1

        def rating(user: int, movie: int, stars: float) -> Callable[[float], Awaitable[None]]:
            async def run(begin: float) -> None:
                name = "rate (gateway)" if user in gateway_members else "rate"
                try:
                    if name == "rate":
                        await app.feedback.record(user, movie, "rating", stars, "api")
                        saved = True
                    else:
                        exchange = await discord.command(user, "rate", movie=f"id:{movie}", rating=f"{stars:g}")
                        saved = "Saved" in exchange.text()
                        if not saved:
                            refused[name] += 1
                except UserError:
                    refused[name] += 1
                    saved = False
                except Exception:  # noqa: BLE001 - counted and reported; the audit says whether anything was lost
                    errors[name] += 1
                    saved = False
                samples.append((begin - started, name, time.perf_counter() - begin))
                if saved:
                    acknowledged[(user, movie)] = stars
            return run

        def reading(user: int, name: str) -> Callable[[float], Awaitable[None]]:
            async def run(begin: float) -> None:
                try:
                    if name == "recommend":
                        await app.recommendations.recommend(user, 10, surface="api")
                    else:
                        await app.services.stats.profile(user)
                except UserError:
                    refused[name] += 1
                except Exception:  # noqa: BLE001
                    errors[name] += 1
                samples.append((begin - started, name, time.perf_counter() - begin))
            return run

        async def worker(w: int) -> None:  # closed loop: act again as soon as answered
            rng = np.random.default_rng(seed * 1000 + w)
            mine = list(range(w, members, concurrency))
            while mine and time.perf_counter() < deadline:
                await act(rng, mine[int(rng.integers(0, len(mine)))], None)

        async def open_loop(offered: float) -> None:
            """Arrival k is dealt to worker k mod concurrency, whose generator draws the member and the
            operation when it comes; every arrival runs as a task of its own."""
            offsets = poisson_offsets(offered, seconds, seed * 1000 + 999)
            rngs = [np.random.default_rng(seed * 1000 + w) for w in range(concurrency)]
            running: set[asyncio.Task[None]] = set()

            def arrive(k: int, due: float) -> None:
                w = k % concurrency
                mine = range(w, members, concurrency)
                if not len(mine):
                    return
                task = asyncio.create_task(act(rngs[w], mine[int(rngs[w].integers(0, len(mine)))], due))
                running.add(task)
                task.add_done_callback(running.discard)

            await deliver_arrivals(offsets, arrive)
            await asyncio.gather(*running)

        async def ticker() -> None:
            while time.perf_counter() < deadline:
                await asyncio.sleep(1.0)
                bar.n = min(int(time.perf_counter() - started), int(seconds))
                bar.refresh()

        with GcPauses() as collector:
            await asyncio.gather(ticker(), *((worker(w) for w in range(concurrency)) if rate is None else (open_loop(rate),)))
        elapsed = time.perf_counter() - started
        bar.close()
    audit = await _audit(app, users, acknowledged, progress)
    if not keep:
        await _forget(app, users, progress)
    lags = [(woke - started, late) for woke, late in lag.lags]  # (seconds into the run, how late)
    for silent, _where, stacks in lag.stalls:
        log.warning("the event loop had not ticked for %.0f ms; every thread then:\n%s", silent * 1000, stacks)
    return SimulationReport(members, elapsed, concurrency, _figures(samples, errors, refused),
                            _slices(samples, elapsed, slices, lags), audit, len(app.runtime.catalog), rate,
                            _loop_lag([late for _t, late in lags]), lag.longest_stall()[1], collector.summary(),
                            in_flight[1], percentiles(start_lags) if start_lags else {})


def _figures(samples: list[tuple[float, str, float]], errors: dict[str, int], refused: dict[str, int]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in OPERATIONS:
        values = [latency for _t, op, latency in samples if op == name]
        out[name] = {**(percentiles(values) if values else {"n": 0}), "errors": errors[name], "refused": refused[name]}
    return out


def _loop_lag(lags: list[float]) -> dict[str, float]:
    return {**percentiles(lags), "worst_ms": max(lags) * 1000} if lags else {}


def _slices(samples: list[tuple[float, str, float]], elapsed: float, count: int,
            lags: list[tuple[float, float]]) -> list[dict[str, Any]]:
    width = max(elapsed / max(count, 1), 1e-9)
    out = []
    for k in range(count):
        chosen = [(op, latency) for t, op, latency in samples if k * width <= t < (k + 1) * width]
        p99 = {op: float(np.percentile([lat for o, lat in chosen if o == op], 99) * 1000)
               for op in OPERATIONS if any(o == op for o, _ in chosen)}
        late = [lateness for t, lateness in lags if k * width <= t < (k + 1) * width]
        out.append({"until_s": (k + 1) * width, "p99_ms": p99, "n": len(chosen),
                    "loop_worst_ms": max(late) * 1000 if late else 0.0})
    return out


async def _audit(app: App, users: list[int], acknowledged: dict[tuple[int, int], float], progress: bool) -> Audit:
    """Every acknowledged rating stored as said; every stored taste vector equal to a refit."""
    audit = Audit(members=len(users), acknowledged=len(acknowledged))
    trainer, index = app.runtime.trainer, app.runtime.catalog.items
    said: dict[int, list[tuple[int, float]]] = {}
    for (member, movie), stars in acknowledged.items():
        said.setdefault(member, []).append((movie, stars))
    async with app.db.acquire() as conn:
        for user in tqdm(users, desc="audit", disable=not progress, leave=False):
            rows = await feedback_repo.user_feedback(conn, user)
            stored = {int(r["movie_id"]): r["rating"] for r in rows}
            for movie, stars in said.get(user, []):
                if stored.get(movie) is not None and abs(float(stored[movie]) - stars) < 1e-9:
                    audit.stored_as_acknowledged += 1
                else:
                    audit.lost.append((user, movie, stars))
            state = await feedback_repo.user_state(conn, user)
            if state is None or state["solver_state"] is None or trainer is None or not rows:
                continue
            vector = np.frombuffer(state["solver_state"], dtype="<f8")
            refit = replay_feedback(trainer, index, rows).vector
            error = float(np.max(np.abs(vector - refit))) if len(vector) == len(refit) else float("inf")
            audit.states_checked += 1
            audit.max_state_error = max(audit.max_state_error, error)
            audit.state_mismatches += error > STATE_TOLERANCE
    await app.services.member_index.flush()  # what the refresher still had queued
    async with app.db.acquire() as conn:
        audit.index_disagreements = await member_index_repo.disagreements(conn, users)
    audit.copy_disagreements = await app.services.member_search.disagreements(users)
    return audit


async def _forget(app: App, users: list[int], progress: bool) -> None:
    for user in tqdm(users, desc="clearing simulated members", disable=not progress, leave=False):
        await app.services.privacy.forget(user)
