"""What every cog shares: the app behind the bot, views only their owner may press."""
from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.app import App
from bot.tree import reply_error

log = logging.getLogger(__name__)


def app_of(client: Any) -> App:
    app = getattr(client, "app", None)
    if app is None:
        raise RuntimeError("the bot has no CineSync app: create it with bot.create_bot() or set bot.app (INTEGRATION_GUIDE.md)")
    return app


class CineSyncCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def app(self) -> App:
        return app_of(self.bot)

    async def forget_user(self, user_id: int) -> None:
        """Per-user data-deletion hook: drop what this cog keeps in memory about the member.
        (Rows in the database are deleted by the privacy service in one transaction.)"""


class OwnedView(discord.ui.View):
    """Buttons that only the member who asked for them may press; others are told so privately."""

    def __init__(self, owner_id: int, timeout: float | None = 300.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | discord.Message | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to someone else's command; use the command yourself to get your own.", ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        await reply_error(interaction, error)

    def disable(self) -> None:
        for child in self.children:
            if isinstance(child, (discord.ui.Button, discord.ui.Select)):
                child.disabled = True

    async def on_timeout(self) -> None:
        """Grey the buttons out so nobody presses dead ones."""
        self.disable()
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                pass
