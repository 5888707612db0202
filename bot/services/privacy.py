"""A member's data: export it all, or delete every row about them (`/forget_me`)."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

from bot.db.pool import Database
from bot.repositories import feedback as feedback_repo
from bot.repositories import members as repo
from bot.services.errors import UserError
from bot.repositories.privacy import export_user, forget_user
from bot.services.member_search import MemberSearch
from bot.services.membership import MembershipService
from bot.services.runtime import EngineRuntime
from bot.services.state_cache import StateCache
from engine.snapshot import short_title


class PrivacyService:
    def __init__(self, db: Database, runtime: EngineRuntime, cache: StateCache,
                 membership: "MembershipService | None" = None, member_search: "MemberSearch | None" = None) -> None:
        self.db, self.runtime, self.cache, self.membership = db, runtime, cache, membership
        self.member_search = member_search

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete every row about the member, in every table with a user_id column (rows per table)."""
        if self.membership is not None:  # a note of their server still in flight lands first, then goes too
            await self.membership.settle(user_id)
        async with self.db.transaction() as conn:
            deleted = await forget_user(conn, user_id)
        self.cache.drop(user_id)
        self.runtime.loved.pop(user_id, None)
        if self.member_search is not None:  # other processes drop them on the `cinesync_loved` notification
            self.member_search.forget(user_id)
        return deleted

    async def rows_about(self, user_id: int) -> int:
        async with self.db.acquire() as conn:
            return await repo.rows_about_user(conn, user_id)

    async def export_ratings(self, user_id: int, layout: str) -> tuple[str, bytes]:
        """(file name, CSV) of the member's ratings in another site's layout, which `/import` (and that site)
        reads back: "letterboxd" (Date,Name,Year,Letterboxd URI,Rating; films seen without stars have no
        Rating) or "imdb" (Const,Your Rating,Date Rated,Title,URL,Title Type,Year; stars doubled)."""
        if layout not in ("letterboxd", "imdb"):
            raise UserError(f"unknown export format {layout!r}: json, letterboxd or imdb")
        async with self.db.acquire() as conn:
            rows = await feedback_repo.user_feedback(conn, user_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        movies = self.runtime.movies
        if layout == "letterboxd":
            writer.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
            for r in rows:
                movie = movies.get(r["movie_id"])
                if movie is None or r["kind"] == "not_interested":
                    continue
                writer.writerow([f"{r['updated_at']:%Y-%m-%d}", short_title(movie["title"]), movie["year"] or "", "",
                                 f"{r['rating']:g}" if r["rating"] is not None else ""])
        else:
            writer.writerow(["Const", "Your Rating", "Date Rated", "Title", "URL", "Title Type", "Year"])
            for r in rows:
                movie = movies.get(r["movie_id"])
                if movie is None or r["rating"] is None or not movie.get("imdb_id"):
                    continue
                writer.writerow([movie["imdb_id"], max(1, int(round(r["rating"] * 2))), f"{r['updated_at']:%Y-%m-%d}",
                                 short_title(movie["title"]), f"https://www.imdb.com/title/{movie['imdb_id']}/", "Movie",
                                 movie["year"] or ""])
        return f"cinesync-ratings-{layout}.csv", out.getvalue().encode()

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
