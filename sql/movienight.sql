-- Movie nights.

-- name: create_night(guild_id, deadline, options)$
INSERT INTO movie_nights (guild_id, deadline, options) VALUES (:guild_id, :deadline, :options::integer[]) RETURNING night_id;

-- name: add_night_members(night_id, user_id, chances, fairness)*!
-- chances: the member's chance of 4 stars or more for each option, in the order of movie_nights.options.
INSERT INTO movie_night_members (night_id, user_id, chances, fairness)
VALUES (:night_id, :user_id, :chances::real[], :fairness) ON CONFLICT DO NOTHING;

-- name: night(night_id)^
SELECT night_id, guild_id, deadline, options, winner, closed_at, channel_id, message_id
  FROM movie_nights WHERE night_id = :night_id;

-- name: night_members(night_id)
SELECT user_id, satisfaction, chances, fairness FROM movie_night_members WHERE night_id = :night_id ORDER BY user_id;

-- name: set_night_message(night_id, channel_id, message_id)!
UPDATE movie_nights SET channel_id = :channel_id, message_id = :message_id WHERE night_id = :night_id;

-- name: due_nights(now)
-- Open nights whose vote has ended, oldest first.
SELECT night_id FROM movie_nights WHERE closed_at IS NULL AND deadline <= :now ORDER BY deadline;

-- name: posted_nights(since)
-- Nights whose message may still have live buttons: open ones, and those closed since ``since`` with a winner.
SELECT night_id FROM movie_nights
 WHERE message_id IS NOT NULL AND (closed_at IS NULL OR (winner IS NOT NULL AND closed_at >= :since))
 ORDER BY night_id;

-- name: cast_vote(night_id, user_id, movie_id)!
INSERT INTO movie_night_votes (night_id, user_id, movie_id) VALUES (:night_id, :user_id, :movie_id)
ON CONFLICT (night_id, user_id) DO UPDATE SET movie_id = EXCLUDED.movie_id, voted_at = now();

-- name: night_votes(night_id)
SELECT user_id, movie_id FROM movie_night_votes WHERE night_id = :night_id;

-- name: close_night(night_id, winner)$
UPDATE movie_nights SET winner = :winner, closed_at = now() WHERE night_id = :night_id AND closed_at IS NULL
RETURNING night_id;

-- name: set_satisfaction(night_id, user_id, satisfaction)*!
UPDATE movie_night_members SET satisfaction = :satisfaction WHERE night_id = :night_id AND user_id = :user_id;

-- name: last_satisfaction(guild_id, user_ids)
-- Each member's satisfaction at the last closed night of this server they attended.
SELECT DISTINCT ON (m.user_id) m.user_id, m.satisfaction
  FROM movie_night_members m JOIN movie_nights n USING (night_id)
 WHERE n.guild_id = :guild_id AND n.closed_at IS NOT NULL AND m.satisfaction IS NOT NULL
   AND m.user_id = ANY(:user_ids::bigint[])
 ORDER BY m.user_id, n.closed_at DESC;
