-- Deleting everything about one user (/forget_me, benchmark clean-up).

-- name: forget_user(user_id)$
-- Every row of every table with a user_id column (migration 0005 finds them from the schema).
SELECT forget_member(:user_id);

-- name: export_user(user_id)$
SELECT export_member(:user_id);

-- name: member_tables()
SELECT member_tables() AS table_name;

-- name: exclude_member_writes()#
-- /forget_me: wait for any background job's write in progress (they hold this lock shared), and
-- keep new ones out until the deletion commits.
SELECT pg_advisory_xact_lock(member_write_lock_key());

-- name: lock_member_state(user_id)!
-- The member's state row lock: feedback being recorded for them finishes first, or waits for the forget.
SELECT 1 FROM user_embeddings WHERE user_id = :user_id FOR UPDATE;

-- name: announce_forget(user_id)!
-- Every process drops the member from its in-memory snapshots on commit.
SELECT pg_notify('cinesync_loved', CAST(:user_id AS bigint)::text || ' forget');
