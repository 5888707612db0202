"""A member's data: export it all, or delete every row about them (`/forget_me`)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot.db.pool import Database
from bot.repositories import learner as learner_repo
from bot.repositories import members as repo
from bot.repositories.privacy import forget_user
from bot.services.runtime import EngineRuntime
from bot.services.state_cache import StateCache


class PrivacyService:
    def __init__(self, db: Database, runtime: EngineRuntime, cache: StateCache) -> None:
        self.db, self.runtime, self.cache = db, runtime, cache

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete the member's ratings, events, embedding, preferences, weights, logs, DM map and settings."""
        async with self.db.transaction() as conn:
            deleted = await forget_user(conn, user_id)
        self.cache.invalidate(user_id)
        self.runtime.loved.pop(user_id, None)
        return deleted

    async def rows_about(self, user_id: int) -> int:
        async with self.db.acquire() as conn:
            return await repo.rows_about_user(conn, user_id)

    async def export(self, user_id: int) -> bytes:
        """Everything we hold about the member as one JSON document."""
        async with self.db.acquire() as conn:
            ratings = await repo.export_ratings(conn, user_id)
            events = await repo.export_events(conn, user_id)
            profile = await learner_repo.user_preferences(conn, user_id)
            settings = await repo.user_settings(conn, user_id)
        document: dict[str, Any] = {
            "user_id": str(user_id),
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "ratings": [dict(r) for r in ratings],
            "events": [dict(r) for r in events],
            "profile": dict(profile) if profile else None,
            "settings": dict(settings) if settings else {"digest_enabled": False},
        }
        return json.dumps(document, indent=2, default=str, ensure_ascii=False).encode()
