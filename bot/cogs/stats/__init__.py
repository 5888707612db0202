"""`/my_stats`: the member's taste profile with a chart."""
from discord.ext import commands

from bot.cogs.stats.cog import StatsCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StatsCog(bot))
