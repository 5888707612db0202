"""Sending one recommendation by DM with its reaction buttons, and remembering it."""
from __future__ import annotations

import discord

from bot.app import App
from bot.render import cards
from bot.render.embeds import embed
from bot.services.dm_feedback import REACTIONS, SentDM


class DMsClosed(Exception):
    """Discord refused the DM (the member closed DMs from server members, or blocked the bot)."""


async def send_movie_dm(app: App, user: discord.abc.User, movie_id: int, reason: str | None = None,
                        match: float | None = None) -> discord.Message:
    movie = app.runtime.movies[movie_id]
    try:
        message = await user.send(embed=embed(cards.dm_movie(movie, reason, match)))
    except discord.Forbidden as exc:
        raise DMsClosed(str(exc)) from exc
    # remembered before the reactions are added, so a fast reaction is already understood
    await app.services.dm_feedback.remember(SentDM(message.id, message.channel.id, user.id, movie_id))
    for emoji in REACTIONS:
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException:
            break  # the message stands; members can still react by hand
    return message

