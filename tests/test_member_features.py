"""Issue 12: a member's everyday use through gateway payloads: the diary (/my_ratings, /unrate) with the
taste vector equal to a refit, the watchlist and "seen it", lists that page and move, the /movie card,
genres whatever their case."""
from __future__ import annotations

import numpy as np

from bot.offline import GUILD_ID

from bot.services.member_state import replay_feedback
from engine.trainer import unit
from tests.test_bot import BRAVEHEART, FARGO, HEAT, SEVEN, TOY_STORY, USUAL_SUSPECTS, discord_bot, member, rate_five, rows  # noqa: F401

GODFATHER = 858


async def taste_matches_refit(app, user: int) -> float:  # type: ignore[no-untyped-def]
    """Cosine between the stored taste vector and a refit of the member's current feedback."""
    state = await rows(app, "SELECT embedding, rating_count FROM user_embeddings WHERE user_id = $1", user)
    feedback = await rows(app, "SELECT movie_id, rating, kind FROM user_ratings WHERE user_id = $1 "
                               "ORDER BY updated_at, movie_id", user)
    refit = unit(replay_feedback(app.runtime.trainer, app.runtime.catalog.items, feedback).vector)
    stored = np.asarray(state[0]["embedding"].to_numpy(), dtype=np.float32)
    return float(refit @ stored)


async def test_diary_pages_filters_changes_and_removes_with_the_taste_vector_refit(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    films = sorted(small_app.runtime.movies.values(), key=lambda m: -m["rating_count"])[:23]
    for k, film in enumerate(films):
        await small_app.feedback.record(user, film["movie_id"], "rating", (5.0, 4.0, 2.0, 3.5, 4.5)[k % 5], "api")
    diary = await discord_bot.command(user, "my_ratings")
    card = diary.last.embeds[0]
    assert card["footer"]["text"].startswith("Page 1 of 3 · 23 entries")
    assert card["description"].splitlines()[0].startswith(f"**{films[-1]['title'].split(' (')[0]}")  # newest first
    message = discord_bot.message_for(diary)
    seen: list[str] = []
    for _ in range(3):  # page through: every entry once
        options = discord_bot.messages[int(message["id"])]["components"][0]["components"][0]["options"]
        seen += [o["value"] for o in options]
        older = [b for row in discord_bot.messages[int(message["id"])]["components"] for b in row["components"]
                 if b.get("custom_id") == "diary:older"][0]
        if older.get("disabled"):
            break
        await discord_bot.click(user, message, "diary:older")
    assert sorted(seen) == sorted(str(f["movie_id"]) for f in films)

    fours = await discord_bot.command(user, "my_ratings", stars=4.0)
    assert all("4★" in line or "4.5★" in line for line in fours.last.embeds[0]["description"].splitlines())
    drama = await discord_bot.command(user, "my_ratings", genre="drama")  # any case
    assert "(Drama)" in drama.last.embeds[0]["title"]

    # remove the newest entry from the diary: the taste vector follows exactly
    diary = await discord_bot.command(user, "my_ratings")
    removed = await discord_bot.click(user, discord_bot.message_for(diary), "diary:remove")
    assert "Removed your rating" in removed.text() and "22 rated" in removed.text()
    assert films[-1]["movie_id"] not in [r["movie_id"] for r in await rows(small_app, "SELECT movie_id FROM user_ratings WHERE user_id = $1", user)]
    assert await taste_matches_refit(small_app, user) > 0.9999
    # change one: the same rating card as /rate, then the vector again equals a refit
    change = await discord_bot.click(user, discord_bot.message_for(diary), "diary:change")
    pressed = await discord_bot.click(user, discord_bot.message_for(change), "quick:hate")
    assert "Saved 💀 hate" in pressed.text()
    assert await taste_matches_refit(small_app, user) > 0.9999
    # /unrate by title
    gone = await discord_bot.command(user, "unrate", movie=f"id:{films[0]['movie_id']}")
    assert "Removed your feedback" in gone.text() and await taste_matches_refit(small_app, user) > 0.9999
    again = await discord_bot.command(user, "unrate", movie=f"id:{films[0]['movie_id']}")
    assert "had not rated" in again.text()


async def test_watchlist_seen_it_and_exclusion_from_picks(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    first = await discord_bot.command(user, "my_recommendations", count=5)
    options = first.last.components[0]["components"][0]["options"]
    wanted, watched = int(options[0]["value"]), int(options[1]["value"])
    message = discord_bot.message_for(first)
    added = await discord_bot.click(user, message, "recs:watch")  # the first pick is selected
    assert "Added" in added.text() and "watchlist" in added.text()
    await discord_bot.click(user, message, "recs:pick", values=[str(watched)])
    seen = await discord_bot.click(user, message, "recs:seen")
    assert "Saved seen" in seen.text()
    listed = await discord_bot.command(user, "watchlist list")
    assert small_app.runtime.movies[wanted]["title"].split(" (")[0] in listed.text()
    picks = await small_app.recommendations.recommend(user, 20)
    assert watched not in [m.movie_id for m in picks.movies]  # seen: never recommended
    marked = [m for m in picks.movies if m.movie_id == wanted]
    assert not marked or marked[0].on_watchlist  # on the watchlist: marked where it appears
    by_title = await discord_bot.command(user, "watchlist add", movie="godfather")
    assert "Added The Godfather (1972)" in by_title.text()
    twice = await discord_bot.command(user, "watchlist add", movie="godfather")
    assert "already on your watchlist" in twice.text()
    await discord_bot.command(user, "rate", movie="godfather", rating="5")  # rating it takes it off the list
    assert [r["movie_id"] for r in await rows(small_app, "SELECT movie_id FROM watchlist WHERE user_id = $1", user)] == [wanted]
    removed = await discord_bot.command(user, "watchlist remove", movie=f"id:{wanted}")
    assert "Removed" in removed.text() and await rows(small_app, "SELECT 1 FROM watchlist WHERE user_id = $1", user) == []
    export = await small_app.services.privacy.export(user)
    assert b'"watchlist"' in export and b'"seen"' in export


async def test_more_pages_without_repeats_and_a_second_request_brings_fresh_picks(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    first = await discord_bot.command(user, "my_recommendations", count=20)
    message = discord_bot.message_for(first)
    ids = [o["value"] for o in first.last.components[0]["components"][0]["options"]]
    for expected_first in (21, 41):
        more = await discord_bot.click(user, message, "recs:next")
        assert f"**{expected_first}. " in more.last.embeds[0]["description"]
        ids += [o["value"] for o in discord_bot.messages[int(message["id"])]["components"][0]["components"][0]["options"]]
    assert len(ids) == 50 == len(set(ids))  # up to 50 over pages, no repeats
    last = [b for row in discord_bot.messages[int(message["id"])]["components"] for b in row["components"]
            if b.get("custom_id") == "recs:next"][0]
    assert last.get("disabled")
    other = member()
    await rate_five(discord_bot, other)
    before = [m.movie_id for m in (await small_app.recommendations.recommend(other, 10)).movies]
    after = [m.movie_id for m in (await small_app.recommendations.recommend(other, 10)).movies]
    fresh = [m for m in after if m not in before]
    assert len(fresh) >= 3 and after[: len(fresh)] == fresh  # fresh picks first


async def test_movie_card_contents_and_buttons(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user, neighbour, elsewhere = member(), member(), member()
    await rate_five(discord_bot, user)
    await discord_bot.command(neighbour, "rate", movie=f"id:{GODFATHER}", rating="4")  # a member of this server
    await small_app.feedback.record(elsewhere, GODFATHER, "rating", 1.0, "api")  # never used CineSync here
    card = await discord_bot.command(user, "movie", movie="the godfather")
    shown = card.last.embeds[0]
    fields = {f["name"]: f["value"] for f in shown["fields"]}
    assert shown["title"] == "The Godfather (1972)" and "175 min" in shown["description"] and "Crime" in shown["description"]
    assert fields["Directed by"] == "Francis Ford Coppola" and "Marlon Brando" in fields["Starring"]
    assert "chance you'd rate it 4★" in fields["Your match"]
    here = await rows(small_app, "SELECT r.user_id, r.rating FROM user_ratings r JOIN member_guilds g USING (user_id) "
                                 "WHERE r.movie_id = $1 AND g.guild_id = $2", GODFATHER, GUILD_ID)
    assert neighbour in [r["user_id"] for r in here] and elsewhere not in [r["user_id"] for r in here]
    mean = sum(r["rating"] for r in here) / len(here)
    assert fields["This server"] == f"{mean:.1f}★ average from {len(here)} member{'s' if len(here) != 1 else ''}"
    assert "imdb.com/title/tt0068646" in fields["Links"] and "themoviedb.org/movie/238" in fields["Links"]
    assert [b["custom_id"] for b in card.last.buttons()] == ["card:rate", "card:watch", "card:not_interested"]
    message = discord_bot.message_for(card)
    want = await discord_bot.click(user, message, "card:watch")
    assert "Added The Godfather (1972)" in want.text()
    rate = await discord_bot.click(user, message, "card:rate")
    loved = await discord_bot.click(user, discord_bot.message_for(rate), "quick:love")
    assert "Saved ❤️ love (5★) for The Godfather (1972), directed by Francis Ford Coppola" in loved.text()
    again = await discord_bot.command(user, "movie", movie=f"id:{GODFATHER}")
    assert {f["name"]: f["value"] for f in again.last.embeds[0]["fields"]}["You"].startswith("❤️ love")


async def test_genres_whatever_their_case_and_shown_filtered_first(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    await rate_five(discord_bot, user)
    for typed in ("animation", "ANIMATION", "Animation"):
        shown = await discord_bot.command(user, "my_recommendations", count=5, genre=typed)
        lines = [line for line in shown.last.embeds[0]["description"].splitlines() if line.startswith("**")]
        assert len(lines) == 5 and all(" · Animation" in line for line in lines), lines
    horror = await discord_bot.command(user, "my_recommendations", count=5, genre="horror")
    lines = [line for line in horror.last.embeds[0]["description"].splitlines() if line.startswith("**")]
    assert all(line.split(" · ")[1].startswith("Horror") for line in lines)
    bad = await discord_bot.command(user, "my_recommendations", genre="cartoons")
    assert "unknown genre 'cartoons'" in bad.text()
