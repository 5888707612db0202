"""The Discord bot driven the way discord.py receives events: gateway payloads in, HTTP JSON out.

Every test feeds INTERACTION_CREATE / MESSAGE_REACTION_ADD / MESSAGE_REACTION_REMOVE payloads
to the bot's connection-state parser (`bot.offline.OfflineDiscord`) and asserts on the JSON
discord.py sent at the lowest HTTP layer, against the real embedded database and a trained
model (the `small_app` subset: MovieLens movies with id <= 1500).
"""
from __future__ import annotations

import re

import itertools
import json
from dataclasses import replace

import pytest

from bot.client import MigrationsPending, create_bot, open_app
from bot.offline import OfflineDiscord
from bot.render.cards import movie_label
from bot.settings import Settings

HEAT, TOY_STORY, SEVEN, USUAL_SUSPECTS, SABRINA_1954, BRAVEHEART, FARGO = 6, 1, 47, 50, 915, 110, 608
OWNER = 555000000000000001
MANAGE_GUILD = 1 << 5
_members = itertools.count(710_000_000_000_000_001)  # apart from other test files


def member() -> int:
    return next(_members)


@pytest.fixture(scope="module")
async def discord_bot(small_app, test_settings):  # type: ignore[no-untyped-def]
    settings = replace(test_settings, rate_cooldown_seconds=0.0, owner_ids=(OWNER,))
    bot = create_bot(settings, app=small_app)
    offline = OfflineDiscord(bot)
    await offline.start()
    yield offline
    await offline.close()


async def rows(app, sql: str, *args):  # type: ignore[no-untyped-def]
    async with app.db.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def rate_five(d: OfflineDiscord, user: int) -> None:
    for movie, value in ((HEAT, "5"), (SEVEN, "4.5"), (TOY_STORY, "like"), (USUAL_SUSPECTS, "love"), (BRAVEHEART, "2")):
        exchange = await d.command(user, "rate", movie=f"id:{movie}", rating=value)
        assert "Saved" in exchange.text()


# ---------------------------------------------------------------------------- start-up


async def test_setup_hook_loads_cogs_syncs_commands_and_starts_the_scheduler_once(discord_bot) -> None:  # type: ignore[no-untyped-def]
    bot = discord_bot.bot
    assert {"Rating", "Recommendations", "Stats", "DMFeedback", "Admin", "Privacy"} <= set(bot.cogs)
    sync = [r for r in discord_bot.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert len(sync) == 1 and "/guilds/" not in sync[0].path  # no DEV_GUILD_ID: global
    commands = {c["name"]: c for c in sync[0].json}
    assert {"rate", "my_recommendations", "my_stats", "digest", "admin", "forget_me", "export_my_data"} <= set(commands)
    rating = next(o for o in commands["rate"]["options"] if o["name"] == "rating")
    values = [c["value"] for c in rating["choices"]]
    assert values[:10] == ["5", "4.5", "4", "3.5", "3", "2.5", "2", "1.5", "1", "0.5"]
    assert values[10:] == ["love", "like", "meh", "dislike", "hate"]
    movie = next(o for o in commands["rate"]["options"] if o["name"] == "movie")
    assert movie["autocomplete"] is True
    scheduler = bot.scheduler
    await bot.on_ready()  # a reconnect fires on_ready again
    bot.start_scheduler()
    assert bot.scheduler is scheduler and scheduler.running
    assert sorted(job.id for job in scheduler.get_jobs()) == ["dm_digest", "preference_learner"]


async def test_the_bot_refuses_to_start_with_pending_migrations(empty_dsn, test_settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MigrationsPending, match="run `cinesync migrate` first"):
        await open_app(replace(test_settings, database_url=empty_dsn))


async def test_dev_guild_sync(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    bot = create_bot(replace(test_settings, dev_guild_id=123456789012345678), app=small_app)
    offline = OfflineDiscord(bot)
    await offline.start()
    try:
        sync = [r for r in offline.requests if r.method == "PUT" and r.path.endswith("/commands")]
        assert len(sync) == 1 and "/guilds/{guild_id}/" in sync[0].path and "123456789012345678" in sync[0].url
    finally:
        await offline.close()


# ---------------------------------------------------------------------------- /rate


async def test_autocomplete_offers_fuzzy_matches_with_ids(discord_bot) -> None:  # type: ignore[no-untyped-def]
    choices = await discord_bot.autocomplete(member(), "rate", "movie", movie="usual suspect")
    assert choices[0] == {"name": "The Usual Suspects (1995)", "value": f"id:{USUAL_SUSPECTS}"}
    assert len(choices) <= 25
    popular = await discord_bot.autocomplete(member(), "rate", "movie", movie="")
    assert len(popular) == 25


async def test_rate_by_id_saves_before_replying(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    exchange = await discord_bot.command(user, "rate", movie=f"id:{HEAT}", rating="4.5")
    callback = exchange.callback
    assert callback is not None and callback.json["type"] == 4 and callback.ephemeral
    embed = callback.embeds[0]
    assert "4.5★" in embed["description"] and "Heat (1995)" in embed["description"]
    assert "1 rated" in embed["description"]
    saved = await rows(small_app, "SELECT movie_id, rating, kind, source FROM user_ratings WHERE user_id = $1", user)
    assert saved == [{"movie_id": HEAT, "rating": 4.5, "kind": "rating", "source": "slash"}]
    state = await rows(small_app, "SELECT rating_count FROM user_embeddings WHERE user_id = $1", user)
    assert state == [{"rating_count": 1}]


async def test_rate_by_typed_title_and_word(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    exchange = await discord_bot.command(user, "rate", movie="the usual suspects", rating="love")
    assert "The Usual Suspects (1995)" in exchange.text() and "love" in exchange.text()
    saved = await rows(small_app, "SELECT movie_id, rating, kind FROM user_ratings WHERE user_id = $1", user)
    assert saved == [{"movie_id": USUAL_SUSPECTS, "rating": 5.0, "kind": "love"}]
    inexact = await discord_bot.command(user, "rate", movie="usual suspect", rating="4")  # offered, not guessed
    assert "Which film did you mean" in inexact.text()
    assert "The Usual Suspects (1995)" in [b["label"] for b in inexact.last.buttons()]


async def test_ambiguous_title_asks_with_buttons(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    exchange = await discord_bot.command(user, "rate", movie="sabrina", rating="4")
    assert "Which film did you mean" in exchange.text()
    buttons = {b["label"]: b["custom_id"] for b in exchange.last.buttons()}
    assert {"Sabrina (1995)", "Sabrina (1954)"} <= set(buttons)
    assert await rows(small_app, "SELECT 1 FROM user_ratings WHERE user_id = $1", user) == []
    message = discord_bot.message_for(exchange)
    chosen = await discord_bot.click(user, message, buttons["Sabrina (1954)"])
    assert "Sabrina (1954)" in chosen.text() and chosen.callback.json["type"] == 7  # edited in place
    saved = await rows(small_app, "SELECT movie_id, rating FROM user_ratings WHERE user_id = $1", user)
    assert saved == [{"movie_id": SABRINA_1954, "rating": 4.0}]


async def test_fifth_rating_says_what_changed(discord_bot) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    exchange = await discord_bot.command(user, "rate", movie=f"id:{FARGO}", rating="4")
    text = exchange.text()
    assert "6 rated" in text and "taste profile moved" in text and "% change" not in text


async def test_unknown_movie_and_bad_rating_write_nothing(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    exchange = await discord_bot.command(user, "rate", movie="qqzzxx vvkkjj", rating="4")
    assert exchange.callback.ephemeral and "matches 'qqzzxx vvkkjj'" in exchange.text()
    bad = await discord_bot.command(user, "rate", movie=f"id:{HEAT}", rating="11")
    assert bad.callback.ephemeral and "❌" in bad.text()
    assert await rows(small_app, "SELECT 1 FROM feedback_events WHERE user_id = $1", user) == []


async def test_rate_cooldown(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    bot = create_bot(replace(test_settings, rate_cooldown_seconds=30.0), app=small_app, sync_commands=False)
    async with OfflineDiscord(bot) as d:
        user = member()
        first = await d.command(user, "rate", movie=f"id:{HEAT}", rating="4")
        second = await d.command(user, "rate", movie=f"id:{SEVEN}", rating="4")
        assert "Saved" in first.text() and "Slow down" in second.text() and second.callback.ephemeral
        saved = await rows(small_app, "SELECT movie_id FROM user_ratings WHERE user_id = $1", user)
        assert saved == [{"movie_id": HEAT}]


# ---------------------------------------------------------------------------- quick rating flow


async def test_quick_flow_records_and_refuses_other_members(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user, stranger = member(), member()
    exchange = await discord_bot.command(user, "rate")
    assert exchange.callback.ephemeral
    labels = [b["label"] for b in exchange.last.buttons()]
    assert labels == ["❤️ Love", "👍 Like", "😐 Meh", "👎 Dislike", "💀 Hate", "Haven't seen", "Stop"]
    message = discord_bot.message_for(exchange)
    first_title = exchange.last.embeds[0]["title"]
    pressed = await discord_bot.click(user, message, "quick:love")
    assert pressed.callback.json["type"] == 7 and "Saved ❤️ love" in pressed.text()
    assert pressed.last.embeds[0]["title"] != first_title  # the next movie
    refused = await discord_bot.click(stranger, message, "quick:hate")
    assert refused.callback.ephemeral and "belong to someone else" in refused.text()
    skipped = await discord_bot.click(user, message, "quick:skip")
    assert "Saved" not in skipped.text()
    stop = await discord_bot.click(user, message, "quick:stop")
    assert "rated 1 movie" in stop.text() and stop.last.components == []
    saved = await rows(small_app, "SELECT kind, source FROM user_ratings WHERE user_id = $1", user)
    assert saved == [{"kind": "love", "source": "button"}]
    assert await rows(small_app, "SELECT 1 FROM user_ratings WHERE user_id = $1", stranger) == []


async def test_quick_flow_times_out_cleanly(discord_bot) -> None:  # type: ignore[no-untyped-def]
    user = member()
    exchange = await discord_bot.command(user, "rate")
    message_id = int(discord_bot.message_for(exchange)["id"])
    view = discord_bot.bot._connection._view_store._views[message_id][(2, "quick:love")].view
    before = len(discord_bot.requests)
    await view.on_timeout()
    edit = discord_bot.requests[before]
    assert edit.method == "PATCH" and edit.path.endswith("/messages/@original")
    assert all(b.get("disabled") for row in edit.json["components"] for b in row["components"])


# ---------------------------------------------------------------------------- recommendations


async def test_under_five_ratings_starter_picks_to_rate_right_there(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 #4: labelled popular picks spread over genres, rating buttons under them, how many more to go."""
    user = member()
    await discord_bot.command(user, "rate", movie=f"id:{HEAT}", rating="5")
    exchange = await discord_bot.command(user, "my_recommendations")
    assert exchange.callback.json["type"] == 5  # deferred: ranking may take a while
    shown = exchange.last.embeds[0]
    assert shown["title"] == "Starter picks" and "rate 4 more" in shown["description"]
    options = exchange.last.components[0]["components"][0]["options"]
    assert len(options) == 10 and str(HEAT) not in [o["value"] for o in options]
    genres = [small_app.runtime.movies[int(o["value"])]["genres"] for o in options]
    assert max(sum(g in gs for gs in genres) for g in {x for gs in genres for x in gs}) <= 4  # no genre fills the list
    loved = await discord_bot.click(user, discord_bot.message_for(exchange), "recs:love")
    assert "Saved ❤️ love" in loved.text() and "2 rated" in loved.text()


async def test_recommendations_list_with_match_reasons_and_buttons(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    exchange = await discord_bot.command(user, "my_recommendations", count=7)
    shown = exchange.last
    assert shown.ephemeral and shown.embeds[0]["title"] == "Your recommendations"
    lines = [line for line in shown.embeds[0]["description"].splitlines() if line.startswith("**")]
    assert len(lines) == 7 and all("% match" in line for line in lines)
    ids = [c["custom_id"] for row in shown.components for c in row["components"]]
    assert ids == ["recs:pick", "recs:love", "recs:like", "recs:dislike", "recs:not_interested", "recs:more", "recs:dm",
                   "recs:watch", "recs:seen", "recs:next"]
    options = shown.components[0]["components"][0]["options"]
    assert len(options) == 7
    message = discord_bot.message_for(exchange)
    await discord_bot.click(user, message, "recs:pick", values=[options[1]["value"]])
    hidden = await discord_bot.click(user, message, "recs:not_interested")
    assert "not interested" in hidden.text()
    saved = await rows(small_app, "SELECT kind FROM user_ratings WHERE user_id = $1 AND movie_id = $2", user,
                       int(options[1]["value"]))
    assert saved == [{"kind": "not_interested"}]
    more = await discord_bot.click(user, message, "recs:more")
    assert more.last.embeds[0]["title"].startswith("More like ")
    again = await discord_bot.command(user, "my_recommendations", count=20)
    assert options[1]["value"] not in [o["value"] for o in again.last.components[0]["components"][0]["options"]]


async def test_mood_and_genre_filters(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    moods = await discord_bot.autocomplete(user, "my_recommendations", "mood", mood="da")
    assert {"name": "dark", "value": "dark"} in moods
    dark = await discord_bot.command(user, "my_recommendations", count=5, mood="dark")
    lines = [line.strip() for line in dark.last.embeds[0]["description"].splitlines() if line.startswith("   ")]
    assert len(lines) == 5 and all(line.startswith("dark · ") for line in lines)
    comedy = await discord_bot.command(user, "my_recommendations", count=5, genre="Comedy")
    titles = [o["label"].split(". ", 1)[1] for o in comedy.last.components[0]["components"][0]["options"]]
    by_label = {movie_label(m): m for m in small_app.runtime.movies.values()}
    assert all("Comedy" in by_label[t]["genres"] for t in titles)
    typed = await discord_bot.autocomplete(user, "my_recommendations", "mood", mood="cosy rainy day")
    assert typed[0] == {"name": "cosy rainy day", "value": "cosy rainy day"}  # any phrase is offered as typed
    gloomy = await discord_bot.command(user, "my_recommendations", count=5, mood="gloomy")
    assert "(mood: gloomy)" in gloomy.text() and gloomy.last.ephemeral
    tiny = await discord_bot.command(user, "my_recommendations", mood="?")
    assert "a phrase of 3 to 100 characters" in tiny.text() and tiny.last.ephemeral


def matches_shown(exchange) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """(movie label, match %) for every line of a recommendations embed, in the order shown."""
    found = re.findall(r"^\*\*\d+\. (.+?)\*\* · .*?\*\*(\d+)% match\*\*", exchange.last.embeds[0]["description"], re.M)
    return [(label, int(value)) for label, value in found]


async def test_one_match_percent_per_member_and_movie_in_every_list(discord_bot) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    lists = {
        "plain": await discord_bot.command(user, "my_recommendations", count=20),
        "drama": await discord_bot.command(user, "my_recommendations", count=20, genre="Drama"),
        "thriller": await discord_bot.command(user, "my_recommendations", count=20, genre="Thriller"),
        "dark": await discord_bot.command(user, "my_recommendations", count=20, mood="dark"),
        "dark drama": await discord_bot.command(user, "my_recommendations", count=20, mood="dark", genre="Drama"),
    }
    seen: dict[str, tuple[int, str]] = {}
    repeated = 0
    for name, exchange in lists.items():
        shown = matches_shown(exchange)
        assert len(shown) == 20, (name, exchange.last.embeds[0]["description"])
        values = [value for _label, value in shown]
        # in match order apart from swaps of at most 5 points, films not shown earlier today first (issue 12:
        # asking again brings fresh picks first)
        fresh = [value for label, value in shown if label not in seen]
        again = [value for label, value in shown if label in seen]
        assert values == fresh + again, (name, values)
        for group in (fresh, again):
            assert all(later - value <= 5 for at, value in enumerate(group) for later in group[at + 1:]), (name, group)
        if sum(v >= 50 for v in values) >= 10:
            assert min(values) >= 30, (name, values)
        for label, value in shown:
            if label in seen:
                repeated += 1
                assert seen[label][0] == value, (label, seen[label], (value, name))
            seen[label] = (value, name)
    assert repeated >= 10  # the lists overlap enough for the comparison to mean something


# ---------------------------------------------------------------------------- /my_stats


async def test_stats_with_chart(discord_bot) -> None:  # type: ignore[no-untyped-def]
    user = member()
    early = await discord_bot.command(user, "my_stats")
    assert "Not enough data yet" in early.text() and early.last.buttons()[0]["label"] == "Start rating"
    await rate_five(discord_bot, user)
    exchange = await discord_bot.command(user, "my_stats")
    shown = exchange.last
    assert shown.ephemeral
    embed = shown.embeds[0]
    assert embed["title"] == "Your taste profile" and embed["image"]["url"] == "attachment://taste.png"
    names = [f["name"] for f in embed["fields"]]
    assert {"Favourite genres", "Rating style", "Range", "Activity"} <= set(names)
    assert not _chart_has_bars(shown.files[0][1])  # five ratings: a note instead of an empty axis
    assert shown.files and shown.files[0][0] == "taste.png" and shown.files[0][1][:8] == b"\x89PNG\r\n\x1a\n"


def _chart_has_bars(png: bytes) -> bool:
    """True when the genre panel (left half) holds green or red bars, not an empty axis."""
    import io

    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(io.BytesIO(png), format="png")[:, :, :3]
    left = pixels[:, : pixels.shape[1] // 2]
    green = (np.abs(left - np.array([0x2E, 0xCC, 0x71]) / 255).max(axis=2) < 0.05).sum()
    red = (np.abs(left - np.array([0xE7, 0x4C, 0x3C]) / 255).max(axis=2) < 0.05).sum()
    return green + red > 500


def _popular(small_app, wanted: str, avoid: tuple[str, ...] = ()) -> list[int]:  # type: ignore[no-untyped-def]
    movies = sorted(small_app.runtime.movies.values(), key=lambda m: -m["rating_count"])
    return [m["movie_id"] for m in movies if wanted in m["genres"] and not set(avoid) & set(m["genres"])]


async def test_stats_sees_a_horror_fan_who_hates_romance(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    for k, movie in enumerate(_popular(small_app, "Horror", ("Romance", "Comedy"))[:16]):
        await small_app.feedback.record(user, movie, "rating", (4.0, 4.5, 5.0)[k % 3], "api")
    for k, movie in enumerate(_popular(small_app, "Romance", ("Horror",))[:10]):
        await small_app.feedback.record(user, movie, "rating", (1.0, 1.5, 2.0)[k % 3], "api")
    for movie in _popular(small_app, "Documentary", ("Horror", "Romance"))[:6]:
        await small_app.feedback.record(user, movie, "rating", 3.0, "api")
    shown = (await discord_bot.command(user, "my_stats")).last
    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    assert fields["Favourite genres"].startswith("Horror: about"), fields
    assert "Romance" in fields["Genres you rate lower"], fields
    assert _chart_has_bars(shown.files[0][1])


async def test_stats_names_an_auteur_a_member_loves(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """The issue's Bergman fan, with the director who has the most films in this subset's data."""
    from collections import Counter

    movies = small_app.runtime.movies
    director, _ = Counter(d for m in movies.values() for d in m["directors"]).most_common(1)[0]
    theirs = [m for m, row in movies.items() if director in row["directors"]][:4]
    user = member()
    for movie in theirs:
        await small_app.feedback.record(user, movie, "rating", 5.0, "api")
    others = [m for m in _popular(small_app, "Drama") if m not in theirs and director not in movies[m]["directors"]][:22]
    for k, movie in enumerate(others):
        await small_app.feedback.record(user, movie, "rating", (2.5, 3.0, 3.5, 4.0)[k % 4], "api")
    shown = (await discord_bot.command(user, "my_stats")).last
    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    assert director in fields.get("Directors you love", ""), (director, fields)


# ---------------------------------------------------------------------------- DMs and reactions


async def test_dm_send_reaction_removal_and_duplicates(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    exchange = await discord_bot.command(user, "my_recommendations", count=3)
    message = discord_bot.message_for(exchange)
    movie_id = int(exchange.last.components[0]["components"][0]["options"][0]["value"])
    sent = await discord_bot.click(user, message, "recs:dm")
    assert "Sent" in sent.requests[-1].text() and sent.requests[-1].ephemeral
    reactions = [r for r in sent.requests if "/reactions/" in r.path]
    assert len(reactions) == 6
    dm = discord_bot.dms_to(user)[-1]
    mapped = await rows(small_app, "SELECT user_id, movie_id FROM dm_messages WHERE message_id = $1", int(dm["id"]))
    assert mapped == [{"user_id": user, "movie_id": movie_id}]

    async def feedback() -> tuple[list[dict], int]:
        current = await rows(small_app, "SELECT kind, rating, source FROM user_ratings WHERE user_id = $1 AND movie_id = $2",
                             user, movie_id)
        events = await rows(small_app, "SELECT count(*) AS n FROM feedback_events WHERE user_id = $1", user)
        return current, events[0]["n"]

    _, events_before = await feedback()
    await discord_bot.react(user, int(dm["id"]), "❤️")
    assert await feedback() == ([{"kind": "love", "rating": 5.0, "source": "dm_reaction"}], events_before + 1)
    await discord_bot.react(user, int(dm["id"]), "❤")  # the same reaction again (re-sent event, no variation selector)
    assert (await feedback())[1] == events_before + 1
    await discord_bot.react(user, int(dm["id"]), "👍", added=False)  # removing a reaction that is not the current one
    assert (await feedback())[0][0]["kind"] == "love"
    await discord_bot.react(user, int(dm["id"]), "❤️", added=False)
    assert await feedback() == ([], events_before + 2)
    await discord_bot.react(user, int(dm["id"]), "❤️", added=False)  # repeated removal
    assert (await feedback())[1] == events_before + 2
    stranger = member()
    await discord_bot.react(stranger, int(dm["id"]), "❤️")  # not their DM
    assert await rows(small_app, "SELECT 1 FROM user_ratings WHERE user_id = $1", stranger) == []


async def test_closed_dms_are_reported_once(discord_bot) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    exchange = await discord_bot.command(user, "my_recommendations", count=3)
    discord_bot.closed_dms.add(user)
    refused = await discord_bot.click(user, discord_bot.message_for(exchange), "recs:dm")
    attempts = [r for r in refused.requests if r.path == "/channels/{channel_id}/messages"]
    assert len(attempts) == 1 and attempts[0].status == 403  # tried once, no retry loop
    assert refused.last.ephemeral and "can't DM you" in refused.last.text()


async def test_digest_opt_in_and_job(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user, closed = member(), member()
    for who in (user, closed):
        await rate_five(discord_bot, who)
        reply = await discord_bot.command(who, "digest", setting="on")
        assert "Daily digest on" in reply.text()
    discord_bot.closed_dms.add(closed)
    subscribers = await small_app.services.digest.subscribers()
    before = len(discord_bot.dms_to(user))
    sent = await discord_bot.bot.get_cog("DMFeedback").send_digests()
    assert sent >= 3 and len(discord_bot.dms_to(user)) == before + 3
    assert closed not in await small_app.services.digest.subscribers()  # closed DMs turn the digest off
    assert user in subscribers
    for other in subscribers:
        if other not in (user, closed):
            await small_app.services.digest.set_enabled(other, False)


# ---------------------------------------------------------------------------- admin and privacy


async def test_admin_is_checked_in_code(discord_bot) -> None:  # type: ignore[no-untyped-def]
    refused = await discord_bot.command(member(), "admin status")
    assert refused.callback.ephemeral and "Admin commands are for the bot owner" in refused.text()
    in_dm = await discord_bot.command(member(), "admin status", dm=True, permissions=MANAGE_GUILD)
    assert "not in DMs" in in_dm.text()
    allowed = await discord_bot.command(member(), "admin status", permissions=MANAGE_GUILD)
    fields = {f["name"]: f["value"] for f in allowed.last.embeds[0]["fields"]}
    assert fields["Migrations"] == "up to date" and fields["Model"].startswith("v")
    assert "Ratings" not in fields and "DM digest" not in fields  # issue 11 #11: no counts across servers
    owner = await discord_bot.command(OWNER, "admin status", dm=True)
    assert owner.last.embeds[0]["title"] == "CineSync status"
    assert "Ratings" in {f["name"] for f in owner.last.embeds[0]["fields"]}


async def test_bot_wide_jobs_are_for_owners_only(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #11: Manage Server in some guild does not allow retrain, learn or sliders reload."""
    for command in ("admin retrain", "admin learn", "admin sliders reload"):
        refused = await discord_bot.command(member(), command, permissions=MANAGE_GUILD)
        assert "only the bot's owners" in refused.text() and refused.callback.ephemeral, command


async def test_forget_me_leaves_no_row_and_export(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    await discord_bot.command(user, "digest", setting="on")
    await discord_bot.command(user, "my_recommendations", count=3)
    await discord_bot.command(user, "my_stats")
    await small_app.services.member_index.flush()  # the index refresh runs after replies; settle it so export and count agree
    exported = await discord_bot.command(user, "export_my_data")
    name, data = exported.last.files[0]
    document = json.loads(data)
    assert name == "cinesync-my-data.json" and len(document["ratings"]) == 5 and document["settings"]["digest_enabled"]
    # against the schema, not a hand-written list: every table with a user_id column, every row of this member
    async with small_app.db.acquire() as conn:
        tables = [r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'user_id'")]
        held = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE user_id = $1', user) for t in tables}
    assert {"user_embeddings", "recommendation_log", "user_preferences", "user_settings"} <= {t for t, n in held.items() if n}
    assert {t: len(document["tables"].get(t, [])) for t in tables} == held
    assert await small_app.services.privacy.rows_about(user) == sum(held.values()) > 10
    ask = await discord_bot.command(user, "forget_me")
    assert "Delete all your CineSync data?" in ask.text()
    message = discord_bot.message_for(ask)
    refused = await discord_bot.click(member(), message, "forget:confirm")
    assert "belong to someone else" in refused.text()
    assert await small_app.services.privacy.rows_about(user) > 10
    done = await discord_bot.click(user, message, "forget:confirm")
    assert "Your data is deleted" in done.text()
    assert await small_app.services.privacy.rows_about(user) == 0
    async with small_app.db.acquire() as conn:
        left = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE user_id = $1', user) for t in tables}
    assert not any(left.values()), left


async def test_admin_sliders_reload(discord_bot) -> None:  # type: ignore[no-untyped-def]
    reloaded = await discord_bot.command(OWNER, "admin sliders reload")
    assert reloaded.callback.json["type"] == 5 and "Sliders reloaded: 0 new or changed" in reloaded.text()


async def test_unexpected_errors_get_an_error_id_and_a_log_line(discord_bot, small_app, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    async def broken(user_id: int):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(small_app.services.stats, "profile", broken)
    exchange = await discord_bot.command(member(), "my_stats")
    text = exchange.last.text()
    assert exchange.last.ephemeral and "Something went wrong on our side (error id `" in text
    error_id = text.split("error id `")[1][:8]
    logged = [r for r in caplog.records if r.name == "bot.errors" and error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "simulated bug" in str(logged[0].exc_info[1])


async def test_a_button_flood_is_limited_per_member(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #10: 200 presses of the quick-rating Love button in 5 s saved 200 ratings. Now one limit covers
    every feedback path: the flood is refused with a friendly message, and other members are unaffected."""
    from bot.services.feedback import FeedbackLimiter

    feedback = small_app.services.feedback
    unlimited, feedback.limiter = feedback.limiter, FeedbackLimiter(Settings().feedback_limit)  # as served
    user, other = member(), member()
    round_ = await discord_bot.command(user, "rate")
    message = discord_bot.message_for(round_)
    try:
        answers = [await discord_bot.click(user, message, "quick:love") for _ in range(40)]
        fine = await discord_bot.command(other, "rate", movie="id:6", rating="4")  # while the flood is limited
    finally:
        feedback.limiter = unlimited
    refused = [a for a in answers if "going faster than CineSync can follow" in a.text()]
    saved = await rows(small_app, "SELECT count(*) AS n FROM user_ratings WHERE user_id = $1", user)
    assert len(refused) >= 20 and saved[0]["n"] <= 15, (len(refused), saved)
    assert all(a.requests and a.requests[0].ephemeral for a in refused)
    assert "Rating saved" in fine.text()
