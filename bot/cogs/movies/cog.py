"""`/movie title`: year, runtime, genres, director, cast, your rating, the server's, your match, links."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, movie_choices, resolve
from bot.cogs.movies.views import MovieCardView
from bot.cogs.rating_views import ChooseMovieView
from bot.render import cards
from bot.render.embeds import embed


class MoviesCog(CineSyncCog, name="Movies"):
    @app_commands.command(name="movie", description="A film's card: details, your match, the server's rating, links")
    @app_commands.describe(movie="Start typing a title")
    async def movie(self, interaction: discord.Interaction, movie: str) -> None:
        app = self.app
        movie_id, matches = resolve(app, movie)
        if movie_id is None:
            view = ChooseMovieView(app, interaction.user.id, matches, None, None, then=self.show)
            await interaction.response.send_message(f"Which film did you mean by '{movie[:80]}'?", view=view,
                                                    ephemeral=True)
            view.message = await interaction.original_response()
            return
        await interaction.response.defer(ephemeral=True, thinking=True)  # the match % ranks the whole catalog
        info = await app.services.movie_info.info(interaction.user.id, movie_id, interaction.guild_id)
        view = MovieCardView(app, interaction.user.id, info.movie)
        view.message = await interaction.followup.send(embed=embed(cards.movie_card(info)), view=view, ephemeral=True,
                                                       wait=True)

    async def show(self, interaction: discord.Interaction, movie_id: int) -> None:
        """After "which film did you mean?": the chosen film's card in place of the question."""
        await interaction.response.defer()
        info = await self.app.services.movie_info.info(interaction.user.id, movie_id, interaction.guild_id)
        view = MovieCardView(self.app, interaction.user.id, info.movie)
        await interaction.edit_original_response(content=None, embed=embed(cards.movie_card(info)), view=view)
        view.message = await interaction.original_response()

    @movie.autocomplete("movie")
    async def movie_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return movie_choices(self.app, current)
