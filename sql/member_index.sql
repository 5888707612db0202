-- The similar-member index (migration 0015): a copy of the taste vectors of members with five or
-- more ratings, refreshed from user_embeddings after the rating's reply.

-- name: queue_members(user_ids)!
-- Queue members by hand (tests, an operator repairing the index); ratings, re-bases and retrains queue
-- theirs inside their own statements.
INSERT INTO member_index_queue (user_id) SELECT unnest(CAST(:user_ids AS bigint[]));

-- name: refresh_member_index(limit_n)$
-- Up to limit_n queued entries taken (others' in-flight refreshes skipped) and their members' index
-- rows made what user_embeddings holds now: current vector, or no row below five ratings or once
-- forgotten. A copy from an older state never replaces a newer one. Returns the entries taken.
WITH taken AS (
    DELETE FROM member_index_queue
     WHERE queued_id IN (SELECT queued_id FROM member_index_queue ORDER BY queued_id LIMIT :limit_n
                         FOR UPDATE SKIP LOCKED)
    RETURNING user_id
), members AS (
    SELECT DISTINCT user_id FROM taken
), upserted AS (
    INSERT INTO member_index (user_id, embedding, version)
    SELECT u.user_id, u.embedding, u.version FROM user_embeddings u JOIN members m USING (user_id)
     WHERE u.rating_count >= 5
    ON CONFLICT (user_id) DO UPDATE SET embedding = EXCLUDED.embedding, version = EXCLUDED.version,
                                        changed = pg_current_xact_id()
     WHERE member_index.version < EXCLUDED.version
    RETURNING 1
), dropped AS (
    DELETE FROM member_index i USING members m
     WHERE i.user_id = m.user_id
       AND NOT EXISTS (SELECT 1 FROM user_embeddings u WHERE u.user_id = i.user_id AND u.rating_count >= 5)
    RETURNING 1
)
SELECT count(*) FROM taken;

-- name: queued_members()$
SELECT count(*) FROM member_index_queue;

-- name: similar_users(user_id, embedding, limit_n)
-- Nearest taste vectors by cosine distance through the HNSW index on member_index (every row there
-- has five or more ratings); one extra row is asked for and the asking member dropped after.
SELECT user_id, similarity
  FROM (SELECT user_id, 1 - (embedding <=> :embedding) AS similarity
          FROM member_index
         ORDER BY embedding <=> :embedding
         LIMIT :limit_n + 1) nearest
 WHERE user_id <> :user_id
 ORDER BY similarity DESC
 LIMIT :limit_n;

-- name: similar_users_exact(user_id, embedding, limit_n)
-- The same answer by a scan of every row, for when the index came back short (an HNSW scan hands
-- back at most hnsw.ef_search entries, dead ones among them, and pgvector 0.6 has no iterative scan):
-- ordering by the distance plus zero is an expression the index cannot serve, so the planner scans.
SELECT user_id, similarity
  FROM (SELECT user_id, 1 - (embedding <=> :embedding) AS similarity
          FROM member_index
         ORDER BY (embedding <=> :embedding) + 0
         LIMIT :limit_n + 1) nearest
 WHERE user_id <> :user_id
 ORDER BY similarity DESC
 LIMIT :limit_n;

-- name: indexed_members()$
-- The planner's row estimate (no scan): how many members the index holds, near enough.
SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = CAST('member_index' AS regclass);

-- name: vacuum_member_index()#
-- Dead versions of refreshed rows stay in the HNSW graph until a vacuum, and an HNSW scan hands back
-- at most hnsw.ef_search entries, dead ones included: too many and a search comes back short.
VACUUM member_index;

-- name: index_disagreements(user_ids)$
-- Of these members, how many the index shows otherwise than user_embeddings holds them (missing,
-- an older version, or present below five ratings): 0 once every queued refresh has been applied.
SELECT count(*)
  FROM unnest(CAST(:user_ids AS bigint[])) AS m(user_id)
  LEFT JOIN user_embeddings u ON u.user_id = m.user_id
  LEFT JOIN member_index i ON i.user_id = m.user_id
 WHERE COALESCE(u.rating_count >= 5, false) <> (i.user_id IS NOT NULL)
    OR (i.user_id IS NOT NULL AND (i.version <> u.version OR i.embedding <> u.embedding));

-- name: build_member_index_copy()#
-- A retrain that rewrote most members builds a new index table in bulk instead of inserting each
-- member into the live graph: pgvector's CREATE INDEX builds the graph in memory (maintenance_work_mem),
-- ~1,700 members/s here against 590 falling to 99 members/s for one-by-one inserts at 330,000 members.
-- Same definition as migration 0015's member_index (tests/test_member_index.py compares the two);
-- the table is filled before its indexes exist. Searches keep using the old table meanwhile.
DROP TABLE IF EXISTS member_index_build;
CREATE TABLE member_index_build (
    user_id   bigint      NOT NULL,
    embedding vector(256) NOT NULL,
    version   bigint      NOT NULL,
    changed   xid8        DEFAULT pg_current_xact_id()
);
INSERT INTO member_index_build (user_id, embedding, version)
SELECT user_id, embedding, version FROM user_embeddings WHERE rating_count >= 5;
ALTER TABLE member_index_build ADD CONSTRAINT member_index_build_pkey PRIMARY KEY (user_id);
CREATE INDEX member_index_build_changed ON member_index_build (changed);

-- name: index_member_index_copy()#
CREATE INDEX member_index_build_hnsw ON member_index_build USING hnsw (embedding vector_cosine_ops)
  WITH (m = 24, ef_construction = 128);

-- name: swap_in_member_index_copy()#
-- The built table takes the live one's place; the lock this takes on member_index makes searches
-- wait only until the retrain commits (right after).
DROP TABLE member_index;
ALTER TABLE member_index_build RENAME TO member_index;
ALTER INDEX member_index_build_pkey RENAME TO member_index_pkey;
ALTER INDEX member_index_build_hnsw RENAME TO member_index_hnsw;
ALTER INDEX member_index_build_changed RENAME TO member_index_changed;

-- name: unqueue_retrained_members(model_version)!
-- Queue entries of the members this retrain wrote (their rows stay locked by it until the commit, so
-- the built copy holds their newest state); others' entries stay for the refresher.
DELETE FROM member_index_queue q USING user_embeddings u
 WHERE q.user_id = u.user_id AND u.model_version = :model_version;

-- name: set_build_memory(megabytes)!
-- For this transaction only: room for the whole graph, or pgvector builds it far slower on disk.
SELECT set_config('maintenance_work_mem', format('%sMB', CAST(:megabytes AS integer)), true);

-- name: build_without_workers()!
SELECT set_config('max_parallel_maintenance_workers', '0', true);

-- name: sample_indexed_members(limit_n)
-- Benchmark queries: the first members of the index by id, with their indexed vectors.
SELECT user_id, embedding FROM member_index ORDER BY user_id LIMIT :limit_n;

-- name: indexed_vectors()
-- Every indexed vector: the exact nearest members a benchmark measures the index's recall against.
SELECT user_id, embedding FROM member_index;

-- name: member_index_generation()$
-- The index table's identity: a retrain that rebuilt the index swapped in a new table (new oid), and
-- an in-process mirror then loads it whole.
SELECT CAST(CAST(CAST('member_index' AS regclass) AS oid) AS bigint);

-- name: member_index_horizon()$
-- The oldest transaction still running (as text: xid8 has no asyncpg codec); rows written by any
-- transaction that commits after this have a `changed` at least this large.
SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text);

-- name: member_index_changes(since)
-- Rows written at or after a horizon: new and refreshed members.
SELECT user_id, embedding FROM member_index WHERE changed >= CAST(CAST(:since AS text) AS xid8);

-- name: indexed_member_ids()
-- Every indexed member (an in-process mirror drops the ones gone without a notification).
SELECT user_id FROM member_index;

-- name: indexed_vectors_of(user_ids)
-- These members' index rows (an audit compares a process's in-process copy with them).
SELECT user_id, embedding FROM member_index WHERE user_id = ANY(CAST(:user_ids AS bigint[]));
