"""`/rate movie rating`: autocomplete from the fuzzy title search; word or star ratings."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.app import App
from bot.catalog.titles import fold
from bot.cogs.common import CineSyncCog, in_time, reply
from bot.cogs.rating.views import ChooseMovieView, QuickRatingView, start_quick_rating
from bot.render import cards
from bot.render.embeds import embed
from bot.services.errors import UnknownMovie
from bot.services.feedback import parse_rating

# stars 5 ... 0.5, then the words (love = 5★, like = 4★, meh = 3★, dislike = 2★, hate = 1★)
RATING_CHOICES = [app_commands.Choice(name=f"{s / 2:g} ★", value=f"{s / 2:g}") for s in range(10, 0, -1)] + [
    app_commands.Choice(name=label, value=word) for word, label in (
        ("love", "love ❤️ (5★)"), ("like", "like 👍 (4★)"), ("meh", "meh 😐 (3★)"),
        ("dislike", "dislike 👎 (2★)"), ("hate", "hate 💀 (1★)"))]
CLEAR_LEAD = 8.0  # a typed title resolves on its own when the best match leads the next by this much
POPULAR_LEAD = 5.0  # ... or when, among close matches, one has this many times the ratings of the next


def rating_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """Per member, from CINESYNC_RATE_COOLDOWN_SECONDS (0 turns it off)."""
    seconds = interaction.client.settings.rate_cooldown_seconds  # type: ignore[attr-defined]
    return app_commands.Cooldown(1, seconds) if seconds > 0 else None


def resolve(app: App, text: str) -> tuple[int | None, list]:
    """(movie id, []) when ``text`` names one movie; (None, candidates) when it is ambiguous."""
    value = text.strip()
    if value.isdigit() and int(value) in app.runtime.movies:  # picked from the autocomplete list
        return int(value), []
    matches = app.runtime.titles.search(value, 5)
    if not matches:
        raise UnknownMovie(f"no movie matches '{value[:80]}'. Check the spelling, or pick one from the list as you type.")
    if len(matches) == 1 or matches[0].score - matches[1].score >= CLEAR_LEAD:
        return matches[0].movie_id, []
    close = sorted((m for m in matches if matches[0].score - m.score < CLEAR_LEAD), key=lambda m: -m.rating_count)
    exact = [m for m in close if fold(m.title) == fold(value)]
    if len(exact) == 1:  # "toy story" is Toy Story, not Toy Story 2
        return exact[0].movie_id, []
    # among equally good matches, a far better known movie is what people mean ("heat": Heat (1995))
    if close[0].rating_count >= POPULAR_LEAD * max(1, close[1].rating_count):
        return close[0].movie_id, []
    return None, close


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
        if rating is None:
            movie_id, matches = resolve(app, movie)
            if movie_id is None:
                movie_id = matches[0].movie_id
            view = QuickRatingView(app, interaction.user.id, app.runtime.movies[movie_id])
            await interaction.response.send_message("How did you like it?", embed=view.card(), view=view, ephemeral=True)
            view.message = await interaction.original_response()
            return
        kind, stars = parse_rating(rating.value)
        movie_id, matches = resolve(app, movie)
        if movie_id is None:
            view = ChooseMovieView(app, interaction.user.id, matches, kind, stars)
            await interaction.response.send_message(
                f"'{movie[:80]}' matches several movies: which one did you mean?", view=view, ephemeral=True)
            view.message = await interaction.original_response()
            return
        # saved before the answer; deferred first if the database is slow, so the member always hears back
        result = await in_time(interaction, app.services.feedback.record(interaction.user.id, movie_id, kind, stars, "slash"))
        await reply(interaction, embed=embed(cards.rating_saved(result, app.runtime.movies[movie_id])))

    @rate.autocomplete("movie")
    async def movie_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=m.label[:100], value=str(m.movie_id))
                for m in self.app.runtime.titles.search(current, 25)]
