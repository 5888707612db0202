"""Importing a member's history from Letterboxd or IMDb (`/import`, `cinesync import history`), and undoing it.

Films are matched by IMDb id where the file has one, else by title and year with the same resolver
as `/rate` (only a film clearly meant; the rest are reported as unmatched). Ratings go through the
feedback path in one transaction, so the taste vector equals a refit; films watched without a rating
are marked seen, watchlist entries go to the watchlist. What each film was before is logged, so the
whole import can be undone in one step. Importing the same file again changes nothing.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bot.catalog.history import HistoryEntry, HistoryFormatError, read_history
from bot.db.pool import Database
from bot.repositories import history as repo
from bot.services.errors import UserError
from bot.services.feedback import FeedbackService
from bot.services.runtime import EngineRuntime


@dataclass
class HistoryReport:
    read: int = 0
    imported: int = 0  # ratings and "seen" marks written
    already: int = 0  # the same as CineSync already had
    watchlisted: int = 0
    unmatched: list[str] = field(default_factory=list)  # "Title (year)" of films not found in the catalog
    problems: list[str] = field(default_factory=list)  # file:line: reason
    seconds: float = 0.0


class HistoryService:
    def __init__(self, db: Database, runtime: EngineRuntime, feedback: FeedbackService) -> None:
        self.db, self.runtime, self.feedback = db, runtime, feedback
        self._by_imdb = {m["imdb_id"]: movie_id for movie_id, m in runtime.movies.items() if m.get("imdb_id")}

    def _match(self, entry: HistoryEntry) -> int | None:
        if entry.imdb_id and entry.imdb_id in self._by_imdb:
            return self._by_imdb[entry.imdb_id]
        typed = f"{entry.title} ({entry.year})" if entry.year else entry.title
        return self.runtime.titles.resolve(typed).movie_id

    async def import_file(self, user_id: int, name: str, data: bytes) -> HistoryReport:
        started = time.perf_counter()
        try:
            entries, problems = await asyncio.to_thread(read_history, name, data)
        except HistoryFormatError as exc:
            raise UserError(str(exc)) from None
        report = HistoryReport(read=len(entries), problems=problems)
        wanted: dict[int, HistoryEntry] = {}  # one entry per film: a rating beats "seen" beats the watchlist
        rank = {"rating": 0, "seen": 1, "watchlist": 2}
        for entry in sorted(entries, key=lambda e: (e.when is None, e.when)):
            movie_id = self._match(entry)
            if movie_id is None:
                report.unmatched.append(f"{entry.title} ({entry.year})" if entry.year else entry.title)
                continue
            if movie_id not in wanted or rank[entry.kind] <= rank[wanted[movie_id].kind]:
                wanted[movie_id] = entry
        movie_ids = sorted(wanted)
        async with self.db.acquire() as conn:
            before = await repo.feedback_on_movies(conn, user_id, movie_ids)
            listed = await repo.watchlisted_among(conn, user_id, movie_ids)
        items: list[tuple[int, str | None, float | None]] = []
        to_watch: list[int] = []
        for movie_id in movie_ids:
            entry, had = wanted[movie_id], before.get(movie_id)
            if entry.kind == "watchlist":
                if had is None and movie_id not in listed:
                    to_watch.append(movie_id)
                else:
                    report.already += 1
            elif had == (entry.kind, entry.stars) or (entry.kind == "seen" and had is not None):
                report.already += 1  # never let "watched" overwrite a rating
            else:
                items.append((movie_id, entry.kind, entry.stars))
        touched = sorted({m for m, _k, _r in items} | set(to_watch))
        previous = [{"movie_id": m, "kind": before[m][0] if m in before else None,
                     "rating": before[m][1] if m in before else None, "on_watchlist": m in listed} for m in touched]

        async def log_and_watchlist(conn: Any) -> None:
            if to_watch:
                report.watchlisted = await repo.add_many_to_watchlist(conn, user_id, to_watch)
            if touched:
                await repo.log_history_import(conn, user_id, name[:200], previous)

        results = await self.feedback.record_batch(user_id, items, "import", also=log_and_watchlist)
        report.imported = sum(not r.duplicate for r in results)
        report.already += sum(r.duplicate for r in results)
        report.seconds = time.perf_counter() - started
        return report

    async def undo(self, user_id: int) -> int:
        """Undo the member's latest import not yet undone; the number of films restored."""
        async with self.db.acquire() as conn:
            last = await repo.last_history_import(conn, user_id)
        if last is None:
            raise UserError("there is no import to undo")
        previous = last["previous"]
        items = [(p["movie_id"], p["kind"], p["rating"]) for p in previous if p["movie_id"] in self.runtime.movies]
        off_list = [p["movie_id"] for p in previous if not p["on_watchlist"]]

        async def restore_rest(conn: Any) -> None:
            await repo.remove_many_from_watchlist(conn, user_id, off_list)
            await repo.mark_import_undone(conn, user_id, last["import_id"])

        # films with no feedback before are withdrawn (kind None); the others get their old feedback back
        await self.feedback.record_batch(user_id, items, "import", also=restore_rest)
        return len(previous)
