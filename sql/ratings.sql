-- Feedback: the current rating per (user, movie) and the append-only event log.

-- name: lock_user_state(user_id)^
-- Creates the user's state row if needed and locks it: concurrent feedback for one user serialises here.
WITH created AS (
    INSERT INTO user_embeddings (user_id, embedding, solver_state, rating_count, feedback_count, version)
    VALUES (:user_id, ('[1' || repeat(',0', 255) || ']')::vector, NULL, 0, 0, 0)  -- the empty state's unit placeholder
    ON CONFLICT (user_id) DO NOTHING
    RETURNING 1
)
SELECT user_id, solver_state, rating_count, feedback_count, version, model_version
  FROM user_embeddings WHERE user_id = :user_id FOR UPDATE;

-- name: current_rating(user_id, movie_id)^
SELECT rating, kind, source, updated_at FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id;

-- name: log_event(user_id, movie_id, action, rating, kind, source, dedupe_key)$
-- Returns the new event id, or NULL when dedupe_key was seen before (a replayed event).
INSERT INTO feedback_events (user_id, movie_id, action, rating, kind, source, dedupe_key)
VALUES (:user_id, :movie_id, :action, :rating, :kind, :source, :dedupe_key)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING event_id;

-- name: upsert_rating(user_id, movie_id, rating, kind, source)!
INSERT INTO user_ratings (user_id, movie_id, rating, kind, source)
VALUES (:user_id, :movie_id, :rating, :kind, :source)
ON CONFLICT (user_id, movie_id) DO UPDATE
   SET rating = EXCLUDED.rating, kind = EXCLUDED.kind, source = EXCLUDED.source, updated_at = now();

-- name: delete_rating(user_id, movie_id)!
DELETE FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id;

-- name: save_user_state(user_id, embedding, solver_state, rating_count, feedback_count, version, model_version)!
UPDATE user_embeddings
   SET embedding = :embedding, solver_state = :solver_state, rating_count = :rating_count,
       feedback_count = :feedback_count, version = :version, model_version = :model_version, updated_at = now()
 WHERE user_id = :user_id;

-- name: user_feedback(user_id)
-- Everything the user currently says about movies, oldest first.
SELECT movie_id, rating, kind, source, updated_at FROM user_ratings WHERE user_id = :user_id ORDER BY updated_at, movie_id;

-- name: user_state(user_id)^
SELECT user_id, embedding, solver_state, rating_count, feedback_count, version, model_version
  FROM user_embeddings WHERE user_id = :user_id;

-- name: rating_counts(user_id)^
SELECT count(*) FILTER (WHERE rating IS NOT NULL) AS ratings, count(*) AS feedback FROM user_ratings WHERE user_id = :user_id;

-- name: all_feedback()
-- Snapshot for training: every current feedback in time order.
SELECT user_id, movie_id, rating, kind, updated_at FROM user_ratings ORDER BY user_id, updated_at, movie_id;
