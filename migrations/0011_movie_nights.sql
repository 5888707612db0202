-- Movie nights: a group pick for members of one server, their votes, and how happy each member was
-- with the winner (so the next night favours whoever did not get their way).
CREATE TABLE movie_nights (
    night_id   bigserial   PRIMARY KEY,
    guild_id   bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deadline   timestamptz NOT NULL,
    options    integer[]   NOT NULL,
    winner     integer     REFERENCES movies ON DELETE SET NULL,
    closed_at  timestamptz
);
CREATE INDEX movie_nights_guild_idx ON movie_nights (guild_id, created_at DESC);

CREATE TABLE movie_night_members (
    night_id     bigint  NOT NULL REFERENCES movie_nights ON DELETE CASCADE,
    user_id      bigint  NOT NULL CHECK (user_id > 0),
    satisfaction real,   -- the member's chance of liking the winner, once closed
    PRIMARY KEY (night_id, user_id)
);
CREATE INDEX movie_night_members_user_idx ON movie_night_members (user_id);

CREATE TABLE movie_night_votes (
    night_id bigint      NOT NULL REFERENCES movie_nights ON DELETE CASCADE,
    user_id  bigint      NOT NULL CHECK (user_id > 0),
    movie_id integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    voted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (night_id, user_id)
);
