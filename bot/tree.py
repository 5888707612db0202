"""Central error handling for every slash command, button and select.

User-facing errors (bad input, unknown movie, not saved, cooldown, admin only) become a
clear ephemeral message; anything else becomes a generic message with an error id that is
logged with its traceback, so a member can quote it and an operator can find it.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import discord
from discord import app_commands

from bot.services.errors import NotSaved, UserError

log = logging.getLogger("bot.errors")


class AdminOnly(app_commands.CheckFailure):
    """The member is neither the bot's owner nor allowed to manage this server."""


def explain(error: BaseException) -> tuple[str, bool]:
    """(message, expected) for an error raised while handling an interaction."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, NotSaved):
        return f"⚠️ {error}", True
    if isinstance(error, UserError):
        return f"❌ {error}", True
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"⏳ Slow down: try again in {error.retry_after:.1f} s.", True
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server.", True
    if isinstance(error, app_commands.CheckFailure):
        return f"🔒 {error}" if str(error) else "🔒 You are not allowed to use this command.", True
    if isinstance(error, app_commands.TransformerError):
        return f"❌ {error}", True
    return "", False


async def reply_error(interaction: discord.Interaction, error: BaseException) -> None:
    message, expected = explain(error)
    if not expected:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else interaction.data.get("custom_id", "?") if interaction.data else "?"
        log.error("error %s in %s for user %s", error_id, command, interaction.user.id, exc_info=error)
        message = f"Something went wrong on our side (error id `{error_id}`). Nothing was lost; please try again."
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id)


class CineSyncTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await reply_error(interaction, error)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Remember which servers a member uses CineSync in (a server's figures count only its members),
        in the background: no command waits for it (/forget_me settles it first)."""
        app = getattr(interaction.client, "app", None)
        command = interaction.command.qualified_name if interaction.command else ""
        if interaction.guild_id is not None and app is not None and command not in ("forget_me", "export_my_data"):
            app.services.membership.note(interaction.user.id, interaction.guild_id, time.monotonic())
        return True


def is_owner(interaction: discord.Interaction[Any]) -> bool:
    """One of the bot's owners (CINESYNC_OWNER_IDS): the only ones who may run bot-wide jobs."""
    settings = getattr(interaction.client, "settings", None)
    return settings is not None and interaction.user.id in settings.owner_ids


def is_admin(interaction: discord.Interaction[Any]) -> bool:
    """The bot owner, or a member with Manage Server in this server (never in DMs)."""
    client = interaction.client
    owners = getattr(client, "settings", None)
    if owners is not None and interaction.user.id in owners.owner_ids:
        return True
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    return interaction.permissions.manage_guild or interaction.permissions.administrator


def admin_only() -> Any:
    """A check in code: Discord's default_permissions are only a hint server admins can change."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if not is_admin(interaction):
            where = "in a server where you have Manage Server" if interaction.guild_id else "in a server, not in DMs"
            raise AdminOnly(f"Admin commands are for the bot owner or members with Manage Server; use them {where}.")
        return True

    return app_commands.check(predicate)


def owner_only() -> Any:
    """Bot-wide jobs (retrain, learn, sliders reload) touch every server: owners only, whatever a
    server's own permissions say."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if not is_owner(interaction):
            raise AdminOnly("This command changes CineSync for every server, so only the bot's owners may run it "
                            "(CINESYNC_OWNER_IDS).")
        return True

    return app_commands.check(predicate)
