"""Moods from what a movie is, never its title: precision against held-out weak labels over the whole
real catalog, title-word traps, and lists that stay personal (two members, the same mood)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from bot.catalog.readers import read_movielens
from bot.services.moods import fit_catalog_moods
from bot.services.runtime import TEXT_MODEL_NAME
from bot.services.sliders import DEFAULT_FILE, read_slider_file
from bot.services.text_vectors import FileTextCache, encode_missing, texts_for
from engine.data import ItemIndex
from engine.evaluation.run import build_catalog
from engine.moods import MoodFit, neutral_order
from engine.sliders import Sliders
from engine.snapshot import Catalog
from engine.text import TextEncoder
from tests.conftest import IMDB, MOVIELENS, requires_shared

_members = itertools.count(820_000_000_000_000_001)


@dataclass
class MoodWorld:
    catalog: Catalog
    fit: MoodFit
    counts: np.ndarray
    titles: list[str]

    def top(self, mood: str, n: int = 20) -> list[str]:
        return [self.titles[i] for i in neutral_order(self.fit.column(mood), self.counts)[:n]]


@pytest.fixture(scope="module")
def world(test_settings) -> MoodWorld:  # type: ignore[no-untyped-def]
    """The whole shared catalog (MovieLens + IMDb 5000), its title-less texts and the default moods."""
    requires_shared()
    data = read_movielens(MOVIELENS, IMDB, with_ratings=True)
    assert data.ratings is not None
    movies = data.movies.reset_index(drop=True)
    counts = movies["movie_id"].map(data.ratings.groupby("movie_id").size()).fillna(0).to_numpy(dtype=float)
    rows = [dict(r, rating_count=c) for r, c in zip(movies.to_dict("records"), counts)]
    cache = FileTextCache(test_settings.home / "cache" / "text-vectors.npz")
    cached = cache.load()
    encoder = TextEncoder(test_settings.embedding_model_path)
    vectors, fresh = encode_missing(texts_for(rows), cached, lambda: encoder, TEXT_MODEL_NAME, progress=False)
    cache.save({**cached, **fresh})
    catalog = build_catalog(movies, ItemIndex(movies["movie_id"].to_numpy()), vectors)
    spec = read_slider_file(DEFAULT_FILE)
    from engine.moods import LabelRule

    names = list(spec)
    sliders = Sliders(names, [spec[n]["description"] for n in names],
                      encoder.encode([spec[n]["description"] for n in names], progress=False),
                      [LabelRule.from_dict(spec[n]["labels"]) for n in names])
    fit = fit_catalog_moods(rows, catalog, sliders)
    return MoodWorld(catalog, fit, counts, [catalog.label(i) for i in range(len(catalog))])


def test_every_default_mood_is_precise_against_held_out_labels(world: MoodWorld) -> None:
    """Cross-fitted: each movie's probability comes from the half of the catalog that did not hold it."""
    assert len(world.fit.names) == 12
    for j, (name, report) in enumerate(world.fit.report.items()):
        top = neutral_order(world.fit.probabilities[:, j], world.counts)[:20]
        precision = float(world.fit.labels[top, j].mean())  # recomputed here, not read from the report
        assert precision == pytest.approx(report["precision@20"]) and precision >= 0.8, (name, report, world.top(name, 10))
        assert report["ece"] <= 0.05, (name, report)
        assert report["fitting"] >= 60, (name, report)


@pytest.mark.parametrize("mood, title", [
    ("scary", "Scary Movie (2000)"), ("scary", "Scary Movie 3 (2003)"), ("arthouse", "The Room (2003)"),
    ("arthouse", "Art School Confidential (2006)"), ("arthouse", "War Room (2015)"), ("blockbuster", "Zoom (2006)"),
    ("slow-burn", "Puncture (2011)"), ("slow-burn", "BURN-E (2008)"), ("funny", "Louis C.K.: Hilarious (2010)"),
])
def test_a_mood_word_in_the_title_is_not_the_mood(world: MoodWorld, mood: str, title: str) -> None:
    assert title in world.titles, f"{title} missing from the catalog"
    assert title not in world.top(mood), (mood, world.top(mood))


def test_moods_differ_from_each_other(world: MoodWorld) -> None:
    tops = {name: set(world.top(name)) for name in world.fit.names}
    for a, b in itertools.combinations(tops, 2):
        assert len(tops[a] & tops[b]) <= 10, (a, b, tops[a] & tops[b])


async def _member(app, picks: list[int], stars: float, disliked: list[int] = ()) -> int:  # type: ignore[no-untyped-def]
    user = next(_members)
    for movie in picks:
        await app.feedback.record(user, movie, "rating", stars, "api")
    for movie in disliked:
        await app.feedback.record(user, movie, "rating", 1.5, "api")
    return user


def _genre_movies(app, genre: str, avoid: str, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    movies = sorted(app.runtime.movies.values(), key=lambda m: -m["rating_count"])
    return [m["movie_id"] for m in movies if genre in m["genres"] and avoid not in m["genres"]][:n]


async def test_the_same_mood_is_personal(small_app) -> None:  # type: ignore[no-untyped-def]
    """A drama lover who dislikes action and an action lover who dislikes drama ask for the same mood:
    their lists share few films. The issue's target is at most 3 of 10. On the full catalog five members
    with distinct tastes share 1.9 of 10 on average over the 12 moods; on this 1,147-movie subset (a mood
    pool of about 80 films) these two share 3 to 4, so this guards 4 (see the issue's closing note)."""
    dramas, actions = _genre_movies(small_app, "Drama", "Action", 28), _genre_movies(small_app, "Action", "Drama", 28)
    drama = await _member(small_app, dramas[:20], 5.0, actions[20:])
    action = await _member(small_app, actions[:20], 5.0, dramas[20:])
    for mood in ("funny", "dark", "feel-good"):
        a = await small_app.recommendations.recommend(drama, 10, mood=mood)
        b = await small_app.recommendations.recommend(action, 10, mood=mood)
        ids_a, ids_b = {m.movie_id for m in a.movies}, {m.movie_id for m in b.movies}
        assert len(ids_a) == len(ids_b) == 10
        assert len(ids_a & ids_b) <= 4, (mood, [m.title for m in a.movies], [m.title for m in b.movies])
        fit = small_app.runtime.moods.column(mood)
        index = small_app.runtime.catalog.items
        assert all(fit[index.get(m)] >= 0.5 for m in ids_a | ids_b), mood  # every pick fits the mood


async def test_a_free_text_mood_is_scored_like_a_named_one(small_app) -> None:  # type: ignore[no-untyped-def]
    member = await _member(small_app, _genre_movies(small_app, "Comedy", "Horror", 15), 4.5)
    cosy = await small_app.recommendations.recommend(member, 10, mood="funny family films for a rainy day")
    assert len(cosy.movies) == 10
    family = sum(1 for m in cosy.movies if {"Children", "Animation", "Comedy"} & set(m.genres))
    assert family >= 7, [(m.title, m.genres) for m in cosy.movies]
    like = await small_app.recommendations.recommend(member, 10, mood="like Alien but scarier")
    assert "Alien" not in [m.title for m in like.movies]
    assert sum(1 for m in like.movies if {"Horror", "Sci-Fi", "Thriller"} & set(m.genres)) >= 7, \
        [(m.title, m.genres) for m in like.movies]
    from bot.services.errors import UserError

    with pytest.raises(UserError, match="phrase of 3 to 100"):
        await small_app.recommendations.recommend(member, 10, mood="x")
