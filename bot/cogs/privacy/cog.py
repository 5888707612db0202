"""Deleting (with confirmation) or exporting everything CineSync holds about a member."""
from __future__ import annotations

import io
from typing import Optional

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog, OwnedView
from bot.render import cards
from bot.render.embeds import embed


class ConfirmForget(OwnedView):
    def __init__(self, cog: "PrivacyCog", owner_id: int) -> None:
        super().__init__(owner_id, timeout=120.0)
        self.cog = cog

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger, custom_id="forget:confirm")
    async def confirm(self, interaction: discord.Interaction, _b: discord.ui.Button["ConfirmForget"]) -> None:
        self.stop()
        deleted = await self.cog.forget(self.owner_id)
        total = sum(deleted.values())
        card = cards.Card("Your data is deleted", f"{total} rows removed: {deleted.get('user_ratings', 0)} ratings, "
                                                  f"{deleted.get('feedback_events', 0)} events, your taste profile, "
                                                  "logs and settings. "
                                                  "CineSync has nothing left about you.", color=cards.GOOD)
        await interaction.response.edit_message(content=None, embed=embed(card), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="forget:cancel")
    async def cancel(self, interaction: discord.Interaction, _b: discord.ui.Button["ConfirmForget"]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", embed=None, view=None)


class PrivacyCog(CineSyncCog, name="Privacy"):
    @app_commands.command(name="forget_me", description="Delete everything CineSync knows about you")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        view = ConfirmForget(self, interaction.user.id)
        card = cards.Card("Delete all your CineSync data?", "Your ratings, feedback history, taste profile, "
                          "learned weights, recommendation log, DM links and settings will be deleted for good. "
                          "`/export_my_data` first if you want a copy.", color=cards.WARN)
        await interaction.response.send_message(embed=embed(card), view=view, ephemeral=True)
        view.message = await interaction.original_response()

    async def forget(self, user_id: int) -> dict[str, int]:
        """The database rows in one transaction, then every cog's in-memory hook."""
        deleted = await self.app.services.privacy.forget(user_id)
        for cog in self.bot.cogs.values():
            hook = getattr(cog, "forget_user", None)
            if hook is not None:
                await hook(user_id)
        return deleted

    @app_commands.command(name="export_my_data", description="Download everything held about you, or your ratings for another site")
    @app_commands.describe(format="json: everything; letterboxd or imdb: your ratings in that site's import layout")
    @app_commands.choices(format=[app_commands.Choice(name=n, value=n) for n in ("json", "letterboxd", "imdb")])
    async def export_my_data(self, interaction: discord.Interaction,
                             format: Optional[app_commands.Choice[str]] = None) -> None:  # noqa: A002 (Discord's option name)
        await interaction.response.defer(ephemeral=True, thinking=True)
        layout = format.value if format is not None else "json"
        if layout == "json":
            data = await self.app.services.privacy.export(interaction.user.id)
            await interaction.followup.send("Everything CineSync holds about you:", ephemeral=True,
                                            file=discord.File(io.BytesIO(data), filename="cinesync-my-data.json"))
            return
        name, data = await self.app.services.privacy.export_ratings(interaction.user.id, layout)
        await interaction.followup.send(f"Your ratings in {layout.title() if layout != 'imdb' else 'IMDb'}'s layout "
                                        "(`/import` reads it back):", ephemeral=True,
                                        file=discord.File(io.BytesIO(data), filename=name))
