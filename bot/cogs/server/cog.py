"""`/server top`: this server's most loved films this month. `/server settings weight`: how much that
counts in members' recommendations (server admins; checked in code)."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.render import cards
from bot.render.embeds import embed
from bot.tree import admin_only


class ServerCog(CineSyncCog, name="Server"):
    server = app_commands.Group(name="server", description="This server's own flavour", guild_only=True)

    @server.command(name="top", description="The films this server's members loved most in the last 30 days")
    async def top(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        result = await self.app.services.server.top(interaction.guild_id)
        await interaction.response.send_message(embed=embed(cards.server_top(result)), ephemeral=True)

    @server.command(name="settings", description="How much 'popular in this server' counts in picks (0 off, 1 most)")
    @app_commands.describe(weight="0 (off) to 1; 0.2 by default")
    @admin_only()
    async def settings(self, interaction: discord.Interaction, weight: app_commands.Range[float, 0.0, 1.0]) -> None:
        assert interaction.guild_id is not None
        await self.app.services.server.set_weight(interaction.guild_id, weight)
        await interaction.response.send_message(
            f"'Popular in this server' now weighs {weight:g} in members' recommendations here"
            + (" (off)." if weight == 0 else "."), ephemeral=True)
