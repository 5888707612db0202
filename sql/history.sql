-- Imported histories and their undo.

-- name: feedback_on_movies(user_id, movie_ids)
SELECT movie_id, kind, rating FROM user_ratings WHERE user_id = :user_id AND movie_id = ANY(:movie_ids::integer[]);

-- name: watchlisted_among(user_id, movie_ids)
SELECT movie_id FROM watchlist WHERE user_id = :user_id AND movie_id = ANY(:movie_ids::integer[]);

-- name: add_many_to_watchlist(user_id, movie_ids)$
WITH added AS (
    INSERT INTO watchlist (user_id, movie_id) SELECT :user_id, unnest(:movie_ids::integer[])
    ON CONFLICT (user_id, movie_id) DO NOTHING RETURNING 1
)
SELECT count(*) FROM added;

-- name: remove_many_from_watchlist(user_id, movie_ids)!
DELETE FROM watchlist WHERE user_id = :user_id AND movie_id = ANY(:movie_ids::integer[]);

-- name: log_history_import(user_id, source, previous)$
INSERT INTO history_imports (user_id, source, previous) VALUES (:user_id, :source, :previous) RETURNING import_id;

-- name: last_history_import(user_id)^
SELECT import_id, source, created_at, previous FROM history_imports
 WHERE user_id = :user_id AND undone_at IS NULL ORDER BY created_at DESC, import_id DESC LIMIT 1;

-- name: mark_import_undone(user_id, import_id)!
UPDATE history_imports SET undone_at = now() WHERE user_id = :user_id AND import_id = :import_id;
