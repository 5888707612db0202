"""The opt-in DM digest: who wants it, and what goes in it."""
from __future__ import annotations

from bot.db.pool import Database
from bot.repositories import members as repo
from bot.services.recommendations import RecommendationService, Recommendations

DIGEST_SIZE = 3


class DigestService:
    def __init__(self, db: Database, recommendations: RecommendationService) -> None:
        self.db, self.recommendations = db, recommendations

    async def set_enabled(self, user_id: int, enabled: bool) -> None:
        async with self.db.transaction() as conn:
            await repo.set_digest(conn, user_id, enabled)

    async def subscribers(self) -> list[int]:
        async with self.db.acquire() as conn:
            return await repo.digest_users(conn)

    async def compose(self, user_id: int) -> Recommendations:
        return await self.recommendations.recommend(user_id, DIGEST_SIZE, surface="digest")
