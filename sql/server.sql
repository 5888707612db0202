-- A server's own flavour: what its members loved lately, and its settings.

-- name: server_loved(guild_id, days)
-- Films this server's members rated 4 stars or more in the last ``days`` days, most loved first.
SELECT r.movie_id, count(*) AS loved, avg(r.rating)::real AS mean
  FROM user_ratings r JOIN member_guilds g ON g.user_id = r.user_id AND g.guild_id = :guild_id
 WHERE r.rating >= 4.0 AND r.updated_at > now() - make_interval(days => :days)
 GROUP BY r.movie_id
 ORDER BY loved DESC, mean DESC, r.movie_id
 LIMIT 500;

-- name: server_weight(guild_id)$
SELECT server_weight FROM guild_settings WHERE guild_id = :guild_id;

-- name: set_server_weight(guild_id, weight)!
INSERT INTO guild_settings (guild_id, server_weight) VALUES (:guild_id, :weight)
ON CONFLICT (guild_id) DO UPDATE SET server_weight = EXCLUDED.server_weight, updated_at = now();
