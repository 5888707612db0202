"""Genre names as members type them: "animation", "sci fi" and "Sci-Fi" all name Sci-Fi."""
from __future__ import annotations

from typing import Sequence

from bot.catalog.titles import fold
from bot.services.errors import UserError


def genre_named(names: Sequence[str], typed: str) -> str:
    """The catalog's genre that ``typed`` names, whatever its case, spaces or hyphens; UserError otherwise."""
    wanted = fold(typed).replace(" ", "")
    for name in names:
        if fold(name).replace(" ", "") == wanted:
            return name
    raise UserError(f"unknown genre '{typed[:40]}': pick one from the list ({', '.join(list(names)[:6])}, ...)")
