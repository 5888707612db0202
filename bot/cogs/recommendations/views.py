"""Buttons under a recommendation list: pick a movie, then rate it, hide it, get more like it, or DM it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.app import App
from bot.cogs.common import OwnedView, in_time, reply
from bot.cogs.dm_feedback.sender import DMsClosed, send_movie_dm
from bot.render import cards
from bot.render.embeds import embed
from bot.services.recommendations import RecommendedMovie, Recommendations
from engine.feedback import WORD_STARS

RATE_BUTTONS = (("love", "❤️ Love", discord.ButtonStyle.success), ("like", "👍 Like", discord.ButtonStyle.primary),
                ("dislike", "👎 Dislike", discord.ButtonStyle.secondary),
                ("not_interested", "🚫 Not interested", discord.ButtonStyle.danger))
DMS_CLOSED = ("I can't DM you: Discord refused the message. Allow direct messages from members of this server "
              "(server menu → Privacy Settings), then press the button again.")


MAX_LISTED = 50  # "More" pages through at most this many picks in all


@dataclass
class ListRequest:
    """What the member asked for, so "More" can ask again for the next page."""

    count: int = 10
    mood: str | None = None
    genre: str | None = None
    context: dict[str, Any] | None = None


class RecommendationView(OwnedView):
    def __init__(self, app: App, owner_id: int, recs: Recommendations, request: ListRequest | None = None,
                 listed: list[int] | None = None) -> None:
        super().__init__(owner_id, timeout=600.0)
        self.app, self.recs = app, recs
        self.request = request or ListRequest(len(recs.movies))
        self.listed = (listed or []) + [m.movie_id for m in recs.movies]  # every page so far
        self.selected = recs.movies[0].movie_id if recs.movies else None
        if not recs.movies:  # nothing to act on: no buttons at all
            self.clear_items()
            return
        self.add_item(_MoviePicker(recs))
        for kind, label, style in RATE_BUTTONS:
            self.add_item(_RateButton(kind, label, style))
        self.next_page.disabled = len(self.listed) >= MAX_LISTED or len(recs.movies) < self.request.count

    def card(self) -> discord.Embed:
        card = cards.recommendations(self.recs, self.request.mood, self.request.genre,
                                     first=len(self.listed) - len(self.recs.movies) + 1)
        return embed(card)

    def _movie(self) -> RecommendedMovie:
        """The movie chosen in the list (the first until another is picked)."""
        return next(m for m in self.recs.movies if m.movie_id == self.selected)

    async def _rate(self, interaction: discord.Interaction, kind: str) -> None:
        movie = self._movie()
        stars = WORD_STARS.get(kind)
        result = await in_time(interaction, self.app.services.feedback.record(
            self.owner_id, movie.movie_id, kind, stars, "button"))
        text = cards.saved_line(result, self.app.runtime.movies[movie.movie_id])
        await reply(interaction, content=text)

    @discord.ui.button(label="🔖 Want to watch", style=discord.ButtonStyle.secondary, custom_id="recs:watch", row=3)
    async def want(self, interaction: discord.Interaction, _b: discord.ui.Button["RecommendationView"]) -> None:
        movie = self._movie()
        added = await self.app.services.watchlist.add(self.owner_id, movie.movie_id)
        await interaction.response.send_message(cards.watchlist_added(self.app.runtime.movies[movie.movie_id], added),
                                                ephemeral=True)

    @discord.ui.button(label="👁 Seen it", style=discord.ButtonStyle.secondary, custom_id="recs:seen", row=3)
    async def seen(self, interaction: discord.Interaction, _b: discord.ui.Button["RecommendationView"]) -> None:
        await self._rate(interaction, "seen")

    @discord.ui.button(label="More ▶", style=discord.ButtonStyle.primary, custom_id="recs:next", row=3)
    async def next_page(self, interaction: discord.Interaction, _b: discord.ui.Button["RecommendationView"]) -> None:
        request = self.request
        count = min(request.count, MAX_LISTED - len(self.listed))
        recs = await in_time(interaction, self.app.services.recommendations.recommend(
            self.owner_id, count, genre=request.genre, mood=request.mood, context=request.context,
            exclude=self.listed, surface="more"), edit=True)
        view = RecommendationView(self.app, self.owner_id, recs, request, self.listed)
        view.message = self.message
        self.stop()
        await reply(interaction, edit=True, content=None, embed=view.card(), view=view)

    @discord.ui.button(label="🔁 More like this", style=discord.ButtonStyle.secondary, custom_id="recs:more", row=2)
    async def more(self, interaction: discord.Interaction, _b: discord.ui.Button["RecommendationView"]) -> None:
        movie = self._movie()
        await interaction.response.defer(ephemeral=True, thinking=True)
        recs = await self.app.services.recommendations.more_like_this(self.owner_id, movie.movie_id, 5)
        card = cards.recommendations(recs)
        card.title = f"More like {movie.label}"
        view = RecommendationView(self.app, self.owner_id, recs)
        view.message = await interaction.followup.send(embed=embed(card), view=view, ephemeral=True, wait=True)

    @discord.ui.button(label="📬 Send to my DMs", style=discord.ButtonStyle.secondary, custom_id="recs:dm", row=2)
    async def send_dm(self, interaction: discord.Interaction, _b: discord.ui.Button["RecommendationView"]) -> None:
        movie = self._movie()
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await send_movie_dm(self.app, interaction.user, movie.movie_id, movie.reason, movie.match)
        except DMsClosed:
            await interaction.followup.send(DMS_CLOSED, ephemeral=True)
            return
        await interaction.followup.send(f"Sent {movie.label} to your DMs: react there to rate it.", ephemeral=True)


class _RateButton(discord.ui.Button["RecommendationView"]):
    def __init__(self, kind: str, label: str, style: discord.ButtonStyle) -> None:
        super().__init__(label=label, style=style, custom_id=f"recs:{kind}", row=1)
        self.kind = kind

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view._rate(interaction, self.kind)


class _MoviePicker(discord.ui.Select["RecommendationView"]):
    def __init__(self, recs: Recommendations) -> None:
        options = [discord.SelectOption(label=f"{i}. {m.label}"[:100], value=str(m.movie_id), default=i == 1)
                   for i, m in enumerate(recs.movies[:25], 1)]
        super().__init__(placeholder="Choose a movie for the buttons below", options=options, custom_id="recs:pick", row=0)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        self.view.selected = int(self.values[0])
        for option in self.options:
            option.default = option.value == self.values[0]
        await interaction.response.edit_message(view=self.view)
