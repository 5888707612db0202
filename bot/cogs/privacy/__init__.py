"""`/forget_me` and `/export_my_data`: the member's data under their control."""
from discord.ext import commands

from bot.cogs.privacy.cog import PrivacyCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(PrivacyCog(bot))
