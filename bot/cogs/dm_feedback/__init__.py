"""DM feedback: recommendations sent by DM, reactions on them, and the opt-in digest."""
from discord.ext import commands

from bot.cogs.dm_feedback.cog import DMFeedbackCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(DMFeedbackCog(bot))
