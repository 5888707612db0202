"""`/compare member`: taste match with another member of this server."""
from discord.ext import commands

from bot.cogs.compare.cog import CompareCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(CompareCog(bot))
