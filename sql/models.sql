-- Model registry, item vectors, text embeddings, neighbours, per-user weights.

-- name: register_model(version, data_hash, params, metrics, checkpoint_path, checkpoint)$
-- Announced to every process on commit (bot/services/sync.py listens).
WITH registered AS (
    INSERT INTO model_registry (version, kind, data_hash, params, metrics, checkpoint_path, checkpoint)
    VALUES (:version, 'base', :data_hash, :params, :metrics, :checkpoint_path, :checkpoint)
    RETURNING version
)
SELECT pg_notify('cinesync_model', version) FROM registered;

-- name: newest_model()^
SELECT version, created_at, data_hash, params, metrics, checkpoint_path, checkpoint
  FROM model_registry WHERE kind = 'base' AND is_active ORDER BY created_at DESC, version DESC LIMIT 1;

-- name: newest_model_version()$
-- The cheap check each process polls as the safety net under LISTEN/NOTIFY.
SELECT version FROM model_registry WHERE kind = 'base' AND is_active ORDER BY created_at DESC, version DESC LIMIT 1;

-- name: serving_stamp()$
-- What a process serves from: the newest model and the catalog as it is (films, their last change,
-- their text embeddings). A process whose stamp differs reloads (bot/services/sync.py).
SELECT concat_ws('|',
    (SELECT version FROM model_registry WHERE kind = 'base' AND is_active ORDER BY created_at DESC, version DESC LIMIT 1),
    (SELECT count(*) FROM movies), (SELECT max(updated_at) FROM movies), (SELECT count(*) FROM movie_text_embeddings));

-- name: announce_catalog()$
-- Sent by a catalog import or an added film at commit: every process reloads its catalog.
SELECT pg_notify('cinesync_model', 'catalog');

-- name: create_item_vector_stage()#
CREATE TEMP TABLE item_vector_stage (movie_id integer, embedding vector(256)) ON COMMIT DROP;

-- name: store_item_vectors_from_stage(model_version)!
INSERT INTO item_vectors (model_version, movie_id, embedding)
SELECT :model_version, s.movie_id, s.embedding FROM item_vector_stage s JOIN movies m USING (movie_id);

-- name: text_embeddings(model_name)
SELECT movie_id, text_hash, embedding FROM movie_text_embeddings WHERE model_name = :model_name;

-- name: save_text_embeddings(movie_id, model_name, text_hash, embedding)*!
INSERT INTO movie_text_embeddings (movie_id, model_name, text_hash, embedding)
VALUES (:movie_id, :model_name, :text_hash, :embedding)
ON CONFLICT (movie_id, model_name) DO UPDATE
   SET text_hash = EXCLUDED.text_hash, embedding = EXCLUDED.embedding, updated_at = now();

-- name: catalog_rows()
SELECT movie_id, title, original_title, year, genres, directors, cast_members, keywords, user_tags, rating_count,
       language, content_rating, runtime_minutes, imdb_id, tmdb_id, overview, aliases, popularity_count,
       popularity_mean, tmdb_votes, tmdb_score, field_sources
  FROM movies ORDER BY movie_id;

-- name: loved_movies()
-- Snapshot for the collaborative signal: what each user rated 4 stars or more.
SELECT user_id, array_agg(movie_id) AS movies FROM user_ratings WHERE rating >= 4.0 GROUP BY user_id;

-- name: user_weights(user_id)^
SELECT weights, fitted_on, updated_at FROM user_model_weights WHERE user_id = :user_id;

-- name: recommendation_context(user_id)^
-- Everything a recommendation reads about the member in one round trip (five reads before; on a
-- loaded machine each waited for the server's process to be scheduled): their state (has_state false
-- and NULL columns when they have none), learned weights, taste profile, films shown in the last day
-- (a new request brings fresh picks first) and watchlist.
SELECT s.user_id IS NOT NULL AS has_state, s.embedding, s.solver_state, s.rating_count, s.feedback_count, s.version,
       s.model_version, s.trained_ratings, w.weights, p.patterns,
       ARRAY(SELECT DISTINCT r.movie_id FROM recommendation_log r
              WHERE r.user_id = k.user_id AND r.shown_at > now() - interval '1 day') AS recent,
       ARRAY(SELECT l.movie_id FROM watchlist l WHERE l.user_id = k.user_id) AS watchlist
  FROM (SELECT CAST(:user_id AS bigint) AS user_id) k
  LEFT JOIN user_embeddings s ON s.user_id = k.user_id
  LEFT JOIN user_model_weights w ON w.user_id = k.user_id
  LEFT JOIN user_preferences p ON p.user_id = k.user_id;

-- name: log_recommendations(user_id, movie_ids, positions, scores, score_maps, surface, mood, model_version)!
-- One list shown, in one statement that is its own transaction and does not wait for the WAL flush
-- (a log row lost in a crash is harmless). set_config(..., true) is SET LOCAL: it lasts to the end
-- of this statement's transaction, whose commit reads it, and never reaches the session. Four round
-- trips before (BEGIN, SET LOCAL, INSERT, COMMIT). Never inside a caller's transaction: it would make
-- that whole transaction's commit asynchronous (bot.repositories.models refuses).
INSERT INTO recommendation_log (user_id, movie_id, position, score, scores, surface, mood, model_version)
SELECT CAST(:user_id AS bigint), r.movie_id, r.position, r.score, CAST(r.scores AS jsonb), :surface, :mood, :model_version
  FROM unnest(CAST(:movie_ids AS integer[]), CAST(:positions AS smallint[]), CAST(:scores AS real[]),
              CAST(:score_maps AS text[])) AS r(movie_id, position, score, scores)
 WHERE set_config('synchronous_commit', 'off', true) = 'off';

-- name: create_user_state_stage()#
CREATE TEMP TABLE user_state_stage (
    user_id bigint, embedding vector(256), solver_state bytea, rating_count integer, feedback_count integer,
    read_version bigint,  -- the member's state when the job read their feedback (NULL: no state row then) ...
    read_updated_at timestamptz  -- ... and when that state was written (a re-created row differs)
) ON COMMIT DROP;

-- name: state_versions()
-- Read with the feedback snapshot: which state each member had when the job read it.
SELECT user_id, version, updated_at FROM user_embeddings;

-- name: hold_member_writes()#
-- A background job's write: /forget_me (which takes this lock exclusively) waits until it commits.
SELECT pg_advisory_xact_lock_shared(member_write_lock_key());

-- name: store_user_states_from_stage(model_version)^
-- After a retrain, each member's state recomputed in the new model's basis, but only where it is
-- still the one the job read: a member who gave feedback meanwhile keeps their newer state and is
-- re-based on their next request; a member forgotten meanwhile (no feedback left) is skipped.
WITH current AS (
    SELECT s.* FROM user_state_stage s WHERE EXISTS (SELECT 1 FROM user_ratings r WHERE r.user_id = s.user_id)
), updated AS (
    UPDATE user_embeddings u
       SET embedding = c.embedding, solver_state = c.solver_state, rating_count = c.rating_count,
           feedback_count = c.feedback_count, version = u.version + 1, model_version = :model_version, updated_at = now(),
           trained_ratings = c.rating_count
      FROM current c
     WHERE u.user_id = c.user_id AND u.version = c.read_version AND u.updated_at = c.read_updated_at
    RETURNING u.user_id
), inserted AS (
    INSERT INTO user_embeddings (user_id, embedding, solver_state, rating_count, feedback_count, version, model_version,
                                 trained_ratings)
    SELECT user_id, embedding, solver_state, rating_count, feedback_count, 1, :model_version, rating_count
      FROM current WHERE read_version IS NULL
    ON CONFLICT (user_id) DO NOTHING
    RETURNING user_id
), queued AS (  -- their similar-member index rows, refreshed before this transaction commits
    INSERT INTO member_index_queue (user_id) SELECT user_id FROM updated UNION ALL SELECT user_id FROM inserted
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS written,
       (SELECT count(*) FROM user_state_stage) AS staged;

-- name: rebase_user_state(user_id, read_version, embedding, solver_state, rating_count, feedback_count, model_version)$
-- A member's state re-based on the serving model at their next request, unless it changed meanwhile
-- (their similar-member index row follows after the reply).
WITH rebased AS (
    UPDATE user_embeddings
       SET embedding = :embedding, solver_state = :solver_state, rating_count = :rating_count,
           feedback_count = :feedback_count, version = version + 1, model_version = :model_version, updated_at = now()
     WHERE user_id = :user_id AND version = :read_version
    RETURNING user_id, version
), queued AS (
    INSERT INTO member_index_queue (user_id) SELECT user_id FROM rebased
    RETURNING 1
)
SELECT version FROM rebased;

-- name: taste_vectors()
-- Snapshot of every personalised user's unit taste vector (for the weights job), and how many of their
-- ratings the serving model was trained on.
SELECT user_id, embedding, rating_count, trained_ratings FROM user_embeddings WHERE rating_count >= 5 ORDER BY user_id;

-- name: save_many_user_weights(user_id, weights, fitted_on, read_at)*!
-- Only for a member who still has ratings the job could have read (created by ``read_at``): one
-- forgotten since, even one who has rated again, is skipped.
INSERT INTO user_model_weights (user_id, weights, fitted_on)
SELECT :user_id, :weights, :fitted_on
 WHERE EXISTS (SELECT 1 FROM user_ratings r WHERE r.user_id = :user_id AND r.created_at <= :read_at)
ON CONFLICT (user_id) DO UPDATE SET weights = EXCLUDED.weights, fitted_on = EXCLUDED.fitted_on, updated_at = now();

-- name: sliders()
SELECT name, description, labels, model_name, embedding FROM sliders ORDER BY name;

-- name: save_slider(name, description, labels, model_name, embedding)*!
INSERT INTO sliders (name, description, labels, model_name, embedding)
VALUES (:name, :description, :labels, :model_name, :embedding)
ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, labels = EXCLUDED.labels,
                                 model_name = EXCLUDED.model_name, embedding = EXCLUDED.embedding, updated_at = now();

-- name: delete_sliders_except(names)!
DELETE FROM sliders WHERE NOT (name = ANY(:names::text[]));
