"""`/movienight`: a group pick, votes, a winner, and ratings afterwards."""
from discord.ext import commands

from bot.cogs.movienight.cog import MovieNightCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MovieNightCog(bot))
