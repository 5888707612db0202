"""`/my_recommendations [count] [mood] [genre]`."""
from __future__ import annotations

from typing import Optional
from zoneinfo import ZoneInfo

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, genre_choices
from bot.cogs.recommendations.views import ListRequest, RecommendationView
from bot.services.genres import genre_named


class RecommendationsCog(CineSyncCog, name="Recommendations"):
    @app_commands.command(name="my_recommendations", description="Movies picked for you, with reasons")
    @app_commands.describe(count="How many per page (1 to 20); More shows further pages, up to 50 in all", mood="A mood (dark, feel-good, ...) or any phrase, e.g. cosy rainy-day films",
                           genre="Only this genre")
    async def my_recommendations(self, interaction: discord.Interaction,
                                 count: app_commands.Range[int, 1, 20] = 10,
                                 mood: Optional[str] = None, genre: Optional[str] = None) -> None:
        app = self.app
        genre = genre_named(app.runtime.catalog.genre_names, genre) if genre else None  # "animation" is Animation
        # ranking over the whole catalog can take longer than Discord's 3 s on a busy machine
        await interaction.response.defer(ephemeral=True, thinking=True)
        local = interaction.created_at.astimezone(ZoneInfo(app.settings.timezone))
        request = ListRequest(count, mood, genre, {"hour": local.hour, "weekend": local.weekday() >= 5,
                                                   "server": interaction.guild_id})
        recs = await app.services.recommendations.recommend(interaction.user.id, count, genre=genre, mood=mood,
                                                            context=request.context)
        view = RecommendationView(app, interaction.user.id, recs, request)
        view.message = await interaction.followup.send(embed=view.card(), view=view, ephemeral=True, wait=True)

    @my_recommendations.autocomplete("mood")
    async def mood_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        sliders = self.app.runtime.sliders
        names = sliders.names if sliders is not None else []
        choices = [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n]
        phrase = " ".join(current.split())[:100]
        if len(phrase) >= 3 and phrase.lower() not in names:  # any phrase works too: offer it as typed
            choices.insert(0, app_commands.Choice(name=phrase, value=phrase))
        return choices[:25]

    @my_recommendations.autocomplete("genre")
    async def genre_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return genre_choices(self.app, current)
