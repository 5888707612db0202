-- Deleting everything about one user (/forget_me, benchmark clean-up).

-- name: forget_user(user_id)^
WITH r AS (DELETE FROM user_ratings WHERE user_id = :user_id RETURNING 1),
     e AS (DELETE FROM feedback_events WHERE user_id = :user_id RETURNING 1),
     s AS (DELETE FROM user_embeddings WHERE user_id = :user_id RETURNING 1),
     p AS (DELETE FROM user_preferences WHERE user_id = :user_id RETURNING 1),
     w AS (DELETE FROM user_model_weights WHERE user_id = :user_id RETURNING 1),
     l AS (DELETE FROM recommendation_log WHERE user_id = :user_id RETURNING 1),
     d AS (DELETE FROM dm_messages WHERE user_id = :user_id RETURNING 1),
     u AS (DELETE FROM user_settings WHERE user_id = :user_id RETURNING 1)
SELECT (SELECT count(*) FROM r) AS ratings, (SELECT count(*) FROM e) AS events, (SELECT count(*) FROM s) AS embeddings,
       (SELECT count(*) FROM p) AS preferences, (SELECT count(*) FROM w) AS weights, (SELECT count(*) FROM l) AS logs,
       (SELECT count(*) FROM d) AS dm_messages, (SELECT count(*) FROM u) AS settings;
