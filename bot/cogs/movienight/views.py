"""The movie night's buttons: one vote per option (invited members only), then "We watched it".

Both views are persistent (no timeout, fixed custom ids, bound to their message): the vote message
keeps working after a restart (`deadlines.restore_views`) and the deadline is the database's, not a
timer in this process.
"""
from __future__ import annotations

import discord

from bot.app import App
from bot.cogs.dm_feedback.sender import DMsClosed, send_movie_dm
from bot.render import cards
from bot.render.embeds import embed
from bot.services.errors import UserError
from bot.services.movienight import Night
from bot.tree import reply_error


class MovieNightView(discord.ui.View):
    def __init__(self, app: App, night: Night) -> None:
        super().__init__(timeout=None)
        self.app, self.night = app, night
        for k, option in enumerate(night.options, 1):
            self.add_item(_VoteButton(k, option.movie["movie_id"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id in self.night.members:
            return True
        await interaction.response.send_message("Only the members invited to this movie night can vote.", ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:  # type: ignore[type-arg]
        await reply_error(interaction, error)

    async def vote(self, interaction: discord.Interaction, movie_id: int) -> None:
        tally = await self.app.services.movienight.vote(self.night.night_id, interaction.user.id, movie_id)
        if not tally.all_voted:
            await interaction.response.edit_message(embed=embed(cards.movie_night(self.night, tally.votes)), view=self)
            return
        self.stop()  # everyone voted: this answer announces the winner
        closed = await self.app.services.movienight.close(self.night.night_id)
        if closed is None:
            await interaction.response.send_message("Voting has closed already.", ephemeral=True)
            return
        winner, votes = closed
        await interaction.response.edit_message(embed=embed(cards.movie_night(self.night, votes, winner)),
                                                view=WatchedView(self.app, self.night, winner))


class _VoteButton(discord.ui.Button["MovieNightView"]):
    def __init__(self, number: int, movie_id: int) -> None:
        super().__init__(label=f"Vote {number}", style=discord.ButtonStyle.primary, custom_id=f"night:vote:{movie_id}")
        self.movie_id = movie_id

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.vote(interaction, self.movie_id)


class WatchedView(discord.ui.View):
    def __init__(self, app: App, night: Night, winner: dict) -> None:  # type: ignore[type-arg]
        super().__init__(timeout=None)
        self.app, self.night, self.winner = app, night, winner

    @discord.ui.button(label="🎬 We watched it", style=discord.ButtonStyle.success, custom_id="night:watched")
    async def watched(self, interaction: discord.Interaction, _b: discord.ui.Button["WatchedView"]) -> None:
        if interaction.user.id not in self.night.members:
            raise UserError("only the members of this movie night can mark it watched")
        await interaction.response.defer()
        asked = await self.app.services.movienight.mark_watched(self.night.night_id, self.night.members)
        self.stop()
        sent = 0
        for member in asked:  # each is asked privately, with the reaction flow
            user = interaction.client.get_user(member) or await interaction.client.fetch_user(member)
            try:
                await send_movie_dm(self.app, user, self.winner["movie_id"], "you watched it at movie night: how was it?",
                                    None)
                sent += 1
            except DMsClosed:
                pass
        await interaction.edit_original_response(view=None)
        await interaction.followup.send(f"🎬 Marked {cards.movie_label(self.winner)} watched; asked {sent} member"
                                        f"{'s' if sent != 1 else ''} for a rating by DM.")

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:  # type: ignore[type-arg]
        await reply_error(interaction, error)
