"""CineSync: a Discord bot that learns each member's taste in movies.

``create_bot(settings=None)`` is the public factory; importing this package does not import
discord.py, so the CLI's other commands start quickly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.client import CineSyncBot
    from bot.settings import Settings


def create_bot(settings: "Settings | None" = None, **kwargs: Any) -> "CineSyncBot":
    from bot.client import create_bot as factory

    return factory(settings, **kwargs)


__all__ = ["create_bot"]
