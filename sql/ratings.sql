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

-- name: write_feedback(user_id, movie_id, action, rating, kind, source, dedupe_key, embedding, solver_state, rating_count, feedback_count, version, model_version, read_version, previous_kind, previous_rating, loved, deadline)^
-- One feedback in one statement: the member's new state, the event, the current rating, the watchlist,
-- the similar-member queue and (:loved not NULL) the announcement of a changed "loved" mark to other
-- processes on commit (bot/services/sync.py). Written only if what the caller planned from still
-- holds: the state is version :read_version and their current feedback on the film is
-- (:previous_kind, :previous_rating) (NULL kind: none), or (:read_version NULL) the member has neither
-- a state row nor any feedback; and this dedupe key was not seen. ``event_id`` says whether it wrote.
-- When it did not, the other columns are what the caller needs to plan again (as `state_and_rating`,
-- read in the statement's snapshot), so a plan made from this process's memory of the member costs one
-- round trip when it holds and two when it does not. Under the member's row lock only a repeated dedupe
-- key writes nothing. A dedupe key that arrives between the check and the insert fails the whole
-- statement (no ON CONFLICT). Nothing is written either once :deadline (not NULL) has passed: the
-- caller stopped waiting then and told the member their feedback was not saved, so a statement held
-- up on the way must not save it later (``late`` says so).
WITH seen AS (
    SELECT 1 FROM feedback_events WHERE user_id = :user_id AND dedupe_key = CAST(:dedupe_key AS text)
), current AS (
    SELECT kind, rating FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id
), planned AS (  -- the current feedback the plan assumed is still the current one
    SELECT CASE WHEN CAST(:previous_kind AS text) IS NULL THEN NOT EXISTS (SELECT 1 FROM current)
                ELSE EXISTS (SELECT 1 FROM current WHERE kind = :previous_kind
                                AND rating IS NOT DISTINCT FROM CAST(:previous_rating AS real)) END AS holds
), on_time AS (
    SELECT CAST(:deadline AS timestamptz) IS NULL OR clock_timestamp() < :deadline AS holds
), updated AS (
    UPDATE user_embeddings
       SET embedding = :embedding, solver_state = :solver_state, rating_count = :rating_count,
           feedback_count = :feedback_count, version = :version, model_version = :model_version, updated_at = now()
     WHERE user_id = :user_id AND version = :read_version AND NOT EXISTS (SELECT 1 FROM seen)
       AND (SELECT holds FROM planned) AND (SELECT holds FROM on_time)
    RETURNING user_id
), created AS (
    INSERT INTO user_embeddings (user_id, embedding, solver_state, rating_count, feedback_count, version, model_version)
    SELECT :user_id, :embedding, :solver_state, :rating_count, :feedback_count, :version, :model_version
     WHERE CAST(:read_version AS integer) IS NULL AND NOT EXISTS (SELECT 1 FROM seen)
       AND NOT EXISTS (SELECT 1 FROM user_ratings WHERE user_id = :user_id) AND (SELECT holds FROM on_time)
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
), announced AS (  -- delivered to every listening process on commit (bot/services/sync.py)
    SELECT pg_notify('cinesync_loved', CAST(:user_id AS bigint)::text || ' ' || CAST(:movie_id AS integer)::text || ' '
                     || CASE WHEN CAST(:loved AS boolean) THEN '1' ELSE '0' END)
      FROM event WHERE CAST(:loved AS boolean) IS NOT NULL
), written AS (
    SELECT (SELECT event_id FROM event) AS event_id, (SELECT count(*) FROM announced) AS announced
)
-- (``announced`` selected so the notification is sent: an unused column's subquery is not evaluated);
-- the state's large columns only when they are needed (nothing was written)
SELECT w.event_id, w.announced, NOT (SELECT holds FROM on_time) AS late, u.user_id, u.rating_count, u.feedback_count, u.version, u.model_version,
       CASE WHEN w.event_id IS NULL THEN u.embedding END AS embedding,
       CASE WHEN w.event_id IS NULL THEN u.solver_state END AS solver_state,
       c.rating AS current_rating, c.kind AS current_kind, EXISTS (SELECT 1 FROM seen) AS repeated,
       CASE WHEN u.user_id IS NULL THEN EXISTS (SELECT 1 FROM user_ratings a WHERE a.user_id = :user_id) END AS has_feedback
  FROM written w
  LEFT JOIN user_embeddings u ON u.user_id = :user_id
  LEFT JOIN current c ON true;

-- name: user_feedback(user_id)
-- Everything the user currently says about movies, oldest first.
SELECT movie_id, rating, kind, source, updated_at FROM user_ratings WHERE user_id = :user_id ORDER BY updated_at, movie_id;

-- name: user_state(user_id)^
SELECT user_id, embedding, solver_state, rating_count, feedback_count, version, model_version, trained_ratings
  FROM user_embeddings WHERE user_id = :user_id;

-- name: all_feedback()
-- Snapshot for training: every current feedback in time order.
SELECT user_id, movie_id, rating, kind, updated_at FROM user_ratings ORDER BY user_id, updated_at, movie_id;
