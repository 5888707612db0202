"""Closing movie nights at their deadline, whichever process posted them and across restarts.

A night posted here closes on time (a timer per night); every process also sweeps the database for
open nights past their deadline (those of a process that stopped, or due while this one restarted).
Closing is one conditional UPDATE, so two processes closing the same night announce it once. The
announcement edits the vote message through the channel endpoint (the interaction's token expires
after 15 minutes; a vote may last 24 hours).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import discord
from discord.ext import commands, tasks

from bot.cogs.common import app_of
from bot.cogs.movienight.views import MovieNightView, WatchedView
from bot.render import cards
from bot.render.embeds import embed
from bot.services.movienight import Night

log = logging.getLogger(__name__)


class NightDeadlines:
    def __init__(self, bot: commands.Bot, sweep_seconds: float) -> None:
        self.bot = bot
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._sweeper = tasks.loop(seconds=sweep_seconds)(self.sweep)

    async def start(self) -> None:
        """Give posted nights their buttons back, then sweep now and every ``sweep_seconds``."""
        await self.restore_views()
        self._sweeper.start()

    def stop(self) -> None:
        self._sweeper.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def watch(self, night: Night) -> None:
        """Close ``night`` at its deadline (a sweep, here or in another process, may do it first)."""
        async def at_deadline() -> None:
            await asyncio.sleep(max(0.0, (night.deadline - datetime.now(timezone.utc)).total_seconds()))
            self._timers.pop(night.night_id, None)
            await self.close(night.night_id)

        self._timers[night.night_id] = asyncio.create_task(at_deadline(), name=f"cinesync-night-deadline-{night.night_id}")

    async def sweep(self) -> None:
        try:
            for night_id in await app_of(self.bot).services.movienight.due():
                await self.close(night_id)
        except Exception:  # the next sweep tries again; a failing sweep must not stop the loop
            log.exception("movie night sweep failed; retrying at the next sweep")

    async def close(self, night_id: int) -> None:
        """Close the vote and announce the winner on the night's message (if this call closed it)."""
        service = app_of(self.bot).services.movienight
        closed = await service.close(night_id)
        if closed is None:
            return
        winner, votes = closed
        night = await service.load(night_id)
        if night is None or night.message_id is None or night.channel_id is None:
            return
        view = WatchedView(app_of(self.bot), night, winner)
        message = self.bot.get_partial_messageable(night.channel_id).get_partial_message(night.message_id)
        try:
            await message.edit(embed=embed(cards.movie_night(night, votes, winner)), view=view)
        except discord.HTTPException as exc:  # the vote is closed all the same; the message just says so later
            log.warning("movie night %s closed, but its message could not be updated (%s)", night_id, exc)

    async def restore_views(self) -> None:
        """Bind the buttons of nights posted before this process started to their messages."""
        app = app_of(self.bot)
        for night in await app.services.movienight.posted_nights():
            if not night.closed:
                self.bot.add_view(MovieNightView(app, night), message_id=night.message_id)
                if night.night_id not in self._timers:
                    self.watch(night)
            elif night.winner in app.runtime.movies:
                self.bot.add_view(WatchedView(app, night, app.runtime.movies[night.winner]), message_id=night.message_id)
