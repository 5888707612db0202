"""`cinesync bench`: latency and throughput of the real services on the real database."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Awaitable, Callable

import numpy as np
from tqdm import tqdm

from bot.app import App
from bot.repositories.privacy import forget_user

log = logging.getLogger(__name__)
BENCH_USER_BASE = 9_100_000_000_000_000_000  # far above any Discord snowflake issued so far
SEARCH_QUERIES = ("heat", "the matrx", "godfather", "amelie", "pulp fictoin", "star wars", "toy story 3", "inceptoin",
                  "lord of the rings", "shawshank", "x", "se7en", "the dark knight", "alien", "casablanca")


def percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000.0
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3),
            "n": len(samples)}


async def _timed(fn: Callable[[], Awaitable[Any]], repeat: int, desc: str, progress: bool) -> list[float]:
    samples = []
    for _ in tqdm(range(repeat), desc=desc, disable=not progress, leave=False):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def run_benchmark(app: App, progress: bool = True, seconds: float = 5.0, clients: int = 8,
                        members: int = 50, learner_members: int | None = None) -> dict[str, Any]:
    runtime = app.runtime
    popular = [int(m) for m in np.array(sorted(runtime.movies, key=lambda m: -runtime.movies[m]["rating_count"]))[:2000]]
    rng = np.random.default_rng(0)
    users = [BENCH_USER_BASE + i for i in range(3 + clients)]
    await _forget(app, users)
    result: dict[str, Any] = {"model_version": runtime.version, "catalog": len(runtime.catalog)}
    if app.services.member_search.in_memory:  # measured as a running bot serves: with the in-process copy built
        with tqdm(total=1, desc="similar-member index: copying into memory", disable=not progress, leave=False) as bar:
            ready = await app.services.member_search.wait_ready(timeout=1800)
            bar.update(1)
        if not ready:
            log.warning("the in-process member index was not built within 30 minutes; measuring pgvector's")
    try:
        # (a) a rating stored with its online update, for a user growing to 300 ratings
        movies = iter(rng.permutation(popular[:1000]).tolist())
        stars = rng.choice(np.arange(1, 11) / 2, size=300)
        it = iter(stars.tolist())
        samples = await _timed(lambda: app.feedback.record(users[0], next(movies), "rating", next(it), "api"), 300,
                               "rate + online update", progress)
        result["rate"] = percentiles(samples[20:])  # the first few include connection warm-up
        result["durable_commit"] = await _durable_commit(app, progress)
        # (b) top-10 for a user with 50 ratings; (c) for a user with 2 ratings
        for user, n in ((users[1], 50), (users[2], 2)):
            for movie in rng.choice(popular[:500], size=n, replace=False).tolist():
                await app.feedback.record(user, movie, "rating", float(rng.choice([2.0, 3.5, 4.0, 4.5, 5.0])), "api")
        result["recommend_50_ratings"] = percentiles(
            (await _timed(lambda: app.recommendations.recommend(users[1], 10, surface="api"), 200, "top-10 (50 ratings)", progress))[10:])
        result["recommend_2_ratings"] = percentiles(
            (await _timed(lambda: app.recommendations.recommend(users[2], 10, surface="api"), 200, "top-10 (2 ratings)", progress))[10:])
        # (d) sustained ratings per second with concurrent clients
        deadline = time.perf_counter() + seconds
        done = 0

        async def client(user: int) -> None:
            nonlocal done
            local = np.random.default_rng(user % 1000)
            while time.perf_counter() < deadline:
                await app.feedback.record(user, int(local.choice(popular)), "rating", float(local.integers(1, 11)) / 2, "api")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(u) for u in users[3:]))
        result["throughput"] = {"clients": clients, "seconds": round(time.perf_counter() - start, 2),
                                "ratings": done, "ratings_per_s": round(done / (time.perf_counter() - start), 1)}
        # title search (autocomplete)
        search = []
        for _ in range(20):
            for q in SEARCH_QUERIES:
                t = time.perf_counter()
                runtime.titles.search(q, 25)
                search.append(time.perf_counter() - t)
        result["title_search"] = percentiles(search)
        result.update(await _similar_member_search(app, rng))
        # the PreferenceLearner over every user, or a seeded sample of them (preferences and per-user weights)
        if learner_members != 0:
            result["learner"] = await _learner_benchmark(app, rng, learner_members)
        result["history_import"] = await _import_benchmark(app, users[0] + 1_000_000, popular)
        if members:  # the Discord side: payload in, first HTTP response out, many members at once
            from bot.interaction_bench import interaction_latencies

            result["interactions"] = await interaction_latencies(app, members, progress=progress)
    finally:
        await _forget(app, users)
    result["memory"] = process_memory()
    return result


async def _durable_commit(app: App, progress: bool, repeat: int = 300, pause: float = 0.01) -> dict[str, Any]:
    """A commit of one small WAL record and nothing else, waiting for it to reach the disk: the part of a rating's time
    that is the storage's (a disk whose flushes stall now and then sets the rating's p99, whatever our
    code does). Spaced as ratings arrive, not back to back, so the flush is not shared."""
    from bot.repositories.storage import durable_empty_commit, synchronous_commit

    samples = []
    async with app.db.acquire() as conn:
        for _ in tqdm(range(repeat), desc="durable commit", disable=not progress, leave=False):
            await asyncio.sleep(pause)
            start = time.perf_counter()
            await durable_empty_commit(conn)
            samples.append(time.perf_counter() - start)
        synchronous = await synchronous_commit(conn)
    return {**percentiles(samples[10:]), "synchronous_commit": synchronous}


async def _learner_benchmark(app: App, rng: np.random.Generator, sample: int | None) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from bot.repositories import learner as learner_repo
    from bot.services.learner import learn_preferences

    only = None
    if sample is not None:
        async with app.db.dedicated() as conn:  # every rating's member: seconds at 30 million ratings
            everyone = sorted(await learner_repo.stale_users(conn, everyone=True))
        only = sorted(int(u) for u in rng.choice(everyone, min(sample, len(everyone)), replace=False))
    # the bot runs the learner as `cinesync learn` in a child process with every core for BLAS;
    # this process limits BLAS to one thread for serving, so lift that for a like-for-like figure
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="blas"):
        report = await learn_preferences(app.db, everyone=only is None, runtime=app.runtime, only=only)
    return {"users": report.users, "seconds": round(report.seconds, 2), "ms_per_user": round(report.ms_per_user, 2),
            "weights_seconds": round(report.weights_seconds, 2), "sampled": only is not None}


async def _similar_member_search(app: App, rng: np.random.Generator, queries: int = 300,
                                 recall_queries: int = 100) -> dict[str, Any]:
    """The nearest members of stored taste vectors as recommendations search them (the in-process copy
    or pgvector) and, with an in-process copy, through pgvector's index too; each with its recall: the
    share of the exact nearest (cosine over every indexed vector) it returns."""
    from bot.db.pool import as_array
    from bot.repositories import member_index as member_index_repo
    from engine.engine import NEIGHBOURS, top_rows

    search = app.services.member_search
    async with app.db.acquire() as conn:
        rows = await member_index_repo.sample(conn, 5000)
        if not rows:
            return {"n": 0, "members": 0}
        picks = [(row["user_id"], as_array(row["embedding"])) for row in (rows[int(i)] for i in rng.integers(0, len(rows), queries))]

        async def pgvector(user: int, vector: np.ndarray) -> list[int]:
            return [r["user_id"] for r in await member_index_repo.similar_users(conn, user, vector, NEIGHBOURS)]

        async def configured(user: int, vector: np.ndarray) -> list[int]:
            return [member for member, _similarity in await search.similar(conn, user, vector, NEIGHBOURS)]

        backends = {"similar_members": (search.backend, configured)}
        if search.index is not None:
            backends["similar_members_pgvector"] = ("pgvector HNSW", pgvector)
        timings: dict[str, tuple[list[float], list[list[int]]]] = {}
        for key, (_name, run) in backends.items():
            samples, found = [], []
            for user, vector in picks:
                start = time.perf_counter()
                found.append(await run(user, vector))
                samples.append(time.perf_counter() - start)
            timings[key] = (samples, found)
    async with app.db.dedicated() as conn:  # every indexed vector: seconds at 330,000 members
        ids, vectors = await member_index_repo.all_vectors(conn)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    k = min(NEIGHBOURS, len(ids) - 1)
    exact = []
    for user, vector in picks[:recall_queries]:
        similarity = unit @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
        similarity[ids == user] = -np.inf
        exact.append(set(ids[top_rows(similarity, k)].tolist()) if k > 0 else set())
    out: dict[str, Any] = {}
    for key, (name, _run) in backends.items():
        samples, found = timings[key]
        recalls = [len(set(answer) & truth) / max(k, 1) for answer, truth in zip(found, exact)]
        out[key] = {**percentiles(samples[10:]), "backend": name, "members": int(len(ids)),
                    "recall": round(float(np.mean(recalls)), 4), "recall_min": round(float(np.min(recalls)), 4),
                    "recall_queries": len(recalls)}
    return out


def process_memory() -> dict[str, float]:
    """This process's resident memory now and at its peak (MB): the bot's own footprint with the
    catalog, model, title index and moods loaded (the benchmark runs the bot's runtime in-process)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    with open("/proc/self/statm", encoding="ascii") as handle:
        now = int(handle.read().split()[1]) * resource.getpagesize() / 1e6
    return {"rss_mb": round(now, 1), "peak_rss_mb": round(peak, 1)}


async def _import_benchmark(app: App, user: int, popular: list[int], rows: int = 1000) -> dict[str, Any]:
    """A 1,000-row Letterboxd ratings.csv imported end to end (read, matched, written, taste vector updated)."""
    from engine.snapshot import short_title

    movies = app.runtime.movies
    lines = ["Date,Name,Year,Letterboxd URI,Rating"]
    for k, movie_id in enumerate(popular[:rows]):
        movie = movies[movie_id]
        name = short_title(movie["title"]).replace('"', "'")
        lines.append(f'2024-01-{1 + k % 28:02d},"{name}",{movie["year"] or ""},,{(1 + k % 10) / 2:g}')
    data = ("\n".join(lines) + "\n").encode()
    await _forget(app, [user])
    try:
        started = time.perf_counter()
        report = await app.services.history.import_file(user, "ratings.csv", data)
        seconds = time.perf_counter() - started
    finally:
        await _forget(app, [user])
    return {"rows": rows, "seconds": round(seconds, 2), "imported": report.imported, "unmatched": len(report.unmatched),
            "target_s": 5.0, "met": seconds < 5.0}


async def _forget(app: App, users: list[int]) -> None:
    async with app.db.transaction() as conn:
        for user in users:
            await forget_user(conn, user)
