"""Issue 13 #2: a movie night through gateway payloads: three members of planted tastes, options nobody
would dislike, votes (invited members only), the winner when all have voted or at the deadline, "we watched
it" with a DM to rate, and fairness over two nights."""
from __future__ import annotations

import asyncio

from engine.compare import MISERY_FLOOR
from tests.test_bot import discord_bot, member, rows  # noqa: F401


def films(app, genre: str, avoid: tuple[str, ...], count: int, skip: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    movies = sorted(app.runtime.movies.values(), key=lambda m: -m["rating_count"])
    return [m["movie_id"] for m in movies if genre in m["genres"] and not set(avoid) & set(m["genres"])][skip : skip + count]


async def plant(discord_bot, app, user: int, loves: list[int], hates: list[int]) -> None:  # type: ignore[no-untyped-def]
    await discord_bot.command(user, "my_ratings")  # uses CineSync in this server
    for film in loves:
        await app.feedback.record(user, film, "rating", 5.0, "api")
    for film in hates:
        await app.feedback.record(user, film, "rating", 1.0, "api")


async def test_movie_night_votes_winner_deadline_and_fairness(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    action, comedy, drama = member(), member(), member()
    await plant(discord_bot, small_app, action, films(small_app, "Action", ("Romance",), 8), films(small_app, "Romance", ("Action",), 4))
    await plant(discord_bot, small_app, comedy, films(small_app, "Comedy", ("Horror",), 8), films(small_app, "Horror", ("Comedy",), 4))
    await plant(discord_bot, small_app, drama, films(small_app, "Drama", ("Comedy",), 8), films(small_app, "Children", (), 4))

    night = await discord_bot.command(action, "movienight", member1=comedy, member2=drama, options=3, minutes=30.0)
    assert night.callback.json["type"] == 5 and not night.last.ephemeral  # posted for everyone invited
    message = discord_bot.message_for(night)
    buttons = [b["custom_id"] for b in night.last.buttons()]
    assert len(buttons) == 3 and all(b.startswith("night:vote:") for b in buttons)
    options = [int(b.rsplit(":", 1)[1]) for b in buttons]
    for user in (action, comedy, drama):  # no option any member would likely not enjoy
        chances = await small_app.recommendations.match_vector(user)
        index = small_app.runtime.catalog.items
        assert all(chances[index.get(m)] >= MISERY_FLOOR for m in options)
    assert "<@" in night.last.embeds[0]["description"] and "%" in night.last.embeds[0]["description"]

    stranger = await discord_bot.click(member(), message, buttons[0])
    assert "Only the members invited" in stranger.text() and stranger.callback.ephemeral
    await discord_bot.click(action, message, buttons[0])
    tally = await discord_bot.click(comedy, message, buttons[0])
    assert "2 of 3 voted" in tally.text()
    done = await discord_bot.click(drama, message, buttons[1])  # the last vote closes it
    shown = discord_bot.messages[int(message["id"])]
    assert "wins" in shown["embeds"][0]["title"] and "🏆" in shown["embeds"][0]["description"]
    winner = options[0]
    assert small_app.runtime.movies[winner]["title"].split(" (")[0] in shown["embeds"][0]["title"]
    assert [b["custom_id"] for row in shown["components"] for b in row["components"]] == ["night:watched"]
    assert done.callback.status == 200

    watched = await discord_bot.click(comedy, message, "night:watched")
    assert "asked 3 members for a rating by DM" in watched.text()
    for user in (action, comedy, drama):
        assert any(small_app.runtime.movies[winner]["title"].split(" (")[0] in str(m["embeds"]) for m in discord_bot.dms_to(user))
        kinds = await rows(small_app, "SELECT kind FROM user_ratings WHERE user_id = $1 AND movie_id = $2", user, winner)
        assert kinds == [{"kind": "seen"}]

    # fairness: whoever liked the last winner least counts more next time
    satisfaction = {r["user_id"]: r["satisfaction"] for r in await rows(
        small_app, "SELECT user_id, satisfaction FROM movie_night_members m JOIN movie_nights n USING (night_id) "
                   "WHERE n.winner = $1 AND user_id = ANY($2::bigint[])", winner, [action, comedy, drama])}
    second = await small_app.services.movienight.propose(small_app_guild(), [action, comedy, drama], 3, 30.0)
    least = min(satisfaction, key=satisfaction.get)
    most = max(satisfaction, key=satisfaction.get)
    assert second.fairness[least] > 1.0 > second.fairness[most]

    # the deadline: one vote, then time runs out and that vote wins
    short = await discord_bot.command(action, "movienight", member1=comedy, member2=drama, options=3, minutes=0.03)
    short_message = discord_bot.message_for(short)
    first = short.last.buttons()[2]["custom_id"]
    await discord_bot.click(drama, short_message, first)
    await asyncio.sleep(3.0)
    closed = discord_bot.messages[int(short_message["id"])]
    assert "wins" in closed["embeds"][0]["title"]
    assert small_app.runtime.movies[int(first.rsplit(":", 1)[1])]["title"].split(" (")[0] in closed["embeds"][0]["title"]


def small_app_guild() -> int:
    from bot.offline import GUILD_ID

    return GUILD_ID
