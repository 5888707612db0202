"""`/watchlist add movie`, `/watchlist list`, `/watchlist remove movie`."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, movie_choices, resolve
from bot.render import cards
from bot.render.embeds import embed
from bot.services.errors import UserError


class WatchlistCog(CineSyncCog, name="Watchlist"):
    watchlist = app_commands.Group(name="watchlist", description="Films you want to see")

    def _one(self, movie: str) -> int:
        movie_id, matches = resolve(self.app, movie)
        if movie_id is None:
            raise UserError(f"'{movie[:80]}' could be {len(matches)} films ("
                            + ", ".join(cards.button_label(self.app.runtime.movies[m.movie_id]) for m in matches[:3])
                            + "): pick it from the list as you type")
        return movie_id

    @watchlist.command(name="add", description="Add a film you want to see")
    @app_commands.describe(movie="Start typing a title")
    async def add(self, interaction: discord.Interaction, movie: str) -> None:
        movie_id = self._one(movie)
        added = await self.app.services.watchlist.add(interaction.user.id, movie_id)
        film = cards.identity(self.app.runtime.movies[movie_id])
        await interaction.response.send_message(
            f"🔖 Added {film} to your watchlist." if added else f"{film} is already on your watchlist.", ephemeral=True)

    @watchlist.command(name="remove", description="Take a film off your watchlist")
    @app_commands.describe(movie="Start typing a title")
    async def remove(self, interaction: discord.Interaction, movie: str) -> None:
        movie_id = self._one(movie)
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
