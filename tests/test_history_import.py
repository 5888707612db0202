"""Issue 13 #3: a member brings their history, through gateway payloads (`/import` with an attachment):
Letterboxd's zip and IMDb's ratings export in those sites' column layouts, films the catalog lacks,
a re-import that changes nothing, and an undo that restores the previous state exactly."""
from __future__ import annotations

import io
import zipfile

from tests.test_bot import FARGO, HEAT, SEVEN, TOY_STORY, discord_bot, member, rows  # noqa: F401
from tests.test_member_features import taste_matches_refit

LETTERBOXD_RATINGS = ("Date,Name,Year,Letterboxd URI,Rating\n"
                      "2020-01-02,Heat,1995,https://boxd.it/2bbs,4.5\n"
                      "2020-01-03,Toy Story,1995,https://boxd.it/2a1m,5\n"
                      "2020-01-04,Barbie,2023,https://boxd.it/hCzs,4\n")
LETTERBOXD_WATCHED = ("Date,Name,Year,Letterboxd URI\n"
                      "2020-01-01,Se7en,1995,https://boxd.it/1Xta\n"
                      "2020-01-01,Heat,1995,https://boxd.it/2bbs\n")
LETTERBOXD_WATCHLIST = "Date,Name,Year,Letterboxd URI\n2020-02-01,Fargo,1996,https://boxd.it/2aHi\n"
IMDB_RATINGS = ("Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,"
                "Genres,Num Votes,Release Date,Directors\n"
                "tt0113277,9,2021-05-01,Heat,Heat,https://www.imdb.com/title/tt0113277/,Movie,8.3,170,1995,"
                "\"Action, Crime, Drama\",700000,1995-12-15,Michael Mann\n"
                "tt0108052,10,2021-05-02,Schindler's List,Schindler's List,https://www.imdb.com/title/tt0108052/,Movie,"
                "9.0,195,1993,\"Biography, Drama, History\",1400000,1993-11-30,Steven Spielberg\n"
                "tt9999999999,7,2021-05-03,A Film Nobody Has,,https://www.imdb.com/title/tt9999999999/,Movie,7.0,90,"
                "2025,Drama,10,2025-01-01,Somebody\n"
                "tt0944947,10,2021-05-04,Game of Thrones,,https://www.imdb.com/title/tt0944947/,TV Series,9.2,57,2011,"
                "Drama,2000000,2011-04-17,\n")


def letterboxd_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("letterboxd-member-2024/ratings.csv", LETTERBOXD_RATINGS)
        archive.writestr("letterboxd-member-2024/watched.csv", LETTERBOXD_WATCHED)
        archive.writestr("letterboxd-member-2024/watchlist.csv", LETTERBOXD_WATCHLIST)
        archive.writestr("letterboxd-member-2024/profile.csv", "Username\nmember\n")
    return buffer.getvalue()


async def state(app, user: int):  # type: ignore[no-untyped-def]
    ratings = await rows(app, "SELECT movie_id, kind, rating FROM user_ratings WHERE user_id = $1 ORDER BY movie_id", user)
    watch = await rows(app, "SELECT movie_id FROM watchlist WHERE user_id = $1 ORDER BY movie_id", user)
    return ratings, watch


async def test_letterboxd_zip_import_reimport_and_undo(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    for film, stars in ((TOY_STORY, 2.0), (110, 4.0), (1, 2.0)):
        await small_app.feedback.record(user, film, "rating", stars, "api")
    before = await state(small_app, user)

    imported = await discord_bot.command(user, "import", file=("letterboxd.zip", letterboxd_zip()))
    text = imported.text()
    assert imported.callback.json["type"] == 5
    assert any("Importing your Letterboxd export" in r.text() for r in imported.requests)  # progress for a zip
    assert "**3** imported" in text and "**1** added to your watchlist" in text and "**1** not found" in text
    assert "Barbie (2023)" in text
    ratings, watch = await state(small_app, user)
    by_movie = {r["movie_id"]: (r["kind"], r["rating"]) for r in ratings}
    assert by_movie[HEAT] == ("rating", 4.5) and by_movie[TOY_STORY] == ("rating", 5.0) and by_movie[SEVEN] == ("seen", None)
    assert [w["movie_id"] for w in watch] == [FARGO]
    assert await taste_matches_refit(small_app, user) > 0.9999

    again = await discord_bot.command(user, "import", file=("letterboxd.zip", letterboxd_zip()))
    assert "**0** imported" in again.text() and await state(small_app, user) == (ratings, watch)  # nothing changed

    undone = await discord_bot.click(user, discord_bot.message_for(imported), "import:undo")
    assert "Import undone: 4 films" in undone.text()
    assert await state(small_app, user) == before
    assert await taste_matches_refit(small_app, user) > 0.9999


async def test_imdb_ratings_export_and_bad_files(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    user = member()
    imported = await discord_bot.command(user, "import", file=("ratings.csv", IMDB_RATINGS.encode()))
    text = imported.text()
    assert "**2** imported" in text and "A Film Nobody Has" in text and "TV Series, not a film" in text
    ratings, _ = await state(small_app, user)
    assert {(r["movie_id"], r["rating"]) for r in ratings} == {(HEAT, 4.5), (527, 5.0)}  # by IMDb id; 9/10 is 4.5 stars
    bad = await discord_bot.command(user, "import", file=("notes.csv", b"what,ever\n1,2\n"))
    assert "not a Letterboxd export" in bad.text() and "notes.csv" in bad.text()
    broken = await discord_bot.command(user, "import", file=("export.zip", b"PK\x03\x04 not really a zip"))
    assert "damaged zip" in broken.text()
    assert len((await state(small_app, user))[0]) == 2  # nothing changed by the bad files


async def test_export_round_trip_into_a_new_member(discord_bot, small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 #4: export in Letterboxd's and IMDb's layouts, import into a new member: the same ratings."""
    user = member()
    films = sorted(small_app.runtime.movies.values(), key=lambda m: -m["rating_count"])[:13]
    for k, film in enumerate(films[:12]):
        await small_app.feedback.record(user, film["movie_id"], "rating", (5.0, 4.5, 3.0, 0.5, 2.5, 4.0)[k % 6], "api")
    await small_app.feedback.record(user, films[12]["movie_id"], "seen", None, "api")  # watched, no stars
    original, _ = await state(small_app, user)
    for layout in ("letterboxd", "imdb"):
        exported = await discord_bot.command(user, "export_my_data", format=layout)
        name, data = exported.last.files[0]
        assert name == f"cinesync-ratings-{layout}.csv"
        newcomer = member()
        await discord_bot.command(newcomer, "import", file=(name, data))
        copied, _ = await state(small_app, newcomer)
        expected = [r for r in original if r["rating"] is not None or layout == "letterboxd"]
        assert copied == expected, layout
