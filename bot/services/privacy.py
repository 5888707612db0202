"""A member's data: export it all, or delete every row about them (`/forget_me`)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot.db.pool import Database
from bot.repositories import members as repo
from bot.repositories.privacy import export_user, forget_user
from bot.services.runtime import EngineRuntime
from bot.services.state_cache import StateCache


class PrivacyService:
    def __init__(self, db: Database, runtime: EngineRuntime, cache: StateCache) -> None:
        self.db, self.runtime, self.cache = db, runtime, cache

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete every row about the member, in every table with a user_id column (rows per table)."""
        async with self.db.transaction() as conn:
            deleted = await forget_user(conn, user_id)
        self.cache.invalidate(user_id)
        self.runtime.loved.pop(user_id, None)
        return deleted

    async def rows_about(self, user_id: int) -> int:
        async with self.db.acquire() as conn:
            return await repo.rows_about_user(conn, user_id)

    async def export(self, user_id: int) -> bytes:
        """Everything we hold about the member as one JSON document: every row of every table with a
        user_id column (taste vector, logs and DM map included), with the ratings and settings first."""
        async with self.db.acquire() as conn:
            tables = await export_user(conn, user_id)
            settings = await repo.user_settings(conn, user_id)
        document: dict[str, Any] = {
            "user_id": str(user_id),
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "ratings": tables.get("user_ratings", []),
            "settings": dict(settings) if settings else {"digest_enabled": False},
            "tables": tables,
        }
        return json.dumps(document, indent=2, default=str, ensure_ascii=False).encode()
