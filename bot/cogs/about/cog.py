"""`/about`: the catalog and model served, and the credits the data sources require (TMDB, MovieLens)."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.render import cards
from bot.render.embeds import embed


class AboutCog(CineSyncCog, name="About"):
    @app_commands.command(name="about", description="What CineSync knows, and where its film data comes from")
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=embed(cards.about(self.app.services.about.about())), ephemeral=True)
