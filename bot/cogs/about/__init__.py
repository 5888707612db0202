"""`/about`: what this CineSync serves and its data credits."""
from discord.ext import commands

from bot.cogs.about.cog import AboutCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AboutCog(bot))
