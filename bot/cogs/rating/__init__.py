"""`/rate`: rate a movie by title, or a quick round of one-tap ratings."""
from discord.ext import commands

from bot.cogs.rating.cog import RatingCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RatingCog(bot))
