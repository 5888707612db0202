"""`/watchlist add movie`, `/watchlist list`, `/watchlist remove movie`."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, movie_choices, resolve_one
from bot.render import cards
from bot.render.embeds import embed


class WatchlistCog(CineSyncCog, name="Watchlist"):
    watchlist = app_commands.Group(name="watchlist", description="Films you want to see")

    @watchlist.command(name="add", description="Add a film you want to see")
    @app_commands.describe(movie="Start typing a title")
    async def add(self, interaction: discord.Interaction, movie: str) -> None:
        movie_id = resolve_one(self.app, movie)
        added = await self.app.services.watchlist.add(interaction.user.id, movie_id)
        await interaction.response.send_message(cards.watchlist_added(self.app.runtime.movies[movie_id], added),
                                                ephemeral=True)

    @watchlist.command(name="remove", description="Take a film off your watchlist")
    @app_commands.describe(movie="Start typing a title")
    async def remove(self, interaction: discord.Interaction, movie: str) -> None:
        movie_id = resolve_one(self.app, movie)
        removed = await self.app.services.watchlist.remove(interaction.user.id, movie_id)
        film = cards.identity(self.app.runtime.movies[movie_id])
        await interaction.response.send_message(
            f"Removed {film} from your watchlist." if removed else f"{film} was not on your watchlist.", ephemeral=True)

    @watchlist.command(name="list", description="The films on your watchlist")
    async def show(self, interaction: discord.Interaction) -> None:
        movies = await self.app.services.watchlist.movies(interaction.user.id)
        await interaction.response.send_message(embed=embed(cards.watchlist(movies)), ephemeral=True)

    @add.autocomplete("movie")
    @remove.autocomplete("movie")
    async def movie_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return movie_choices(self.app, current)
