"""Issue 13 #1: /compare through gateway payloads (with and without overlap, opt-out refused), and the
pure taste-match and group-pick arithmetic."""
from __future__ import annotations

import numpy as np

from engine.compare import group_pick, taste_match
from tests.test_bot import discord_bot, member, rows  # noqa: F401


def test_taste_match_follows_agreement_and_overlap() -> None:
    same = {i: float(1 + i % 5) for i in range(30)}
    opposite = {i: 6.0 - v for i, v in same.items()}
    assert taste_match(None, None, same, same).percent == 100.0
    assert taste_match(None, None, same, opposite).percent < 60.0
    close = taste_match(None, None, same, {i: min(5.0, v + 0.5) for i, v in same.items()})
    assert close.confidence == "high" and close.overlap == 30 and 85 < close.percent < 100
    few = taste_match(np.ones(4), np.ones(4), {1: 5.0, 2: 4.0}, {1: 5.0, 3: 1.0})
    assert few.confidence == "low" and few.overlap == 1 and few.both_loved == [1]
    apart = taste_match(None, None, {1: 5.0, 2: 4.5, 3: 3.0}, {1: 1.0, 2: 2.0, 3: 3.0})
    assert [i for i, _a, _b in apart.disagreements] == [1, 2]


def test_group_pick_avoids_misery() -> None:
    matches = np.array([[0.95, 0.70, 0.20],   # member 1 adores film 0
                        [0.10, 0.65, 0.90],   # member 2 hates film 0, adores film 2
                        [0.90, 0.60, 0.90]])
    assert group_pick(matches, np.ones(3, dtype=bool)) == [1]  # the film nobody would mind
    assert group_pick(matches, np.array([True, False, True])) == [2]


async def _plant(discord_bot, small_app, user: int, films: list[int], stars: list[float]) -> None:  # type: ignore[no-untyped-def]
    await discord_bot.command(user, "my_ratings")  # uses CineSync in this server
    for film, value in zip(films, stars):
        await small_app.feedback.record(user, film, "rating", value, "api")


async def test_compare_with_and_without_overlap_and_opt_out(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    popular = [m["movie_id"] for m in sorted(small_app.runtime.movies.values(), key=lambda m: -m["rating_count"])]
    you, twin, stranger, private, elsewhere = member(), member(), member(), member(), member()
    shared = popular[:24]
    taste = [5.0, 4.5, 2.0, 4.0, 1.5, 5.0] * 4
    await _plant(discord_bot, small_app, you, shared, taste)
    await _plant(discord_bot, small_app, twin, shared, [min(5.0, s + 0.5) if s < 3 else s for s in taste])
    await _plant(discord_bot, small_app, stranger, popular[100:110], [4.0] * 10)
    await _plant(discord_bot, small_app, private, shared, taste)
    for film, value in zip(shared, taste):  # rated films, but never used CineSync in this server
        await small_app.feedback.record(elsewhere, film, "rating", value, "api")

    close = await discord_bot.command(you, "compare", member=twin)
    text = close.text()
    assert close.callback.json["type"] == 5 and "taste match" in text and "high confidence: 24 films you both rated" in text
    percent = int(text.split("% taste match")[0].split("**")[-1])
    assert percent >= 85
    assert "Both loved" in text and "Watch together" in text and "for you" in text

    apart = await discord_bot.command(you, "compare", member=stranger)
    assert "low confidence: 0 films you both rated" in apart.text() and "Both loved" not in apart.text()

    await discord_bot.command(private, "privacy compare", allowed="off")
    refused = await discord_bot.command(you, "compare", member=private)
    assert "keeps their taste private" in refused.text()
    outsider = await discord_bot.command(you, "compare", member=elsewhere)
    assert "has not rated films with CineSync in this server" in outsider.text()
    itself = await discord_bot.command(you, "compare", member=you)
    assert "pick another member" in itself.text()
    in_dm = await discord_bot.command(you, "compare", member=twin, dm=True)
    assert "server" in in_dm.text()


async def test_server_favourites_and_their_weight(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 #5: /server top shows what this server's members loved; its weight (admins only) moves picks."""
    from bot.offline import GUILD_ID
    from tests.test_bot import MANAGE_GUILD, rate_five

    async def picks(weight: float, pages: int = 1) -> list[int]:
        done = await discord_bot.command(member(), "server settings", weight=weight, permissions=MANAGE_GUILD)
        assert f"now weighs {weight:g}" in done.text()
        user = member()
        await rate_five(discord_bot, user)
        ids: list[int] = []
        for _ in range(pages):
            page = await small_app.recommendations.recommend(user, 20, context={"server": GUILD_ID}, exclude=ids or None)
            ids += [m.movie_id for m in page.movies]
        return ids

    favourite = (await picks(0.0, pages=2))[20]  # just below a member's first page
    for fan in [member() for _ in range(5)]:
        await discord_bot.command(fan, "rate", movie=f"id:{favourite}", rating="5")
    top = await discord_bot.command(member(), "server top")
    title = small_app.runtime.movies[favourite]["title"].split(" (")[0]
    line = next(x for x in top.last.embeds[0]["description"].splitlines() if title in x)
    assert "loved by" in line and int(line.split("loved by ")[1].split(" ")[0]) >= 5

    refused = await discord_bot.command(member(), "server settings", weight=1.0)
    assert "Admin commands" in refused.text()
    assert favourite not in await picks(0.0)  # off: not on the first page
    assert favourite in await picks(1.0)  # weighed fully: the server's love lifts it onto the first page
    await discord_bot.command(member(), "server settings", weight=0.2, permissions=MANAGE_GUILD)  # as others expect
