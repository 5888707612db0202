"""Cards as Discord embeds."""
from __future__ import annotations

import discord

from bot.render.cards import Card


def embed(card: Card) -> discord.Embed:
    out = discord.Embed(title=card.title[:256], description=card.description[:4096] or None, color=card.color)
    for name, value in card.fields[:25]:
        out.add_field(name=name[:256], value=value[:1024] or "-", inline=False)
    if card.footer:
        out.set_footer(text=card.footer[:2048])
    if card.image:
        out.set_image(url=f"attachment://{card.image}")
    return out
