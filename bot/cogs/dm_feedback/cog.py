"""Reactions on the bot's DMs are feedback; `/digest on|off` opts into a daily DM of picks."""
from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.cogs.common import CineSyncCog
from bot.cogs.dm_feedback.sender import DMsClosed, send_movie_dm
from bot.services.errors import NotSaved, SlowDown

log = logging.getLogger(__name__)


class DMFeedbackCog(CineSyncCog, name="DMFeedback"):
    @CineSyncCog.listener("on_raw_reaction_add")
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    @CineSyncCog.listener("on_raw_reaction_remove")
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        if payload.guild_id is not None or self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        try:
            result = await self.app.services.dm_feedback.react(payload.message_id, payload.user_id, str(payload.emoji), added)
        except (NotSaved, SlowDown) as exc:
            # never a silent loss: say so in the DM where the reaction was made
            channel = self.bot.get_partial_messageable(payload.channel_id)
            try:
                await channel.send(f"⚠️ {str(exc).rstrip('.')}. Remove and add your reaction again in a moment.")
            except discord.HTTPException:
                log.warning("reaction by %s not saved and the member could not be told", payload.user_id)
            return
        if result is not None and not result.duplicate:
            log.info("DM reaction %s by %s on movie %s recorded", payload.emoji, payload.user_id, result.movie_id)

    @app_commands.command(name="digest", description="Turn the daily DM with three picks on or off")
    @app_commands.choices(setting=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")])
    async def digest(self, interaction: discord.Interaction, setting: app_commands.Choice[str]) -> None:
        enabled = setting.value == "on"
        await self.app.services.digest.set_enabled(interaction.user.id, enabled)
        text = ("Daily digest on: once a day I will DM you three picks; react to them to teach me. "
                "Make sure DMs from server members are allowed." if enabled else "Daily digest off.")
        await interaction.response.send_message(text, ephemeral=True)

    async def send_digests(self) -> int:
        """The scheduled job: three picks by DM to each subscriber; closed DMs turn the digest off."""
        sent = 0
        services = self.app.services
        for user_id in await services.digest.subscribers():
            recs = await services.digest.compose(user_id)
            try:
                user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
                for movie in recs.movies:
                    await send_movie_dm(self.app, user, movie.movie_id, movie.reason, movie.match)
                    sent += 1
            except DMsClosed:
                log.info("digest for %s stopped: DMs are closed", user_id)
                await services.digest.set_enabled(user_id, False)
            except discord.HTTPException:
                log.warning("digest for %s failed; will try next period", user_id, exc_info=True)
        return sent
