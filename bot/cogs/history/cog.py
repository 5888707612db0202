"""`/import file:<attachment>`: a Letterboxd export (zip or CSV) or an IMDb ratings export."""
from __future__ import annotations

import discord
from discord import app_commands

from bot.catalog.history import MAX_BYTES
from bot.cogs.common import CineSyncCog, OwnedView
from bot.render import cards
from bot.render.embeds import embed
from bot.services.errors import UserError


PROGRESS_FROM = 200  # rows from which the member is told the import is under way


class UndoImportView(OwnedView):
    def __init__(self, cog: "HistoryCog", owner_id: int) -> None:
        super().__init__(owner_id, timeout=900.0)
        self.cog = cog

    @discord.ui.button(label="↩️ Undo this import", style=discord.ButtonStyle.danger, custom_id="import:undo")
    async def undo(self, interaction: discord.Interaction, _b: discord.ui.Button["UndoImportView"]) -> None:
        self.stop()
        await interaction.response.defer()
        restored = await self.cog.app.services.history.undo(self.owner_id)
        await interaction.edit_original_response(content=f"↩️ Import undone: {restored} film"
                                                 f"{'s' if restored != 1 else ''} back as they were.", view=None)


class HistoryCog(CineSyncCog, name="History"):
    @app_commands.command(name="import", description="Bring your Letterboxd (zip or CSV) or IMDb ratings export")
    @app_commands.describe(file="Letterboxd: Settings → Data → Export; IMDb: Your ratings → Export")
    async def import_history(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        if file.size > MAX_BYTES:
            raise UserError(f"{file.filename} is larger than {MAX_BYTES // 1024 // 1024} MB; export only your ratings")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        lines = data.count(b"\n") if not data.startswith(b"PK") else 0
        if lines > PROGRESS_FROM or data.startswith(b"PK"):  # a long history: say what is happening meanwhile
            what = f"{lines:,} rows" if lines else "your Letterboxd export"
            await interaction.edit_original_response(content=f"⏳ Importing {what}: matching films, then saving them "
                                                             "in one go…")
        report = await self.app.services.history.import_file(interaction.user.id, file.filename, data)
        view = UndoImportView(self, interaction.user.id) if report.imported or report.watchlisted else None
        message = await interaction.followup.send(embed=embed(cards.history_report(report, file.filename)),
                                                  ephemeral=True, wait=True, **({"view": view} if view else {}))
        if view is not None:
            view.message = message
