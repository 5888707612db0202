"""`/movienight member… [options] [minutes]`: posted in the channel for everyone invited to vote."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.cogs.movienight.views import MovieNightView
from bot.render import cards
from bot.render.embeds import embed


class MovieNightCog(CineSyncCog, name="MovieNight"):
    @app_commands.command(name="movienight", description="Pick a film for a group: options everyone can enjoy, then vote")
    @app_commands.describe(member1="Who is watching (you are included)", member2="…", member3="…", member4="…",
                           options="How many films to vote on (3 to 5)", minutes="How long the vote lasts")
    @app_commands.guild_only()
    async def movienight(self, interaction: discord.Interaction, member1: Optional[discord.User] = None,
                         member2: Optional[discord.User] = None, member3: Optional[discord.User] = None,
                         member4: Optional[discord.User] = None, options: app_commands.Range[int, 3, 5] = 3,
                         minutes: app_commands.Range[float, 0.01, 1440.0] = 30.0) -> None:
        members = [interaction.user.id] + [m.id for m in (member1, member2, member3, member4) if m is not None]
        voice = getattr(getattr(interaction.user, "voice", None), "channel", None)
        if len(members) == 1 and voice is not None:  # no one mentioned: whoever is in the caller's voice channel
            members += [m.id for m in voice.members if m.id != interaction.user.id and not m.bot]
        await interaction.response.defer(thinking=True)  # public: everyone invited votes on this message
        night = await self.app.services.movienight.propose(interaction.guild_id, members, options, minutes)
        view = MovieNightView(self.app, night)
        view.message = await interaction.followup.send(embed=embed(cards.movie_night(night)), view=view, wait=True)
