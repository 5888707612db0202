"""What every cog shares: the app behind the bot, views only their owner may press."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, TypeVar

import discord
from discord.ext import commands

from discord import app_commands

from bot.app import App
from bot.services.errors import UnknownMovie, UserError
from bot.tree import reply_error

log = logging.getLogger(__name__)
T = TypeVar("T")
AUTOCOMPLETE_PREFIX = "id:"  # a value picked from the list; anything else, digits included, is a typed title
QUICK_REPLY_SECONDS = 2.0  # Discord drops an interaction that is not answered within 3 s


async def in_time(interaction: discord.Interaction, work: Awaitable[T], *, edit: bool = False) -> T:
    """Await ``work`` (a database write); if it is not done in QUICK_REPLY_SECONDS, acknowledge the
    interaction first so Discord's 3 s deadline holds whatever the database does, then keep waiting.
    ``edit``: a component whose message will be edited (a deferred update, no "thinking"). Answer with
    `reply`, which knows whether a deferral happened; errors reach the tree's handler either way."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), QUICK_REPLY_SECONDS)
    except asyncio.TimeoutError:
        if not interaction.response.is_done():
            if edit:
                await interaction.response.defer()
            else:
                await interaction.response.defer(ephemeral=True, thinking=True)
        return await task


async def reply(interaction: discord.Interaction, *, edit: bool = False, **message: Any) -> None:
    """Answer privately, or edit the component's message, as a first response or after `in_time` deferred."""
    if interaction.response.is_done():
        if edit:
            await interaction.edit_original_response(**message)
        else:
            await interaction.followup.send(ephemeral=True, **message)
    elif edit:
        await interaction.response.edit_message(**message)
    else:
        await interaction.response.send_message(ephemeral=True, **message)


def app_of(client: Any) -> App:
    app = getattr(client, "app", None)
    if app is None:
        raise RuntimeError("the bot has no CineSync app: create it with bot.create_bot() or set bot.app (INTEGRATION_GUIDE.md)")
    return app


def resolve(app: App, text: str) -> tuple[int | None, list[Any]]:
    """(movie id, []) when ``text`` names one film (an autocomplete pick, or a title clearly meant);
    (None, candidates) to ask the member; UnknownMovie when nothing is close."""
    value = text.strip()
    picked = value[len(AUTOCOMPLETE_PREFIX):] if value.startswith(AUTOCOMPLETE_PREFIX) else ""
    if picked.isdigit() and int(picked) in app.runtime.movies:
        return int(picked), []
    found = app.runtime.titles.resolve(value)
    if found.movie_id is None and not found.candidates:
        raise UnknownMovie(f"no movie in the catalog matches '{value[:80]}'. Check the spelling, or pick the film "
                           "from the list that appears as you type.")
    return found.movie_id, found.candidates


def resolve_one(app: App, text: str) -> int:
    """The one film ``text`` names, for commands that cannot ask back (remove, watchlist): otherwise a clear
    UserError listing what it could be."""
    from bot.render.cards import button_label

    movie_id, matches = resolve(app, text)
    if movie_id is None:
        raise UserError(f"'{text[:80]}' could be {len(matches)} films ("
                        + ", ".join(button_label(app.runtime.movies[m.movie_id]) for m in matches[:3])
                        + "): pick it from the list as you type")
    return movie_id


def movie_choices(app: App, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for a film option: title and year shown, the id carried in the value."""
    from bot.render.cards import button_label

    return [app_commands.Choice(name=button_label(app.runtime.movies[m.movie_id], 100), value=f"{AUTOCOMPLETE_PREFIX}{m.movie_id}")
            for m in app.runtime.titles.search(current, 25)]


def genre_choices(app: App, current: str) -> list[app_commands.Choice[str]]:
    names = app.runtime.catalog.genre_names
    return [app_commands.Choice(name=g, value=g) for g in names if current.lower() in g.lower()][:25]


class CineSyncCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def app(self) -> App:
        return app_of(self.bot)

    async def forget_user(self, user_id: int) -> None:
        """Per-user data-deletion hook: drop what this cog keeps in memory about the member.
        (Rows in the database are deleted by the privacy service in one transaction.)"""


class OwnedView(discord.ui.View):
    """Buttons that only the member who asked for them may press; others are told so privately."""

    def __init__(self, owner_id: int, timeout: float | None = 300.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | discord.Message | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to someone else's command; use the command yourself to get your own.", ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        await reply_error(interaction, error)

    def disable(self) -> None:
        for child in self.children:
            if isinstance(child, (discord.ui.Button, discord.ui.Select)):
                child.disabled = True

    async def on_timeout(self) -> None:
        """Grey the buttons out so nobody presses dead ones."""
        self.disable()
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                pass
