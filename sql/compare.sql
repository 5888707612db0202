-- Comparing two members of one server.

-- name: comparable_members(guild_id, user_ids)
-- Which of these members use CineSync in this server and have rated something, and whether they allow comparisons.
SELECT g.user_id, coalesce(s.compare_enabled, true) AS compare_enabled
  FROM member_guilds g
  LEFT JOIN user_settings s ON s.user_id = g.user_id
 WHERE g.guild_id = :guild_id AND g.user_id = ANY(:user_ids::bigint[])
   AND EXISTS (SELECT 1 FROM user_ratings r WHERE r.user_id = g.user_id);

-- name: set_compare(user_id, enabled)!
INSERT INTO user_settings (user_id, compare_enabled) VALUES (:user_id, :enabled)
ON CONFLICT (user_id) DO UPDATE SET compare_enabled = EXCLUDED.compare_enabled, updated_at = now();
