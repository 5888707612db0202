"""`/import file`: bring a Letterboxd or IMDb history, with a report and an undo button."""
from discord.ext import commands

from bot.cogs.history.cog import HistoryCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(HistoryCog(bot))
