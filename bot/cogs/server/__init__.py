"""`/server top` and `/server settings`: the server's own flavour."""
from discord.ext import commands

from bot.cogs.server.cog import ServerCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ServerCog(bot))
