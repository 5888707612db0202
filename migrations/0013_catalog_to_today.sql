-- A catalog that reaches today (issue 14): what each film is beyond its title (a synopsis, other
-- titles it is known by), how known it is elsewhere (MovieLens 2023 aggregates over 33.8M ratings;
-- TMDB votes: a prior for films nobody here has rated), and which source gave each field.
ALTER TABLE movies
    ADD COLUMN overview         text     CHECK (length(overview) <= 10000),
    ADD COLUMN aliases          text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN popularity_count integer  CHECK (popularity_count >= 0),
    ADD COLUMN popularity_mean  real     CHECK (popularity_mean BETWEEN 0.5 AND 5.0),
    ADD COLUMN tmdb_votes       integer  CHECK (tmdb_votes >= 0),
    ADD COLUMN tmdb_score       real     CHECK (tmdb_score BETWEEN 0 AND 10),
    ADD COLUMN field_sources    jsonb    NOT NULL DEFAULT '{}'::jsonb;
