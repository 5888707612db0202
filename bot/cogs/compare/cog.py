"""`/compare member` and `/privacy compare on|off`."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.render import cards
from bot.render.embeds import embed


class CompareCog(CineSyncCog, name="Compare"):
    @app_commands.command(name="compare", description="How your taste matches another member's in this server")
    @app_commands.describe(member="The member to compare with")
    @app_commands.guild_only()
    async def compare(self, interaction: discord.Interaction, member: discord.User) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # two members' rankings of the whole catalog
        result = await self.app.services.compare.compare(interaction.user.id, member.id, interaction.guild_id)
        await interaction.followup.send(embed=embed(cards.comparison(result, member.display_name)), ephemeral=True)

    privacy = app_commands.Group(name="privacy", description="What other members may see of your taste")

    @privacy.command(name="compare", description="Allow or refuse /compare with you (on by default)")
    @app_commands.describe(allowed="on: members of your servers may compare with you; off: nobody may")
    @app_commands.choices(allowed=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")])
    async def privacy_compare(self, interaction: discord.Interaction, allowed: app_commands.Choice[str]) -> None:
        await self.app.services.compare.set_allowed(interaction.user.id, allowed.value == "on")
        await interaction.response.send_message(
            "Members of your servers may compare tastes with you." if allowed.value == "on"
            else "Nobody can compare with you now; `/privacy compare on` to allow it again.", ephemeral=True)
