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
    ON CONFLICT (user_id) DO UPDATE SET embedding = EXCLUDED.embedding, version = EXCLUDED.version
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
