"""`/my_ratings [stars] [genre]` and `/unrate movie`."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, genre_choices, in_time, movie_choices, reply, resolve_one
from bot.cogs.diary.views import DiaryView
from bot.render import cards
from bot.render.embeds import embed


class DiaryCog(CineSyncCog, name="Diary"):
    @app_commands.command(name="my_ratings", description="What you rated, newest first: page through, change or remove")
    @app_commands.describe(stars="Only this many stars (4 keeps 4 and 4.5)", genre="Only this genre")
    async def my_ratings(self, interaction: discord.Interaction,
                         stars: Optional[app_commands.Range[float, 0.5, 5.0]] = None, genre: Optional[str] = None) -> None:
        page = await self.app.services.diary.page(interaction.user.id, 0, stars, genre)
        view = DiaryView(self.app, interaction.user.id, page)
        await interaction.response.send_message(embed=embed(cards.diary(page)), view=view, ephemeral=True)
        view.message = await interaction.original_response()

    @my_ratings.autocomplete("genre")
    async def genre_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return genre_choices(self.app, current)

    @app_commands.command(name="unrate", description="Remove what you said about a film")
    @app_commands.describe(movie="Start typing a title")
    async def unrate(self, interaction: discord.Interaction, movie: str) -> None:
        movie_id = resolve_one(self.app, movie)
        result = await in_time(interaction, self.app.services.feedback.record(interaction.user.id, movie_id, None, None,
                                                                              "slash"))
        film = self.app.runtime.movies[movie_id]
        if result.duplicate:
            await reply(interaction, content=f"You had not rated {cards.identity(film)}; nothing changed.")
            return
        await reply(interaction, embed=embed(cards.rating_saved(result, film)))

    @unrate.autocomplete("movie")
    async def movie_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return movie_choices(self.app, current)
