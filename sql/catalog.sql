-- Catalog import: staging tables filled by COPY, then set-based upserts.

-- name: create_movie_stage()#
-- Session-private staging table for movies; dropped at commit.
CREATE TEMP TABLE movie_stage (
    line            integer,
    movie_id        integer,
    title           text,
    original_title  text,
    year            smallint,
    genres          text[],
    directors       text[],
    cast_members    text[],
    keywords        text[],
    user_tags       text[],
    content_rating  text,
    runtime_minutes smallint,
    language        text,
    country         text,
    imdb_id         text,
    tmdb_id         integer,
    imdb_score      real,
    source          text,
    overview        text,
    aliases         text[],
    popularity_count integer,
    popularity_mean real,
    tmdb_votes      integer,
    tmdb_score      real,
    field_sources   text             -- JSON text (COPY has no binary jsonb encoder)
) ON COMMIT DROP;

-- name: create_rating_stage()#
CREATE TEMP TABLE rating_stage (
    user_id  bigint,
    movie_id integer,
    rating   real,
    rated_at timestamptz
) ON COMMIT DROP;

-- name: stage_match_by_imdb()!
-- Rows without a movie_id take the id of the catalog movie with the same IMDb id.
UPDATE movie_stage s
   SET movie_id = m.movie_id
  FROM movies m
 WHERE s.movie_id IS NULL AND s.imdb_id IS NOT NULL AND m.imdb_id = s.imdb_id;

-- name: stage_assign_new_ids()!
UPDATE movie_stage SET movie_id = nextval('movies_local_id_seq') WHERE movie_id IS NULL;

-- name: stage_imdb_conflicts()
-- IMDb ids already held by a different catalog movie; those rows are reported and skipped.
SELECT s.line, s.movie_id, s.imdb_id, m.movie_id AS holder
  FROM movie_stage s
  JOIN movies m ON m.imdb_id = s.imdb_id AND m.movie_id <> s.movie_id
 ORDER BY s.line;

-- name: stage_drop_imdb_conflicts()!
DELETE FROM movie_stage s USING movies m
 WHERE m.imdb_id = s.imdb_id AND m.movie_id <> s.movie_id;

-- name: upsert_movies_from_stage()$
-- Insert new movies and update changed ones; returns how many rows were written.
WITH written AS (
    INSERT INTO movies AS m (movie_id, title, original_title, year, genres, directors, cast_members,
                             keywords, user_tags, content_rating, runtime_minutes, language,
                             country, imdb_id, tmdb_id, imdb_score, source, overview, aliases,
                             popularity_count, popularity_mean, tmdb_votes, tmdb_score,
                             field_sources)
    SELECT movie_id,
           title, original_title, year, genres, directors, cast_members, keywords, user_tags,
           content_rating, runtime_minutes, language, country, imdb_id, tmdb_id, imdb_score,
           source, overview, coalesce(aliases, '{}'), popularity_count, popularity_mean,
           tmdb_votes, tmdb_score, coalesce(field_sources::jsonb, '{}'::jsonb)
      FROM movie_stage
    ON CONFLICT (movie_id) DO UPDATE SET
        title = EXCLUDED.title, original_title = EXCLUDED.original_title, year = EXCLUDED.year,
        genres = EXCLUDED.genres, directors = EXCLUDED.directors,
        cast_members = EXCLUDED.cast_members, keywords = EXCLUDED.keywords,
        user_tags = EXCLUDED.user_tags, content_rating = EXCLUDED.content_rating,
        runtime_minutes = EXCLUDED.runtime_minutes, language = EXCLUDED.language,
        country = EXCLUDED.country, imdb_id = EXCLUDED.imdb_id, tmdb_id = EXCLUDED.tmdb_id,
        imdb_score = EXCLUDED.imdb_score, source = EXCLUDED.source, overview = EXCLUDED.overview,
        aliases = EXCLUDED.aliases, popularity_count = EXCLUDED.popularity_count,
        popularity_mean = EXCLUDED.popularity_mean, tmdb_votes = EXCLUDED.tmdb_votes,
        tmdb_score = EXCLUDED.tmdb_score, field_sources = EXCLUDED.field_sources, updated_at = now()
    WHERE (m.title, m.original_title, m.year, m.genres, m.directors, m.cast_members, m.keywords, m.user_tags,
           m.content_rating, m.runtime_minutes, m.language, m.country, m.imdb_id, m.tmdb_id,
           m.imdb_score, m.source, m.overview, m.aliases, m.popularity_count, m.popularity_mean,
           m.tmdb_votes, m.tmdb_score, m.field_sources)
          IS DISTINCT FROM
          (EXCLUDED.title, EXCLUDED.original_title, EXCLUDED.year, EXCLUDED.genres, EXCLUDED.directors, EXCLUDED.cast_members,
           EXCLUDED.keywords, EXCLUDED.user_tags, EXCLUDED.content_rating,
           EXCLUDED.runtime_minutes, EXCLUDED.language, EXCLUDED.country, EXCLUDED.imdb_id,
           EXCLUDED.tmdb_id, EXCLUDED.imdb_score, EXCLUDED.source, EXCLUDED.overview,
           EXCLUDED.aliases, EXCLUDED.popularity_count, EXCLUDED.popularity_mean,
           EXCLUDED.tmdb_votes, EXCLUDED.tmdb_score, EXCLUDED.field_sources)
    RETURNING 1
)
SELECT count(*) FROM written;

-- name: known_movie_ids(movie_ids)
-- Which of these ids the catalog holds (after this import's movies were written).
SELECT movie_id FROM movies WHERE movie_id = ANY(:movie_ids::integer[]);

-- name: analyze_rating_stage()#
-- Autovacuum never analyses a temporary table: without this the planner guesses the size of
-- millions of staged rows and the upsert and event log take plans for a thousand.
ANALYZE rating_stage;

-- name: analyze_ratings()#
-- Fresh statistics for the aggregate that follows a bulk write (stale ones after a large import
-- made the rating statistics step run for more than 16 minutes on 10M ratings).
ANALYZE user_ratings;

-- name: upsert_ratings_from_stage()$
-- Imported ratings become current unless the user said something newer since. A pair staged
-- twice (from two blocks of the file) keeps its latest rating.
WITH written AS (
    INSERT INTO user_ratings AS u (user_id, movie_id, rating, kind, source, created_at, updated_at)
    SELECT DISTINCT ON (user_id, movie_id) user_id, movie_id, rating, 'rating', 'import', rated_at, rated_at
      FROM rating_stage
     ORDER BY user_id, movie_id, rated_at DESC
    ON CONFLICT (user_id, movie_id) DO UPDATE SET
        rating = EXCLUDED.rating, kind = EXCLUDED.kind, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at
    WHERE u.updated_at <= EXCLUDED.updated_at
      AND (u.rating, u.kind) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.kind)
    RETURNING 1
)
SELECT count(*) FROM written;

-- name: log_imported_events()$
-- The append-only event log gets each imported rating once (dedupe_key makes re-imports no-ops).
WITH logged AS (
    INSERT INTO feedback_events (user_id, movie_id, action, rating, kind, source, occurred_at, dedupe_key)
    SELECT user_id, movie_id, 'set', rating, 'rating', 'import', rated_at,
           'import:' || user_id || ':' || movie_id || ':' || extract(epoch FROM rated_at)::bigint
      FROM rating_stage
    ON CONFLICT (user_id, dedupe_key) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM logged;

-- name: refresh_movie_stats()!
-- Rating count and mean of every movie, from the current ratings.
WITH s AS (
    SELECT m.movie_id, count(r.rating)::int AS n, avg(r.rating)::real AS mean
      FROM movies m
      LEFT JOIN user_ratings r ON r.movie_id = m.movie_id AND r.rating IS NOT NULL
     GROUP BY m.movie_id
)
UPDATE movies m SET rating_count = s.n, rating_mean = s.mean
  FROM s
 WHERE m.movie_id = s.movie_id AND (m.rating_count, m.rating_mean) IS DISTINCT FROM (s.n, s.mean);

-- name: movie_id_of(imdb_id, title, year)$
-- The film just written by a one-film import: by IMDb id, else the newest film of that title and year.
SELECT movie_id FROM movies
 WHERE (CAST(:imdb_id AS text) IS NOT NULL AND imdb_id = :imdb_id)
    OR (CAST(:imdb_id AS text) IS NULL AND title = :title AND year IS NOT DISTINCT FROM CAST(:year AS smallint))
 ORDER BY updated_at DESC LIMIT 1;
