-- A member's watchlist: films they want to see. Rating a film (or saying "seen it") takes it off.
-- It has a user_id column, so export and /forget_me cover it (migration 0005 finds it from the schema).
CREATE TABLE watchlist (
    user_id  bigint      NOT NULL CHECK (user_id > 0),
    movie_id integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX watchlist_user_time_idx ON watchlist (user_id, added_at DESC);

-- Which servers a member uses CineSync in (recorded on their commands there): a server's figures
-- ("the server's average", later comparisons and movie nights) count only its own members.
CREATE TABLE member_guilds (
    user_id    bigint      NOT NULL CHECK (user_id > 0),
    guild_id   bigint      NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX member_guilds_user_idx ON member_guilds (user_id);
