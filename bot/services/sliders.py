"""Loading the operator's mood file into the `sliders` table (embedded once per description).

Each mood is ``name: {"description": ..., "labels": {...}}`` (the weak-label rule of
`engine.moods.LabelRule`); a bare description string is accepted and then has no labels, so its
fit comes from the description's text similarity alone."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import numpy as np

from bot.db.pool import Database, as_array
from bot.paths import PACKAGE_DIR
from bot.repositories import models as repo
from bot.services.errors import UserError
from bot.services.runtime import TEXT_MODEL_NAME
from engine.moods import LabelRule
from engine.sliders import Sliders
from engine.text import TextEncoder

DEFAULT_FILE = PACKAGE_DIR / "sliders.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def read_slider_file(path: Path) -> dict[str, dict]:
    """name -> {"description": str, "labels": dict}, checked; errors name the mood and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read the slider file ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise UserError(f"{path}: expected a JSON object of name -> description")
    out = {}
    for name, entry in data.items():
        entry = {"description": entry} if isinstance(entry, str) else entry
        text = entry.get("description") if isinstance(entry, dict) else None
        if not NAME.match(name) or not isinstance(text, str) or not text.strip():
            raise UserError(f"{path}: slider {name!r} needs a lowercase name (a-z, 0-9, -) and a non-empty description")
        labels = entry.get("labels") or {}
        try:
            LabelRule.from_dict(labels)
        except (ValueError, TypeError, AttributeError) as exc:
            raise UserError(f"{path}: slider {name!r} has invalid labels ({exc})") from None
        out[name] = {"description": text, "labels": labels}
    return out


async def reload_sliders(db: Database, model_path: str, path: Path = DEFAULT_FILE) -> int:
    """Embed new or changed descriptions and store the file's sliders; returns how many were re-embedded."""
    wanted = read_slider_file(path)
    async with db.acquire() as conn:
        stored = {r["name"]: r for r in await repo.sliders(conn)}
    changed = [n for n, entry in wanted.items() if n not in stored or stored[n]["description"] != entry["description"]
               or stored[n]["model_name"] != TEXT_MODEL_NAME]
    vectors: dict[str, np.ndarray] = {n: as_array(stored[n]["embedding"]) for n in wanted if n not in changed}
    if changed:
        encoded = await asyncio.to_thread(lambda: TextEncoder(model_path).encode([wanted[n]["description"] for n in changed], progress=False))
        vectors.update(zip(changed, encoded))
    async with db.transaction() as conn:
        await repo.replace_sliders(conn, [{"name": n, "description": e["description"], "labels": e["labels"],
                                           "model_name": TEXT_MODEL_NAME, "embedding": vectors[n]}
                                          for n, e in wanted.items()])
    return len(changed)


async def load_sliders(db: Database) -> Sliders | None:
    async with db.acquire() as conn:
        rows = await repo.sliders(conn)
    if not rows:
        return None
    return Sliders([r["name"] for r in rows], [r["description"] for r in rows], np.stack([as_array(r["embedding"]) for r in rows]),
                   [LabelRule.from_dict(r["labels"] or {}) for r in rows])
