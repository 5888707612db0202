"""The diary's buttons: newer/older pages, choose an entry, change or remove it."""
from __future__ import annotations

import discord

from bot.app import App
from bot.cogs.common import OwnedView, in_time, reply
from bot.cogs.rating_views import QuickRatingView
from bot.render import cards
from bot.render.embeds import embed
from bot.services.diary import DiaryPage


class DiaryView(OwnedView):
    def __init__(self, app: App, owner_id: int, page: DiaryPage) -> None:
        super().__init__(owner_id, timeout=600.0)
        self.app = app
        self.show(page)

    def show(self, page: DiaryPage) -> None:
        self.page = page
        self.selected = page.entries[0].movie["movie_id"] if page.entries else None
        self.clear_items()
        if page.entries:
            self.add_item(_EntryPicker(page))
        newer = _PageButton("◀ Newer", "diary:newer", -1)
        newer.disabled = page.page == 0
        older = _PageButton("Older ▶", "diary:older", +1)
        older.disabled = page.page + 1 >= page.pages
        self.add_item(newer)
        self.add_item(older)
        if page.entries:
            self.add_item(_ChangeButton())
            self.add_item(_RemoveButton())

    async def turn(self, interaction: discord.Interaction, step: int) -> None:
        page = await in_time(interaction, self.app.services.diary.page(
            self.owner_id, max(0, self.page.page + step), self.page.stars, self.page.genre), edit=True)
        self.show(page)
        await reply(interaction, edit=True, embed=embed(cards.diary(page)), view=self)

    async def change(self, interaction: discord.Interaction) -> None:
        movie = self.app.runtime.movies[self.selected]  # type: ignore[index]
        view = QuickRatingView(self.app, self.owner_id, movie, single=True)
        await interaction.response.send_message("Your new rating:", embed=view.card(), view=view, ephemeral=True)
        view.message = await interaction.original_response()

    async def remove(self, interaction: discord.Interaction) -> None:
        movie = self.app.runtime.movies[self.selected]  # type: ignore[index]
        diary = self.app.services.diary

        async def withdraw_and_reread():  # type: ignore[no-untyped-def]
            result = await self.app.services.feedback.record(self.owner_id, movie["movie_id"], None, None, "slash")
            return result, await diary.page(self.owner_id, self.page.page, self.page.stars, self.page.genre)

        result, page = await in_time(interaction, withdraw_and_reread(), edit=True)
        self.show(page)
        note = f"🗑 Removed your rating of {cards.identity(movie)} · {result.rating_count} rated."
        await reply(interaction, edit=True, content=note, embed=embed(cards.diary(page)), view=self)


class _EntryPicker(discord.ui.Select["DiaryView"]):
    def __init__(self, page: DiaryPage) -> None:
        options = [discord.SelectOption(label=cards.button_label(e.movie, 100),
                                        description=cards.feedback_label(e.kind, e.rating)[:100],
                                        value=str(e.movie["movie_id"]), default=i == 0)
                   for i, e in enumerate(page.entries)]
        super().__init__(placeholder="Choose an entry to change or remove", options=options, custom_id="diary:pick", row=0)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        self.view.selected = int(self.values[0])
        for option in self.options:
            option.default = option.value == self.values[0]
        await interaction.response.edit_message(view=self.view)


class _PageButton(discord.ui.Button["DiaryView"]):
    def __init__(self, label: str, custom_id: str, step: int) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.secondary, custom_id=custom_id, row=1)
        self.step = step

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.turn(interaction, self.step)


class _ChangeButton(discord.ui.Button["DiaryView"]):
    def __init__(self) -> None:
        super().__init__(label="✏️ Change", style=discord.ButtonStyle.primary, custom_id="diary:change", row=2)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.change(interaction)


class _RemoveButton(discord.ui.Button["DiaryView"]):
    def __init__(self) -> None:
        super().__init__(label="🗑 Remove", style=discord.ButtonStyle.danger, custom_id="diary:remove", row=2)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.remove(interaction)
