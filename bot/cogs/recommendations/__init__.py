"""`/my_recommendations`: personal picks with reasons, mood and genre filters, and buttons."""
from discord.ext import commands

from bot.cogs.recommendations.cog import RecommendationsCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RecommendationsCog(bot))
