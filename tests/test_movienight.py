"""Issue 13 #2: a movie night through gateway payloads: three members of planted tastes, options nobody
would likely rate under 3 stars, votes (invited members only), the winner when all have voted or at the
deadline, "we watched it" with a DM to rate, fairness over two nights; the members of a voice channel;
a night that outlives the process that posted it."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import numpy as np
import pytest

from bot.client import create_bot
from bot.offline import OfflineDiscord
from engine.compare import LIKELY_UNDER_3, MISERY_FLOOR, night_options
from tests.test_bot import member, rows


@pytest.fixture(scope="module")
async def discord_bot(small_app, test_settings):  # type: ignore[no-untyped-def]
    """This module's bot; its deadline sweep runs at start only, so a night another bot of these tests
    posts is closed by that bot (each stand-in is its own Discord)."""
    async with OfflineDiscord(create_bot(settings(test_settings), app=small_app)) as offline:
        yield offline


def settings(test_settings):  # type: ignore[no-untyped-def]
    return replace(test_settings, rate_cooldown_seconds=0.0, night_sweep_seconds=3600.0)


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
    index = small_app.runtime.catalog.items
    for user in (action, comedy, drama):  # no option any member would likely rate under 3 stars, or not enjoy
        like, under_3 = await small_app.recommendations.chances(user)
        assert under_3 is not None, "the trained model has an 'under 3 stars' calibrator"
        assert all(under_3[index.get(m)] < LIKELY_UNDER_3 and like[index.get(m)] >= MISERY_FLOOR for m in options)
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


def test_a_film_one_member_would_likely_rate_under_3_stars_is_never_offered() -> None:
    like = np.array([[0.9, 0.8, 0.6, 0.5], [0.9, 0.7, 0.6, 0.5]])
    under_3 = np.array([[0.1, 0.1, 0.2, 0.2], [0.7, 0.2, 0.3, 0.2]])  # member 2 would likely dislike film 0
    everything = np.ones(4, dtype=bool)
    assert night_options(like, everything, 3)[0] == 0  # without the dislike chances film 0 leads
    assert night_options(like, everything, 3, dislikes=under_3) == [1, 2, 3]


async def test_the_members_of_the_callers_voice_channel_and_a_night_that_outlives_its_process(
        discord_bot, small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    a, b, c = member(), member(), member()
    await plant(discord_bot, small_app, a, films(small_app, "Action", ("Romance",), 8), films(small_app, "Romance", ("Action",), 4))
    await plant(discord_bot, small_app, b, films(small_app, "Comedy", ("Horror",), 8), films(small_app, "Horror", ("Comedy",), 4))
    await plant(discord_bot, small_app, c, films(small_app, "Drama", ("Comedy",), 8), films(small_app, "Children", (), 4))
    first = OfflineDiscord(create_bot(settings(test_settings), app=small_app))
    await first.start()
    await first.join_voice([a, b, c])
    lobby = await first.command(a, "movienight", options=3, minutes=0.05)  # nobody mentioned: the voice channel
    shown = lobby.last.embeds[0]["description"]
    assert all(f"<@{u}>" in shown for u in (a, b, c)), shown
    long = await first.command(a, "movienight", member1=b, options=3, minutes=60.0)
    ending, staying = first.message_for(lobby), first.message_for(long)
    await first.close()  # the process stops before either deadline

    await asyncio.sleep(3.5)  # the first night's deadline passes while no bot runs
    second = OfflineDiscord(create_bot(settings(test_settings), app=small_app))
    second.messages = first.messages  # the same Discord: the messages are still there
    await second.start()
    waited = time.perf_counter()
    while "wins" not in second.messages[int(ending["id"])]["embeds"][0]["title"] and time.perf_counter() - waited < 20:
        await asyncio.sleep(0.2)
    closed = second.messages[int(ending["id"])]
    assert "wins" in closed["embeds"][0]["title"], "the restarted bot closes a night whose deadline passed meanwhile"
    assert any(r.method == "PATCH" and r.path == "/channels/{channel_id}/messages/{message_id}" for r in second.requests)
    vote = second.messages[int(staying["id"])]["components"][0]["components"][0]["custom_id"]
    tally = await second.click(b, staying, vote)  # the other night's buttons still work after the restart
    assert "1 of 2 voted" in tally.text(), tally.text()
    done = await second.click(a, staying, vote)
    assert "wins" in second.messages[int(staying["id"])]["embeds"][0]["title"] and done.callback.status == 200
    await second.close()


def small_app_guild() -> int:
    from bot.offline import GUILD_ID

    return GUILD_ID
