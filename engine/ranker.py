"""The hybrid ranker: every signal, blended with per-user weights, then diversified.

``final = sum_s w_s * z(signal_s)`` over the user's candidates, where the personal and base
signals share the model weight as ``blend * personal + (1 - blend) * base`` (default 0.6).
Default weights per rating-count bucket are learned on a validation split when the base
model is trained (`engine.weights`), one table for members the model was trained on and one
for members who joined since; a user's own weights, when learned, replace them.
Users with fewer than 5 ratings are flagged cold start; with no ratings at all, or without
a model, the ranking is popularity, labelled as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Collection, Sequence

import numpy as np

from engine import moods, reasons
from engine import signals as sig
from engine.retrieval import LinearSignal, largest, standardise
from engine.snapshot import Catalog, ModelArrays
from engine.trainer import MIN_PERSONAL_RATINGS, UserState

if TYPE_CHECKING:
    from scipy import sparse

BUCKETS = ((0, "0"), (1, "1-4"), (5, "5-9"), (10, "10-19"), (20, "20-49"), (50, "50+"))
DEFAULT_WEIGHTS = {"model": 1.0, "collaborative": 0.5, "content": 0.1, "genre": 0.1, "attributes": 0.5, "dislike": 1.0,
                   "popularity": 0.0}
# one match % per member and movie: a movie under LOW is not shown while ENOUGH candidates reach HIGH
MATCH_LOW, MATCH_HIGH, MATCH_ENOUGH = 0.30, 0.50, 10
# a list is shown in match order apart from swaps of at most this many points: within it, the ranking's own order
MATCH_SWAP = 0.05
SHOWN_DROP = 1.5  # standard deviations a film shown recently and ignored drops by
GENRE_SHARE = 0.4  # popular lists: at most this share of the list in one genre
HATED_VALENCE = -0.75  # 1.5 stars or less (a "hate" is -1.5)
HATED_NEIGHBOUR_COSINE = 0.7  # as close as the other parts of a trilogy are to each other
WEIGHT_KEYS = tuple(DEFAULT_WEIGHTS)
# a served list works out the model, content and dislike signals, the hated filter and the match % exactly for
# the best POOL candidates of a cheap first stage only (`HybridRanker._two_stage`): over tens of thousands of
# films, full passes were most of a request's time
POOL = 1000
# and the best POOL // TIER_SHARE of each popularity tier: list calibration reaches past the best POOL for the
# member's share of lesser-known films (with // 10, 35 of 40 lists equal a full pass at list calibration 0.15)
TIER_SHARE = 3


def bucket(n_ratings: int) -> str:
    name = BUCKETS[0][1]
    for low, label in BUCKETS:
        if n_ratings >= low:
            name = label
    return name


KNOWN = "known "  # prefix of the buckets for members the model was trained on ("known 20-49")


def weight_key(n_ratings: int, known: bool) -> str:
    """The weight table's key for a member: their bucket, in the known members' table or the new members'."""
    return KNOWN + bucket(n_ratings) if known else bucket(n_ratings)


def known_to_model(trained_ratings: int, ratings: int) -> bool:
    """Whether the known members' weights apply: at least half of the member's current ratings were in the
    serving model's training data (a member who has rated much more since is scored like a new one)."""
    return trained_ratings > 0 and 2 * trained_ratings >= ratings


@dataclass
class UserFeedback:
    """One user's current feedback as item indices with their (seen, valence) inputs."""

    items: np.ndarray
    seen: np.ndarray
    valence: np.ndarray
    stars: np.ndarray  # NaN where the feedback carries no stars
    state: UserState | None = None  # the online personal state; None when unavailable
    # most of their ratings were in the model's training data: the model has learned from them, so the
    # known members' weights apply (their validation queries are held-out positives, not new-member prefixes)
    known: bool = False

    @property
    def n_ratings(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.stars)))


@dataclass
class Recommendation:
    index: int
    score: float
    signals: dict[str, float]
    reason: str
    match: float | None = None  # calibrated probability of a 4+ star rating


@dataclass
class Ranking:
    items: list[Recommendation]
    cold_start: bool = False
    fallback: bool = False
    weights: dict[str, float] = field(default_factory=dict)


KERNEL_BATCH = 32  # users in one signal batch from which their dislike signals come from the kernel


def match_order(chosen: Sequence[int], match: np.ndarray, recent: Collection[int] = frozenset(),
                swap: float = MATCH_SWAP) -> list[int]:
    """``chosen`` (best first) reordered as little as possible so that no film comes after one whose match %
    is more than ``swap`` below its own: a film keeps its place in the ranking's order unless a film further
    down has a match that much higher. Fresh picks come before ``recent`` ones (shown lately and ignored)."""
    out: list[int] = []
    for group in ([i for i in chosen if i not in recent], [i for i in chosen if i in recent]):
        if group:
            ranked = np.asarray(group, dtype=np.int64)[None, :]
            out.extend(int(i) for i in match_order_many(ranked, np.asarray(match, dtype=np.float64)[ranked], swap)[0])
    return out


def match_order_many(ranked: np.ndarray, match: np.ndarray, swap: float = MATCH_SWAP) -> np.ndarray:
    """`match_order` of many lists at once (the weight learner scores thousands): each row of ``ranked``
    (best first) reordered so that no film comes after one whose match (``match``, same shape) is more
    than ``swap`` higher."""
    rows = np.arange(len(ranked))
    remaining = np.ones(ranked.shape, dtype=bool)
    out = np.empty_like(ranked)
    for step in range(ranked.shape[1]):
        best = np.where(remaining, match, -np.inf).max(axis=1, keepdims=True)
        pick = (remaining & (match >= best - swap)).argmax(axis=1)
        out[:, step] = ranked[rows, pick]
        remaining[rows, pick] = False
    return out


def match_filter(match: np.ndarray) -> np.ndarray | None:
    """Which of these films a list may show: with MATCH_ENOUGH strong matches among them, none under
    MATCH_LOW. None: the filter does not apply."""
    if np.count_nonzero(match >= MATCH_HIGH) < MATCH_ENOUGH:
        return None
    return match >= MATCH_LOW


class HybridRanker:
    def __init__(self, catalog: Catalog, model: ModelArrays | None, blend: float = 0.6, diversity: float = 0.3,
                 calibration: float = 0.0) -> None:
        """`diversity`: MMR's weight against similar movies; `calibration`: the weight of matching the
        list's genres, decades, languages and popularity tiers to what the member loved (Steck, 2018)."""
        self.catalog, self.model, self.blend, self.diversity = catalog, model, blend, diversity
        self.calibration = calibration
        self.pool_size: int | None = POOL  # None: every candidate through the second stage (exact, slower)
        if model is not None:
            norms = np.linalg.norm(model.q, axis=1, keepdims=True)
            self._q_unit = (model.q / np.maximum(norms, 1e-12)).astype(np.float32)
            self._q_norms = np.maximum(norms[:, 0], 1e-12).astype(np.float32)
            self._attributes = sig.attribute_matrix(catalog.genre_matrix, catalog.decades(), catalog.foreign,
                                                    model.positive_counts)
            self._attribute_prior = sig.attribute_prior(self._attributes, model.positive_counts)
            self._groups = sig.attribute_groups(catalog.genre_matrix, catalog.decades())
            self._tier = np.argmax(self._attributes[:, self._groups[-1]], axis=1)  # each film's popularity tier
            self._tier_rows = [np.flatnonzero(self._tier == t) for t in range(self._groups[-1].stop - self._groups[-1].start)]
            # the fixed reference every match % is standardised against: movies the model was trained on
            self.reference = np.asarray(model.positive_counts) > 0
            self._collaborative_prior = sig.collaborative_prior(model.positive_counts)
        self._series = catalog.series()
        if model is not None:  # films without ratings: the cold start's predicted prior
            self._log_pop = model.prior if model.prior is not None else np.log1p(model.positive_counts)
        elif catalog.rating_counts is not None:
            self._log_pop = np.log1p(np.asarray(catalog.rating_counts, dtype=np.float64))
        else:
            self._log_pop = np.zeros(len(catalog))

    # ------------------------------------------------------------------ weights
    def weights_for(self, n_ratings: int, user_weights: dict[str, float] | None = None,
                    known: bool = False) -> dict[str, float]:
        """The member's own weights, else their bucket's (a model trained before the known members' table
        existed has the new members' table only)."""
        if user_weights:
            return {k: float(user_weights.get(k, 0.0)) for k in WEIGHT_KEYS}
        table = self.model.weights if self.model is not None else {}
        found = table.get(weight_key(n_ratings, known)) or table.get(bucket(n_ratings)) or DEFAULT_WEIGHTS
        return dict(found)

    # ------------------------------------------------------------------ signals
    def signal_matrix(self, user: UserFeedback, neighbours: sig.Neighbours | None,
                      light: bool = False) -> dict[str, np.ndarray]:
        """Every available signal for one user, raw (not yet normalised). ``light``: only those that cost
        little over the whole catalog (not the model, content or dislike signals: see `rank`)."""
        return self.signal_matrices([user], [neighbours], light)[0]

    def signal_matrices(self, users: Sequence[UserFeedback], neighbours: Sequence[sig.Neighbours | None],
                        light: bool = False) -> list[dict[str, np.ndarray]]:
        """`signal_matrix` of each user, from one matrix product per signal for them all (a text
        signal only for users with a text profile)."""
        batch, has_content = self._signal_rows(users, neighbours, light)
        return [{name: values[row] for name, values in batch.items() if name != "content" or has_content[row]}
                for row in range(len(users))]

    def signal_batch(self, users: Sequence[UserFeedback], neighbours: Sequence[sig.Neighbours | None]) -> dict[str, np.ndarray]:
        """`signal_matrix` for many users at once (users x items): one matrix product per signal.
        A user with nothing to build a text profile from gets a content row of zeros."""
        return self._signal_rows(users, neighbours)[0]

    def _signal_rows(self, users: Sequence[UserFeedback], neighbours: Sequence[sig.Neighbours | None],
                     light: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
        model = self.model
        assert model is not None
        count, text, genres = len(users), self.catalog.text_vectors, self.catalog.genre_matrix
        base_users = np.zeros((count, model.q.shape[1]), dtype=np.float32)
        personal = np.zeros_like(base_users)
        profiles = np.zeros((count, text.shape[1]), dtype=text.dtype) if text is not None else None
        has_content = np.zeros(count, dtype=bool)
        affinity = np.zeros((count, genres.shape[1]), dtype=genres.dtype)
        lifts = np.zeros((count, self._attributes.shape[1]), dtype=np.float32)
        for row, user in enumerate(users):
            if not light:  # the light pass leaves these to `_two_stage`, which works them out once
                base_users[row], personal[row] = self._user_vectors(user)
                profile = sig.text_profile(text, user.items, user.valence)
                if profile is not None and profiles is not None:
                    profiles[row], has_content[row] = profile, True
            affinity[row] = sig.genre_affinity(genres, user.items, user.valence)
            lifts[row] = sig.attribute_lift(self._attributes, self._attribute_prior, user.items, user.valence)
        out: dict[str, np.ndarray] = {}
        if not light:
            both = np.vstack([base_users, personal]) @ model.q.T  # one pass over the movie vectors for both
            out["base"], out["personal"] = both[:count], both[count:] / self._q_norms
        out["collaborative"] = np.stack([sig.collaborative(n, model.positive_counts, self._collaborative_prior) for n in neighbours])
        if not light and has_content.any() and profiles is not None:
            out["content"] = profiles @ text.T  # type: ignore[union-attr]
        out["genre"] = affinity @ genres.T
        out["attributes"] = lifts @ self._attributes.T
        if not light:
            out["dislike"] = self._dislikes(users)
        out["popularity"] = np.broadcast_to(self._log_pop, (count, len(self._log_pop)))
        return out, has_content

    def _dislikes(self, users: Sequence[UserFeedback]) -> np.ndarray:
        """The dislike signal of each user (users x items): a batch from the sparse kernel of close
        movies (built on the first batch), a few users by a product with the whole catalog each (a
        served list never waits for the kernel)."""
        kernel = self._dislike_kernel if len(users) >= KERNEL_BATCH else None
        if kernel is not None:
            return sig.dislike_many(kernel, [u.items for u in users], [u.valence for u in users])
        out = np.zeros((len(users), len(self.catalog)), dtype=np.float32)
        for row, user in enumerate(users):
            out[row] = sig.dislike(self._q_unit, user.items, user.valence)
        return out

    @cached_property
    def _dislike_kernel(self) -> "sparse.csr_matrix | None":
        return sig.dislike_kernel(self._q_unit)

    def _user_vectors(self, user: UserFeedback) -> tuple[np.ndarray, np.ndarray]:
        """(base, personal): the model's vector of the member's rated films, and their online vector
        (the base one without it) scaled to unit length."""
        model = self.model
        assert model is not None
        rated = ~np.isnan(user.stars)
        base = user.seen[rated] @ model.p_seen[user.items[rated]] + user.valence[rated] @ model.p_val[user.items[rated]]
        vector = user.state.vector if user.state is not None else base
        return (np.asarray(base, dtype=np.float32),
                np.asarray(vector / max(float(np.linalg.norm(vector)), 1e-12), dtype=np.float32))

    def combine(self, raw: dict[str, np.ndarray], candidates: np.ndarray, weights: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        parts: dict[str, np.ndarray] = {}
        model_weight = weights.get("model", 0.0)
        split = {"personal": self.blend * model_weight, "base": (1.0 - self.blend) * model_weight}
        for name, values in raw.items():
            w = split.get(name, weights.get(name, 0.0))
            if w:
                parts[name] = w * sig.scaled(name, values, candidates)
        total = np.zeros(len(self.catalog))
        for part in parts.values():  # summed in place: each is a pass over the catalog
            total += part
        return total, parts

    def candidates(self, excluded: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        mask = np.ones(len(self.catalog), dtype=bool) if allowed is None else allowed.copy()
        mask[excluded] = False
        return mask

    def scores(self, user: UserFeedback, neighbours: sig.Neighbours | None, candidates: np.ndarray,
               user_weights: dict[str, float] | None = None) -> np.ndarray:
        """Final scores over all items (the evaluation's entry point)."""
        if self.model is None or user.n_ratings == 0 and len(user.items) == 0:
            return self._log_pop.copy()
        weights = self.weights_for(user.n_ratings, user_weights, user.known)
        total, _ = self.combine(self.signal_matrix(user, neighbours), candidates, weights)
        return total

    # ------------------------------------------------------------------ ranking
    def popular(self, candidates: np.ndarray, k: int, *, fallback: bool, reason: str,
                mood: np.ndarray | None = None, shown: np.ndarray | None = None) -> Ranking:
        """The most popular candidates, spread over genres (no genre in more than ~40% of the list); under a
        mood, those that fit it best, popularity breaking near-ties. ``shown`` (recently shown, ignored) go last."""
        if mood is not None:
            order = moods.neutral_order(mood, np.expm1(self._log_pop))
            order = order[candidates[order]]
        else:
            order = np.flatnonzero(candidates)
            order = order[np.argsort(-self._log_pop[order], kind="stable")]
        if shown is not None and len(shown):
            seen = np.isin(order, shown)
            order = np.concatenate([order[~seen], order[seen]])
        order = order[: k * 20] if mood is not None else self._spread_genres(order[: k * 20], k)
        order = order[:k]
        items = [Recommendation(int(i), float(self._log_pop[i]), {"popularity": float(self._log_pop[i])}, reason) for i in order]
        return Ranking(items, cold_start=not fallback, fallback=fallback)

    def _spread_genres(self, order: np.ndarray, k: int) -> np.ndarray:
        """``order`` re-picked so that no genre fills more than ~40% of the first ``k`` (then the rest as it was)."""
        cap = max(2, int(np.ceil(GENRE_SHARE * k)))
        genres = self.catalog.genre_matrix
        used = np.zeros(genres.shape[1])
        chosen: list[int] = []
        for index in order:
            row = genres[index] > 0
            if len(chosen) < k and not np.any(used[row] >= cap):
                chosen.append(int(index))
                used[row] += 1
        rest = [int(i) for i in order if int(i) not in set(chosen)]
        return np.array(chosen + rest, dtype=np.int64)

    def rank(self, user: UserFeedback | None, neighbours: sig.Neighbours | None, k: int = 10,
             excluded: np.ndarray | None = None, allowed: np.ndarray | None = None,
             user_weights: dict[str, float] | None = None, boost: np.ndarray | None = None,
             mood: np.ndarray | None = None, mood_weight: float = moods.MOOD_STEER,
             taste: "reasons.TasteFacts | None" = None, shown: np.ndarray | None = None,
             nudge: np.ndarray | None = None) -> Ranking:
        """Top ``k`` recommendations with score breakdowns and one-line reasons; never raises for missing state.
        ``mood``: each movie's probability of fitting a mood; the list is then this member's ranking among
        the movies that fit it, steered by how well they fit (`engine.moods.steer`). ``shown``: films shown
        recently and ignored, which drop a little (SHOWN_DROP standard deviations) so a new request brings fresh picks.
        ``nudge``: per-film additions in standard deviations of this member's scores (a server's favourites)."""
        excluded = excluded if excluded is not None else (user.items if user is not None else np.empty(0, dtype=np.int64))
        candidates = self.candidates(excluded, allowed)
        if mood is not None:
            candidates &= moods.mood_pool(mood)
        if self.model is None or user is None:
            return self.popular(candidates, k, fallback=True, reason="popular with members (personal model unavailable)",
                                mood=mood, shown=shown)
        if len(user.items) == 0:
            return self.popular(candidates, k, fallback=False, reason="popular with members; rate a few movies to personalise",
                                mood=mood, shown=shown)
        weights = self.weights_for(user.n_ratings, user_weights, user.known)
        total, parts, raw, rows, stats = self._two_stage(user, neighbours, candidates, weights, boost, shown, nudge,
                                                         pool=mood is None and self.pool_size is not None)
        candidates = np.zeros_like(candidates)
        candidates[rows] = True
        if mood is not None:
            total = moods.steer(total, mood, mood_weight, where=candidates, log_popularity=self._log_pop)
        match = self.match_all(raw, user, rows=rows, stats=stats)
        eligible = candidates & ~self.hated_neighbours(user, rows)
        keep = match_filter(match[eligible]) if match is not None else None
        if keep is not None:
            eligible[np.flatnonzero(eligible)[~keep]] = False
        if user.n_ratings < MIN_PERSONAL_RATINGS and mood is None:  # starter picks: spread over genres
            order = np.flatnonzero(eligible & np.isfinite(total))
            order = order[np.argsort(-total[order], kind="stable")][: k * 20]
            chosen = [int(i) for i in self._spread_genres(order, k)[:k]]
        else:
            target = sig.taste_distribution(self._attributes, self._groups, user.items, user.valence)
            chosen = self._diversify(total, eligible, k, target)
        recent = set(shown.tolist()) if shown is not None else set()
        if match is not None:  # shown in match order: the same number for a movie in every list; fresh picks first
            chosen = match_order(chosen, match, recent)
        items = []
        # "loved by members close to you" is a fact about the film whatever weight the collaborative signal got
        close = sig.scaled("collaborative", raw["collaborative"], candidates) if "collaborative" in raw else None
        for index, reason in zip(chosen, self.reasons_for(chosen, user, close, taste)):
            breakdown = {name: round(float(values[index]), 4) for name, values in parts.items()}
            items.append(Recommendation(int(index), float(total[index]), breakdown, reason,
                                        None if match is None else float(match[index])))
        return Ranking(items, cold_start=user.n_ratings < MIN_PERSONAL_RATINGS, weights=weights)

    @cached_property
    def _linear(self) -> dict[str, LinearSignal]:
        """The signals that are one product with a film-by-dimension matrix, for two-stage ranking
        (built at the first ranking, so training and evaluation never pay for them)."""
        assert self.model is not None
        out = {"base": LinearSignal(self.model.q, self.reference),  # the personal signal's first stage is the base's projection
               "personal": LinearSignal(self._q_unit, self.reference, rank=None)}
        if self.catalog.text_vectors is not None:
            out["content"] = LinearSignal(self.catalog.text_vectors, self.reference, rank=None)
        out["genre"] = LinearSignal(self.catalog.genre_matrix, self.reference, rank=None)  # for its reference stats
        return out

    def _two_stage(self, user: UserFeedback, neighbours: sig.Neighbours | None, candidates: np.ndarray,
                   weights: dict[str, float], boost: np.ndarray | None, shown: np.ndarray | None,
                   nudge: np.ndarray | None, pool: bool = True
                   ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, dict[str, tuple[float, float]]]:
        """(total, parts, raw, rows, reference stats): the blend of `combine`, exact for the films in ``rows``
        (the best POOL candidates; every candidate when not ``pool``) and -inf elsewhere.

        First stage, over every film: the light signals, and the model signals through their low-rank
        projection (`engine.retrieval`), z-scored with their exact spread over the candidates. Second stage,
        over the pool: the model and content signals exactly (same z-scores as a full pass would give) and
        the dislike signal (it only lowers a film)."""
        model = self.model
        assert model is not None
        raw = self.signal_matrix(user, neighbours, light=True)
        base_user, personal = self._user_vectors(user)
        vectors = {"base": base_user, "personal": personal}
        profile = sig.text_profile(self.catalog.text_vectors, user.items, user.valence)
        if profile is not None:
            vectors["content"] = profile
        model_weight = weights.get("model", 0.0)
        weight_of = {"personal": self.blend * model_weight, "base": (1.0 - self.blend) * model_weight,
                     "content": weights.get("content", 0.0)}
        left_out = np.flatnonzero(~candidates)
        spread = {name: self._linear[name].stats(v, candidates, left_out) for name, v in vectors.items()}
        total, parts = self.combine(raw, candidates, weights)
        first = total.copy()
        if weight_of["base"] or weight_of["personal"]:  # both through the movie vectors' projection, in one read
            both = self._linear["base"].approximate_many(np.stack([base_user, personal], axis=1))
            first += weight_of["base"] * standardise(both[:, 0], spread["base"])
            first += weight_of["personal"] * standardise(both[:, 1] / self._q_norms, spread["personal"])
        adjust = np.zeros(len(self.catalog))
        if boost is not None:
            adjust += boost
        if (shown is not None and len(shown)) or nudge is not None:
            size = float(np.std((first + adjust)[candidates & np.isfinite(first + adjust)])) if candidates.any() else 0.0
            if shown is not None and len(shown):
                adjust[shown] -= SHOWN_DROP * size
            if nudge is not None:
                adjust += nudge * size
        rows = self.pool(first + adjust, candidates, self.pool_size or POOL) if pool else np.flatnonzero(candidates & np.isfinite(first + adjust))
        unit_rows = self._q_unit[rows]  # the pool's movie vectors, read once for the model and dislike signals
        model_values = unit_rows @ np.stack([base_user, personal], axis=1)
        exact = {"base": model_values[:, 0] * self._q_norms[rows], "personal": model_values[:, 1]}
        if "content" in vectors:
            exact["content"] = self._linear["content"].values(vectors["content"], rows)
        score = total[rows] + adjust[rows]
        stats = {}
        for name, v in vectors.items():
            raw[name] = np.zeros(len(self.catalog), dtype=np.float32)
            raw[name][rows] = exact[name]
            stats[name] = self._linear[name].reference_stats(v)
            if weight_of[name]:
                parts[name] = np.zeros(len(self.catalog))
                parts[name][rows] = weight_of[name] * standardise(exact[name], spread[name])
                score += parts[name][rows]
        raw["dislike"] = np.zeros(len(self.catalog), dtype=np.float32)
        raw["dislike"][rows] = sig.dislike(self._q_unit, user.items, user.valence, rows, unit_rows)
        if weights.get("dislike", 0.0):
            parts["dislike"] = weights["dislike"] * raw["dislike"]
            score += parts["dislike"][rows]
        # the match %'s genre feature is standardised over the reference films: from the genre matrix's sums
        stats["genre"] = self._linear["genre"].reference_stats(sig.genre_affinity(self.catalog.genre_matrix, user.items, user.valence))
        out = np.full(len(self.catalog), -np.inf)
        out[rows] = score
        return out, parts, raw, rows, stats

    def pool(self, total: np.ndarray, candidates: np.ndarray, size: int = POOL) -> np.ndarray:
        """The best ``size`` candidates by ``total`` (all of them when there are fewer), and the best
        ``size // TIER_SHARE`` of each popularity tier (list calibration may reach for them), as catalog rows.

        One partition per tier: the best ``size`` overall are among the union of each tier's best ``size``
        (most films are in the last tier, so this reads the catalog once, not once overall and once per tier)."""
        score = np.where(candidates, total, -np.inf)
        finite = np.isfinite(score)
        if np.count_nonzero(finite) <= size:
            return np.flatnonzero(finite)
        tops, shares = [], []
        for rows in self._tier_rows:
            values = score[rows]
            inside = np.isfinite(values)
            count = int(np.count_nonzero(inside))
            if count == 0:
                continue
            top = rows[inside] if count <= size else rows[largest(values, size)]
            want = min(size // TIER_SHARE, len(top))
            tops.append(top)
            if want:
                shares.append(top[np.argpartition(-score[top], want - 1)[:want]])
        union = np.concatenate(tops)
        best = union[np.argpartition(-score[union], size - 1)[:size]]
        return np.unique(np.concatenate([best, *shares]))

    def hated_neighbours(self, user: UserFeedback, rows: np.ndarray | None = None) -> np.ndarray:
        """Movies never shown to a member who hated (1.5 stars or less) a movie: the rest of its series,
        and its closest neighbours in the model's item space (looked for among ``rows`` only, when given)."""
        out = np.zeros(len(self.catalog), dtype=bool)
        hated = user.items[user.valence <= HATED_VALENCE]
        if len(hated) == 0:
            return out
        rows = np.arange(len(self.catalog)) if rows is None else rows
        series = {self._series[i] for i in hated if self._series[i]}
        close = np.zeros(len(rows), dtype=bool)
        if series:
            close |= np.isin(self._series[rows], list(series))
        if self.model is not None:
            close |= (self._q_unit[hated] @ self._q_unit[rows].T).max(axis=0) >= HATED_NEIGHBOUR_COSINE
        out[rows] = close
        return out

    def match_all(self, raw: dict[str, np.ndarray], user: UserFeedback, dislike: bool = False,
                  rows: np.ndarray | None = None, stats: dict[str, tuple[float, float]] | None = None) -> np.ndarray | None:
        """Calibrated match % of every movie for this member (None without a calibrator). It depends on
        the member's feedback and the movie only: signals are standardised over the fixed reference set,
        never over the list, filter or mood being shown. ``dislike``: the chance of a rating under 3 stars
        instead (None for a model trained before that calibrator existed). ``rows``: only these films
        (NaN elsewhere); each one's number is the same as over all films. ``stats``: a signal's (mean, sd)
        over the reference when ``raw`` holds it for ``rows`` only."""
        model = self.model
        calibrator = None if model is None else model.dislike_calibrator if dislike else model.calibrator
        if model is None or calibrator is None or model.item_means is None:
            return None
        from engine.calibration import match_features

        stars = user.stars[~np.isnan(user.stars)]
        user_mean = float(stars.mean()) if len(stars) else model.global_mean
        chosen = np.arange(len(self.catalog)) if rows is None else rows
        features = match_features(raw, chosen, user_mean, model.global_mean, model.item_means, self.reference, stats)
        if rows is None:
            return calibrator.predict(features, user.n_ratings)
        out = np.full(len(self.catalog), np.nan)
        out[rows] = calibrator.predict(features, user.n_ratings)
        return out

    def _diversify(self, total: np.ndarray, candidates: np.ndarray, k: int, target: np.ndarray | None = None) -> list[int]:
        """Greedy re-ranking of the best candidates: relevance, minus MMR's similarity to what is already
        chosen (`diversity`), minus the gap between the list's attributes and the member's (`calibration`,
        needs ``target``). Both 0 is a plain top-k."""
        pool_size = min(int(candidates.sum()), max(k * 5, 100))
        if pool_size == 0:
            return []
        inside = np.flatnonzero(candidates)
        masked = np.full(len(total), -np.inf)
        masked[inside] = total[inside]
        pool = inside[np.argpartition(-masked[inside], pool_size - 1)[:pool_size]]
        calibration = self.calibration if target is not None else 0.0
        if calibration > 0 and self.model is not None:
            pool = np.union1d(pool, self._tier_pool(masked, inside, target, pool_size))  # type: ignore[arg-type]
        pool = pool[np.argsort(-masked[pool], kind="stable")]
        if (self.diversity <= 0 and calibration <= 0) or self.model is None:
            return [int(i) for i in pool[:k]]
        relevance = masked[pool]
        relevance = (relevance - relevance.min()) / max(float(np.ptp(relevance)), 1e-12)
        vectors = self._q_unit[pool]
        attributes = self._attributes[pool].astype(np.float64)
        list_mass = np.zeros(attributes.shape[1])
        gap = sig.CalibrationGap(target, self._groups, attributes) if calibration > 0 and target is not None else None
        chosen: list[int] = []
        max_sim = np.full(len(pool), -1.0)
        available = np.ones(len(pool), dtype=bool)
        for _ in range(min(k, len(pool))):
            score = (1 - self.diversity - calibration) * relevance - self.diversity * np.maximum(max_sim, 0.0)
            if gap is not None:
                score = score - calibration * gap(list_mass)
            score[~available] = -np.inf
            pick = int(np.argmax(score))
            chosen.append(pick)
            available[pick] = False
            list_mass = list_mass + attributes[pick]
            max_sim = np.maximum(max_sim, vectors @ vectors[pick])
        return [int(pool[i]) for i in chosen]

    def _tier_pool(self, masked: np.ndarray, rows: np.ndarray, target: np.ndarray, pool_size: int) -> np.ndarray:
        """Candidates (among ``rows``) from every popularity tier in the member's own proportions (the best
        of each tier), so that a member who loves obscure films has obscure films to choose from."""
        share = target[self._groups[-1]]
        rows = rows[np.isfinite(masked[rows])]
        tier = self._tier[rows]
        parts = []
        for t, p in enumerate(share):
            want = int(np.ceil(pool_size * p))
            inside = rows[tier == t]
            if want and len(inside):
                want = min(want, len(inside))
                parts.append(inside[np.argpartition(-masked[inside], want - 1)[:want]])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def similarity_to(self, index: int) -> np.ndarray:
        """Cosine similarity of every movie to one movie in the model's item space, standardised."""
        similarity = self._q_unit @ self._q_unit[index]
        return (similarity - similarity.mean()) / max(float(similarity.std()), 1e-9)

    # ------------------------------------------------------------------ reasons
    def reasons_for(self, chosen: Sequence[int], user: UserFeedback, close: np.ndarray | None,
                    taste: "reasons.TasteFacts | None") -> list[str]:
        """Truthful, varied reasons for the picks of one list (`engine.reasons`). ``close``: the collaborative
        signal over the candidates, z-scored (above 0: members whose taste is close loved it more than most)."""
        model = self.model
        assert model is not None
        facts = taste or reasons.TasteFacts()
        counts = self.catalog.rating_counts if self.catalog.rating_counts is not None else model.positive_counts
        options = []
        shares = reasons.contributions(model.p_seen, model.p_val, model.q[np.asarray(chosen, dtype=np.int64)],
                                       user.items, user.seen, user.valence, user.stars)
        for index, values in zip(chosen, shares):
            loved = reasons.loved_contributor(values, user.stars)
            year = self.catalog.years[index]
            new = model.trained is not None and not bool(model.trained[index])
            options.append(reasons.reason_options(
                index, label=lambda position: self.catalog.label(int(user.items[position])),
                directors=self.catalog.directors[index], genres=self.catalog.genres[index],
                decade=f"{int(year) // 10 * 10}s" if year else None, loved=loved,
                collaborative=float(close[index]) if close is not None else 0.0, facts=facts,
                item_mean=float(model.item_means[index]) if model.item_means is not None else None,
                rating_count=float(counts[index]), new=new,
                same_director=self._loved_director(index, user) if new else None))
        return [r.text for r in reasons.assign(options)]

    def _loved_director(self, index: int, user: UserFeedback) -> tuple[str, str] | None:
        """(director, label of a film of theirs the member rated 4 stars or more), if any."""
        directors = set(self.catalog.directors[index])
        for position in np.flatnonzero(user.stars >= reasons.LOVED_STARS):
            shared = directors.intersection(self.catalog.directors[int(user.items[position])])
            if shared:
                return sorted(shared)[0], self.catalog.label(int(user.items[position]))
        return None
