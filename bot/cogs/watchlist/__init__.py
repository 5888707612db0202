"""`/watchlist add|list|remove`: films a member wants to see."""
from discord.ext import commands

from bot.cogs.watchlist.cog import WatchlistCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(WatchlistCog(bot))
