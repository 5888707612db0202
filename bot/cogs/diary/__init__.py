"""`/my_ratings` (the member's diary: page, filter, change, remove) and `/unrate`."""
from discord.ext import commands

from bot.cogs.diary.cog import DiaryCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(DiaryCog(bot))
