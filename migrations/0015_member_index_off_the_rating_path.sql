-- Similar-member search through an HNSW index on a table of its own, kept current after the reply
-- instead of inside every rating (issue 15).
--
-- Why: with the index of 0014 on user_embeddings, every rating rewrote an indexed taste vector and
-- PostgreSQL inserted it into the HNSW graph inside the rating's transaction: 2-5 ms of a rating's
-- ~7 ms at MovieLens 1M (an UPDATE of the vector of a member inside the index took 5.4 ms at the
-- median, 0.12 ms for one outside it), which kept the rating p99 over its 5 ms target.
-- Now a rating only queues its member (member_index_queue: a heap row, no vector); the refresher
-- (bot/services/member_index.py) copies queued members' current vectors into member_index in
-- batches, so a member rating ten films in a minute costs one index insert, not ten. A retrain
-- refreshes every member inside its own transaction, so the index never mixes two models' bases.
-- Members with fewer than five ratings are not in member_index (what 0014's partial index did).
-- A denser graph than 0014's (m 16, ef_construction 64), affordable now that inserts are off the
-- rating path: on 4,000 clustered members with a third re-written three times, each round followed
-- by a VACUUM, pgvector 0.6.2's recall of the 100 nearest at ef_search 200 went as low as 0.915
-- with the old graph and stayed at 0.995 or more with this one (two seeds).
CREATE TABLE member_index (
    user_id   bigint      PRIMARY KEY,
    embedding vector(256) NOT NULL,
    version   bigint      NOT NULL  -- user_embeddings.version copied: an older copy never replaces a newer one
);

CREATE TABLE member_index_queue (
    queued_id bigserial PRIMARY KEY,
    user_id   bigint    NOT NULL
);

INSERT INTO member_index (user_id, embedding, version)
SELECT user_id, embedding, version FROM user_embeddings WHERE rating_count >= 5;

DROP INDEX IF EXISTS user_embeddings_hnsw;
CREATE INDEX member_index_hnsw ON member_index USING hnsw (embedding vector_cosine_ops)
  WITH (m = 24, ef_construction = 128);
