"""Admin commands, checked in code (`bot.tree.admin_only`): Discord's default permissions are only a hint."""
from __future__ import annotations

import logging
import time

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.render import cards
from bot.render.embeds import embed
from bot.services.admin import read_status, retrain_running
from bot.services.jobs import run_cli
from bot.tree import admin_only, is_owner, owner_only, reply_error

log = logging.getLogger(__name__)


class AdminCog(CineSyncCog, name="Admin"):
    admin = app_commands.Group(name="admin", description="CineSync administration",
                               default_permissions=discord.Permissions(manage_guild=True))
    sliders = app_commands.Group(name="sliders", description="Mood sliders", parent=admin)
    movie = app_commands.Group(name="movie", description="The catalog", parent=admin)

    @movie.command(name="add", description="Add a film: from the bundled catalog by IMDb id, or by its fields (bot owners)")
    @app_commands.describe(imdb_id="e.g. tt1517268 (from the bundled catalog)", title="Title, when adding by fields",
                           year="Release year", genres="Genres, separated by |", directors="Directors, separated by |",
                           cast="Cast, separated by |", overview="A short synopsis")
    @owner_only()
    async def movie_add(self, interaction: discord.Interaction, imdb_id: str | None = None, title: str | None = None,
                        year: app_commands.Range[int, 1870, 2200] | None = None, genres: str | None = None,
                        directors: str | None = None, cast: str | None = None, overview: str | None = None) -> None:
        from bot.services.catalog_admin import add_movie

        await interaction.response.defer(ephemeral=True, thinking=True)  # embedding the film's text takes a moment
        fields = {"title": title, "year": year, "genres": genres, "directors": directors, "cast": cast, "overview": overview}
        movie_id = await add_movie(self.app.db, self.app.settings, imdb_id, None if imdb_id else fields)
        await self.app.sync_model()  # this process now; the others on the notification
        movie = self.app.runtime.movies[movie_id]
        await interaction.followup.send(f"Added {cards.movie_label(movie)} (movie {movie_id}): members it fits get it "
                                        "in their recommendations now, before anyone has rated it.", ephemeral=True)

    @admin.command(name="status", description="Counts, model version, last learner run, pending migrations")
    @admin_only()
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await read_status(self.app.db, self.app.runtime.version)
        # counts across every server are the owners' business; a server's admins see the bot's health
        await interaction.followup.send(embed=embed(cards.admin_status(status, bot_wide=is_owner(interaction))),
                                        ephemeral=True)

    @admin.command(name="retrain", description="Retrain the base model in the background and load it (bot owners)")
    @owner_only()
    async def retrain(self, interaction: discord.Interaction) -> None:
        if await retrain_running(self.app.db):  # in any process on this database
            await interaction.response.send_message("A retrain is already running; the new model will be served "
                                                    "as soon as it is done.", ephemeral=True)
            return
        await interaction.response.send_message("Retraining started in the background; members keep getting answers. "
                                                "I'll report here when it is done.", ephemeral=True)
        self.bot.background(self._retrain(interaction), "admin-retrain")  # type: ignore[attr-defined]

    async def _retrain(self, interaction: discord.Interaction) -> None:
        app = self.app
        try:
            started = time.perf_counter()
            result = await run_cli(app.settings, app.db.dsn, "train")
            if not result.ok:
                log.error("retrain failed:\n%s", result.output[-4000:])
                await interaction.followup.send(f"❌ Retrain failed: {result.last_line()[:1500]}", ephemeral=True)
                return
            await app.sync_model()  # every other process loads it too, on the notification
            await interaction.followup.send(f"✅ Retrain done in {time.perf_counter() - started:.0f} s: model "
                                            f"{app.runtime.version} is now serving.", ephemeral=True)
        except Exception as exc:  # reported to the admin with an error id, never lost
            await reply_error(interaction, exc)

    @admin.command(name="learn", description="Run the PreferenceLearner now for members with new ratings (bot owners)")
    @owner_only()
    async def learn(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await run_cli(self.app.settings, self.app.db.dsn, "learn")
        prefix = "PreferenceLearner: " if result.ok else "❌ PreferenceLearner failed: "
        await interaction.followup.send(prefix + result.last_line()[:1500], ephemeral=True)

    @sliders.command(name="reload", description="Re-read the mood file and embed new or changed descriptions (bot owners)")
    @owner_only()
    async def sliders_reload(self, interaction: discord.Interaction) -> None:
        from bot.services.sliders import reload_sliders

        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = await reload_sliders(self.app.db, self.app.settings.embedding_model_path)
        await self.app.reload()
        await interaction.followup.send(f"Sliders reloaded: {changed} new or changed description(s) embedded.", ephemeral=True)
