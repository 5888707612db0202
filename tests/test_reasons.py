"""Reasons are true and varied: every "because you loved X" names a movie the member rated 4 stars or
more that is among the three largest contributors to the pick's score; no template fills more than 40%
of a list; "More like X" names X; titles are shown without their aliases."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from engine.reasons import Reason, TasteFacts, assign, contributions
from engine.snapshot import short_title

LOVED = re.compile(r"because you loved (.+)$")


def _template(reason: str) -> str:
    text = reason.split(" · ")[-1]
    if text.startswith("because you loved"):
        return "loved"
    return re.sub(r"[0-9.,]+|more \w[\w .'-]*?,", "", text)  # numbers and names vary; the sentence does not


async def test_every_loved_reason_names_a_top_contributor(small_app) -> None:  # type: ignore[no-untyped-def]
    runtime = small_app.runtime
    model, catalog = runtime.model, runtime.catalog
    labels = {catalog.label(i): i for i in range(len(catalog))}
    members = sorted({r["user_id"] for r in small_app.train_rows})[:60]
    named = lists = 0
    templates: Counter[str] = Counter()
    for user_id in members:
        result = await small_app.recommendations.recommend(user_id, 10)
        user, *_ = await _user(small_app, user_id)
        counts = Counter(_template(m.reason) for m in result.movies)
        assert max(counts.values()) <= 4, [m.reason for m in result.movies]
        templates.update(counts)
        lists += 1
        for movie in result.movies:
            found = LOVED.search(movie.reason)
            if not found:
                continue
            named += 1
            loved = labels[found.group(1)]
            position = int(np.flatnonzero(user.items == loved)[-1])
            assert user.stars[position] >= 4.0, (user_id, movie.reason)
            pick = catalog.items.get(movie.movie_id)
            values = contributions(model.p_seen, model.p_val, model.q[pick], user.items, user.seen, user.valence,
                                   user.stars)
            top3 = set(np.argsort(-values, kind="stable")[:3].tolist())
            assert position in top3, (user_id, movie.title, movie.reason)
    assert named >= 100 and lists == 60  # the rule was exercised, not skipped
    assert len(templates) >= 3, templates


async def _user(app, user_id: int):  # type: ignore[no-untyped-def]
    async with app.db.acquire() as conn:
        return await app.recommendations._user(conn, user_id)


async def test_more_like_x_names_x(small_app) -> None:  # type: ignore[no-untyped-def]
    member = sorted({r["user_id"] for r in small_app.train_rows})[3]
    aliens = next(m for m, row in small_app.runtime.movies.items() if row["title"] == "Aliens")
    result = await small_app.recommendations.more_like_this(member, aliens, 5)
    assert all(m.reason.startswith("like Aliens (1986) · ") for m in result.movies), [m.reason for m in result.movies]


def test_assign_caps_each_template_at_forty_percent() -> None:
    options = [[Reason("loved", f"because you loved {i}"), Reason("genre", "more Drama"), Reason("fits", "fits")]
               for i in range(10)]
    chosen = assign(options)
    counts = Counter(r.template for r in chosen)
    assert counts == {"loved": 4, "genre": 4, "fits": 2}
    assert TasteFacts.from_profile({"favourite_genres": ["Horror"]}).genres == frozenset({"Horror"})


def test_titles_are_shown_short() -> None:
    assert short_title("Bicycle Thieves (a.k.a. The Bicycle Thief) (a.k.a. The Bicycle Thieves) (Ladri di biciclette)") \
        == "Bicycle Thieves"
    assert short_title("(500) Days of Summer") == "(500) Days of Summer"
