-- Deleting everything about one user (/forget_me, benchmark clean-up).

-- name: forget_user(user_id)$
-- Every row of every table with a user_id column (migration 0005 finds them from the schema).
SELECT forget_member(:user_id);

-- name: export_user(user_id)$
SELECT export_member(:user_id);

-- name: member_tables()
SELECT member_tables() AS table_name;
