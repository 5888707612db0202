-- PreferenceLearner snapshot and results; periodic job bookkeeping.

-- name: stale_users()
-- Users with feedback newer than their last analysis (or never analysed).
SELECT r.user_id
  FROM user_ratings r
  LEFT JOIN user_preferences p USING (user_id)
 GROUP BY r.user_id, p.computed_at
HAVING p.computed_at IS NULL OR max(r.updated_at) > p.computed_at;

-- name: all_rating_users()
SELECT DISTINCT user_id FROM user_ratings;

-- name: feedback_of_users(user_ids)
SELECT user_id, movie_id, rating, kind, updated_at AS rated_at
  FROM user_ratings WHERE user_id = ANY(:user_ids::bigint[]);

-- name: rating_population()^
-- The numbers rating behaviour is judged against: the global mean and the spread of user means
-- (every rating is read: a bulk run's work, not a request's).
SELECT avg(mean)::float8 AS user_mean_mean, stddev_samp(mean)::float8 AS user_mean_sd,
       (SELECT avg(rating)::float8 FROM user_ratings WHERE rating IS NOT NULL) AS global_mean
  FROM (SELECT avg(rating) AS mean FROM user_ratings WHERE rating IS NOT NULL GROUP BY user_id) m;

-- name: stored_rating_population()^
-- What the last bulk learner run measured (one member's analysis reads this, not every rating).
SELECT global_mean, user_mean_mean, user_mean_sd, computed_at FROM rating_population;

-- name: save_rating_population(global_mean, user_mean_mean, user_mean_sd, computed_at)!
INSERT INTO rating_population (global_mean, user_mean_mean, user_mean_sd, computed_at)
VALUES (:global_mean, :user_mean_mean, :user_mean_sd, :computed_at)
ON CONFLICT (only_row) DO UPDATE
   SET global_mean = EXCLUDED.global_mean, user_mean_mean = EXCLUDED.user_mean_mean,
       user_mean_sd = EXCLUDED.user_mean_sd, computed_at = EXCLUDED.computed_at
 WHERE rating_population.computed_at <= EXCLUDED.computed_at;

-- name: learner_catalog()
SELECT movie_id, genres, directors, cast_members AS cast, year FROM movies;

-- name: learner_catalog_of_users(user_ids)
SELECT movie_id, genres, directors, cast_members AS cast, year FROM movies
 WHERE movie_id IN (SELECT movie_id FROM user_ratings WHERE user_id = ANY(:user_ids::bigint[]));

-- name: save_preferences(user_id, patterns, ratings_used, computed_at)*!
-- Only for a member who still has ratings this snapshot could have read (created by ``computed_at``):
-- one forgotten since, even one who has rated again, is skipped. Never replaces a profile computed
-- from a later snapshot (an on-demand /my_stats run that finished first).
INSERT INTO user_preferences (user_id, patterns, ratings_used, computed_at)
SELECT :user_id, :patterns, :ratings_used, :computed_at
 WHERE EXISTS (SELECT 1 FROM user_ratings r WHERE r.user_id = :user_id AND r.created_at <= :computed_at)
ON CONFLICT (user_id) DO UPDATE
   SET patterns = EXCLUDED.patterns, ratings_used = EXCLUDED.ratings_used, computed_at = EXCLUDED.computed_at
 WHERE user_preferences.computed_at <= EXCLUDED.computed_at;

-- name: user_preferences(user_id)^
SELECT patterns, ratings_used, computed_at FROM user_preferences WHERE user_id = :user_id;

-- name: claim_period(job, period_start)$
-- Returns the run id, or NULL when another process already ran (or is running) this period.
INSERT INTO job_runs (job, period_start) VALUES (:job, :period_start)
ON CONFLICT (job, period_start) WHERE period_start IS NOT NULL DO NOTHING
RETURNING run_id;

-- name: start_run(job)$
INSERT INTO job_runs (job) VALUES (:job) RETURNING run_id;

-- name: finish_run(run_id, status, items, detail)!
UPDATE job_runs SET finished_at = now(), status = :status, items = :items, detail = :detail WHERE run_id = :run_id;

-- name: last_run(job)^
SELECT run_id, started_at, finished_at, status, items, detail FROM job_runs WHERE job = :job ORDER BY started_at DESC LIMIT 1;

-- name: database_now()$
-- A job's snapshot time on the clock that stamps ratings' created_at.
SELECT clock_timestamp();
