"""Issue 12 #1: a typed title is saved directly only when one film is clearly meant; otherwise the member
chooses (year on every button, "None of these"), and garbage matches nothing. Through gateway payloads,
on the whole shared catalog (9,742 films) with no model (titles need none)."""
from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from bot.app import build_app
from bot.client import create_bot
from bot.offline import OfflineDiscord
from bot.services.catalog_import import import_movielens
from tests.conftest import IMDB, MOVIELENS, migrated_database, requires_shared

GODFATHER, GODFATHER_2, EVIL_DEAD, EVIL_DEAD_2, OLD_BOY_2003, ARMAGEDDON, AMELIE = 858, 1221, 4105, 1261, 27773, 1917, 4973
_members = itertools.count(780000000000000001)


@pytest.fixture(scope="module")
async def catalog_app(pg_server, test_settings):  # type: ignore[no-untyped-def]
    requires_shared()
    db = await migrated_database(pg_server, test_settings)
    await import_movielens(db, MOVIELENS, IMDB, with_ratings=True, progress=False)  # rating counts tell films apart
    app = await build_app(test_settings, db)
    yield app
    await app.close()


@pytest.fixture
async def discord(catalog_app, test_settings):  # type: ignore[no-untyped-def]
    settings = replace(test_settings, rate_cooldown_seconds=0.0)
    async with OfflineDiscord(create_bot(settings, app=catalog_app, sync_commands=False)) as d:
        yield d


async def saved(app, user: int) -> list[int]:  # type: ignore[no-untyped-def]
    async with app.db.acquire() as conn:
        return [r["movie_id"] for r in await conn.fetch("SELECT movie_id FROM user_ratings WHERE user_id = $1", user)]


@pytest.mark.parametrize("typed, expected", [
    ("godfather 2", GODFATHER_2), ("The Godfather: Part II", GODFATHER_2), ("godfather", GODFATHER),
    ("evil dead 2", EVIL_DEAD_2), ("evil dead ii", EVIL_DEAD_2), ("oldboy", OLD_BOY_2003), ("old boy", OLD_BOY_2003),
    ("se7en", 47), ("heat 1995", 6), ("Amelie", AMELIE),
])
def test_one_film_clearly_meant_resolves(catalog_app, typed: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    found = catalog_app.runtime.titles.resolve(typed)
    assert (found.movie_id, found.candidates) == (expected, [])


@pytest.mark.parametrize("typed, offered", [
    ("solaris", {"Solaris (1972)", "Solaris (2002)"}),  # neither clearly better known: ask
    ("breathless", {"Breathless (1960)", "Breathless (1983)"}),
    ("the irishman", {"Kill the Irishman (2011)"}),  # a longer title is offered, never saved
    ("joker", {"Batman Beyond: Return of the Joker (2000)"}),
    ("the matrx", {"The Matrix (1999)"}),  # a typo is offered, not guessed
])
def test_several_or_inexact_matches_are_offered_not_saved(catalog_app, typed: str, offered: set[str]) -> None:  # type: ignore[no-untyped-def]
    from bot.render.cards import button_label

    found = catalog_app.runtime.titles.resolve(typed)
    labels = {button_label(catalog_app.runtime.movies[m.movie_id]) for m in found.candidates}
    assert found.movie_id is None and offered <= labels, labels


@pytest.mark.parametrize("typed", ["barbie", "hereditary", "1917", "'; DROP TABLE movies; --", "qqzzxx"])
def test_films_not_in_the_catalog_and_garbage_match_nothing(catalog_app, typed: str) -> None:  # type: ignore[no-untyped-def]
    found = catalog_app.runtime.titles.resolve(typed)
    assert (found.movie_id, found.candidates) == (None, []), [m.title for m in found.candidates]


async def test_rate_through_the_gateway(catalog_app, discord) -> None:  # type: ignore[no-untyped-def]
    user = next(_members)
    direct = await discord.command(user, "rate", movie="godfather 2", rating="5")
    assert "The Godfather: Part II (1974), directed by Francis Ford Coppola" in direct.text()
    assert await saved(catalog_app, user) == [GODFATHER_2]

    # typed digits are a title, not movie id 1917 (Armageddon); an autocomplete pick carries the id
    digits = await discord.command(user, "rate", movie="1917", rating="4")
    assert "matches '1917'" in digits.text() and ARMAGEDDON not in await saved(catalog_app, user)
    picks = await discord.autocomplete(user, "rate", "movie", movie="armagedon")
    assert picks[0]["value"] == f"id:{ARMAGEDDON}" and picks[0]["name"] == "Armageddon (1998)"
    await discord.command(user, "rate", movie=picks[0]["value"], rating="2")
    assert ARMAGEDDON in await saved(catalog_app, user)

    garbage = await discord.command(user, "rate", movie="'; DROP TABLE movies; --", rating="4")
    assert "matches" in garbage.text() and len(await saved(catalog_app, user)) == 2

    # several films of one title: buttons with the year and "None of these"; nothing saved until chosen
    asked = await discord.command(user, "rate", movie="solaris", rating="4")
    buttons = {b["label"]: b["custom_id"] for b in asked.last.buttons()}
    assert {"Solaris (1972)", "Solaris (2002)", "None of these"} <= set(buttons)
    assert len(await saved(catalog_app, user)) == 2
    none = await discord.click(user, discord.message_for(asked), buttons["None of these"])
    assert "Nothing was saved" in none.text() and none.last.components == [] and len(await saved(catalog_app, user)) == 2
    asked = await discord.command(user, "rate", movie="solaris", rating="4")
    chosen = await discord.click(user, discord.message_for(asked), buttons["Solaris (1972)"])
    assert "Solaris (1972)" in chosen.text() and 3503 in await saved(catalog_app, user)


async def test_a_title_without_a_rating_rates_just_that_film(catalog_app, discord) -> None:  # type: ignore[no-untyped-def]
    user = next(_members)
    card = await discord.command(user, "rate", movie="amelie")
    labels = [b["label"] for b in card.last.buttons()]
    assert labels == ["❤️ Love", "👍 Like", "😐 Meh", "👎 Dislike", "💀 Hate"]  # no round: no skip, no stop
    assert "in this round" not in card.text() and "Amelie (2001)" in card.text()
    pressed = await discord.click(user, discord.message_for(card), "quick:love")
    assert "Saved ❤️ love" in pressed.text() and "Amelie (2001)" in pressed.text()
    assert pressed.last.components == []  # done: it does not move on to another film
    assert await saved(catalog_app, user) == [AMELIE]
