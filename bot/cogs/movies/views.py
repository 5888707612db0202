"""Buttons under a film's card: rate it, want to watch it, not interested."""
from __future__ import annotations

from typing import Any

import discord

from bot.app import App
from bot.cogs.common import OwnedView, in_time, reply
from bot.cogs.rating_views import QuickRatingView
from bot.render import cards
from bot.render.embeds import embed


class MovieCardView(OwnedView):
    def __init__(self, app: App, owner_id: int, movie: dict[str, Any]) -> None:
        super().__init__(owner_id, timeout=600.0)
        self.app, self.movie = app, movie

    @discord.ui.button(label="⭐ Rate", style=discord.ButtonStyle.primary, custom_id="card:rate")
    async def rate(self, interaction: discord.Interaction, _b: discord.ui.Button["MovieCardView"]) -> None:
        view = QuickRatingView(self.app, self.owner_id, self.movie, single=True)
        await interaction.response.send_message("How did you like it?", embed=view.card(), view=view, ephemeral=True)
        view.message = await interaction.original_response()

    @discord.ui.button(label="🔖 Want to watch", style=discord.ButtonStyle.secondary, custom_id="card:watch")
    async def want(self, interaction: discord.Interaction, _b: discord.ui.Button["MovieCardView"]) -> None:
        added = await self.app.services.watchlist.add(self.owner_id, self.movie["movie_id"])
        await interaction.response.send_message(cards.watchlist_added(self.movie, added), ephemeral=True)

    @discord.ui.button(label="🚫 Not interested", style=discord.ButtonStyle.danger, custom_id="card:not_interested")
    async def not_interested(self, interaction: discord.Interaction, _b: discord.ui.Button["MovieCardView"]) -> None:
        result = await in_time(interaction, self.app.services.feedback.record(
            self.owner_id, self.movie["movie_id"], "not_interested", None, "button"))
        await reply(interaction, embed=embed(cards.rating_saved(result, self.movie)))
