-- What the Discord cogs and the local shell need beyond ratings: the quick rating flow,
-- DM message map, digest settings, admin status and data export.

-- name: quick_rating_candidates(user_id, skip, limit_n)
-- Popular movies the member has said nothing about yet, most rated first.
SELECT m.movie_id, m.title, m.year, m.genres, m.directors, m.rating_count
  FROM movies m
 WHERE m.rating_count > 0
   AND m.movie_id <> ALL(:skip::int[])
   AND NOT EXISTS (SELECT 1 FROM user_ratings r WHERE r.user_id = :user_id AND r.movie_id = m.movie_id)
 ORDER BY m.rating_count DESC, m.movie_id
 LIMIT :limit_n;

-- name: remember_dm(message_id, channel_id, user_id, movie_id)!
INSERT INTO dm_messages (message_id, channel_id, user_id, movie_id)
VALUES (:message_id, :channel_id, :user_id, :movie_id)
ON CONFLICT (user_id, message_id) DO NOTHING;

-- name: dm_message(user_id, message_id)^
-- The member's own DM only (a reaction by anyone else is not their feedback).
SELECT message_id, channel_id, user_id, movie_id, sent_at FROM dm_messages
 WHERE user_id = :user_id AND message_id = :message_id;

-- name: set_digest(user_id, enabled)!
INSERT INTO user_settings (user_id, digest_enabled) VALUES (:user_id, :enabled)
ON CONFLICT (user_id) DO UPDATE SET digest_enabled = EXCLUDED.digest_enabled, updated_at = now();

-- name: digest_users()
SELECT user_id FROM user_settings WHERE digest_enabled ORDER BY user_id;

-- name: user_settings(user_id)^
SELECT digest_enabled, updated_at FROM user_settings WHERE user_id = :user_id;

-- name: status_counts()^
SELECT (SELECT count(*) FROM movies) AS movies,
       (SELECT count(*) FROM user_ratings) AS ratings,
       (SELECT count(DISTINCT user_id) FROM user_ratings) AS members,
       (SELECT count(*) FROM user_preferences) AS profiles,
       (SELECT count(*) FROM dm_messages) AS dm_messages,
       (SELECT count(*) FROM user_settings WHERE digest_enabled) AS digest_members;

-- name: rows_about_user(user_id)$
-- Every row that mentions the member, in any table with a user_id column (the /forget_me check).
SELECT member_row_count(:user_id);
