"""`/rate movie rating`: autocomplete from the fuzzy title search; word or star ratings."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, in_time, movie_choices, reply, resolve
from bot.cogs.rating_views import ChooseMovieView, QuickRatingView, start_quick_rating
from bot.render import cards
from bot.render.embeds import embed
from bot.services.feedback import parse_rating

# stars 5 ... 0.5, then the words (love = 5★, like = 4★, meh = 3★, dislike = 2★, hate = 1★)
RATING_CHOICES = [app_commands.Choice(name=f"{s / 2:g} ★", value=f"{s / 2:g}") for s in range(10, 0, -1)] + [
    app_commands.Choice(name=label, value=word) for word, label in (
        ("love", "love ❤️ (5★)"), ("like", "like 👍 (4★)"), ("meh", "meh 😐 (3★)"),
        ("dislike", "dislike 👎 (2★)"), ("hate", "hate 💀 (1★)"))]
def rating_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """Per member, from CINESYNC_RATE_COOLDOWN_SECONDS (0 turns it off)."""
    seconds = interaction.client.settings.rate_cooldown_seconds  # type: ignore[attr-defined]
    return app_commands.Cooldown(1, seconds) if seconds > 0 else None


class RatingCog(CineSyncCog, name="Rating"):
    @app_commands.command(name="rate", description="Rate a movie, or start a quick rating round with no movie")
    @app_commands.describe(movie="Start typing a title", rating="Stars, or how you felt")
    @app_commands.choices(rating=RATING_CHOICES)
    @app_commands.checks.dynamic_cooldown(rating_cooldown)
    async def rate(self, interaction: discord.Interaction, movie: Optional[str] = None,
                   rating: Optional[app_commands.Choice[str]] = None) -> None:
        app = self.app
        if movie is None:
            await start_quick_rating(interaction, app)
            return
        kind, stars = parse_rating(rating.value) if rating is not None else (None, None)
        movie_id, matches = resolve(app, movie)
        if movie_id is None:
            view = ChooseMovieView(app, interaction.user.id, matches, kind, stars)
            await interaction.response.send_message(
                f"Which film did you mean by '{movie[:80]}'?", view=view, ephemeral=True)
            view.message = await interaction.original_response()
            return
        if kind is None:  # just this film: its rating buttons, no quick round after it
            view = QuickRatingView(app, interaction.user.id, app.runtime.movies[movie_id], single=True)
            await interaction.response.send_message("How did you like it?", embed=view.card(), view=view, ephemeral=True)
            view.message = await interaction.original_response()
            return
        # saved before the answer; deferred first if the database is slow, so the member always hears back
        result = await in_time(interaction, app.services.feedback.record(interaction.user.id, movie_id, kind, stars, "slash"))
        await reply(interaction, embed=embed(cards.rating_saved(result, app.runtime.movies[movie_id])))

    @rate.autocomplete("movie")
    async def movie_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return movie_choices(self.app, current)
