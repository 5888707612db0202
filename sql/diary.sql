-- What a member has said about films (/my_ratings) and wants to see (/watchlist).

-- name: diary_page(user_id, min_stars, max_stars, genre, limit_n, offset_n)
-- Newest first; ``total`` is the number of entries the filters keep (on every row of the page).
SELECT r.movie_id, r.rating, r.kind, r.updated_at, count(*) OVER () AS total
  FROM user_ratings r JOIN movies m USING (movie_id)
 WHERE r.user_id = :user_id
   AND (CAST(:min_stars AS real) IS NULL OR r.rating >= :min_stars)
   AND (CAST(:max_stars AS real) IS NULL OR r.rating <= :max_stars)
   AND (CAST(:genre AS text) IS NULL OR :genre = ANY(m.genres))
 ORDER BY r.updated_at DESC, r.movie_id DESC
 LIMIT :limit_n OFFSET :offset_n;

-- name: add_to_watchlist(user_id, movie_id)$
INSERT INTO watchlist (user_id, movie_id) VALUES (:user_id, :movie_id)
ON CONFLICT (user_id, movie_id) DO NOTHING
RETURNING 1;

-- name: remove_from_watchlist(user_id, movie_id)$
DELETE FROM watchlist WHERE user_id = :user_id AND movie_id = :movie_id RETURNING 1;

-- name: watchlist(user_id)
SELECT movie_id, added_at FROM watchlist WHERE user_id = :user_id ORDER BY added_at DESC, movie_id;

-- name: seen_in_guild(user_id, guild_id)!
INSERT INTO member_guilds (user_id, guild_id) VALUES (:user_id, :guild_id)
ON CONFLICT (guild_id, user_id) DO UPDATE SET last_seen = now();

-- name: server_rating(movie_id, guild_id)^
-- The film's average among this server's members only, and how many of them rated it.
SELECT avg(r.rating)::real AS mean, count(r.rating) AS n
  FROM user_ratings r JOIN member_guilds g ON g.user_id = r.user_id AND g.guild_id = :guild_id
 WHERE r.movie_id = :movie_id AND r.rating IS NOT NULL;

-- name: member_feedback_on(user_id, movie_id)^
SELECT kind, rating, updated_at FROM user_ratings WHERE user_id = :user_id AND movie_id = :movie_id;

-- name: on_watchlist(user_id, movie_id)$
SELECT EXISTS (SELECT 1 FROM watchlist WHERE user_id = :user_id AND movie_id = :movie_id);
