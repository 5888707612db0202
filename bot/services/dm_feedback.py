"""Recommendations sent by DM and the reactions members put on them.

The message-to-movie map lives in `dm_messages`, so a reaction is understood after a restart
and by any shard. Reactions go through the same `FeedbackService` as `/rate`.
"""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bot.db.pool import Database, DatabaseUnavailable
from bot.repositories import members as repo
from bot.services.errors import NotSaved
from bot.services.feedback import FeedbackResult, FeedbackService

# emoji -> feedback kind, in the order the bot adds them under each DM
REACTIONS: dict[str, str] = {"❤️": "love", "👍": "like", "😐": "meh", "👎": "dislike", "💀": "hate", "🚫": "not_interested"}
_BY_BASE = {emoji.replace("\ufe0f", ""): kind for emoji, kind in REACTIONS.items()}


def reaction_kind(emoji: str) -> str | None:
    """Discord sends ❤ with or without the variation selector; both mean love."""
    return _BY_BASE.get(emoji.replace("\ufe0f", ""))


@dataclass
class SentDM:
    message_id: int
    channel_id: int
    user_id: int
    movie_id: int


class DMFeedbackService:
    def __init__(self, db: Database, feedback: FeedbackService) -> None:
        self.db, self.feedback = db, feedback

    async def remember(self, sent: SentDM) -> None:
        async with self.db.transaction() as conn:
            await repo.remember_dm(conn, sent.message_id, sent.channel_id, sent.user_id, sent.movie_id)

    async def react(self, message_id: int, user_id: int, emoji: str, added: bool) -> FeedbackResult | None:
        """Record (or withdraw) the reaction's feedback; None when it is not feedback on one of our DMs."""
        kind = reaction_kind(emoji)
        if kind is None:
            return None
        try:
            async with self.db.acquire() as conn:
                sent = await repo.dm_message(conn, user_id, message_id)
        except (DatabaseUnavailable, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
            raise NotSaved(f"your {emoji} reaction was not saved (database unavailable)") from exc
        if sent is None or sent["user_id"] != user_id:  # not ours, or someone else's reaction
            return None
        if added:
            return await self.feedback.record(user_id, sent["movie_id"], kind, None, "dm_reaction", unless_same=True)
        return await self.feedback.record(user_id, sent["movie_id"], None, None, "dm_reaction", withdraw_kind=kind)
