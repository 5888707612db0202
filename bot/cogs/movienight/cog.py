"""`/movienight member… [options] [minutes]`: posted in the channel for everyone invited to vote."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.cogs.movienight.deadlines import NightDeadlines
from bot.cogs.movienight.views import MovieNightView
from bot.render import cards
from bot.render.embeds import embed


def voice_companions(member: discord.abc.User, bot_id: int) -> list[int]:
    """Who else is in ``member``'s voice channel (bots left out), from the guild's voice states."""
    voice = getattr(member, "voice", None)
    channel = getattr(voice, "channel", None)
    if channel is None:
        return []
    guild = channel.guild
    found = []
    for user_id in channel.voice_states:
        other = guild.get_member(user_id)
        if user_id != member.id and not (other is not None and other.bot) and user_id != bot_id:
            found.append(user_id)
    return found


class MovieNightCog(CineSyncCog, name="MovieNight"):
    async def cog_load(self) -> None:
        self.deadlines = NightDeadlines(self.bot, self.app.settings.night_sweep_seconds)
        await self.deadlines.start()

    async def cog_unload(self) -> None:
        self.deadlines.stop()

    @app_commands.command(name="movienight", description="Pick a film for a group: options everyone can enjoy, then vote")
    @app_commands.describe(member1="Who is watching (you are included; none: your voice channel)", member2="…",
                           member3="…", member4="…", options="How many films to vote on (3 to 5)",
                           minutes="How long the vote lasts")
    @app_commands.guild_only()
    async def movienight(self, interaction: discord.Interaction, member1: Optional[discord.User] = None,
                         member2: Optional[discord.User] = None, member3: Optional[discord.User] = None,
                         member4: Optional[discord.User] = None, options: app_commands.Range[int, 3, 5] = 3,
                         minutes: app_commands.Range[float, 0.01, 1440.0] = 30.0) -> None:
        members = [interaction.user.id] + [m.id for m in (member1, member2, member3, member4) if m is not None]
        if len(members) == 1:  # no one mentioned: whoever is in the caller's voice channel
            members += voice_companions(interaction.user, interaction.client.user.id if interaction.client.user else 0)
        await interaction.response.defer(thinking=True)  # public: everyone invited votes on this message
        service = self.app.services.movienight
        night = await service.propose(interaction.guild_id, members, options, minutes)
        message = await interaction.followup.send(embed=embed(cards.movie_night(night)),
                                                  view=MovieNightView(self.app, night), wait=True)
        await service.posted(night.night_id, message.channel.id, message.id)
        self.deadlines.watch(night)
