-- Histories members imported from Letterboxd or IMDb, with what each film was before, so the whole
-- import can be undone in one step. Per member (user_id): exported and forgotten like the rest.
CREATE TABLE history_imports (
    import_id   bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL CHECK (user_id > 0),
    source      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    previous    jsonb       NOT NULL,  -- [{movie_id, kind, rating, on_watchlist}] before the import touched it
    undone_at   timestamptz
);
CREATE INDEX history_imports_user_idx ON history_imports (user_id, created_at DESC);
