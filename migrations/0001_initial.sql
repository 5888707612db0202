-- CineSync initial schema: the catalog, every user signal, learned state and logs.
-- Forward-only: never edit this file once applied; add migrations/NNNN_name.sql instead.

CREATE EXTENSION IF NOT EXISTS vector;

-- The catalog. movie_id is the MovieLens id for imported data; an operator's own movies
-- without an id get one from movies_local_id_seq (10,000,000 and up).
CREATE SEQUENCE movies_local_id_seq START WITH 10000000;

CREATE TABLE movies (
    movie_id        integer PRIMARY KEY,
    title           text        NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    original_title  text,                           -- as the source wrote it, e.g. "Matrix, The (1999)"
    year            smallint    CHECK (year BETWEEN 1870 AND 2200),
    genres          text[]      NOT NULL DEFAULT '{}',
    directors       text[]      NOT NULL DEFAULT '{}',
    cast_members    text[]      NOT NULL DEFAULT '{}',  -- top billed, in billing order
    keywords        text[]      NOT NULL DEFAULT '{}',
    user_tags       text[]      NOT NULL DEFAULT '{}',  -- most used first
    content_rating  text,
    runtime_minutes smallint    CHECK (runtime_minutes > 0),
    language        text,
    country         text,
    imdb_id         text UNIQUE CHECK (imdb_id ~ '^tt[0-9]{7,10}$'),
    tmdb_id         integer,
    imdb_score      real,
    rating_count    integer     NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_mean     real        CHECK (rating_mean BETWEEN 0.5 AND 5.0),
    source          text        NOT NULL DEFAULT 'movielens',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_popularity_idx ON movies (rating_count DESC, movie_id);
CREATE INDEX movies_genres_idx ON movies USING gin (genres);

-- One current row per (user, movie): the latest thing the user said about the movie.
CREATE TABLE user_ratings (
    user_id     bigint      NOT NULL CHECK (user_id > 0),    -- Discord snowflake
    movie_id    integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    rating      real        CHECK (rating BETWEEN 0.5 AND 5.0 AND rating * 2 = round(rating * 2)),
    kind        text        NOT NULL CHECK (kind IN ('rating', 'love', 'like', 'meh', 'dislike', 'hate', 'not_interested', 'seen')),
    source      text        NOT NULL CHECK (source IN ('slash', 'button', 'dm_reaction', 'import', 'shell', 'api')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, movie_id),
    -- star-bearing kinds carry a rating; not_interested and seen carry none
    CHECK ((kind IN ('not_interested', 'seen')) = (rating IS NULL))
);
CREATE INDEX user_ratings_movie_idx ON user_ratings (movie_id);
CREATE INDEX user_ratings_user_time_idx ON user_ratings (user_id, updated_at DESC);

-- Append-only log of everything a user did; never updated, only deleted on /forget_me.
CREATE TABLE feedback_events (
    event_id    bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL,
    movie_id    integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    action      text        NOT NULL DEFAULT 'set' CHECK (action IN ('set', 'withdraw')),
    rating      real        CHECK (rating BETWEEN 0.5 AND 5.0),
    kind        text        NOT NULL CHECK (kind IN ('rating', 'love', 'like', 'meh', 'dislike', 'hate', 'not_interested', 'seen')),
    source      text        NOT NULL CHECK (source IN ('slash', 'button', 'dm_reaction', 'import', 'shell', 'api')),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    dedupe_key  text        UNIQUE      -- makes replayed events (imports, gateway re-sends) no-ops
);
CREATE INDEX feedback_events_user_idx ON feedback_events (user_id, occurred_at);

-- One 256-d taste vector per user, kept unit-normalised by the PersonalizedTrainer.
CREATE TABLE user_embeddings (
    user_id        bigint      PRIMARY KEY,
    embedding      vector(256) NOT NULL,
    solver_state   bytea,                       -- online solver statistics (engine-defined)
    rating_count   integer     NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    feedback_count integer     NOT NULL DEFAULT 0 CHECK (feedback_count >= 0),
    version        bigint      NOT NULL DEFAULT 1,
    model_version  text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- finite and unit-normalised: NaN fails BETWEEN (PostgreSQL sorts NaN above every number)
    CONSTRAINT user_embeddings_finite_unit CHECK (vector_norm(embedding) BETWEEN 0.999 AND 1.001)
);
-- No HNSW index: on the embedded pgvector (0.6) an HNSW scan over rows that are updated in place
-- (every rating rewrites the user's row) returned no rows at all; an exact scan of the taste
-- vectors takes about a millisecond per thousand users and is always right.

-- What the PreferenceLearner found about each user.
CREATE TABLE user_preferences (
    user_id      bigint      PRIMARY KEY,
    patterns     jsonb       NOT NULL CHECK (jsonb_typeof(patterns) = 'object'),
    ratings_used integer     NOT NULL CHECK (ratings_used >= 0),
    computed_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-user weight of each scoring signal of the hybrid ranker, {"signal": weight}.
CREATE TABLE user_model_weights (
    user_id    bigint      PRIMARY KEY,
    weights    jsonb       NOT NULL CHECK (jsonb_typeof(weights) = 'object'),
    fitted_on  integer     NOT NULL DEFAULT 0,  -- ratings the weights were learned from
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Registry of trained base models; the bot loads the newest active one.
CREATE TABLE model_registry (
    version         text        PRIMARY KEY,
    kind            text        NOT NULL DEFAULT 'base',
    created_at      timestamptz NOT NULL DEFAULT now(),
    data_hash       text,
    params          jsonb       NOT NULL DEFAULT '{}',
    metrics         jsonb       NOT NULL DEFAULT '{}',
    checkpoint_path text        NOT NULL,
    is_active       boolean     NOT NULL DEFAULT true
);
CREATE INDEX model_registry_newest_idx ON model_registry (kind, created_at DESC);

-- Item vectors of a model version, in the users' 256-d space.
CREATE TABLE item_vectors (
    model_version text        NOT NULL REFERENCES model_registry (version) ON DELETE CASCADE,
    movie_id      integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    embedding     vector(256) NOT NULL,
    PRIMARY KEY (model_version, movie_id)
);

-- Text embeddings of movies, cached by a hash of (text, model) so only changed movies are re-encoded.
CREATE TABLE movie_text_embeddings (
    movie_id   integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    model_name text        NOT NULL,
    text_hash  text        NOT NULL,
    embedding  vector      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (movie_id, model_name)
);

-- Named, text-defined dimensions ("dark", "feel-good") for the slider scorer.
CREATE TABLE sliders (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    description text        NOT NULL,
    model_name  text,
    embedding   vector,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What was shown to whom, when, and with which scores.
CREATE TABLE recommendation_log (
    log_id        bigserial   PRIMARY KEY,
    user_id       bigint      NOT NULL,
    movie_id      integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    shown_at      timestamptz NOT NULL DEFAULT now(),
    position      smallint    NOT NULL,
    score         real        NOT NULL,
    scores        jsonb       NOT NULL DEFAULT '{}',
    surface       text        NOT NULL DEFAULT 'slash',   -- slash, dm, digest, shell
    mood          text,
    model_version text
);
CREATE INDEX recommendation_log_user_idx ON recommendation_log (user_id, shown_at DESC);

-- The bot's DM messages and the movie each shows, so reactions map back to a movie.
CREATE TABLE dm_messages (
    message_id bigint      PRIMARY KEY,
    channel_id bigint      NOT NULL,
    user_id    bigint      NOT NULL,
    movie_id   integer     NOT NULL REFERENCES movies ON DELETE CASCADE,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dm_messages_user_idx ON dm_messages (user_id);

-- Runs of periodic jobs (PreferenceLearner, digests), for /admin status and debugging.
CREATE TABLE job_runs (
    run_id      bigserial   PRIMARY KEY,
    job         text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    items       integer     NOT NULL DEFAULT 0,
    detail      text
);
CREATE INDEX job_runs_job_idx ON job_runs (job, started_at DESC);

-- Per-user settings such as the opt-in DM digest.
CREATE TABLE user_settings (
    user_id        bigint      PRIMARY KEY,
    digest_enabled boolean     NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
