-- Per-server settings: how much "popular in this server" (what its members loved recently) weighs in
-- its members' recommendations, 0 (off) to 1.
CREATE TABLE guild_settings (
    guild_id      bigint      PRIMARY KEY,
    server_weight real        NOT NULL DEFAULT 0.2 CHECK (server_weight BETWEEN 0 AND 1),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
