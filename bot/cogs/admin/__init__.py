"""`/admin`: status, retrain, learn, sliders reload, for the bot owner and server managers."""
from discord.ext import commands

from bot.cogs.admin.cog import AdminCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AdminCog(bot))
