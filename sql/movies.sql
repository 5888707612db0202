-- Reading the catalog.

-- name: movie_count()$
SELECT count(*) FROM movies;

-- name: catalog_summary()^
SELECT (SELECT count(*) FROM movies)                                 AS movies,
       (SELECT count(*) FROM movies WHERE cardinality(directors) > 0) AS with_directors,
       (SELECT count(*) FROM movies WHERE source = 'movielens+imdb5000') AS enriched,
       (SELECT count(*) FROM user_ratings WHERE rating IS NOT NULL)   AS ratings,
       (SELECT count(DISTINCT user_id) FROM user_ratings)             AS users,
       (SELECT count(*) FROM feedback_events)                         AS events;

-- name: search_index_rows()
-- What the in-memory title search indexes: titles and popularity.
SELECT movie_id, title, original_title, year, rating_count, aliases, popularity_count, tmdb_votes FROM movies;
