"""The Discord bot process: one pool, the engine, the scheduler, the cogs.

`create_bot()` builds it; `setup_hook` (run once at login) opens the database, refuses to
start while migrations are pending, loads the newest model, loads the cogs as extensions and
starts the scheduler exactly once. An existing bot can load our cogs instead, given an
``app`` attribute (see INTEGRATION_GUIDE.md).
"""
from __future__ import annotations

import asyncio
import gc
import logging
from datetime import timedelta
from typing import Any, Coroutine

import discord
from discord.ext import commands

from bot import workers
from bot.app import App, build_app
from bot.settings import Settings, load_settings
from bot.tree import CineSyncTree

log = logging.getLogger(__name__)

COGS = ("bot.cogs.rating", "bot.cogs.recommendations", "bot.cogs.stats", "bot.cogs.dm_feedback",
        "bot.cogs.admin", "bot.cogs.privacy", "bot.cogs.diary", "bot.cogs.watchlist", "bot.cogs.movies",
        "bot.cogs.compare", "bot.cogs.history", "bot.cogs.server", "bot.cogs.movienight", "bot.cogs.about")


class MigrationsPending(RuntimeError):
    pass


def intents() -> discord.Intents:
    """Slash commands need no privileged intents; DM reactions need `dm_reactions`; `/movienight` without
    mentions reads who is in the caller's voice channel (`voice_states`, not privileged either)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
    chosen.dm_messages = True
    chosen.dm_reactions = True
    return chosen


class CineSyncBot(commands.AutoShardedBot):
    def __init__(self, settings: Settings, app: App | None = None, *, sync_commands: bool = True) -> None:
        options: dict[str, Any] = {}
        if settings.shard_count:
            options["shard_count"] = settings.shard_count
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(), tree_cls=CineSyncTree,
                         help_command=None, owner_ids=set(settings.owner_ids) or None, **options)
        self.settings = settings
        self.app: App | None = app
        self._owns_app = app is None
        self.sync_commands = sync_commands
        self.scheduler: Any = None
        self.sync: Any = None  # bot.services.sync.ProcessSync: other processes' retrains and ratings reach this one
        self._background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ start-up
    async def setup_hook(self) -> None:
        if self.app is None:
            self.app = await open_app(self.settings)
        workers.warm()
        from bot.services.sync import ProcessSync

        self.sync = ProcessSync(self.app, self.settings.sync_poll_seconds)
        await self.sync.start()
        for name in COGS:
            await self.load_extension(name)
        self.start_scheduler()
        if self.sync_commands:
            await self.sync_tree()
        # the catalog, model and title index live as long as the process: keep the garbage
        # collector from walking them on every full collection (a pause felt by every member)
        gc.collect()
        gc.freeze()

    async def sync_tree(self) -> None:
        """To the development guild when DEV_GUILD_ID is set (instant), otherwise globally."""
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d commands%s", len(synced), " to the dev guild" if self.settings.dev_guild_id else " globally")

    def start_scheduler(self) -> None:
        """The PreferenceLearner and the DM digest, once per process (a reconnect does not start them again)."""
        if self.scheduler is not None:
            return
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from bot.services.jobs import run_cli, users_analysed
        from bot.services.learner import JOB_NAME
        from bot.services.periodic import LockedPeriodicJob

        app = self.app
        assert app is not None
        scheduler = AsyncIOScheduler(timezone="UTC")

        async def learn() -> int:
            """In a child process (bot/services/jobs.py); this process holds the job's lock meanwhile."""
            result = await run_cli(app.settings, app.db.dsn, "learn", "--no-lock")
            if not result.ok:
                raise RuntimeError(f"PreferenceLearner failed: {result.last_line()}")
            return users_analysed(result)

        LockedPeriodicJob(JOB_NAME, app.db.dsn, timedelta(minutes=self.settings.learner_interval_minutes), learn
                          ).schedule(scheduler)
        digest = self.get_cog("DMFeedback")
        if digest is not None:
            LockedPeriodicJob("dm_digest", app.db.dsn, timedelta(hours=24), digest.send_digests).schedule(scheduler)  # type: ignore[attr-defined]
        scheduler.start()
        self.scheduler = scheduler

    def background(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run work after the reply; keep a reference so it is not garbage collected mid-way."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for task in list(self._background):
            task.cancel()
        if self.sync is not None:
            await self.sync.stop()
        workers.shutdown()
        await super().close()
        if self._owns_app and self.app is not None:
            await self.app.close()


async def open_app(settings: Settings) -> App:
    """The database (migrations must be applied) and the engine with the newest model."""
    from bot.db.migrate import status
    from bot.db.pool import open_database

    db = await open_database(settings)
    async with db.acquire() as conn:
        pending = (await status(conn)).pending
    if pending:
        await db.close()
        raise MigrationsPending(f"{len(pending)} database migration(s) pending "
                                f"({', '.join(m.filename for m in pending)}): run `cinesync migrate` first, then start the bot")
    app = await build_app(settings, db)
    if app.runtime.model is None:
        log.warning("no trained model: recommendations are popularity-based until `cinesync train` (or /admin retrain)")
    return app


def create_bot(settings: Settings | None = None, *, app: App | None = None, sync_commands: bool = True) -> CineSyncBot:
    return CineSyncBot(settings or load_settings(), app, sync_commands=sync_commands)
