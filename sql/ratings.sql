-- Feedback: the current rating per (user, movie) and the append-only event log.

-- name: lock_user_state(user_id)^
-- Creates the user's state row if needed and locks it in one round trip (ON CONFLICT DO UPDATE
-- takes the row lock): concurrent feedback for one user serialises here until commit.
-- A new user's embedding is a unit placeholder until the first feedback.
INSERT INTO user_embeddings AS u (user_id, embedding, solver_state, rating_count, feedback_count, version)
VALUES (:user_id, ('[1' || repeat(',0', 255) || ']')::vector, NULL, 0, 0, 0)
ON CONFLICT (user_id) DO UPDATE SET user_id = u.user_id
RETURNING user_id, embedding, solver_state, rating_count, feedback_count, version, model_version;

-- name: lock_existing_state(user_id, movie_id)^
-- The member's state row locked (no new row version, so no index entry is written), with their
-- current feedback on the movie: one round trip on the rating path. No row: a new member.
SELECT u.user_id, u.embedding, u.solver_state, u.rating_count, u.feedback_count, u.version, u.model_version,
       r.rating AS current_rating, r.kind AS current_kind
  FROM user_embeddings u
  LEFT JOIN user_ratings r ON r.user_id = u.user_id AND r.movie_id = :movie_id
 WHERE u.user_id = :user_id
   FOR UPDATE OF u;

-- name: state_and_rating(user_id, movie_id, dedupe_key)^
-- The rating path's first round trip, without a lock: the member's state row (its columns NULL for a
-- member without one), their current feedback on the movie, whether this dedupe key was seen before
-- (looked up only when there is one), and, for a member without a state row only, whether they have
-- any feedback (NULL otherwise).
SELECT u.user_id, u.embedding, u.solver_state, u.rating_count, u.feedback_count, u.version, u.model_version,
       r.rating AS current_rating, r.kind AS current_kind,
       CASE WHEN CAST(:dedupe_key AS text) IS NOT NULL THEN
           EXISTS (SELECT 1 FROM feedback_events e WHERE e.user_id = m.id AND e.dedupe_key = :dedupe_key)
       ELSE false END AS repeated,
       CASE WHEN u.user_id IS NULL THEN EXISTS (SELECT 1 FROM user_ratings a WHERE a.user_id = m.id) END AS has_feedback
  FROM (SELECT CAST(:user_id AS bigint) AS id) m
  LEFT JOIN user_embeddings u ON u.user_id = m.id
  LEFT JOIN user_ratings r ON r.user_id = m.id AND r.movie_id = CAST(:movie_id AS integer);

-- name: current_rating(user_id, movie_id)^
SELECT rating, kind, source, updated_at FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id;

-- name: write_feedback(user_id, movie_id, action, rating, kind, source, dedupe_key, embedding, solver_state, rating_count, feedback_count, version, model_version, read_version, loved)$
-- One feedback in one statement: the member's new state, the event, the current rating, the watchlist,
-- the similar-member queue and (:loved not NULL) the announcement of a changed "loved" mark to other
-- processes on commit (bot/services/sync.py). Written only if the state is still version
-- :read_version, or (:read_version NULL) the member still has no state row, and this dedupe key was
-- not seen; else nothing, and NULL. Under the member's row lock only a repeated dedupe key gives NULL;
-- without it (the rating path's second round trip, a transaction of its own) NULL sends the caller
-- the locked way. A dedupe key that arrives between the check and the insert fails the whole
-- statement (no ON CONFLICT).
WITH seen AS (
    SELECT 1 FROM feedback_events WHERE user_id = :user_id AND dedupe_key = CAST(:dedupe_key AS text)
), updated AS (
    UPDATE user_embeddings
       SET embedding = :embedding, solver_state = :solver_state, rating_count = :rating_count,
           feedback_count = :feedback_count, version = :version, model_version = :model_version, updated_at = now()
     WHERE user_id = :user_id AND version = :read_version AND NOT EXISTS (SELECT 1 FROM seen)
    RETURNING user_id
), created AS (
    INSERT INTO user_embeddings (user_id, embedding, solver_state, rating_count, feedback_count, version, model_version)
    SELECT :user_id, :embedding, :solver_state, :rating_count, :feedback_count, :version, :model_version
     WHERE CAST(:read_version AS integer) IS NULL AND NOT EXISTS (SELECT 1 FROM seen)
    ON CONFLICT (user_id) DO NOTHING
    RETURNING user_id
), state AS (
    SELECT user_id FROM updated UNION ALL SELECT user_id FROM created
), event AS (
    INSERT INTO feedback_events (user_id, movie_id, action, rating, kind, source, dedupe_key)
    SELECT user_id, CAST(:movie_id AS integer), CAST(:action AS text), CAST(:rating AS real), CAST(:kind AS text),
           CAST(:source AS text), CAST(:dedupe_key AS text)
      FROM state
    RETURNING event_id
), upserted AS (
    INSERT INTO user_ratings (user_id, movie_id, rating, kind, source)
    SELECT :user_id, :movie_id, :rating, :kind, :source FROM event WHERE :action = 'set'
    ON CONFLICT (user_id, movie_id) DO UPDATE
       SET rating = EXCLUDED.rating, kind = EXCLUDED.kind, source = EXCLUDED.source, updated_at = now()
    RETURNING 1
), deleted AS (
    DELETE FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id AND :action = 'withdraw'
       AND EXISTS (SELECT 1 FROM event)
    RETURNING 1
), watched AS (  -- a film rated or marked seen is off the watchlist
    DELETE FROM watchlist WHERE user_id = :user_id AND movie_id = :movie_id AND :action = 'set'
       AND :kind <> 'not_interested' AND EXISTS (SELECT 1 FROM event)
    RETURNING 1
), queued AS (  -- the similar-member index follows after the reply (migration 0015)
    INSERT INTO member_index_queue (user_id) SELECT :user_id FROM event
    RETURNING 1
), announced AS (  -- as announce_loved, on commit
    SELECT pg_notify('cinesync_loved', CAST(:user_id AS bigint)::text || ' ' || CAST(:movie_id AS integer)::text || ' '
                     || CASE WHEN CAST(:loved AS boolean) THEN '1' ELSE '0' END)
      FROM event WHERE CAST(:loved AS boolean) IS NOT NULL
)
SELECT (SELECT event_id FROM event), (SELECT count(*) FROM announced);

-- name: user_feedback(user_id)
-- Everything the user currently says about movies, oldest first.
SELECT movie_id, rating, kind, source, updated_at FROM user_ratings WHERE user_id = :user_id ORDER BY updated_at, movie_id;

-- name: user_state(user_id)^
SELECT user_id, embedding, solver_state, rating_count, feedback_count, version, model_version, trained_ratings
  FROM user_embeddings WHERE user_id = :user_id;

-- name: all_feedback()
-- Snapshot for training: every current feedback in time order.
SELECT user_id, movie_id, rating, kind, updated_at FROM user_ratings ORDER BY user_id, updated_at, movie_id;
