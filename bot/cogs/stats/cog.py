"""`/my_stats`: what the PreferenceLearner found, with a PNG of genre affinities and the rating histogram."""
from __future__ import annotations

import io

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.cogs.rating_views import StartRatingView
from bot.render import cards
from bot.render.chart import taste_chart
from bot.render.embeds import embed
from bot.workers import run_in_worker

CHART = "taste.png"


class StatsCog(CineSyncCog, name="Stats"):
    @app_commands.command(name="my_stats", description="Your taste profile: genres, directors, decades, rating style")
    async def my_stats(self, interaction: discord.Interaction) -> None:
        app = self.app
        await interaction.response.defer(ephemeral=True, thinking=True)
        profile = await app.services.stats.profile(interaction.user.id)
        if profile.patterns is None:
            card = cards.ratings_needed(profile.rating_count, profile.ratings_needed, "A taste profile needs")
            card.title = f"Not enough data yet: {card.title.lower()}"
            view = StartRatingView(app, interaction.user.id)
            view.message = await interaction.followup.send(embed=embed(card), view=view, ephemeral=True, wait=True)
            return
        png = await run_in_worker(taste_chart, profile.patterns)  # Agg holds the GIL: not in a thread
        await interaction.followup.send(embed=embed(cards.taste_profile(profile, CHART)),
                                        file=discord.File(io.BytesIO(png), filename=CHART), ephemeral=True)
