"""`/movie title`: a film's card."""
from discord.ext import commands

from bot.cogs.movies.cog import MoviesCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MoviesCog(bot))
