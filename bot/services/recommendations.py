"""`/my_recommendations`: the user's feedback and taste vector, similar users from pgvector, the ranker."""
from __future__ import annotations

import asyncio
import logging
import math
import re
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from bot.db.pool import Database, as_array
from bot.repositories import feedback as feedback_repo
from bot.repositories import models as model_repo
from bot.services.errors import UserError
from bot.services.member_state import replay_feedback
from bot.services.member_index import MemberIndexRefresher
from bot.services.member_search import MemberSearch
from bot.services.runtime import EngineRuntime
from bot.services.server import ServerService
from bot.services.state_cache import StateCache
from engine.feedback import signal
from engine.moods import MOOD_STEER, phrase_probability, text_fit
from engine.sliders import Action
from engine.ranker import Ranking, UserFeedback, known_to_model
from engine.reasons import TasteFacts
from engine.signals import Neighbours
from engine.snapshot import short_title
from engine.trainer import MIN_PERSONAL_RATINGS, UserState, unit

from engine.engine import NEIGHBOURS

log = logging.getLogger(__name__)
PhraseEncoder = Callable[[str], np.ndarray]  # a free-text mood -> its unit sentence embedding
LIKE_TITLE = re.compile(r"\blike (.+?)(?:\s+(?:but|and|with|only)\b|[,;]|$)")
MAX_COUNT = 20  # a Discord select menu holds 25 options; a list longer than 20 is not read
LIKING_WEIGHT = 0.3  # the member's own lean towards a mood, against the ranker's score (a nudge)


@dataclass
class RecommendedMovie:
    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    score: float
    reason: str
    signals: dict[str, float]
    match: float | None = None  # calibrated probability that the member rates it 4 stars or more
    on_watchlist: bool = False

    @property
    def label(self) -> str:
        title = short_title(self.title)
        return f"{title} ({self.year})" if self.year else title


@dataclass
class Recommendations:
    user_id: int
    movies: list[RecommendedMovie]
    rating_count: int
    cold_start: bool
    fallback: bool
    weights: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None

    @property
    def ratings_needed(self) -> int:
        return max(0, MIN_PERSONAL_RATINGS - self.rating_count)


class RecommendationService:
    def __init__(self, db: Database, runtime: EngineRuntime, cache: StateCache | None = None,
                 phrases: PhraseEncoder | None = None, server: "ServerService | None" = None,
                 member_index: MemberIndexRefresher | None = None, member_search: MemberSearch | None = None) -> None:
        self.db, self.runtime = db, runtime
        self.member_search = member_search or MemberSearch(db, in_memory=False)
        self.cache = cache or StateCache()
        self.phrases = phrases
        self.server = server
        self.member_index = member_index or MemberIndexRefresher(db)

    async def _user(self, conn: Any, user_id: int, stored: Any = None) -> tuple[Any, ...]:
        """(feedback, state, unit embedding, slider actions); state None when the user has none in this model's basis.
        ``stored``: the member's `recommendation_context` row, already read (else their state is read here)."""
        if stored is None:
            row = await feedback_repo.user_state(conn, user_id)
        else:
            row = stored if stored["has_state"] else None
        version = row["version"] if row else -1
        cached = self.cache.get(user_id, version)
        if cached is not None:
            return cached
        rows = await feedback_repo.user_feedback(conn, user_id)
        index = self.runtime.catalog.items
        known = [r for r in rows if index.get(r["movie_id"]) is not None]
        sigs = [signal(r["kind"], r["rating"]) for r in known]
        state = embedding = None
        if row is not None and row["solver_state"] is not None and row["model_version"] == self.runtime.version:
            state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
            embedding = as_array(row["embedding"])
        elif row is not None and known and self.runtime.trainer is not None:
            state, version = await self._rebase(conn, user_id, row["version"], rows)
            embedding = unit(state.vector)
        stars = np.array([np.nan if r["rating"] is None else r["rating"] for r in known], dtype=np.float64)
        feedback = UserFeedback(
            items=np.array([index.get(r["movie_id"]) for r in known], dtype=np.int64),
            seen=np.array([s.seen for s in sigs]), valence=np.array([s.valence for s in sigs]),
            stars=stars, state=state,
            known=row is not None and known_to_model(row["trained_ratings"], int(np.count_nonzero(~np.isnan(stars)))),
        )
        now = datetime.now(timezone.utc)
        actions = [Action(int(index.get(r["movie_id"])), s.valence, r["kind"], r["source"],
                          (now - r["updated_at"]).total_seconds() / 86400.0) for r, s in zip(known, sigs)]
        value = (feedback, state, embedding, actions)
        self.cache.put(user_id, version, value)
        return value

    async def _rebase(self, conn: Any, user_id: int, read_version: int, rows: list[Any]) -> tuple[UserState, int]:
        """A state from another model (feedback given while a retrain ran) re-based on the serving model and
        stored unless it changed meanwhile; (state, row version to cache under)."""
        assert self.runtime.trainer is not None and self.runtime.version is not None
        state = replay_feedback(self.runtime.trainer, self.runtime.catalog.items, rows)
        stored = await model_repo.rebase_user_state(conn, user_id, read_version, unit(state.vector), state.to_bytes(),
                                                    state.ratings, state.feedback, self.runtime.version)
        if stored is not None:
            self.member_index.poke()  # their index row follows (applied by this or a later refresh)
        return state, (stored if stored is not None else -1)

    async def _inputs(self, conn: Any, user_id: int,
                      stored: Any = None) -> tuple[Any, list[Action], Neighbours | None, dict | None]:
        """(feedback, slider actions, similar members, learned signal weights) for ranking this member;
        ``stored`` as in `_user`."""
        runtime = self.runtime
        user, _state, embedding, actions = await self._user(conn, user_id, stored)
        neighbours = weights = None
        if embedding is not None and user is not None and len(user.items):
            similar = await self.member_search.similar(conn, user_id, embedding, NEIGHBOURS)
            if similar:
                neighbours = Neighbours.from_lists(
                    np.array([similarity for _member, similarity in similar]),
                    [np.fromiter(runtime.loved.get(member, ()), dtype=np.int64) for member, _similarity in similar],
                    len(runtime.catalog))
            if stored is not None:
                weights = stored["weights"]
            else:
                fitted = await model_repo.user_weights(conn, user_id)
                weights = fitted["weights"] if fitted else None
        return user, actions, neighbours, weights

    async def match_vector(self, user_id: int) -> np.ndarray | None:
        """Each film's calibrated chance that this member rates it 4 stars or more (None without a personal model)."""
        chances = await self.chances(user_id, dislike=False)
        return None if chances is None else chances[0]

    async def chances(self, user_id: int, dislike: bool = True) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Each film's chance of 4 stars or more and (``dislike``) of under 3 stars, from one pass over the
        member's signals (None without a personal model; the second None for a model trained before the
        "under 3 stars" calibrator existed)."""
        if self.runtime.model is None:
            return None
        async with self.db.acquire() as conn:
            user, _actions, neighbours, _weights = await self._inputs(conn, user_id)
        if user is None or user.n_ratings < MIN_PERSONAL_RATINGS:
            return None
        ranker = self.runtime.ranker

        def both() -> tuple[np.ndarray, np.ndarray | None] | None:
            raw = ranker.signal_matrix(user, neighbours)
            like = ranker.match_all(raw, user)
            return None if like is None else (like, ranker.match_all(raw, user, dislike=True) if dislike else None)

        return await asyncio.to_thread(both)

    async def match(self, user_id: int, movie_id: int) -> float | None:
        """The calibrated chance this member rates the film 4 stars or more (None without a personal model)."""
        index = self.runtime.catalog.items.get(movie_id)
        match = await self.match_vector(user_id) if index is not None else None
        return None if match is None else float(match[index])

    async def recommend(self, user_id: int, count: int = 10, genre: str | None = None,
                        boost: np.ndarray | None = None, surface: str = "slash", mood: str | None = None,
                        context: dict | None = None, like: int | None = None,
                        exclude: list[int] | None = None) -> Recommendations:
        """``like``: the catalog index of the film a "More like this" list is pulled towards (named in reasons).
        ``exclude``: movie ids already on earlier pages of this list ("More")."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise UserError(f"ask for 1 to {MAX_COUNT} recommendations (got {count!r})")
        runtime = self.runtime
        mood = " ".join(mood.split()).lower() if mood is not None else None
        fit = await self.mood_fit(mood) if mood is not None else None
        async with self.db.acquire() as conn:
            stored = await model_repo.recommendation_context(conn, user_id)  # apart from ``context`` (the request's)
            user, actions, neighbours, weights = await self._inputs(conn, user_id, stored)
        recent = list(stored["recent"]) if not exclude else []
        watchlist = set(stored["watchlist"])
        taste = TasteFacts.from_profile(stored["patterns"])
        mood_weight = MOOD_STEER
        if fit is not None and runtime.sliders.index(mood) is not None:
            liked, mood_weight = self._mood_liking(mood, actions, context)
            boost = liked if boost is None else boost + liked
        allowed = None
        if genre:
            column = runtime.catalog.genre_names.index(genre) if genre in runtime.catalog.genre_names else None
            allowed = runtime.catalog.genre_matrix[:, column] > 0 if column is not None else np.zeros(len(runtime.catalog), bool)
        index = runtime.catalog.items
        excluded = user.items if user is not None else np.empty(0, dtype=np.int64)
        if exclude:
            positions = index.positions(np.array(exclude, dtype=np.int64))
            excluded = np.union1d(excluded, positions[positions >= 0])
        shown = index.positions(np.array(recent, dtype=np.int64)) if recent else np.empty(0, dtype=np.int64)
        shown = shown[shown >= 0]
        guild = (context or {}).get("server")
        nudge = await self.server.boost(guild) if self.server is not None and guild is not None else None
        try:
            ranking: Ranking = await asyncio.to_thread(
                runtime.ranker.rank, user, neighbours, count, excluded, allowed, weights, boost, fit, mood_weight, taste,
                shown, nudge)
        except Exception:  # a broken model must never take recommendations down
            log.exception("ranking failed for user %s; serving the popularity fallback", user_id)
            ranking = runtime.ranker.popular(runtime.ranker.candidates(excluded, allowed), count, fallback=True,
                                             reason="popular with members (personal ranking unavailable)", mood=fit)
        movies = []
        for rec in ranking.items:
            movie = runtime.movies[int(runtime.catalog.items.movie_ids[rec.index])]
            reason = rec.reason
            if fit is not None and not ranking.fallback:
                reason = f"{mood[:40]} · {reason}"
            if like is not None:
                reason = f"like {runtime.catalog.label(like)} · {reason}"
            movies.append(RecommendedMovie(movie["movie_id"], movie["title"], movie["year"], list(movie["genres"]),
                                           rec.score, reason, rec.signals, rec.match, movie["movie_id"] in watchlist))
        result = Recommendations(user_id, movies, user.n_ratings if user is not None else 0, ranking.cold_start,
                                 ranking.fallback, ranking.weights, runtime.version)
        await self._log(result, surface, mood)
        return result

    async def more_like_this(self, user_id: int, movie_id: int, count: int = 5) -> Recommendations:
        """Recommendations pulled towards one movie (its neighbours in the model's item space)."""
        index = self.runtime.catalog.items.get(movie_id)
        if index is None or self.runtime.model is None:
            raise UserError("that movie is not known to the current model; try another")
        boost = 2.0 * self.runtime.ranker.similarity_to(index)
        boost[index] = -1e3  # never the movie itself
        return await self.recommend(user_id, count, boost=boost, surface="more_like_this", like=index)

    async def mood_fit(self, mood: str) -> np.ndarray:
        """Each movie's probability of fitting ``mood``: a named mood's calibrated column, or a free phrase
        ("cosy rainy-day films", "like Arrival but funnier") scored against the named moods, the movies'
        title-less texts and, for "like <title>", that film's neighbours."""
        runtime = self.runtime
        if runtime.moods is None or runtime.sliders is None:
            raise UserError("moods are not available yet: an admin can load them with `/admin sliders reload`")
        phrase = " ".join(mood.split()).lower()
        if runtime.sliders.index(phrase) is not None:
            return runtime.moods.column(phrase)
        if not 3 <= len(phrase) <= 100:
            raise UserError(f"a mood is one of {', '.join(runtime.sliders.names)}, or a phrase of 3 to 100 characters")
        if self.phrases is None or runtime.catalog.text_vectors is None:
            raise UserError(f"unknown mood '{phrase[:40]}': choose one of {', '.join(runtime.sliders.names)}")
        vector = await asyncio.to_thread(self.phrases, phrase)
        probability = phrase_probability(vector, runtime.catalog.text_vectors, runtime.sliders.vectors, runtime.moods)
        like = LIKE_TITLE.search(phrase)
        if like is not None and runtime.model is not None:
            found = runtime.titles.search(like.group(1), limit=1)
            index = runtime.catalog.items.get(found[0].movie_id) if found else None
            if index is not None:
                probability = 0.5 * probability + 0.5 * text_fit(runtime.ranker.similarity_to(index) / 10.0)
                probability[index] = 0.0
        return probability

    def _mood_liking(self, mood: str, actions: list[Action], context: dict | None) -> tuple[np.ndarray, float]:
        """(boost, mood weight): the slider scorer's calibrated chance that this member likes each movie in
        that mood (a small nudge), and the mood's weight after the context rules (late at night, weekend)."""
        scorer = self.runtime.slider_scorer
        column = scorer.sliders.index(mood)
        _raw, probability = scorer.score_batch([actions], np.arange(len(self.runtime.catalog)), context)
        values = probability[0, :, column]
        liked = (values - values.mean()) / max(float(values.std()), 1e-9)
        weights = scorer.weights(context)
        context_gain = float(weights[column, 1] / scorer.weights(None)[column, 1])
        return LIKING_WEIGHT * liked, MOOD_STEER * context_gain

    async def _log(self, result: Recommendations, surface: str, mood: str | None) -> None:
        shown = [(m.movie_id, i, float(m.score), {k: v for k, v in m.signals.items() if math.isfinite(v)})
                 for i, m in enumerate(result.movies) if math.isfinite(m.score)]
        if shown:
            async with self.db.acquire() as conn:
                await model_repo.log_recommendations(conn, result.user_id, shown, surface, mood, result.model_version)
