"""`cinesync bench`'s interaction figures: from a gateway payload arriving to the first HTTP
response discord.py sends (the acknowledgement or the answer), per command, with many
members acting at once through the real bot (`bot.offline`)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import numpy as np
from tqdm import tqdm

from bot.app import App
from bot.services.benchmark import percentiles

BENCH_MEMBER_BASE = 9_200_000_000_000_000_000
RATE_TARGET_MS = 100.0  # /rate, by id or typed title
TARGET_MS = 1000.0  # every other command (Discord's deadline is 3 s)
COMMANDS = ("rate", "rate (typed title)", "autocomplete", "quick rating button", "my_recommendations",
            "my_recommendations mood", "my_stats", "my_ratings", "movie", "watchlist add", "watchlist list", "compare", "movienight")


async def interaction_latencies(app: App, members: int = 50, rounds: int = 3, progress: bool = True) -> dict[str, Any]:
    from bot.client import create_bot
    from bot.offline import LoopLag, OfflineDiscord

    runtime = app.runtime
    popular = sorted(runtime.movies, key=lambda m: -runtime.movies[m]["rating_count"])[:400]
    titles = [runtime.movies[m]["title"] for m in popular[:60]]
    users = [BENCH_MEMBER_BASE + i for i in range(members)]
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    settings = replace(app.settings, rate_cooldown_seconds=0.0)
    await _forget(app, users)
    async with OfflineDiscord(create_bot(settings, app=app, sync_commands=False)) as discord:
        bar = tqdm(total=members * rounds, desc=f"{members} members acting at once", disable=not progress, leave=False)

        async def member(user: int) -> None:
            rng = np.random.default_rng(user % 100_000)
            for _ in range(rounds):
                for movie in rng.choice(popular, size=3, replace=False):
                    exchange = await discord.command(user, "rate", movie=f"id:{movie}", rating=str(rng.integers(1, 11) / 2))
                    samples["rate"].append(exchange.first_response_seconds)
                typed = await discord.command(user, "rate", movie=str(rng.choice(titles)).lower(), rating="love")
                samples["rate (typed title)"].append(typed.first_response_seconds)
                complete = await discord.autocomplete_exchange(user, "rate", "movie", movie=str(rng.choice(titles))[:5])
                samples["autocomplete"].append(complete.first_response_seconds)
                quick = await discord.command(user, "rate")
                click = await discord.click(user, discord.message_for(quick), "quick:like")
                samples["quick rating button"].append(click.first_response_seconds)
                film = f"id:{rng.choice(popular)}"
                for name, command, options in (
                        ("my_recommendations", "my_recommendations", {}),
                        ("my_recommendations mood", "my_recommendations", {"mood": "feel-good"}),
                        ("my_stats", "my_stats", {}), ("my_ratings", "my_ratings", {}),
                        ("movie", "movie", {"movie": film}), ("watchlist add", "watchlist add", {"movie": film}),
                        ("watchlist list", "watchlist list", {}),
                        ("compare", "compare", {"member": users[(users.index(user) + 1) % len(users)]}),
                        ("movienight", "movienight", {"member1": users[(users.index(user) + 1) % len(users)],
                                                      "member2": users[(users.index(user) + 2) % len(users)],
                                                      "minutes": 0.05})):
                    exchange = await discord.command(user, command, **options)
                    samples[name].append(exchange.first_response_seconds)
                bar.update(1)

        started = time.perf_counter()
        async with LoopLag() as lag:
            await asyncio.gather(*(member(u) for u in users))
        elapsed = time.perf_counter() - started
        bar.close()
    await _forget(app, users)
    figures = {name: percentiles([s for s in values if s is not None]) for name, values in samples.items()}
    for name, figure in figures.items():
        figure["target_ms"] = RATE_TARGET_MS if name.startswith("rate") else TARGET_MS
        figure["met"] = figure["p99_ms"] < figure["target_ms"]
    return {"members": members, "rounds": rounds, "seconds": round(elapsed, 1), "max_loop_lag_ms": round(lag.worst * 1000, 1),
            "commands": figures}


async def _forget(app: App, users: list[int]) -> None:
    for user in users:
        await app.services.privacy.forget(user)
