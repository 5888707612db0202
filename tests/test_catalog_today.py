"""Issue 14: the bundled catalog up to 2026 (sources, licenses, TMDB credit), recent films resolved from
their plain titles through gateway payloads, and a film imported after training recommended without a
retrain to the member it fits (item cold start, planted tastes)."""
from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.app import build_app
from bot.client import create_bot
from bot.offline import OfflineDiscord
from bot.paths import DATA_DIR
from bot.services.catalog_import import import_bundled, import_catalog, make_recommendable
from tests.conftest import migrated_database, requires_shared, small_trained_app

MEMBER = 1000000000000000701
OWNER = 1000000000000000799
RECENT = {"Barbie": "Barbie (2023)", "Joker": "Joker (2019)", "The Irishman": "The Irishman (2019)",
          "Parasite": "Parasite (2019)", "Oppenheimer": "Oppenheimer (2023)",
          "Everything Everywhere All at Once": "Everything Everywhere All at Once (2022)"}


@pytest.fixture(scope="module")
async def bundled(pg_server, test_settings):  # type: ignore[no-untyped-def]
    """The bundled catalog imported into a database of its own, and a bot on it (no model trained)."""
    db = await migrated_database(pg_server, test_settings)
    report = await import_bundled(db, progress=False)
    app = await build_app(test_settings, db)
    app.import_report = report  # type: ignore[attr-defined]
    async with OfflineDiscord(create_bot(replace(test_settings, rate_cooldown_seconds=0.0, owner_ids=(OWNER,)), app=app)) as offline:
        yield offline, app
    await app.close()


async def test_the_bundle_reaches_2026_with_sources_licenses_and_the_tmdb_credit(bundled) -> None:  # type: ignore[no-untyped-def]
    offline, app = bundled
    assert app.import_report.problems == []
    async with app.db.acquire() as conn:
        summary = await conn.fetchrow(
            "SELECT count(*) AS films, max(year) AS newest, count(*) FILTER (WHERE overview IS NOT NULL) AS synopses, "
            "count(*) FILTER (WHERE movie_id >= 5000000 AND movie_id < 10000000) AS tmdb_only FROM movies")
        barbie = await conn.fetchrow("SELECT * FROM movies WHERE imdb_id = 'tt1517268'")
    assert summary["films"] > 30000 and summary["newest"] >= 2025 and summary["synopses"] > 3000 and summary["tmdb_only"] > 300
    assert barbie["year"] == 2023 and "Greta Gerwig" in barbie["directors"] and barbie["overview"]
    assert barbie["field_sources"]["overview"] == "tmdb" and barbie["field_sources"]["title"] == "movielens-2023"
    assert barbie["popularity_count"] is not None and barbie["tmdb_votes"] > 1000
    # one row per film: no IMDb id or TMDB id twice
    with gzip.open(DATA_DIR / "movies.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    for key in ("movie_id", "imdb_id", "tmdb_id"):
        values = [r[key] for r in rows if r.get(key) is not None]
        assert len(values) == len(set(values)), key
    notice = (DATA_DIR / "NOTICE.txt").read_text(encoding="utf-8")
    assert "This product uses the TMDB API but is not endorsed or certified by TMDB." in notice
    assert "GroupLens" in (DATA_DIR / "LICENSE-MovieLens.txt").read_text(encoding="utf-8")
    about = await offline.command(MEMBER, "about")
    shown = about.text()
    assert "not endorsed or certified by TMDB" in shown and "MovieLens" in shown and "up to 2026" in shown, shown


async def test_recent_films_resolve_from_their_plain_titles(bundled) -> None:  # type: ignore[no-untyped-def]
    offline, _app = bundled
    for typed, meant in RECENT.items():
        exchange = await offline.command(MEMBER, "rate", movie=typed, rating="4")
        text = exchange.text()
        assert "Saved" in text and meant in text, f"/rate {typed}: {text}"


async def test_a_film_imported_after_training_is_recommended_without_a_retrain(pg_server, test_settings,
                                                                              tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    requires_shared()
    app = await small_trained_app(pg_server, test_settings, "coldstart", max_movie_id=800)
    try:
        version = app.runtime.version
        movies = app.runtime.movies
        animated = [m for m in sorted(movies.values(), key=lambda m: -m["rating_count"])
                    if "Animation" in m["genres"] and "Horror" not in m["genres"]][:8]
        horror = [m for m in sorted(movies.values(), key=lambda m: -m["rating_count"])
                  if "Horror" in m["genres"] and not {"Animation", "Children"} & set(m["genres"])][:8]
        new_films = tmp_path / "new-films.jsonl"
        new_films.write_text("\n".join(json.dumps(r) for r in (
            {"movie_id": 9000001, "title": "Toy Story 5", "year": 2026, "genres": ["Adventure", "Animation", "Children", "Comedy"],
             "directors": ["John Lasseter"], "cast": ["Tom Hanks", "Tim Allen", "Don Rickles"],
             "keywords": ["toy", "friendship", "computer animation", "sequel"],
             "overview": "Woody, Buzz Lightyear and the other toys meet a new generation of gadgets and must prove "
                         "that friendship and play still matter to the children who own them.", "tmdb_votes": 900},
            {"movie_id": 9000002, "title": "The Haunting at Wren Hollow", "year": 2026, "genres": ["Horror", "Thriller"],
             "keywords": ["haunted house", "demon", "possession", "supernatural"],
             "overview": "A family moves into a remote farmhouse where a demonic presence possesses the youngest "
                         "daughter, and a night of terror and blood begins.", "tmdb_votes": 900},
        )) + "\n", encoding="utf-8")
        report = await import_catalog(app.db, new_films, progress=False)
        assert report.problems == [] and report.movies_written == 2
        await make_recommendable(app.db, test_settings, progress=False)
        assert await app.sync_model()  # the catalog changed: this process reloads it (no retrain)
        assert app.runtime.version == version
        model, index = app.runtime.model, app.runtime.catalog.items
        toy, haunt = index.get(9000001), index.get(9000002)
        assert model is not None and model.trained is not None and not model.trained[toy] and not model.trained[haunt]
        assert np.linalg.norm(model.q[toy]) > 0 and np.linalg.norm(model.q[haunt]) > 0  # placed in the model's space

        kids_fan, horror_fan = MEMBER + 1, MEMBER + 2
        for fan, loves, hates in ((kids_fan, animated, horror[:4]), (horror_fan, horror, animated[:4])):
            for m in loves:
                await app.feedback.record(fan, m["movie_id"], "rating", 5.0, "api")
            for m in hates:
                await app.feedback.record(fan, m["movie_id"], "rating", 1.0, "api")
        kids = await app.recommendations.recommend(kids_fan, count=10)
        picked = {m.movie_id: m for m in kids.movies}
        assert 9000001 in picked, [m.label for m in kids.movies]
        assert 9000002 not in picked
        assert picked[9000001].reason.startswith("new here"), picked[9000001].reason
        scary = await app.recommendations.recommend(horror_fan, count=10)
        assert 9000001 not in {m.movie_id for m in scary.movies}
        kids_match = await app.recommendations.match_vector(kids_fan)
        horror_match = await app.recommendations.match_vector(horror_fan)
        assert kids_match[toy] > horror_match[toy] and horror_match[haunt] > kids_match[haunt]

        # rating the new film moves the member's taste like any film (its predicted rows are in the model)
        before = await app.recommendations.match_vector(horror_fan)
        result = await app.feedback.record(horror_fan, 9000002, "rating", 5.0, "api")
        assert result.rating_count == len(horror) + 4 + 1
        after = await app.recommendations.match_vector(horror_fan)
        assert not np.allclose(before, after)
    finally:
        await app.close()


async def test_an_owner_adds_a_film_by_its_fields_or_from_the_bundle(bundled) -> None:  # type: ignore[no-untyped-def]
    offline, app = bundled
    refused = await offline.command(MEMBER, "admin movie add", permissions=0x20, title="Nobody's Film")
    assert "owners" in refused.text() and "Nobody's Film" not in str(app.runtime.titles.search("Nobody's Film", 3))
    again = await offline.command(OWNER, "admin movie add", imdb_id="tt1517268")
    assert "already in the catalog" in again.text()
    added = await offline.command(OWNER, "admin movie add", title="The Quiet Orchard", year=2026, genres="Drama|Romance",
                                  directors="Ana Lind", overview="Two sisters return to the family orchard one last summer.")
    assert "Added The Quiet Orchard (2026)" in added.text(), added.text()
    rated = await offline.command(MEMBER, "rate", movie="the quiet orchard", rating="4.5")
    assert "Saved" in rated.text() and "The Quiet Orchard (2026)" in rated.text()
