"""The quick rating flow and the "which one did you mean?" buttons."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import discord

from bot.app import App
from bot.cogs.common import OwnedView, in_time, reply
from bot.render import cards
from bot.render.embeds import embed
from bot.services.feedback import parse_rating

QUICK_BUTTONS = (("love", "❤️ Love", discord.ButtonStyle.success), ("like", "👍 Like", discord.ButtonStyle.primary),
                 ("meh", "😐 Meh", discord.ButtonStyle.secondary), ("dislike", "👎 Dislike", discord.ButtonStyle.secondary),
                 ("hate", "💀 Hate", discord.ButtonStyle.danger))


class QuickRatingView(OwnedView):
    """One movie at a time; each press records and shows the next. Times out after 5 idle minutes."""

    def __init__(self, app: App, owner_id: int, movie: dict[str, Any], timeout: float = 300.0, *,
                 single: bool = False) -> None:
        """``single``: rate just this movie (`/rate title` with no rating), no round after it."""
        super().__init__(owner_id, timeout)
        self.app, self.movie, self.single = app, movie, single
        self.rated, self.shown = 0, [movie["movie_id"]]
        self.recent_genres: list[str] = list(movie["genres"])
        for kind, label, style in QUICK_BUTTONS:
            self.add_item(_QuickButton(kind, label, style))
        if not single:
            self.add_item(_QuickButton("skip", "Haven't seen", discord.ButtonStyle.secondary, row=1))
            self.add_item(_QuickButton("stop", "Stop", discord.ButtonStyle.danger, row=1))

    @classmethod
    async def start(cls, app: App, owner_id: int) -> "QuickRatingView | None":
        movie = await app.services.quick_rating.next_movie(owner_id)
        return cls(app, owner_id, movie) if movie else None

    def card(self) -> discord.Embed:
        return embed(cards.quick_movie(self.movie, None if self.single else self.rated))

    async def press(self, interaction: discord.Interaction, action: str) -> None:
        if action == "stop":
            self.stop()
            done = cards.Card("Quick rating finished", f"You rated {self.rated} movie{'s' if self.rated != 1 else ''} "
                                                      "in this round. `/my_recommendations` has your picks.",
                              color=cards.GOOD)
            await interaction.response.edit_message(embed=embed(done), view=None)
            return
        kind, stars = parse_rating(action) if action != "skip" else (None, None)
        if self.single:
            result = await in_time(interaction, self.app.services.feedback.record(
                self.owner_id, self.movie["movie_id"], kind, stars, "button"), edit=True)
            self.stop()
            await reply(interaction, edit=True, content=None, embed=embed(cards.rating_saved(result, self.movie)), view=None)
            return

        async def save_and_pick() -> tuple[Any, Any]:
            result = None
            if kind is not None:
                result = await self.app.services.feedback.record(self.owner_id, self.movie["movie_id"], kind, stars, "button")
            return result, await self.app.services.quick_rating.next_movie(self.owner_id, self.shown, self.recent_genres[-6:])

        result, following = await in_time(interaction, save_and_pick(), edit=True)  # deferred if the database is slow
        note = ""
        if result is not None:
            self.rated += 1
            note = cards.saved_line(result, self.movie)
        if following is None:
            self.stop()
            await reply(interaction, edit=True, content=note or None, embed=embed(cards.Card(
                "You have rated every movie we know!", "Nothing left for the quick round.")), view=None)
            return
        self.movie = following
        self.shown.append(following["movie_id"])
        self.recent_genres.extend(following["genres"])
        await reply(interaction, edit=True, content=note or None, embed=self.card(), view=self)


class _QuickButton(discord.ui.Button["QuickRatingView"]):
    def __init__(self, action: str, label: str, style: discord.ButtonStyle, row: int = 0) -> None:
        super().__init__(label=label, style=style, custom_id=f"quick:{action}", row=row)
        self.action = action

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.press(interaction, self.action)


async def start_quick_rating(interaction: discord.Interaction, app: App) -> None:
    """Answer ``interaction`` with the first movie of a quick round (ephemeral)."""
    view = await QuickRatingView.start(app, interaction.user.id)
    if view is None:
        await interaction.response.send_message("You have rated every movie we know!", ephemeral=True)
        return
    await interaction.response.send_message(embed=view.card(), view=view, ephemeral=True)
    view.message = await interaction.original_response()


class StartRatingView(OwnedView):
    """The button under "rate N more first"."""

    def __init__(self, app: App, owner_id: int) -> None:
        super().__init__(owner_id)
        self.app = app

    @discord.ui.button(label="Start rating", style=discord.ButtonStyle.success, custom_id="quick:start")
    async def begin(self, interaction: discord.Interaction, _button: discord.ui.Button["StartRatingView"]) -> None:
        await start_quick_rating(interaction, self.app)


class ChooseMovieView(OwnedView):
    """A typed title that did not name one film: a button per candidate (year kept), and "None of these".
    With a rating, choosing records it; without one, choosing shows that film's rating buttons."""

    def __init__(self, app: App, owner_id: int, matches: list[Any], kind: str | None, stars: float | None, *,
                 then: Callable[[discord.Interaction, int], Awaitable[None]] | None = None) -> None:
        """``then``: what choosing does instead of rating (e.g. show the film's card)."""
        super().__init__(owner_id, timeout=120.0)
        self.app, self.kind, self.stars, self.then = app, kind, stars, then
        for match in matches[:5]:
            self.add_item(_ChoiceButton(match.movie_id, cards.button_label(app.runtime.movies[match.movie_id])))
        self.add_item(_NoneButton())

    async def choose(self, interaction: discord.Interaction, movie_id: int) -> None:
        self.stop()
        if self.then is not None:
            await self.then(interaction, movie_id)
            return
        movie = self.app.runtime.movies[movie_id]
        if self.kind is None:
            view = QuickRatingView(self.app, self.owner_id, movie, single=True)
            await interaction.response.edit_message(content="How did you like it?", embed=view.card(), view=view)
            view.message = await interaction.original_response()
            return
        result = await in_time(interaction, self.app.services.feedback.record(
            self.owner_id, movie_id, self.kind, self.stars, "slash"), edit=True)
        await reply(interaction, edit=True, content=None, embed=embed(cards.rating_saved(result, movie)), view=None)

    async def none_of_these(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Nothing was saved. Try the title with its year (\"solaris 1972\"), or pick the film from the "
                    "list that appears as you type.", embed=None, view=None)


class _ChoiceButton(discord.ui.Button["ChooseMovieView"]):
    def __init__(self, movie_id: int, label: str) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.primary, custom_id=f"choose:{movie_id}")
        self.movie_id = movie_id

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.choose(interaction, self.movie_id)


class _NoneButton(discord.ui.Button["ChooseMovieView"]):
    def __init__(self) -> None:
        super().__init__(label="None of these", style=discord.ButtonStyle.secondary, custom_id="choose:none", row=1)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.none_of_these(interaction)
